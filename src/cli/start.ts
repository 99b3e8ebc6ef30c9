// `sluice start`: the embedded default on one machine. Brings up the API server with Knative's admission,
// the data plane (router + revision processes), the Serving reconcilers, a local Prometheus scraping the
// router, and the brain (rollout controller, alerts, Git source), then writes <data>/endpoints.json.
// `sluice apiserver` (apiOnly) runs the API server alone; `sluice controller` runs only the brain against
// any cluster.
import { writeFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { createHash } from 'node:crypto';
import { Admission, startApiServer } from '../apiserver/index.js';
import { createLogger, redactUrl, type Logger } from '../observability/logger.js';
import { systemClock } from '../util/clock.js';
import { KubeClient } from '../kube/index.js';
import { registerServingAdmission, startEmbeddedServing, type EmbeddedServing } from './embedded.js';
import { startBrain, type Brain } from './brain.js';
import { startPrometheus, type PrometheusHandle } from './prometheus-process.js';
import { packageRoot } from './package-root.js';

export interface GitFlags {
  repo?: string;
  branch?: string;
  path?: string;
  pollCron?: string | false;
  webhookSecret?: string;
  prune?: boolean;
}

export interface StartOptions extends GitFlags {
  data: string;
  apiPort: number;
  /** Router port; 0 picks a free one. Ignored with apiOnly. */
  routerPort?: number;
  /** Controller port (webhooks, metrics); 0 picks a free one. */
  port?: number;
  host: string;
  logLevel: string;
  /** Only the API server: `sluice apiserver`. */
  apiOnly?: boolean;
  /** Use this Prometheus instead of starting one. */
  prometheusUrl?: string;
  policiesDir?: string;
  /** Dashboard: hide the buttons and refuse every action. */
  readOnly?: boolean;
  /** Who the printed dashboard URL signs in (the actor of dashboard actions). */
  user?: string;
}

async function writeEndpoints(data: string, endpoints: Record<string, string>): Promise<void> {
  const tmp = join(data, 'endpoints.json.tmp');
  await writeFile(tmp, JSON.stringify(endpoints, null, 2) + '\n');
  await rename(tmp, join(data, 'endpoints.json'));
}

function onSignals(log: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (sig: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down');
    try {
      await close();
    } catch (e) {
      log.error({ err: e }, 'error while shutting down');
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** A local Prometheus scraping the router, or none (analysis then reports no data) when it cannot run. */
async function localPrometheus(data: string, routerUrl: string, log: Logger): Promise<PrometheusHandle | undefined> {
  try {
    return await startPrometheus({
      targets: [new URL(routerUrl).host],
      dataDir: join(data, 'prometheus'),
      install: process.getuid?.() === 0,
    });
  } catch (e) {
    log.warn(
      { err: e instanceof Error ? e.message : String(e) },
      'no local Prometheus: rollout analysis will see "no data" (install the Debian package `prometheus` or pass --prometheus-url)',
    );
    return undefined;
  }
}

export async function start(o: StartOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const data = resolve(o.data);
  const clock = systemClock;
  const admission = new Admission();
  if (!o.apiOnly) registerServingAdmission(admission);
  const api = await startApiServer({
    dataDir: data,
    port: o.apiPort,
    host: o.host,
    crdDirs: [join(packageRoot(), 'deploy', 'crds')],
    admission,
    clock,
    log: log.child({ component: 'apiserver' }),
  });
  if (o.apiOnly) {
    await writeEndpoints(data, { api: api.url });
    process.stdout.write(`Sluice API server listening on ${api.url}\n  kubeconfig: ${api.kubeconfigPath}\n`);
    onSignals(log, () => api.close());
    return;
  }
  let serving: EmbeddedServing | undefined;
  let prom: PrometheusHandle | undefined;
  let brain: Brain | undefined;
  const closeAll = async (): Promise<void> => {
    // The brain and reconcilers first, so nothing writes to a closing API server; then processes.
    await brain?.close();
    await serving?.close();
    await prom?.stop();
    await api.close();
  };
  try {
    serving = await startEmbeddedServing({
      kubeconfigPath: api.kubeconfigPath,
      dataDir: data,
      routerPort: o.routerPort ?? 0,
      host: o.host,
      clock,
      log,
    });
    prom = o.prometheusUrl ? undefined : await localPrometheus(data, serving.routerUrl, log);
    const prometheusUrl = o.prometheusUrl ?? prom?.url ?? 'http://127.0.0.1:9';
    const client = KubeClient.fromFile(api.kubeconfigPath, 'sluice');
    brain = await startBrain({
      client,
      prometheusUrl,
      workDir: join(data, 'git'),
      port: o.port ?? 0,
      host: o.host,
      clock,
      log,
      ...(o.policiesDir ? { policiesDir: resolve(o.policiesDir) } : {}),
      // One stable identity per data directory: a restarted process takes its own Lease back at once.
      identity: `${hostname()}-${createHash('sha256').update(data).digest('hex').slice(0, 8)}`,
      dashboard: { dataDir: data, readOnly: o.readOnly === true },
      ...(o.repo ? { git: { repo: o.repo, ...gitRest(o) } } : {}),
    });
    const dashboardUrl = brain.dashboardUrl(o.user ?? 'sluice');
    await writeEndpoints(data, {
      api: api.url,
      router: serving.routerUrl,
      controller: brain.url,
      ...(prom ? { prometheus: prom.url } : {}),
      ...(dashboardUrl ? { dashboard: dashboardUrl } : {}),
    });
    const out = process.stdout;
    out.write(`Sluice is up.\n`);
    out.write(`  API server   ${api.url}   (export KUBECONFIG=${api.kubeconfigPath})\n`);
    out.write(
      `  router       ${serving.routerUrl}   (curl -H 'Host: hello.default.svc.cluster.local' ${serving.routerUrl})\n`,
    );
    out.write(`  controller   ${brain.url}   (POST /hooks/git, /metrics)\n`);
    out.write(`  prometheus   ${prom?.url ?? o.prometheusUrl ?? 'none: analysis sees no data'}\n`);
    if (dashboardUrl)
      out.write(`  dashboard    ${dashboardUrl}   (one-time login; \`sluice dashboard\` prints a fresh one)\n`);
    if (o.repo)
      out.write(
        `  git          ${redactUrl(o.repo)}${o.branch ? ` @ ${o.branch}` : ''}${o.path ? ` (path ${o.path})` : ''}\n`,
      );
  } catch (e) {
    await closeAll().catch(() => undefined);
    throw e;
  }
  onSignals(log, closeAll);
}

function gitRest(o: GitFlags): Omit<NonNullable<GitFlags>, 'repo'> {
  return {
    ...(o.branch ? { branch: o.branch } : {}),
    ...(o.path ? { path: o.path } : {}),
    ...(o.pollCron !== undefined ? { pollCron: o.pollCron } : {}),
    ...(o.webhookSecret ? { webhookSecret: o.webhookSecret } : {}),
    ...(o.prune ? { prune: true } : {}),
  };
}

export interface ControllerOptions extends GitFlags {
  kubeconfig?: string;
  prometheusUrl: string;
  port: number;
  host: string;
  logLevel: string;
  workDir: string;
  policiesDir?: string;
  namespace: string;
  readOnly?: boolean;
}

/** `sluice controller`: only the brain, against a real cluster's Knative (or any Kubernetes API). */
export async function startController(o: ControllerOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const client = o.kubeconfig ? KubeClient.fromFile(o.kubeconfig, 'sluice') : KubeClient.fromDefault('sluice');
  const brain = await startBrain({
    client,
    prometheusUrl: o.prometheusUrl,
    workDir: resolve(o.workDir),
    port: o.port,
    host: o.host,
    clock: systemClock,
    log,
    leaseNamespace: o.namespace,
    dashboard: { dataDir: resolve(o.workDir), readOnly: o.readOnly === true },
    ...(o.policiesDir ? { policiesDir: resolve(o.policiesDir) } : {}),
    ...(o.repo ? { git: { repo: o.repo, ...gitRest(o) } } : {}),
  });
  process.stdout.write(`Sluice controller listening on ${brain.url} against ${client.server}\n`);
  process.stdout.write(`  dashboard: \`sluice dashboard --data ${o.workDir} --url ${brain.url}\` prints a login URL\n`);
  onSignals(log, () => brain.close());
}
