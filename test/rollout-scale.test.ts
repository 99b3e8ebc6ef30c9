// 200 concurrent rollouts through `sluice apiserver` and `sluice controller` (the API server and the controller
// `sluice start` runs, as real processes) reach the same decisions as the same 200 decided one at a time.
//
// Concurrent: 200 Services whose Revisions are made Ready through the API (the Services stay at zero; no Serving,
// as bench/rollout.bench.ts does), one RolloutPolicy for all, a real Prometheus scraping a prom-client exporter
// here that serves each revision's request counts; every fifth new revision answers 5xx. All 200 new revisions are
// created at once, and the controller's analysis clock judges them in shared batches.
// Sequential: each of the 200, alone, through the pure machine (`step`) and an unbatched AnalysisEngine (one query
// per rollout, Flagger's way) against the same Prometheus, time stepped from one wake-up to the next.
// Decisions compared per rollout: the ordered (event, step, weight) of every decision, the final phase and the
// stable revision. Also: the queries per round show the batching, and every Rollout stays small.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { KubeClient, R } from '../src/kube/index.js';
import { AnalysisEngine } from '../src/rollout/analysis/engine.js';
import { PrometheusClient } from '../src/rollout/analysis/prometheus.js';
import type { RolloutObject } from '../src/rollout/controller/types.js';
import { initialState, makePlan, step, isTerminal, type RolloutState } from '../src/rollout/machine/index.js';
import type { MetricSpec, RolloutPolicySpec } from '../src/rollout/policy/types.js';
import { startPrometheus, type PrometheusHandle } from './support/prometheus.js';
import { removeDir, startSluice, tempDir, waitFor, type SluiceProcess } from './support/procs.js';

const N = 200;
const NS = 'default';
const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
const METRIC: MetricSpec = {
  name: 'success-rate',
  // Guarded: 0, not empty, for a revision answering only 5xx.
  query: `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or on() vector(0)) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`,
  thresholdRange: { min: 0.95 },
  onNoData: 'hold',
  noDataTimeout: '60s',
};
const POLICY: RolloutPolicySpec = {
  selector: { matchLabels: { group: 'scale' } },
  strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: {} }, { setWeight: 50 }, { analysis: {} }] } },
  analysis: { interval: '1s', window: '3s', failureLimit: 1, metrics: [METRIC] },
} as RolloutPolicySpec;
const names = Array.from({ length: N }, (_, i) => `s${String(i).padStart(3, '0')}`);
const bad = (svc: string): boolean => Number(svc.slice(1)) % 5 === 0;

let dir: string;
let api: SluiceProcess;
let ctl: SluiceProcess | undefined;
let c: KubeClient;
let prom: PrometheusHandle;
let exporter: Server;
let ticker: NodeJS.Timeout;
/** Requests per 100 ms per revision: good and 5xx. */
const rates = new Map<string, { svc: string; ok: number; err: number }>();

