// Rollout reaction and scale. Three parts (`SLUICE_BENCH_ROLLOUT=reaction,queries,scale` selects; default all):
//
// reaction  Through `sluice start` (child process: API server, Serving, router, its local Prometheus scraping every
//           1 s, the rollout controller): a pinned revision serves steady traffic, a new revision that answers
//           500 is applied with kubectl; the time from the first 500 the client receives to the Route serving
//           100 % on the pinned revision (Route status.traffic at the current generation, seen by a watch),
//           and to the last 500 the client receives. Median of 3 runs per failureLimit (1 and 2), 1 s interval.
//           Beside it, Flagger's and Argo Rollouts' figures for the same path at their configured defaults,
//           computed from their documentation and code (not measured).
// queries   Prometheus queries per analysis interval with 1, 100 and 500 concurrent rollouts, batched (what the
//           controller does) vs one query per rollout per metric (Flagger's way), against a real Prometheus
//           scraping 1,000 revisions' series; same approach as bench/analysis.bench.ts, extended to 500.
// scale     The rollout controller in a child process (defaults as `sluice start` runs it) against `sluice
//           apiserver` (a child of its own) with 500 governed Services (SLUICE_BENCH_ROLLOUT_N), each with a rollout
//           paused at 10 % and analysis every 1 s, and a synthetic Prometheus-compatible `/api/v1/query` (a third
//           child, bench/synthetic-prometheus.ts) that answers every revision as healthy. CPU %, RSS and heap of the
//           controller over a steady window, the API server's CPU, and the queries per interval the synthetic
//           Prometheus received.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, request, Agent } from 'node:http';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Registry } from 'prom-client';
import { Informer, KubeClient, R, type KubeObject } from '../src/kube/index.js';
import { PrometheusClient } from '../src/rollout/analysis/prometheus.js';
import { AnalysisEngine, type AnalysisRequest } from '../src/rollout/analysis/engine.js';
import type { MetricSpec } from '../src/rollout/policy/types.js';
import type { RolloutObject } from '../src/rollout/controller/types.js';
import { kubectl, removeDir, startSluice, tempDir, waitFor } from '../test/support/procs.js';
import { startPrometheus } from '../test/support/prometheus.js';
import { helloService } from '../test/support/manifests.js';

type Figures = Record<string, number | string>;
const NS = 'default';
const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
/** Success rate that is 0, not empty, for a revision answering only 5xx (see docs/benchmarks.md). */
const SUCCESS_RATE = `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or sum(rate(revision_request_count{${SEL}}[{{interval}}])) * 0) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
const REQUEST_RATE = `sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
const METRICS: MetricSpec[] = [
  { name: 'success-rate', query: SUCCESS_RATE, thresholdRange: { min: 0.99 } },
  { name: 'request-rate', query: REQUEST_RATE, thresholdRange: { min: 0 } },
];
const FIVE_HUNDRED =
  "require('http').createServer((q, s) => { s.writeHead(500); s.end('boom\\n'); }).listen(process.env.PORT)";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round1 = (x: number): number => Math.round(x * 10) / 10;
const log = (s: string): void => void process.stdout.write(`  [rollout] ${s}\n`);

// ---------------------------------------------------------------- (i) reaction
interface RouteObject extends KubeObject {
  status?: { observedGeneration?: number; traffic?: Array<{ revisionName?: string; percent?: number; tag?: string }> };
}
const pct = (r: RouteObject | undefined, rev: string): number =>
  (r?.status?.traffic ?? []).filter((t) => t.revisionName === rev).reduce((a, t) => a + (t.percent ?? 0), 0);

const service = (name: string, target: string, command?: string[]): Record<string, unknown> =>
  helloService(NS, name, target, command);
function policy(name: string, failureLimit: number): Record<string, unknown> {
  return {
    apiVersion: 'delivery.sluice.dev/v1alpha1',
    kind: 'RolloutPolicy',
    metadata: { name, namespace: NS },
    spec: {
      targetRef: { name },
      strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: {} }, { setWeight: 50 }, { analysis: {} }] } },
      analysis: {
        interval: '1s',
        window: '3s',
        failureLimit,
        metrics: [
          {
            name: 'success-rate',
            query: SUCCESS_RATE,
            thresholdRange: { min: 0.99 },
            onNoData: 'hold',
            noDataTimeout: '30s',
          },
        ],
      },
      rollback: { to: 'pinned' },
    },
  };
}

