// `sluice start`: the embedded default on one machine, as a supervisor of separate processes (supervisor.ts):
//   apiserver  `sluice apiserver`   the API server with Knative's and Sluice's admission
//   dataplane  `sluice serving`     Serving reconcilers, router, activator, revision processes, their metrics
//   brain      `sluice controller`  rollout controller, analysis, alerts, Git source
// plus a local Prometheus scraping the router (prometheus-supervisor.ts). A crash of one part restarts that part
// only; the router keeps serving through a brain crash. When everything is up it writes <data>/endpoints.json with
// each part's URL and process id. Each command also runs alone (`sluice apiserver|serving|controller`), writing
// the endpoints.json keys it serves; on a cluster `sluice controller` is the whole of Sluice.
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { createHash } from 'node:crypto';
import { createLogger, redactUrl } from '../observability/logger.js';
import { supervisePrometheus, type SupervisedPrometheus } from './prometheus-supervisor.js';
import { freePort } from './prometheus-process.js';
import { packageRoot } from './package-root.js';
import type { ExportedMetricsFamily } from '../runtime/metrics.js';
import { SupervisedChild } from './supervisor.js';
import { onSignals, writeEndpoints, type GitFlags } from './process-lifecycle.js';

export type { GitFlags };

export interface StartOptions extends GitFlags {
  data: string;
  apiPort: number;
  /** Router port; 0 picks a free one. */
  routerPort?: number;
  /** Controller port (webhooks, metrics); 0 picks a free one. */
  port?: number;
  host: string;
  logLevel: string;
  /** Use this Prometheus instead of starting one. */
  prometheusUrl?: string;
  policiesDir?: string;
  /** Request metrics the router exports; the brain detects them (auto) like on a cluster. */
  metricsFamily?: ExportedMetricsFamily;
  /** Create the Broker `example-broker` in `default` once the API is up, as `kn quickstart` does. */
  quickstartBroker?: boolean;
  /** Dashboard: hide the buttons and refuse every action. */
  readOnly?: boolean;
}

// ---------- sluice start ----------

function portOf(url: string | undefined): string {
  return url ? new URL(url).port : '0';
}

