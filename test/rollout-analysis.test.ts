// Batched analysis against a real Prometheus scraping a prom-client exporter served by this test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { pino } from 'pino';
import { startPrometheus, waitFor, type PrometheusHandle } from './support/prometheus.js';
import { PrometheusClient } from '../src/rollout/analysis/prometheus.js';
import { AnalysisEngine, type AnalysisRequest } from '../src/rollout/analysis/engine.js';
import { planBatch } from '../src/rollout/analysis/batch.js';
import type { MetricResult } from '../src/rollout/analysis/result.js';
import type { MetricSpec } from '../src/rollout/policy/types.js';

const LABELS = [
  'namespace_name',
  'service_name',
  'configuration_name',
  'revision_name',
  'response_code',
  'response_code_class',
] as const;

interface Rev {
  ns: string;
  svc: string;
  rev: string;
  okPerTick: number;
  errPerTick: number;
  quality: number;
  latency: number;
}
const REVS: Rev[] = [
  { ns: 'default', svc: 'web', rev: 'web-00001', okPerTick: 10, errPerTick: 0, quality: 0.99, latency: 100 },
  { ns: 'default', svc: 'web', rev: 'web-00002', okPerTick: 99, errPerTick: 1, quality: 0.99, latency: 100 },
  { ns: 'default', svc: 'api', rev: 'api-00004', okPerTick: 10, errPerTick: 0, quality: 0.99, latency: 100 },
  { ns: 'default', svc: 'api', rev: 'api-00005', okPerTick: 1, errPerTick: 1, quality: 0.5, latency: 300 },
  { ns: 'shop', svc: 'cart', rev: 'cart-00008', okPerTick: 10, errPerTick: 0, quality: 0.99, latency: 100 },
  { ns: 'shop', svc: 'cart', rev: 'cart-00009', okPerTick: 97, errPerTick: 3, quality: 0.97, latency: 100 },
];

const METRICS: MetricSpec[] = [
  {
    name: 'success-rate',
    query:
      'sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}])) / sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}"}[{{interval}}]))',
    thresholdRange: { min: 0.95 },
  },
  { name: 'quality', query: 'max(revision_quality{revision_name="{{revision}}"})', thresholdRange: { min: 0.95 } },
  {
    name: 'latency',
    query: 'max(revision_latency_ms{revision_name="{{revision}}"})',
    judge: { type: 'mannWhitney', direction: 'increase', lookback: '4s', resolution: '1s' },
  },
];

const request = (
  key: string,
  ns: string,
  svc: string,
  revision: string,
  stable: string,
  metrics = METRICS,
): AnalysisRequest => ({ key, namespace: ns, service: svc, revision, stableRevision: stable, metrics, windowMs: 5000 });
const ROLLOUTS: AnalysisRequest[] = [
  request('default/web', 'default', 'web', 'web-00002', 'web-00001'),
  request('default/api', 'default', 'api', 'api-00005', 'api-00004'),
  request('shop/cart', 'shop', 'cart', 'cart-00009', 'cart-00008'),
];

let server: Server;
let prom: PrometheusHandle;
let ticker: NodeJS.Timeout;

function byMetric(results: MetricResult[] | undefined): Record<string, MetricResult> {
  return Object.fromEntries((results ?? []).map((r) => [r.metric, r]));
}
const value = (r: MetricResult | undefined): number | null =>
  r && (r.status === 'pass' || r.status === 'fail') ? r.value : null;