async function pool<T>(items: readonly T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

/** A Revision made Ready and named latest on its Service, as Serving would write them. */
async function readyRevision(svc: string, rev: string): Promise<void> {
  await c.create(R.revisions, {
    metadata: {
      name: rev,
      namespace: NS,
      // No configuration label: admission would then want an owner reference to a Configuration, which only
      // Serving (not running here) creates.
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
    {
      subresource: 'status',
    },
  );
}

type Decision = string;
interface Outcome {
  phase: string;
  stable: string;
  decisions: Decision[];
}

before(async () => {
  dir = await tempDir('sluice-rollout-scale-');
  const registry = new Registry();
  const count = new Counter({
    name: 'revision_request_count',
    help: 'requests',
    labelNames: ['namespace_name', 'revision_name', 'response_code_class'],
    registers: [registry],
  });
  ticker = setInterval(() => {
    for (const [rev, r] of rates) {
      if (r.ok > 0) count.inc({ namespace_name: NS, revision_name: rev, response_code_class: '2xx' }, r.ok);
      if (r.err > 0) count.inc({ namespace_name: NS, revision_name: rev, response_code_class: '5xx' }, r.err);
    }
  }, 100);
  exporter = createServer((_req, res) => {
    void registry.metrics().then((body) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
    });
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', () => r()));
  const addr = exporter.address();
  prom = await startPrometheus({ targets: [`127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`] });
  api = await startSluice('apiserver', join(dir, 'api'));
  c = KubeClient.fromFile(join(api.dataDir, 'kubeconfig'), 'scale-test');
});

after(async () => {
  clearInterval(ticker);
  await ctl?.stop();
  await api?.stop();
  await prom?.stop();
  await new Promise<void>((r) => exporter.close(() => r()));
  await removeDir(dir);
});

test(`${N} concurrent rollouts reach the same decisions as ${N} decided one at a time`, async () => {
  for (const s of names) {
    rates.set(`${s}-00001`, { svc: s, ok: 5, err: 0 });
    rates.set(`${s}-00002`, bad(s) ? { svc: s, ok: 2, err: 3 } : { svc: s, ok: 5, err: 0 });
  }
  await pool(names, 16, async (s) => {
    await c.create(R.services, {
      metadata: { name: s, namespace: NS, labels: { group: 'scale' } },
      spec: { template: { spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go' }] } } },
    });
    await readyRevision(s, `${s}-00001`);
  });
  await c.create(R.rolloutPolicies, { metadata: { name: 'scale', namespace: NS }, spec: POLICY });
  process.stdout.write(`# ${N} Services created\n`);
  ctl = await startSluice('controller', join(dir, 'ctl'), [
    '--kubeconfig',
    join(api.dataDir, 'kubeconfig'),
    '--prometheus-url',
    prom.url,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--work-dir',
    join(dir, 'work'),
    '--no-repo',
  ]);
  const rollouts = async (): Promise<RolloutObject[]> => (await c.list<RolloutObject>(R.rollouts, NS)).items;
  await waitFor(
    `${N} Services pinned`,
    async () => (await rollouts()).filter((r) => r.status?.phase === 'Succeeded').length === N,
    60_000,
    500,
  );
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${ctl?.endpoints.controller ?? ''}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.split(' ')[1] ?? NaN);
  };
  process.stdout.write(`# ${N} Services pinned\n`);
  const q0 = await metric('sluice_analysis_queries_total');
  const r0 = await metric('sluice_analysis_rounds_total');

  // Concurrent: every new revision at once.
  const t0 = Date.now();
  await pool(names, 32, (s) => readyRevision(s, `${s}-00002`));
  const done = await waitFor(
    `${N} rollouts finished`,
    async () => {
      const list = await rollouts();
      const fin = list.filter(
        (r) => r.status?.canaryRevision?.endsWith('-00002') && isTerminal(r.status.phase ?? 'Pending'),
      );
      return fin.length === N ? list : undefined;
    },
    90_000,
    500,
  );
  const concurrentMs = Date.now() - t0;
  const ts = Date.now();
  const queries = (await metric('sluice_analysis_queries_total')) - q0;
  const rounds = (await metric('sluice_analysis_rounds_total')) - r0;
  const concurrent = new Map<string, Outcome>();
  for (const r of done) {
    const decisions = (r.status?.timeline ?? [])
      .filter((e) => e.type === 'decision' && e.revision === `${r.metadata.name}-00002`)
      .map((e) => `${e.event}@${e.step ?? ''}/${e.weight ?? ''}`);
    concurrent.set(r.metadata.name ?? '', {
      phase: r.status?.phase ?? '',
      stable: r.status?.stableRevision ?? '',
      decisions,
    });
  }

  // Sequential: one rollout at a time, the pure machine and one query per rollout.
  const engine = new AnalysisEngine({ client: new PrometheusClient({ url: prom.url }), batch: false });
  const sequential = new Map<string, Outcome>();
  const plan = makePlan(POLICY);
  for (const s of names) {
    let now = Date.now();
    let state: RolloutState = initialState({ namespace: NS, service: s, stableRevision: `${s}-00001`, now });
    const decisions: Decision[] = [];
    let round;
    for (let i = 0; i < 50; i++) {
      const res = step(
        state,
        {
          policy: POLICY,
          revisions: { [`${s}-00001`]: 'ready', [`${s}-00002`]: 'ready' },
          commands: [],
          latestRevision: `${s}-00002`,
          ...(round ? { analysis: round } : {}),
        },
        now,
      );
      state = res.state;
      round = undefined;
      for (const a of res.actions)
        if (a.kind === 'notify' && a.revision === `${s}-00002`) decisions.push(`${a.event}@${a.step}/${a.weight}`);
      if (isTerminal(state.phase)) break;
      const ask = res.actions.find((a) => a.kind === 'runAnalysis');
      if (ask && ask.kind === 'runAnalysis') {
        // Measured now (the data is steady); the round carries the machine's time.
        const rs = await engine.run(
          [
            {
              key: s,
              namespace: NS,
              service: s,
              revision: ask.revision,
              stableRevision: ask.stableRevision,
              metrics: ask.metrics,
              windowMs: ask.windowMs,
            },
          ],
          Date.now(),
        );
        const r = rs.get(s);
        if (r) round = { ...r, at: now };
        continue;
      }
      now = res.wakeAt ?? now + (plan.analysis?.intervalMs ?? 1000);
    }
    sequential.set(s, { phase: state.phase, stable: state.stableRevision, decisions });
  }

  const sequentialMs = Date.now() - ts;
  process.stdout.write(
    `# ${N} concurrent rollouts finished in ${concurrentMs} ms (${rounds} rounds in ${queries} queries); one at a time ${sequentialMs} ms\n`,
  );
  const differ = names.filter((s) => JSON.stringify(concurrent.get(s)) !== JSON.stringify(sequential.get(s)));
  assert.deepEqual(
    differ.slice(0, 5).map((s) => ({ s, concurrent: concurrent.get(s), sequential: sequential.get(s) })),
    [],
    `${differ.length} of ${N} rollouts decided differently`,
  );
  // What the data says: every fifth canary rolled back, the others promoted.
  for (const s of names) {
    const o = sequential.get(s);
    assert.equal(o?.phase, bad(s) ? 'RolledBack' : 'Succeeded', s);
    assert.equal(o?.stable, bad(s) ? `${s}-00001` : `${s}-00002`, s);
  }
  // Batched: many rollout-rounds per query (one per rollout per round would be 1).
  assert.ok(rounds >= N, `rounds judged ${rounds}`);
  // (Starts spread over the seconds the 200 start-up writes take, so a grid point gathers those due at it.)
  assert.ok(rounds / Math.max(1, queries) >= 3, `${rounds} rounds in ${queries} queries`);
  // Small Rollouts: the per-rollout query is recorded, not the batch.
  const largest = Math.max(...done.map((r) => JSON.stringify(r).length));
  assert.ok(largest < 24 * 1024, `largest Rollout ${largest} bytes`);
  for (const r of done)
    for (const run of r.status?.analysisRuns ?? [])
      for (const m of run.metrics)
        assert.ok(!m.query || m.query.includes(`"${run.revision}"`), `${r.metadata.name}: ${m.query ?? ''}`);
  process.stdout.write(`# largest Rollout ${(largest / 1024).toFixed(1)} KiB\n`);
});