export async function start(o: StartOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const data = resolve(o.data);
  const bin = join(packageRoot(), 'bin', 'sluice.js');
  const kubeconfig = join(data, 'kubeconfig');
  const common = ['--host', o.host, '--log-level', o.logLevel];
  let prom: SupervisedPrometheus | undefined;
  const parts: SupervisedChild[] = [];
  let endpoints: Record<string, string> = {};
  const pids = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const p of parts) if (p.pid !== undefined) out[p.name] = p.pid;
    const pp = prom?.pid();
    if (pp !== undefined) out.prometheus = pp;
    out.supervisor = process.pid;
    return out;
  };
  let up = false;
  // Time from the start to each part's readiness, logged (info) so a slow start says which part took the time
  // (bench/startup.bench.ts reads these lines).
  const t0 = Date.now();
  const readyLog = (part: string): void => log.info({ part, ms: Date.now() - t0 }, 'part ready');
  const rewrite = (): void => {
    if (!up) return;
    writeEndpoints(data, { ...endpoints, pids: pids() }, false).catch((e: unknown) =>
      log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not write endpoints.json'),
    );
  };
  const event = (reason: string, message: string): void => {
    // A Warning Event in `default`, so `kubectl get events` shows what the supervisor did.
    const now = new Date().toISOString();
    // Loaded on first use: the supervisor itself stays light (it starts first and restarts the others).
    import('../kube/index.js')
      .then(({ KubeClient, R }) =>
        KubeClient.fromFile(kubeconfig, 'sluice-supervisor').create(R.events, {
          metadata: { generateName: 'sluice-', namespace: 'default' },
          ...{
            involvedObject: { kind: 'Component', name: reason.startsWith('Prometheus') ? 'prometheus' : 'sluice' },
            reason,
            message,
            type: 'Warning',
            source: { component: 'sluice-supervisor' },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        } as never),
      )
      .catch((e: unknown) =>
        log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not record an event'),
      );
  };
  const events = {
    onReady: () => rewrite(),
    onExit: (name: string, how: string, restart: number, delayMs: number) =>
      event('ProcessRestarted', `${name} exited (${how}); restart ${restart} in ${delayMs} ms`),
  };
  const closeAll = async (): Promise<void> => {
    // The brain first, so nothing decides against a closing data plane; the API server last.
    for (const p of [...parts].reverse().filter((p) => p.name !== 'apiserver')) await p.stop();
    await prom?.stop();
    await parts.find((p) => p.name === 'apiserver')?.stop();
  };
  onSignals(log, closeAll);
  try {
    const api = new SupervisedChild(
      {
        name: 'apiserver',
        args: (prev) => [
          'apiserver',
          '--data',
          data,
          '--api-port',
          prev ? portOf(prev.api) : String(o.apiPort),
          ...common,
        ],
      },
      bin,
      log,
      events,
    );
    parts.push(api);
    endpoints = { ...endpoints, ...(await api.start()) };
    readyLog('apiserver');
    const serving = new SupervisedChild(
      {
        name: 'dataplane',
        args: (prev) => [
          'serving',
          '--kubeconfig',
          kubeconfig,
          '--data',
          data,
          '--router-port',
          prev ? portOf(prev.router) : String(o.routerPort ?? 0),
          ...(o.metricsFamily ? ['--metrics-family', o.metricsFamily] : []),
          ...common,
        ],
      },
      bin,
      log,
      events,
    );
    parts.push(serving);
    // Prometheus gets its port now, so the brain (which only needs the URL) starts alongside the data plane.
    const promPort = o.prometheusUrl ? 0 : await freePort();
    const prometheusUrl = o.prometheusUrl ?? `http://127.0.0.1:${promPort}`;
    // One stable identity per data directory: a restarted brain takes its own Lease back at once.
    const identity = `${hostname()}-${createHash('sha256').update(data).digest('hex').slice(0, 8)}`;
    const git = o.repo
      ? [
          '--repo',
          o.repo,
          ...(o.branch ? ['--branch', o.branch] : []),
          ...(o.path ? ['--path', o.path] : []),
          '--poll',
          o.pollCron === false ? 'off' : (o.pollCron ?? '*/10 * * * * *'),
          ...(o.prune ? ['--prune'] : []),
        ]
      : ['--no-repo'];
    const brain = new SupervisedChild(
      {
        name: 'brain',
        args: (prev) => [
          'controller',
          '--kubeconfig',
          kubeconfig,
          '--data',
          data,
          '--prometheus-url',
          prometheusUrl,
          '--port',
          prev ? portOf(prev.controller) : String(o.port ?? 0),
          '--work-dir',
          join(data, 'git'),
          '--identity',
          identity,
          ...git,
          ...(o.policiesDir ? ['--policies', resolve(o.policiesDir)] : []),
          ...(o.readOnly ? ['--read-only'] : []),
          ...common,
        ],
        // The secret travels in the environment, never on a command line `ps` shows.
        env: o.webhookSecret ? { SLUICE_WEBHOOK_SECRET: o.webhookSecret } : {},
      },
      bin,
      log,
      events,
    );
    parts.push(brain);
    const servingUp = serving.start().then(async (eps) => {
      endpoints = { ...endpoints, ...eps };
      readyLog('dataplane');
      if (o.prometheusUrl) return;
      try {
        prom = await supervisePrometheus({
          targets: [new URL(eps.router ?? '').host],
          dataDir: join(data, 'prometheus'),
          port: promPort,
          install: process.getuid?.() === 0,
          log: log.child({ component: 'prometheus' }),
          onRestart: (r) =>
            event('PrometheusRestarted', `Prometheus exited (${r.how}); restart ${r.restart} in ${r.delayMs} ms`),
          onStarted: () => rewrite(),
        });
        endpoints.prometheus = prom.url;
        readyLog('prometheus');
      } catch (e) {
        log.warn(
          { err: e instanceof Error ? e.message : String(e) },
          'no local Prometheus: rollout analysis will see "no data" (install the Debian package `prometheus` or pass --prometheus-url)',
        );
      }
    });
    const brainUp = brain.start().then((eps) => {
      endpoints = { ...endpoints, ...eps };
      readyLog('brain');
    });
    await Promise.all([servingUp, brainUp]);
    if (o.quickstartBroker) {
      const { ensureQuickstartBroker } = await import('../eventing/quickstart.js');
      const { KubeClient } = await import('../kube/index.js');
      await ensureQuickstartBroker(KubeClient.fromFile(kubeconfig, 'sluice-quickstart'));
    }
    const routerUrl = endpoints.router ?? '';
    up = true;
    await writeEndpoints(data, { ...endpoints, pids: pids() }, false);
    const out = process.stdout;
    out.write(`Sluice is up.\n`);
    out.write(`  API server   ${endpoints.api ?? ''}   (export KUBECONFIG=${kubeconfig})\n`);
    out.write(`  router       ${routerUrl}   (curl -H 'Host: hello.default.svc.cluster.local' ${routerUrl})\n`);
    out.write(`  controller   ${endpoints.controller ?? ''}   (POST /hooks/git, /metrics)\n`);
    out.write(`  prometheus   ${prom?.url ?? o.prometheusUrl ?? 'none: analysis sees no data'}\n`);
    if (endpoints.dashboard)
      out.write(`  dashboard    ${endpoints.dashboard}   (one-time login; \`sluice dashboard\` prints a fresh one)\n`);
    if (o.repo)
      out.write(
        `  git          ${redactUrl(o.repo)}${o.branch ? ` @ ${o.branch}` : ''}${o.path ? ` (path ${o.path})` : ''}\n`,
      );
  } catch (e) {
    await closeAll().catch(() => undefined);
    throw e;
  }
}