before(async () => {
  const registry = new Registry();
  const count = new Counter({
    name: 'revision_request_count',
    help: 'requests',
    labelNames: LABELS,
    registers: [registry],
  });
  const quality = new Gauge({
    name: 'revision_quality',
    help: 'a fixed per-revision value',
    labelNames: ['revision_name'],
    registers: [registry],
  });
  const latency = new Gauge({
    name: 'revision_latency_ms',
    help: 'a fixed per-revision latency',
    labelNames: ['revision_name', 'namespace_name'],
    registers: [registry],
  });
  // The OTel shape whose revision is only on target_info (Knative >= 1.19 pulled), joined here on pod.
  const podRequests = new Counter({
    name: 'pod_requests_total',
    help: 'requests per pod',
    labelNames: ['pod'],
    registers: [registry],
  });
  const targetInfo = new Gauge({
    name: 'target_info',
    help: 'resource attributes',
    labelNames: ['pod', 'kn_revision_name', 'k8s_namespace_name'],
    registers: [registry],
  });
  const latencies = new Histogram({
    name: 'revision_request_latencies',
    help: 'latency, ms',
    labelNames: ['namespace_name', 'revision_name'],
    buckets: [50, 150, 250, 350],
    registers: [registry],
  });
  for (const r of REVS) targetInfo.set({ pod: `${r.rev}-pod`, kn_revision_name: r.rev, k8s_namespace_name: r.ns }, 1);
  const tick = (): void => {
    // Both counters move in the same synchronous tick, so every scrape sees the exact ratio.
    for (const r of REVS) {
      podRequests.inc({ pod: `${r.rev}-pod` }, r.okPerTick + r.errPerTick);
      latencies.observe({ namespace_name: r.ns, revision_name: r.rev }, r.latency);
      latencies.observe({ namespace_name: r.ns, revision_name: r.rev }, r.latency / 2);
      const base = { namespace_name: r.ns, service_name: r.svc, configuration_name: r.svc, revision_name: r.rev };
      count.inc({ ...base, response_code: '200', response_code_class: '2xx' }, r.okPerTick);
      if (r.errPerTick > 0) count.inc({ ...base, response_code: '500', response_code_class: '5xx' }, r.errPerTick);
    }
  };
  for (const r of REVS) {
    quality.set({ revision_name: r.rev }, r.quality);
    latency.set({ revision_name: r.rev, namespace_name: r.ns }, r.latency);
  }
  tick();
  ticker = setInterval(tick, 100);
  server = createServer((req, res) => {
    void registry.metrics().then((body) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  prom = await startPrometheus({ targets: [`127.0.0.1:${port}`] });
  const client = new PrometheusClient({ url: prom.url });
  // Rates need two scrapes in the window, and the subquery a few samples: wait for them, not for a fixed time.
  await waitFor('rates for every revision', async () => {
    const d = await client.query('count(rate(revision_request_count{response_code="200"}[5s]) > 0)');
    return d.resultType === 'vector' && Number(d.result[0]?.value[1] ?? 0) === REVS.length;
  });
  await waitFor('4 latency samples per revision', async () => {
    const d = await client.query('min(count_over_time(revision_latency_ms[4s]))');
    return d.resultType === 'vector' && Number(d.result[0]?.value[1] ?? 0) >= 4;
  });
});

after(async () => {
  clearInterval(ticker);
  await prom?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

test('analysis: 3 rollouts, 3 metrics → ONE query per metric, each rollout gets its own value', async () => {
  const client = new PrometheusClient({ url: prom.url });
  const engine = new AnalysisEngine({ client });
  const rounds = await engine.run(ROLLOUTS, Date.now());
  assert.equal(client.queries, METRICS.length, 'one query per metric, not per rollout');
  const web = byMetric(rounds.get('default/web')?.results);
  const api = byMetric(rounds.get('default/api')?.results);
  const cart = byMetric(rounds.get('shop/cart')?.results);
  assert.equal(value(web.quality), 0.99);
  assert.equal(value(api.quality), 0.5);
  assert.equal(value(cart.quality), 0.97);
  assert.deepEqual([web.quality?.status, api.quality?.status, cart.quality?.status], ['pass', 'fail', 'pass']);
  assert.ok(Math.abs((value(web['success-rate']) ?? 0) - 0.99) < 1e-6, JSON.stringify(web['success-rate']));
  assert.ok(Math.abs((value(api['success-rate']) ?? 0) - 0.5) < 1e-6, JSON.stringify(api['success-rate']));
  assert.ok(Math.abs((value(cart['success-rate']) ?? 0) - 0.97) < 1e-6, JSON.stringify(cart['success-rate']));
  assert.equal(api['success-rate']?.status, 'fail');
  // Each rollout's record shows its own query, not the batch.
  assert.match(web['success-rate']?.query ?? '', /revision_name="web-00002"/);
  assert.doesNotMatch(web['success-rate']?.query ?? '', /api-00005/);
  // Statistical judge, canary vs stable from the same batched subquery.
  assert.equal(web.latency?.status, 'pass', JSON.stringify(web.latency));
  assert.equal(api.latency?.status, 'fail', JSON.stringify(api.latency));
  assert.match(
    api.latency?.status === 'fail' ? api.latency.reason : '',
    /higher than stable: shift 200 \(98% CI \[200, 200\]\), mean ratio 3/,
  );
});

test('analysis: unbatched (Flagger way) asks once per rollout per metric and agrees with batched', async () => {
  const client = new PrometheusClient({ url: prom.url });
  const at = Date.now();
  const flat = await new AnalysisEngine({ client, batch: false }).run(ROLLOUTS, at);
  const batched = await new AnalysisEngine({ client: new PrometheusClient({ url: prom.url }) }).run(ROLLOUTS, at);
  // The statistical metric needs canary and stable: 2 queries per rollout unbatched.
  assert.equal(client.queries, ROLLOUTS.length * (METRICS.length + 1));
  for (const r of ROLLOUTS) {
    const a = byMetric(flat.get(r.key)?.results);
    const b = byMetric(batched.get(r.key)?.results);
    for (const m of METRICS) {
      assert.equal(a[m.name]?.status, b[m.name]?.status, `${r.key} ${m.name}`);
      const va = value(a[m.name]);
      const vb = value(b[m.name]);
      assert.ok(va === vb || Math.abs((va ?? 0) - (vb ?? 0)) < 1e-9, `${r.key} ${m.name}: ${va} vs ${vb}`);
    }
  }
});

test("analysis: bad PromQL is an error carrying Prometheus's message and the query", async () => {
  const client = new PrometheusClient({ url: prom.url });
  const bad: MetricSpec = {
    name: 'broken',
    query: 'sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}])',
    thresholdRange: { min: 1 },
  };
  const rounds = await new AnalysisEngine({ client }).run(
    [request('default/web', 'default', 'web', 'web-00002', 'web-00001', [bad])],
    Date.now(),
  );
  const r = rounds.get('default/web')?.results[0];
  assert.equal(r?.status, 'error');
  if (r?.status !== 'error') return;
  assert.equal(r.code, 'SLUICE_ERR_PROM_QUERY');
  assert.match(r.reason, /Prometheus rejected the query \(bad_data\): .*parse error/);
  assert.match(r.reason, /query: sum\(rate\(revision_request_count\{revision_name="web-00002"\}\[5s\]\)$/);
});

test('analysis: a series that does not exist is noData, never a pass; NaN too; each says whether the revision was served', async () => {
  const client = new PrometheusClient({ url: prom.url });
  const nan: MetricSpec = {
    name: 'nan',
    query: 'max(revision_quality{revision_name="{{revision}}"}) * (0/0)',
    thresholdRange: { min: 0 },
  };
  const rounds = await new AnalysisEngine({ client }).run(
    [
      request('ghost', 'default', 'ghost', 'ghost-00001', 'ghost-00000', [METRICS[1] as MetricSpec]),
      request('web', 'default', 'web', 'web-00002', 'web-00001', [nan]),
    ],
    Date.now(),
  );
  const ghost = rounds.get('ghost')?.results[0];
  assert.equal(ghost?.status, 'noData');
  if (ghost?.status !== 'noData') return;
  // Nothing served ghost-00001: waiting for traffic is right.
  assert.equal(ghost.cause, 'noTraffic');
  assert.equal(ghost.requests, 0);
  assert.equal(ghost.reason, 'no requests reached ghost-00001 in the last 5s');
  const n = rounds.get('web')?.results[0];
  assert.equal(n?.status, 'noData');
  if (n?.status !== 'noData') return;
  // web-00002 serves ~1000 requests/s: the query is the problem, and the message names the fix.
  assert.equal(n.cause, 'emptyQuery');
  assert.ok((n.requests ?? 0) >= 10, `requests counted: ${n.requests}`);
  assert.match(
    n.reason,
    /^the query returned NaN although web-00002 served \d+ requests in the last 5s: .*or on\(\) vector\(0\)/,
  );
});

test('analysis: templates the rewrite cannot batch (`or on() vector(0)`, {{stableRevision}}, Mann-Whitney on a guarded query) still cost one query each per round, joined with `or`, and agree with per-rollout queries', async () => {
  const SELECT = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
  const metrics: MetricSpec[] = [
    {
      name: 'guarded',
      query: `(sum(rate(revision_request_count{${SELECT},response_code_class!="5xx"}[{{interval}}])) or on() vector(0)) / (sum(rate(revision_request_count{${SELECT}}[{{interval}}])) > 0)`,
      thresholdRange: { min: 0.95 },
    },
    {
      name: 'vs-stable',
      query:
        'sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}])) / sum(rate(revision_request_count{revision_name="{{stableRevision}}"}[{{interval}}]))',
      thresholdRange: { max: 5 },
    },
    {
      name: 'latency-guarded',
      query: 'max(revision_latency_ms{revision_name="{{revision}}"}) or on() vector(0)',
      judge: { type: 'mannWhitney', direction: 'increase', lookback: '4s', resolution: '1s' },
    },
  ];
  const reqs = ROLLOUTS.map((r) => ({ ...r, metrics }));
  const at = Date.now();
  const joinedClient = new PrometheusClient({ url: prom.url });
  const joined = await new AnalysisEngine({ client: joinedClient }).run(reqs, at);
  assert.equal(joinedClient.queries, metrics.length, 'one query per template for all three rollouts');
  const flatClient = new PrometheusClient({ url: prom.url });
  const flat = await new AnalysisEngine({ client: flatClient, batch: false }).run(reqs, at);
  assert.equal(flatClient.queries, ROLLOUTS.length * (metrics.length + 1));
  for (const r of reqs) {
    const a = byMetric(joined.get(r.key)?.results);
    const b = byMetric(flat.get(r.key)?.results);
    for (const m of metrics) {
      assert.equal(a[m.name]?.status, b[m.name]?.status, `${r.key} ${m.name}: ${JSON.stringify(a[m.name])}`);
      assert.ok(a[m.name]?.status === 'pass' || a[m.name]?.status === 'fail', JSON.stringify(a[m.name]));
      const va = value(a[m.name]);
      const vb = value(b[m.name]);
      assert.ok(va === vb || Math.abs((va ?? 0) - (vb ?? 0)) < 1e-9, `${r.key} ${m.name}: ${va} vs ${vb}`);
      // Each rollout's record shows its own query, not the join.
      assert.ok(a[m.name]?.query.includes(r.revision) && !a[m.name]?.query.includes('sluice_leg'), a[m.name]?.query);
    }
  }
  // api-00005 answers 1 × 2xx + 1 × 5xx: the guarded success rate fails there. The Mann-Whitney leg is checked by
  // equality with per-rollout queries only (its first samples may be the guard's 0, depending on when this runs).
  assert.equal(
    byMetric(joined.get('default/api')?.results).guarded?.status,
    'fail',
    JSON.stringify(byMetric(joined.get('default/api')?.results).guarded),
  );
  assert.equal(byMetric(joined.get('default/web')?.results).guarded?.status, 'pass');
});

test('analysis: every template shape is rewritten on the syntax tree and batched natively (one query per template per round), and agrees with per-rollout queries', async () => {
  const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
  const TI = 'target_info{kn_revision_name="{{revision}}",k8s_namespace_name="{{namespace}}"}';
  const shapes: MetricSpec[] = [
    { name: 'simple', query: `sum(rate(revision_request_count{${SEL}}[{{interval}}]))`, thresholdRange: { min: 15 } },
    {
      name: 'guarded',
      query: `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or on() vector(0)) / (sum(rate(revision_request_count{${SEL}}[{{interval}}])) > 0)`,
      thresholdRange: { min: 0.95 },
    },
    {
      name: 'guarded-5xx-only',
      // No revision has 4xx: the numerator is empty for all, and the guard gives each rollout 0.
      query: `(sum(rate(revision_request_count{${SEL},response_code_class="4xx"}[{{interval}}])) or on() vector(0)) / (sum(rate(revision_request_count{${SEL}}[{{interval}}])) > 0)`,
      thresholdRange: { max: 0 },
    },
    {
      name: 'target-info',
      query: `sum(rate(pod_requests_total[{{interval}}]) * on(pod) group_left(kn_revision_name) ${TI})`,
      thresholdRange: { min: 15 },
    },
    {
      name: 'histogram-by-le',
      query: `histogram_quantile(0.9, sum by (le) (rate(revision_request_latencies_bucket{${SEL}}[{{interval}}])))`,
      thresholdRange: { max: 200 },
    },
    {
      name: 'histogram-postfix',
      query: `histogram_quantile(0.5, sum(rate(revision_request_latencies_bucket{${SEL}}[{{interval}}])) by (le))`,
      thresholdRange: { max: 200 },
    },
    {
      name: 'share-of-all',
      query: `sum(rate(revision_request_count{${SEL}}[{{interval}}])) / on() group_left sum(rate(revision_request_count[{{interval}}]))`,
      thresholdRange: { min: 0.05 },
    },
    {
      name: 'vs-constant',
      query: `sum(rate(revision_request_count{${SEL}}[{{interval}}])) / on() sum(rate(revision_request_count[{{interval}}]))`,
      thresholdRange: { min: 0.05 },
    },
  ];
  for (const m of shapes) {
    const p = planBatch(m.query ?? '');
    assert.ok(p.batchable, `${m.name}: ${p.batchable ? '' : p.reason}`);
  }
  const reqs = ROLLOUTS.map((r) => ({ ...r, metrics: shapes }));
  const at = Date.now();
  const batchedClient = new PrometheusClient({ url: prom.url });
  const batched = await new AnalysisEngine({ client: batchedClient }).run(reqs, at);
  assert.equal(batchedClient.queries, shapes.length, 'one query per template for all three rollouts');
  const flatClient = new PrometheusClient({ url: prom.url });
  const flat = await new AnalysisEngine({ client: flatClient, batch: false }).run(reqs, at);
  assert.equal(flatClient.queries, ROLLOUTS.length * shapes.length);
  for (const r of reqs) {
    const a = byMetric(batched.get(r.key)?.results);
    const b = byMetric(flat.get(r.key)?.results);
    for (const m of shapes) {
      const va = value(a[m.name]);
      const vb = value(b[m.name]);
      assert.ok(va !== null, `${r.key} ${m.name}: ${JSON.stringify(a[m.name])}`);
      assert.equal(a[m.name]?.status, b[m.name]?.status, `${r.key} ${m.name}: ${JSON.stringify(a[m.name])}`);
      assert.ok(Math.abs((va ?? 0) - (vb ?? 0)) < 1e-9, `${r.key} ${m.name}: ${va} vs ${vb}`);
    }
  }
  // The values are each rollout's own: api-00005 fails the guarded success rate (1 of 2 is 5xx), web passes.
  assert.equal(byMetric(batched.get('default/api')?.results).guarded?.status, 'fail');
  assert.equal(byMetric(batched.get('default/web')?.results).guarded?.status, 'pass');
  assert.equal(value(byMetric(batched.get('default/web')?.results)['guarded-5xx-only']), 0);
});

test('analysis: Prometheus stopped → noData with a reason, logged once, no crash', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const engine = new AnalysisEngine({
    client: new PrometheusClient({ url: prom.url, timeoutMs: 2000 }),
    logger: pino({ level: 'info' }, sink),
  });
  await prom.stop();
  await waitFor('Prometheus to be gone', () => !prom.running());
  for (let i = 0; i < 3; i++) {
    const rounds = await engine.run(ROLLOUTS, Date.now());
    for (const r of ROLLOUTS) {
      for (const res of rounds.get(r.key)?.results ?? []) {
        assert.equal(res.status, 'noData', JSON.stringify(res));
        assert.match(res.status === 'noData' ? res.reason : '', /Prometheus unavailable: cannot reach Prometheus/);
      }
      assert.equal(rounds.get(r.key)?.results.length, METRICS.length);
    }
  }
  assert.equal(lines.filter((l) => l.includes('Prometheus unavailable')).length, 1, lines.join(''));
});
