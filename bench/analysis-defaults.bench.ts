// First 5xx → 100 % on the pinned revision with analysis a new user would write, through `sluice start` (child
// process: API server, Serving, router, its local Prometheus scraping every 1 s, the rollout controller). Three
// configurations, each a canary policy (20 % → analysis → 50 % → analysis; interval 1s, window 3s, failureLimit 2,
// onNoData: hold, default noDataTimeout):
//   unguarded        sum(rate(non-5xx)) / sum(rate(all)), the ratio ARCHITECTURE.md shows (80 s before issue 10)
//   builtin          request-success-rate, thresholdRange {min: 99}
//   builtin-otel     the same, with `sluice start --metrics-family knative-otel` (detected, not forced)
// For each run: ~50 requests/s to a pinned helloworld revision, then a template answering 500 is applied; timed from
// the first 500 the client receives to the Route's status.traffic (current generation) giving 100 % to the pinned
// revision again (a watch here), and to the Rollout going RollingBack. Median of 5 runs per configuration
// (`SLUICE_BENCH_DEFAULTS_RUNS` changes it; `SLUICE_BENCH_DEFAULTS_CONFIGS=builtin-otel` selects configurations).
import { request, Agent } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Informer, KubeClient, R, type KubeObject } from '../src/kube/index.js';
import type { RolloutObject } from '../src/rollout/controller/types.js';
import { kubectl, removeDir, startSluice, tempDir, waitFor } from '../test/support/procs.js';
import { helloService } from '../test/support/manifests.js';