async function reaction(out: Figures): Promise<void> {
  const dir = await tempDir('sluice-bench-rollout-');
  const cache = join(dir, 'kubectl-cache');
  const sluice = await startSluice('start', join(dir, 'data'), ['--no-repo']);
  const kubeconfig = join(sluice.dataDir, 'kubeconfig');
  const client = KubeClient.fromFile(kubeconfig, 'bench-rollout');
  const routes = new Informer<RouteObject>(client, R.routes, { namespace: NS });
  const rollouts = new Informer<RolloutObject>(client, R.rollouts, { namespace: NS });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const router = new URL(sluice.endpoints.router ?? '');
  const apply = async (objs: Record<string, unknown>[]): Promise<void> => {
    const r = await kubectl(kubeconfig, cache, ['apply', '-f', '-'], objs.map((o) => JSON.stringify(o)).join('\n'));
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  };
  const get = (host: string): Promise<{ at: number; status: number; revision: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: router.hostname, port: router.port, path: '/', headers: { host }, agent }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            at: Date.now(),
            status: res.statusCode ?? 0,
            revision: String(res.headers['knative-serving-revision'] ?? ''),
          }),
        );
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.end();
    });
  // Route watch: when each Route (at its current generation) first serves 100 % on the pinned revision again after
  // the canary had traffic.
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
    if (!rolloutPhaseAt.has(k)) rolloutPhaseAt.set(k, Date.now());
  };
  rollouts.onAdd(onRollout).onUpdate(onRollout);
  try {
    await Promise.all([routes.start(), rollouts.start()]);
    const runs: Array<{ name: string; failureLimit: number }> = [];
    for (const fl of [1, 2]) for (let i = 1; i <= 3; i++) runs.push({ name: `react-fl${fl}-${i}`, failureLimit: fl });
    await apply([...runs.map((r) => policy(r.name, r.failureLimit)), ...runs.map((r) => service(r.name, 'v1'))]);
    await waitFor(
      'every Service pinned and served at 100 %',
      () =>
        runs.every((r) => {
          const ro = rollouts.get(NS, r.name);
          return (
            ro?.status?.phase === 'Succeeded' &&
            ro.status.stableRevision === `${r.name}-00001` &&
            pct(routes.get(NS, r.name), `${r.name}-00001`) === 100
          );
        }),
      60_000,
      100,
    );
    const res: Record<number, { route: number[]; last500: number[]; decision: number[]; bad: number[] }> = {};
    for (const r of runs) {
      const host = `${r.name}.${NS}.svc.cluster.local`;
      const v1 = `${r.name}-00001`;
      const v2 = `${r.name}-00002`;
      watch.set(r.name, { v1, v2, canarySeen: false });
      const answers: Array<{ at: number; status: number; revision: string }> = [];
      let on = true;
      // ~50 requests/s, two sequential loops.
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
      await apply([service(r.name, 'v2', ['node', '-e', FIVE_HUNDRED])]);
      const w = watch.get(r.name)!;
      await waitFor(
        `${r.name}: rolled back, Route back on ${v1}`,
        () => {
          const st = rollouts.get(NS, r.name)?.status;
          if (st?.canaryRevision === v2 && st.phase === 'Succeeded') throw new Error(`${v2} was promoted`);
          return st?.phase === 'RolledBack' && st.canaryRevision === v2 && w.backAt !== undefined;
        },
        60_000,
        20,
      );
      // Keep the traffic on for 1.5 s more so a late 500 would be seen.
      const settle = Date.now() + 1500;
      await waitFor('1.5 s of traffic after the rollback', () => Date.now() >= settle, 5000, 50);
      on = false;
      await Promise.all(loops);
      const bad = answers.filter((a) => a.status === 500);
      const first = bad[0];
      if (!first) throw new Error(`${r.name}: no 500 was received before the rollback`);
      const rollingBackAt =
        rolloutPhaseAt.get(`${r.name}/RollingBack`) ?? rolloutPhaseAt.get(`${r.name}/RolledBack`) ?? NaN;
      const x = (res[r.failureLimit] ??= { route: [], last500: [], decision: [], bad: [] });
      x.route.push((w.backAt as number) - first.at);
      x.last500.push((bad.at(-1) as { at: number }).at - first.at);
      x.decision.push(rollingBackAt - first.at);
      x.bad.push(bad.length);
      log(
        `${r.name}: first 500 → decision ${rollingBackAt - first.at} ms, Route 100 % on ${v1} ${(w.backAt as number) - first.at} ms, last 500 ${(bad.at(-1) as { at: number }).at - first.at} ms (${bad.length} × 500 of ${answers.length})`,
      );
    }
    for (const [fl, x] of Object.entries(res)) {
      out[`reaction_fl${fl}_route_ms_median`] = median(x.route);
      out[`reaction_fl${fl}_route_ms_runs`] = x.route.join(', ');
      out[`reaction_fl${fl}_last500_ms_median`] = median(x.last500);
      out[`reaction_fl${fl}_decision_ms_median`] = median(x.decision);
      out[`reaction_fl${fl}_bad_answers_median`] = median(x.bad);
    }
    out['reaction_setup'] = 'sluice start, 1s scrape, interval 1s, window 3s, canary at 20%, ~50 req/s';
  } finally {
    routes.stop();
    rollouts.stop();
    agent.destroy();
    await sluice.stop();
    await removeDir(dir);
  }
  // Same path, other tools at their configured defaults: computed, not measured (docs/benchmarks.md has sources).
  out['flagger_default_rollback_s_configured_not_measured'] = 60; // interval 1m x threshold 1 (docs formula interval x threshold)
  out['flagger_min_interval_rollback_s_configured_not_measured'] = 10; // interval clamped to >= 10s, threshold 1
  out['argo_docs_example_rollback_s_configured_not_measured'] = 1200; // interval 5m, failureLimit 3 -> 5m x (3+1)
  out['argo_failureLimit0_rollback_configured_not_measured'] = '1 x metric interval (no default interval)';
}
/** When each Rollout phase was first seen, `name/phase`; filled by the reaction part's watch. */
const rolloutPhaseAt = new Map<string, number>();

// ---------------------------------------------------------------- (ii) queries per interval
async function queries(out: Figures): Promise<void> {
  const N = [1, 100, 500];
  const maxN = 500;
  const registry = new Registry();
  const count = new Counter({
    name: 'revision_request_count',
    help: 'requests',
    labelNames: ['namespace_name', 'revision_name', 'response_code_class'],
    registers: [registry],
  });
  const rev = (i: number, canary: boolean): string => `svc${i}-0000${canary ? 2 : 1}`;
  const tick = (): void => {
    for (let i = 0; i < maxN; i++) {
      for (const c of [true, false]) {
        count.inc({ namespace_name: NS, revision_name: rev(i, c), response_code_class: '2xx' }, 99);
        count.inc({ namespace_name: NS, revision_name: rev(i, c), response_code_class: '5xx' }, 1);
      }
    }
  };
  tick();
  const ticker = setInterval(tick, 100);
  const server = createServer((_req, res) => void registry.metrics().then((b) => res.end(b)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const prom = await startPrometheus({ targets: [`127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`] });
  try {
    const probe = new PrometheusClient({ url: prom.url });
    await waitFor(
      'rates for all 1,000 revisions',
      async () => {
        const d = await probe.query('count(rate(revision_request_count{response_code_class="2xx"}[5s]) > 0)');
        return d.resultType === 'vector' && Number(d.result[0]?.value[1] ?? 0) === 2 * maxN;
      },
      60_000,
      200,
    );
    out['queries_metric_templates'] = METRICS.length;
    for (const n of N) {
      // The exporter's revisions answer 1 % 5xx: judge against 0.98 (as bench/analysis.bench.ts does), not 0.99.
      const metrics = METRICS.map((m) => (m.name === 'success-rate' ? { ...m, thresholdRange: { min: 0.98 } } : m));
      const requests: AnalysisRequest[] = Array.from({ length: n }, (_, i) => ({
        key: `${NS}/svc${i}`,
        namespace: NS,
        service: `svc${i}`,
        revision: rev(i, true),
        stableRevision: rev(i, false),
        metrics,
        windowMs: 5000,
      }));
      for (const mode of ['batched', 'perRollout'] as const) {
        const client = new PrometheusClient({ url: prom.url, timeoutMs: 10_000 });
        const engine = new AnalysisEngine({ client, batch: mode === 'batched', concurrency: 4 });
        await engine.run(requests, Date.now()); // warm-up
        const rounds = n >= 500 ? 3 : 5;
        client.queries = 0;
        const t0 = performance.now();
        let passes = 0;
        for (let k = 0; k < rounds; k++) {
          const res = await engine.run(requests, Date.now());
          for (const r of res.values()) passes += r.results.filter((x) => x.status === 'pass').length;
        }
        out[`n${n}_${mode}_queries_per_interval`] = client.queries / rounds;
        out[`n${n}_${mode}_wall_ms`] = round1((performance.now() - t0) / rounds);
        out[`n${n}_${mode}_pass_ratio`] = Math.round((passes / (rounds * n * METRICS.length)) * 1000) / 1000;
      }
    }
  } finally {
    clearInterval(ticker);
    await prom.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

// ---------------------------------------------------------------- (iii) controller at 500 rollouts
interface Sample {
  cpu: NodeJS.CpuUsage;
  mem: NodeJS.MemoryUsage;
  stats: Record<string, number>;
  at: number;
}

/** The synthetic Prometheus (bench/synthetic-prometheus.ts) in its own process. */
async function syntheticPrometheus(): Promise<{
  url: string;
  queries: () => Promise<number>;
  stop: () => Promise<void>;
}> {
  const path = fileURLToPath(new URL('./synthetic-prometheus.js', import.meta.url));
  const ch = fork(path, [NS], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: Array<(m: { type: string; url?: string; n?: number }) => void> = [];
  ch.on('message', (m: { type: string; url?: string; n?: number }) => waiting.shift()?.(m));
  const next = (): Promise<{ type: string; url?: string; n?: number }> => new Promise((r) => waiting.push(r));
  const ready = await next();
  return {
    url: ready.url ?? '',
    queries: async () => {
      const p = next();
      ch.send({ type: 'count' });
      return (await p).n ?? 0;
    },
    stop: () =>
      new Promise<void>((r) => {
        if (ch.exitCode !== null) return r();
        ch.once('exit', () => r());
        ch.send({ type: 'stop' });
      }),
  };
}

/** utime + stime of a process in ms, from /proc (the API server child's CPU). */
async function procCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

async function scale(out: Figures): Promise<void> {
  const N = Number(process.env.SLUICE_BENCH_ROLLOUT_N ?? 500);
  const steadyMs = Number(process.env.SLUICE_BENCH_ROLLOUT_STEADY_S ?? 30) * 1000;
  const settleMs = Number(process.env.SLUICE_BENCH_ROLLOUT_SETTLE_S ?? 5) * 1000;
  const dir = await tempDir('sluice-bench-rollout-scale-');
  // The API server and the synthetic Prometheus run in processes of their own (as on a cluster), so neither
  // shares an event loop with the other or with this benchmark's watch of every Rollout.
  const api = await startSluice('apiserver', join(dir, 'data'));
  const kubeconfigPath = join(dir, 'data', 'kubeconfig');
  const c = KubeClient.fromFile(kubeconfigPath, 'bench-setup');
  const prom = await syntheticPrometheus();
  let child: ChildProcess | undefined;
  let watched: Informer<RolloutObject> | undefined;
  let stderr = '';
  try {
    const names = Array.from({ length: N }, (_, i) => `svc${i}`);
    const revision = async (svc: string, rev: string): Promise<void> => {
      await c.create(R.revisions, {
        metadata: {
          name: rev,
          namespace: NS,
          // No configuration label: Knative's admission (which `sluice apiserver` runs) would then want an
          // ownerReference to a Configuration, and these Services have none (no Serving runs here).
          labels: { 'serving.knative.dev/service': svc },
        },
        spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go' }] },
      });
      await c.patch(R.revisions, NS, rev, { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 'merge', {
        subresource: 'status',
      });
      await c.patch(
        R.services,
        NS,
        svc,
        { status: { latestCreatedRevisionName: rev, latestReadyRevisionName: rev } },
        'merge',
        { subresource: 'status' },
      );
    };
    let t = performance.now();
    await pool(names, 32, async (s) => {
      await c.create(R.services, {
        metadata: { name: s, namespace: NS, labels: { bench: 'scale' } },
        spec: { template: { spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go' }] } } },
      });
      await revision(s, `${s}-00001`);
    });
    await c.create(R.rolloutPolicies, {
      metadata: { name: 'scale', namespace: NS },
      spec: {
        selector: { matchLabels: { bench: 'scale' } },
        strategy: { canary: { steps: [{ setWeight: 10 }, { pause: {} }] } },
        analysis: {
          interval: '1s',
          window: '4s',
          failureLimit: 2,
          metrics: METRICS.map((m) => ({ ...m, onNoData: 'hold', noDataTimeout: '5m' })),
        },
      },
    });
    log(`scale: ${N} Services with a ready revision and a policy in ${Math.round(performance.now() - t)} ms`);

    const childPath = fileURLToPath(new URL('./rollout-controller-child.js', import.meta.url));
    child = fork(childPath, [kubeconfigPath, prom.url], {
      execArgv: [
        '--expose-gc',
        ...(process.env.SLUICE_BENCH_ROLLOUT_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
      ],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const ch = child;
    const pending: Array<(m: { type: string } & Partial<Sample>) => void> = [];
    ch.on('message', (m: { type: string } & Partial<Sample>) => pending.shift()?.(m));
    const ask = <M>(type: string): Promise<M> =>
      new Promise((res, rej) => {
        pending.push((m) => res(m as M));
        ch.send({ type }, (e) => {
          if (e) rej(e);
        });
      });
    await new Promise<void>((res, rej) => {
      pending.push(() => res());
      ch.once('exit', (code) => rej(new Error(`controller child exited ${code}: ${stderr}`)));
    });
    // Phases from a watch (an informer here), not a LIST per second: at 10,000 Rollouts a LIST is ~100 MB.
    watched = new Informer<RolloutObject>(c, R.rollouts, { namespace: NS });
    await watched.start();
    const w = watched;
    const phases = async (): Promise<Record<string, number>> => {
      await Promise.resolve();
      const o: Record<string, number> = {};
      for (const r of w.list()) {
        const k = `${r.status?.phase ?? 'none'}${r.status?.canaryWeight !== undefined ? `@${r.status.canaryWeight}` : ''}`;
        o[k] = (o[k] ?? 0) + 1;
      }
      return o;
    };
    t = performance.now();
    const budget = Math.max(1, N / 500);
    await waitFor(`${N} rollouts pinned`, async () => (await phases())['Succeeded@0'] === N, 120_000 * budget, 250);
    log(`scale: ${N} rollouts pinned ${Math.round(performance.now() - t)} ms after the controller was ready`);
    t = performance.now();
    await pool(names, 32, (s) => revision(s, `${s}-00002`));
    const changedAt = t;
    const changeMs = Math.round(performance.now() - t);
    await waitFor(
      `${N} rollouts paused at 10 %`,
      async () => (await phases())['Paused@10'] === N,
      180_000 * budget,
      250,
    );
    const firstStepMs = Math.round(performance.now() - changedAt);
    log(
      `scale: ${N} rollouts started and paused at 10 % in ${firstStepMs} ms (new revisions written in ${changeMs} ms)`,
    );
    out['scale_template_change_to_first_step_s'] = round1(firstStepMs / 1000);
    out['scale_template_change_writes_s'] = round1(changeMs / 1000);
    // Let analysis settle into its 1 s rhythm (SLUICE_BENCH_ROLLOUT_SETTLE_S, default 5), then measure.
    await waitFor(
      '5 s of steady state',
      async () => {
        await new Promise((r) => setTimeout(r, settleMs));
        return true;
      },
      settleMs + 5000,
    );
    await ask('gc');
    const s0 = await ask<Sample>('sample');
    const q0 = await prom.queries();
    const apiPid = api.child.pid ?? 0;
    const a0 = await procCpuMs(apiPid);
    const rss: number[] = [];
    const heap: number[] = [];
    const end = Date.now() + steadyMs;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = await ask<Sample>('sample');
      rss.push(s.mem.rss);
      heap.push(s.mem.heapUsed);
    }
    const s1 = await ask<Sample>('sample');
    const q1 = await prom.queries();
    const a1 = await procCpuMs(apiPid);
    const secs = (s1.at - s0.at) / 1000;
    const cpuMs = (s1.cpu.user - s0.cpu.user + s1.cpu.system - s0.cpu.system) / 1000;
    const d = (k: string): number => (s1.stats[k] ?? 0) - (s0.stats[k] ?? 0);
    const endPhases = await phases();
    out['scale_rollouts'] = N;
    out['scale_steady_s'] = round1(secs);
    out['scale_controller_cpu_pct'] = round1((cpuMs / (secs * 1000)) * 100);
    out['scale_apiserver_cpu_pct'] = round1(((a1 - a0) / (secs * 1000)) * 100);
    out['scale_controller_rss_mib_median'] = round1(median(rss) / 2 ** 20);
    out['scale_controller_rss_mib_max'] = round1(Math.max(...rss) / 2 ** 20);
    out['scale_controller_heap_mib_median'] = round1(median(heap) / 2 ** 20);
    out['scale_controller_heap_mib_max'] = round1(Math.max(...heap) / 2 ** 20);
    out['scale_queries_per_s'] = round1((q1 - q0) / secs);
    out['scale_analysis_runs_per_s'] = round1(d('analysisRuns') / secs);
    out['scale_rounds_per_rollout_per_s'] = Math.round((d('analysisRequests') / secs / N) * 100) / 100;
    out['scale_max_requests_per_run'] = s1.stats['maxRequestsPerRun'] ?? 0;
    out['scale_status_writes_per_s'] = round1(d('statusWrites') / secs);
    out['scale_status_writes_deferred_per_s'] = round1(d('statusWritesDeferred') / secs);
    out['scale_api_writes_per_s'] = round1((d('statusWrites') + d('trafficPatches') + d('notifications')) / secs);
    out['scale_reconciles_per_s'] = round1(d('reconciles') / secs);
    out['scale_conflicts'] = d('conflicts');
    out['scale_errors'] = d('errors');
    out['scale_phases_at_end'] = JSON.stringify(endPhases);
    // What the Rollouts say (the three most common messages): a hold for data shows here.
    const messages = new Map<string, number>();
    for (const r of w.list()) {
      const m = (r.status?.message ?? '').replace(/svc\d+-\d+/g, 'svcN-0000N');
      messages.set(m, (messages.get(m) ?? 0) + 1);
    }
    out['scale_messages_at_end'] = JSON.stringify(
      [...messages]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([m, n]) => `${n}× ${m.slice(0, 120)}`),
    );
    const sample = await c.get<RolloutObject>(R.rollouts, NS, 'svc0');
    out['scale_rollout_object_kib'] = round1(JSON.stringify(sample).length / 1024);
    out['scale_rollout_object_kib_max'] = round1(Math.max(...w.list().map((r) => JSON.stringify(r).length)) / 1024);
  } finally {
    watched?.stop();
    if (child && child.exitCode === null) {
      const ch = child;
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          ch.kill('SIGKILL');
          r();
        }, 5000);
        ch.once('exit', () => {
          clearTimeout(t);
          r();
        });
        ch.send({ type: 'stop' });
      });
    }
    await prom.stop();
    await api.stop();
    await removeDir(dir);
  }
}

export async function run(): Promise<Figures> {
  const parts = (process.env.SLUICE_BENCH_ROLLOUT ?? 'reaction,queries,scale').split(',').map((p) => p.trim());
  const out: Figures = { loadavg_1m_start: round1(loadavg()[0] ?? 0) };
  if (parts.includes('reaction')) {
    const t = performance.now();
    await reaction(out);
    out['reaction_part_s'] = round1((performance.now() - t) / 1000);
  }
  if (parts.includes('queries')) {
    const t = performance.now();
    await queries(out);
    out['queries_part_s'] = round1((performance.now() - t) / 1000);
  }
  if (parts.includes('scale')) {
    const t = performance.now();
    await scale(out);
    out['scale_part_s'] = round1((performance.now() - t) / 1000);
  }
  out['loadavg_1m_end'] = round1(loadavg()[0] ?? 0);
  return out;
}