type Figures = Record<string, number | string>;
const NS = 'default';
const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
const UNGUARDED = `sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
const FIVE_HUNDRED =
  "require('http').createServer((q, s) => { s.writeHead(500); s.end('boom\\n'); }).listen(process.env.PORT)";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const log = (s: string): void => void process.stdout.write(`  [analysis-defaults] ${s}\n`);

interface RouteObject extends KubeObject {
  status?: { observedGeneration?: number; traffic?: Array<{ revisionName?: string; percent?: number }> };
}
const pct = (r: RouteObject | undefined, rev: string): number =>
  (r?.status?.traffic ?? []).filter((t) => t.revisionName === rev).reduce((a, t) => a + (t.percent ?? 0), 0);

const service = (name: string, target: string, command?: string[]): Record<string, unknown> =>
  helloService(NS, name, target, command);
function policy(name: string, metric: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'delivery.sluice.dev/v1alpha1',
    kind: 'RolloutPolicy',
    metadata: { name, namespace: NS },
    spec: {
      targetRef: { name },
      strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: {} }, { setWeight: 50 }, { analysis: {} }] } },
      analysis: { interval: '1s', window: '3s', failureLimit: 2, metrics: [{ ...metric, onNoData: 'hold' }] },
      rollback: { to: 'pinned' },
    },
  };
}
const BUILTIN = { name: 'request-success-rate', thresholdRange: { min: 99 } };

interface Config {
  label: string;
  family: 'knative-opencensus' | 'knative-otel';
  metric: Record<string, unknown>;
}

async function measure(c: Config, runs: number, out: Figures): Promise<void> {
  const dir = await tempDir(`sluice-bench-defaults-${c.label}-`);
  const cache = join(dir, 'kubectl-cache');
  const sluice = await startSluice('start', join(dir, 'data'), ['--no-repo', '--metrics-family', c.family]);
  const kubeconfig = join(sluice.dataDir, 'kubeconfig');
  const client = KubeClient.fromFile(kubeconfig, 'bench-defaults');
  const routes = new Informer<RouteObject>(client, R.routes, { namespace: NS });
  const rollouts = new Informer<RolloutObject>(client, R.rollouts, { namespace: NS });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const router = new URL(sluice.endpoints.router ?? '');
  const phaseAt = new Map<string, number>();
  const apply = async (objs: Record<string, unknown>[]): Promise<void> => {
    const r = await kubectl(kubeconfig, cache, ['apply', '-f', '-'], objs.map((o) => JSON.stringify(o)).join('\n'));
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  };
  const get = (host: string): Promise<{ at: number; status: number }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: router.hostname, port: router.port, path: '/', headers: { host }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ at: Date.now(), status: res.statusCode ?? 0 }));
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.end();
    });
  const watch = new Map<string, { v1: string; v2: string; canarySeen: boolean; backAt?: number }>();
  const onRoute = (r: RouteObject): void => {
    const w = watch.get(r.metadata.name ?? '');
    if (!w || w.backAt !== undefined || r.status?.observedGeneration !== r.metadata.generation) return;
    if (pct(r, w.v2) > 0) w.canarySeen = true;
    else if (w.canarySeen && pct(r, w.v1) === 100) w.backAt = Date.now();
  };
  routes.onAdd(onRoute).onUpdate(onRoute);
  const onRollout = (r: RolloutObject): void => {
    const k = `${r.metadata.name ?? ''}/${r.status?.phase ?? ''}`;
    if (!phaseAt.has(k)) phaseAt.set(k, Date.now());
  };
  rollouts.onAdd(onRollout).onUpdate(onRollout);
  try {
    await Promise.all([routes.start(), rollouts.start()]);
    const names = Array.from({ length: runs }, (_, i) => `${c.label}-${i + 1}`);
    await apply([...names.map((n) => policy(n, c.metric)), ...names.map((n) => service(n, 'v1'))]);
    await waitFor(
      'every Service pinned and served at 100 %',
      () =>
        names.every((n) => {
          const ro = rollouts.get(NS, n);
          return ro?.status?.phase === 'Succeeded' && pct(routes.get(NS, n), `${n}-00001`) === 100;
        }),
      90_000,
      100,
    );
    const route: number[] = [];
    const decision: number[] = [];
    for (const n of names) {
      const host = `${n}.${NS}.svc.cluster.local`;
      const v1 = `${n}-00001`;
      const v2 = `${n}-00002`;
      watch.set(n, { v1, v2, canarySeen: false });
      const answers: Array<{ at: number; status: number }> = [];
      let on = true;
      const loops = [0, 1].map(async () => {
        while (on) {
          try {
            answers.push(await get(host));
          } catch {
            /* counted as missing */
          }
          await new Promise((s) => setTimeout(s, 40));
        }
      });
      await waitFor(`${host} answering`, () => answers.some((a) => a.status === 200), 10_000);
      await apply([service(n, 'v2', ['node', '-e', FIVE_HUNDRED])]);
      const w = watch.get(n)!;
      await waitFor(
        `${n}: rolled back, Route back on ${v1}`,
        () => {
          const st = rollouts.get(NS, n)?.status;
          if (st?.canaryRevision === v2 && st.phase === 'Succeeded') throw new Error(`${v2} was promoted`);
          return st?.phase === 'RolledBack' && st.canaryRevision === v2 && w.backAt !== undefined;
        },
        120_000,
        20,
      );
      on = false;
      await Promise.all(loops);
      const first = answers.find((a) => a.status === 500);
      if (!first) throw new Error(`${n}: no 500 was received before the rollback`);
      const rb = phaseAt.get(`${n}/RollingBack`) ?? phaseAt.get(`${n}/RolledBack`) ?? NaN;
      route.push((w.backAt as number) - first.at);
      decision.push(rb - first.at);
      log(`${n}: first 500 → decision ${rb - first.at} ms, Route 100 % on ${v1} ${(w.backAt as number) - first.at} ms`);
    }
    out[`${c.label}_route_ms_median`] = median(route);
    out[`${c.label}_route_ms_runs`] = route.join(', ');
    out[`${c.label}_decision_ms_median`] = median(decision);
  } finally {
    routes.stop();
    rollouts.stop();
    agent.destroy();
    await sluice.stop();
    await removeDir(dir);
  }
}

export async function run(): Promise<Figures> {
  const runs = Number(process.env.SLUICE_BENCH_DEFAULTS_RUNS ?? 5);
  const out: Figures = { loadavg_1m_start: Math.round((loadavg()[0] ?? 0) * 10) / 10 };
  const configs: Config[] = [
    {
      label: 'unguarded',
      family: 'knative-opencensus',
      metric: { name: 'success-rate', query: UNGUARDED, thresholdRange: { min: 0.99 } },
    },
    { label: 'builtin', family: 'knative-opencensus', metric: BUILTIN },
    { label: 'builtin-otel', family: 'knative-otel', metric: BUILTIN },
  ];
  const only = (process.env.SLUICE_BENCH_DEFAULTS_CONFIGS ?? '').split(',').filter((x) => x !== '');
  for (const c of configs) {
    if (only.length > 0 && !only.includes(c.label)) continue;
    // One configuration failing (a start timing out on a loaded machine) keeps the others' figures.
    await measure(c, runs, out).catch((e: unknown) => {
      out[`${c.label}_error`] = e instanceof Error ? e.message : String(e);
    });
  }
  out['setup'] =
    `sluice start, 1s scrape, interval 1s, window 3s, failureLimit 2, canary at 20%, ~50 req/s, ${runs} runs each`;
  out['loadavg_1m_end'] = Math.round((loadavg()[0] ?? 0) * 10) / 10;
  return out;
}
