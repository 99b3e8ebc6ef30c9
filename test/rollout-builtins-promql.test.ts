// Each builtin's PromQL for each Knative metric family, evaluated by a real Prometheus over fixed series: the
// series are written as OpenMetrics, turned into TSDB blocks with `promtool tsdb create-blocks-from openmetrics`
// (Debian's prometheus package), and queried at a fixed time. Counters grow linearly, one sample a second, so
// every rate is its slope exactly and every expected value below is computed by hand in its row.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  histogram as buckets,
  openMetrics,
  prometheusWith,
  type FixedPrometheus,
  type Series,
} from './support/fixed-series.js';
import { PrometheusClient } from '../src/rollout/analysis/prometheus.js';
import { AnalysisEngine } from '../src/rollout/analysis/engine.js';
import {
  builtinQuery,
  familyLabels,
  requestCountQuery,
  type BuiltinMetric,
  type MetricFamily,
} from '../src/rollout/analysis/families.js';
import type { MetricResult } from '../src/rollout/analysis/result.js';

// ---------- the fixed series ----------
/** 30 minutes ago, on a whole second: old enough to be in blocks, young enough for the default retention. */
const BASE = Math.floor(Date.now() / 1000) - 1800;
const SAMPLES = 121;
/** Queries are evaluated at the last sample, over a 30 s window (31 samples). */
const AT = (BASE + SAMPLES - 1) * 1000;
const WINDOW = '30s';

const series: Series[] = [];
const add = (name: string, labels: Record<string, string>, slope: number, start = 0): void =>
  void series.push({ name, labels, slope, start });

function histogram(name: string, labels: Record<string, string>, bounds: number[], upper: number, perSecond: number) {
  series.push(...buckets(name, labels, bounds, upper, perSecond));
}
const OC_BUCKETS = [
  5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 5000,
];
const OTEL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

// knative-opencensus (Knative ≤ 1.18 queue-proxy; no zero series for classes never seen, as on a cluster).
function oc(ns: string, rev: string, perClass: Record<string, number>, latencyUpperMs?: number, constant = false) {
  const base = {
    namespace_name: ns,
    service_name: rev.replace(/-\d+$/, ''),
    revision_name: rev,
    container_name: 'queue-proxy',
  };
  for (const [cls, perSecond] of Object.entries(perClass))
    add(
      'revision_request_count',
      { ...base, response_code: `${cls[0]}00`, response_code_class: cls },
      constant ? 0 : perSecond,
      constant ? perSecond : 0,
    );
  if (latencyUpperMs !== undefined) {
    const total = Object.values(perClass).reduce((a, b) => a + b, 0);
    histogram('revision_request_latencies', base, OC_BUCKETS, latencyUpperMs, constant ? 0 : total);
  }
}
oc('default', 'bad-00002', { '5xx': 10 }, 2000);
oc('default', 'mix-00002', { '2xx': 9, '5xx': 1 }, 150);
oc('default', 'idle-00002', { '2xx': 5 }, 150, true); // series exist, nothing new in the window
oc('default', 'web-00001', { '2xx': 5 }, 150);
oc('default', 'web-00002', { '2xx': 3, '5xx': 1 }, 2000);
oc('shop', 'web-00002', { '5xx': 2 }, 150); // same revision name, another namespace

// knative-otel (OTLP with promoted resource attributes), plus the activator's series for the same revision, which
// carry kn_revision_name as a metric attribute and must not be counted (its service.name is the job).
function otel(ns: string, rev: string, perCode: Record<string, number>, upperS: number, extra: Record<string, string>) {
  const base = { k8s_namespace_name: ns, kn_revision_name: rev, kn_service_name: rev.replace(/-\d+$/, ''), ...extra };
  for (const [code, perSecond] of Object.entries(perCode))
    add('http_server_request_duration_seconds_count', { ...base, http_response_status_code: code }, perSecond);
  const total = Object.values(perCode).reduce((a, b) => a + b, 0);
  histogram('http_server_request_duration_seconds', base, OTEL_BUCKETS, upperS, total);
}
otel('otel', 'ok-00002', { '200': 8, '503': 2 }, 0.25, {
  k8s_container_name: 'queue-proxy',
  job: 'ok',
  instance: 'ok-00002-a',
});
otel('otel', 'ok-00002', { '200': 100 }, 10, { job: 'activator', instance: 'activator-0' });
otel('otel', 'fail-00002', { '500': 4 }, 0.25, {
  k8s_container_name: 'queue-proxy',
  job: 'fail',
  instance: 'fail-00002-a',
});

// knative-otel-target-info (pulled): the revision is only on target_info, joined on (job, instance).
function pulled(job: string, instance: string, perCode: Record<string, number>, upperS: number) {
  for (const [code, perSecond] of Object.entries(perCode))
    add('http_server_request_duration_seconds_count', { job, instance, http_response_status_code: code }, perSecond);
  const total = Object.values(perCode).reduce((a, b) => a + b, 0);
  histogram('http_server_request_duration_seconds', { job, instance }, OTEL_BUCKETS, upperS, total);
}
pulled('hello', 'hello-00002-deployment-a', { '200': 6, '500': 2 }, 0.075);
pulled('hello', 'hello-00001-deployment-a', { '200': 4 }, 0.25);
pulled('activator', 'activator-0', { '200': 50 }, 0.25);
const info = (job: string, instance: string, extra: Record<string, string>) =>
  add('target_info', { job, instance, service_name: job, ...extra }, 0, 1);
info('hello', 'hello-00002-deployment-a', { k8s_namespace_name: 'pull', kn_revision_name: 'hello-00002' });
info('hello', 'hello-00001-deployment-a', { k8s_namespace_name: 'pull', kn_revision_name: 'hello-00001' });
info('activator', 'activator-0', { k8s_namespace_name: 'knative-serving' });

// ---------- Prometheus over those blocks ----------
let fixed: FixedPrometheus;
let client: PrometheusClient;

before(async () => {
  fixed = await prometheusWith(openMetrics(series, BASE, SAMPLES));
  client = new PrometheusClient({ url: fixed.prom.url });
});

after(async () => {
  await fixed?.stop();
});

/** The value per `namespace/revision` of a batched query's answer; NaN and empty both read as null. */
async function evaluate(f: MetricFamily, q: string): Promise<Map<string, number | null>> {
  const d = await client.query(q, { time: AT });
  assert.equal(d.resultType, 'vector', q);
  const l = familyLabels(f);
  const out = new Map<string, number | null>();
  if (d.resultType !== 'vector') return out;
  for (const s of d.result) {
    const v = Number(s.value[1]);
    out.set(`${s.metric[l.namespace] ?? '?'}/${s.metric[l.revision] ?? '?'}`, Number.isNaN(v) ? null : v);
  }
  return out;
}

interface Case {
  name: string;
  family: MetricFamily;
  metric: BuiltinMetric;
  percentile?: number;
  /** The revisions asked for in one query, `namespace/revision`, and what each must read (null: no data). */
  want: Record<string, number | null>;
}
const cases: Case[] = [
  // --- knative-opencensus
  {
    name: 'opencensus, 5xx only: success rate 0 (not empty), error rate 100',
    family: 'knative-opencensus',
    metric: 'request-success-rate',
    want: { 'default/bad-00002': 0 },
  },
  {
    name: 'opencensus, 5xx only: error rate 100',
    family: 'knative-opencensus',
    metric: 'request-error-rate',
    want: { 'default/bad-00002': 100 },
  },
  {
    name: 'opencensus, mixed 9 × 2xx + 1 × 5xx a second: 90 %, 10 %, 10 req/s',
    family: 'knative-opencensus',
    metric: 'request-success-rate',
    want: { 'default/mix-00002': 90 },
  },
  {
    name: 'opencensus, mixed: error rate 10',
    family: 'knative-opencensus',
    metric: 'request-error-rate',
    want: { 'default/mix-00002': 10 },
  },
  {
    name: 'opencensus, mixed: 10 req/s',
    family: 'knative-opencensus',
    metric: 'request-rate',
    want: { 'default/mix-00002': 10 },
  },
  {
    name: 'opencensus, p99 with every request in (100, 150] ms: 100 + 50 × 0.99 = 149.5',
    family: 'knative-opencensus',
    metric: 'request-duration',
    want: { 'default/mix-00002': 149.5 },
  },
  {
    name: 'opencensus, p50 of the same: 100 + 50 × 0.5 = 125',
    family: 'knative-opencensus',
    metric: 'request-duration',
    percentile: 50,
    want: { 'default/mix-00002': 125 },
  },
  {
    name: 'opencensus, no traffic in the window (series exist) and no series at all: no data for every builtin',
    family: 'knative-opencensus',
    metric: 'request-success-rate',
    want: { 'default/idle-00002': null, 'default/absent-00001': null },
  },
  {
    name: 'opencensus, no traffic: error rate no data',
    family: 'knative-opencensus',
    metric: 'request-error-rate',
    want: { 'default/idle-00002': null },
  },
  {
    name: 'opencensus, no traffic: request rate no data',
    family: 'knative-opencensus',
    metric: 'request-rate',
    want: { 'default/idle-00002': null },
  },
  {
    name: 'opencensus, no traffic: duration no data (NaN)',
    family: 'knative-opencensus',
    metric: 'request-duration',
    want: { 'default/idle-00002': null },
  },
  {
    name: 'opencensus, two revisions of one service in one query, and the same name in another namespace: 100, 3/4 = 75, 0',
    family: 'knative-opencensus',
    metric: 'request-success-rate',
    want: { 'default/web-00001': 100, 'default/web-00002': 75, 'shop/web-00002': 0 },
  },
  {
    name: 'opencensus, two revisions: p99 149.5 ms and 1000 + 1000 × 0.99 = 1990 ms',
    family: 'knative-opencensus',
    metric: 'request-duration',
    want: { 'default/web-00001': 149.5, 'default/web-00002': 1990 },
  },
  // --- knative-otel (promoted attributes; the activator's 100 req/s for ok-00002 must not count)
  {
    name: 'otel, 8 × 200 + 2 × 503 a second (activator excluded): 80 %',
    family: 'knative-otel',
    metric: 'request-success-rate',
    want: { 'otel/ok-00002': 80, 'otel/fail-00002': 0 },
  },
  {
    name: 'otel, error rate 20 and 100',
    family: 'knative-otel',
    metric: 'request-error-rate',
    want: { 'otel/ok-00002': 20, 'otel/fail-00002': 100 },
  },
  {
    name: 'otel, request rate 10 and 4 (not 110)',
    family: 'knative-otel',
    metric: 'request-rate',
    want: { 'otel/ok-00002': 10, 'otel/fail-00002': 4 },
  },
  {
    name: 'otel, p99 in (0.1, 0.25] s, in ms: 1000 × (0.1 + 0.15 × 0.99) = 248.5',
    family: 'knative-otel',
    metric: 'request-duration',
    want: { 'otel/ok-00002': 248.5 },
  },
  {
    name: 'otel, p90: 1000 × (0.1 + 0.15 × 0.9) = 235',
    family: 'knative-otel',
    metric: 'request-duration',
    percentile: 90,
    want: { 'otel/ok-00002': 235 },
  },
  {
    name: 'otel, a revision with no series: no data',
    family: 'knative-otel',
    metric: 'request-success-rate',
    want: { 'otel/none-00001': null },
  },
  // --- knative-otel-target-info (the target_info join)
  {
    name: 'target_info join, two revisions: 6/8 = 75 % and 100 % (activator has no kn_revision_name)',
    family: 'knative-otel-target-info',
    metric: 'request-success-rate',
    want: { 'pull/hello-00002': 75, 'pull/hello-00001': 100 },
  },
  {
    name: 'target_info join: error rate 25',
    family: 'knative-otel-target-info',
    metric: 'request-error-rate',
    want: { 'pull/hello-00002': 25 },
  },
  {
    name: 'target_info join: 8 and 4 req/s',
    family: 'knative-otel-target-info',
    metric: 'request-rate',
    want: { 'pull/hello-00002': 8, 'pull/hello-00001': 4 },
  },
  {
    name: 'target_info join: p99 in (0.05, 0.075] s: 1000 × (0.05 + 0.025 × 0.99) = 74.75 ms',
    family: 'knative-otel-target-info',
    metric: 'request-duration',
    want: { 'pull/hello-00002': 74.75 },
  },
];

for (const c of cases) {
  test(`builtin PromQL: ${c.name}`, async () => {
    const keys = Object.keys(c.want);
    const q = builtinQuery(
      c.family,
      c.metric,
      { namespaces: keys.map((k) => k.split('/')[0] as string), revisions: keys.map((k) => k.split('/')[1] as string) },
      WINDOW,
      c.percentile !== undefined ? { percentile: c.percentile } : {},
    );
    const got = await evaluate(c.family, q);
    for (const [k, want] of Object.entries(c.want)) {
      const v = got.get(k) ?? null;
      if (want === null) assert.equal(v, null, `${k}: no data expected, got ${v} from ${q}`);
      else assert.ok(v !== null && Math.abs(v - want) < 1e-9, `${k}: want ${want}, got ${v} from ${q}`);
    }
  });
}

test('request counts per family: 30 s × the slope; 0 for a revision with series but no traffic', async () => {
  const oc = await evaluate(
    'knative-opencensus',
    requestCountQuery(
      'knative-opencensus',
      { namespaces: ['default'], revisions: ['mix-00002', 'idle-00002'] },
      WINDOW,
    ),
  );
  assert.deepEqual(Object.fromEntries(oc), { 'default/mix-00002': 300, 'default/idle-00002': 0 });
  const ot = await evaluate(
    'knative-otel',
    requestCountQuery('knative-otel', { namespaces: ['otel'], revisions: ['ok-00002'] }, WINDOW),
  );
  assert.deepEqual(Object.fromEntries(ot), { 'otel/ok-00002': 300 });
  const ti = await evaluate(
    'knative-otel-target-info',
    requestCountQuery('knative-otel-target-info', { namespaces: ['pull'], revisions: ['hello-00002'] }, WINDOW),
  );
  assert.deepEqual(Object.fromEntries(ti), { 'pull/hello-00002': 240 });
});

test('auto detection: one probe answers every namespace with its family, or none', async () => {
  const engine = new AnalysisEngine({ client });
  const before = client.queries;
  const got = await Promise.all(['default', 'otel', 'pull', 'empty'].map((ns) => engine.familyOf(ns, AT)));
  assert.deepEqual(got, ['knative-opencensus', 'knative-otel', 'knative-otel-target-info', null]);
  // Cached: asking again for the found ones sends nothing.
  const after = client.queries;
  await engine.familyOf('otel', AT + 1000);
  assert.equal(client.queries, after);
  assert.ok(after - before <= 4);
});

const value = (r: MetricResult | undefined): number | null =>
  r && (r.status === 'pass' || r.status === 'fail') ? r.value : null;

test('engine: builtins by name in every namespace, one query per builtin and family; Mann-Whitney on request-duration', async () => {
  const engine = new AnalysisEngine({ client });
  const metrics = [
    { name: 'request-success-rate', thresholdRange: { min: 99 } },
    {
      name: 'request-duration',
      judge: { type: 'mannWhitney' as const, direction: 'increase' as const, lookback: '20s', resolution: '2s' },
    },
  ];
  const req = (ns: string, revision: string, stableRevision: string) => ({
    key: `${ns}/${revision}`,
    namespace: ns,
    service: revision.replace(/-\d+$/, ''),
    revision,
    stableRevision,
    metrics,
    windowMs: 30_000,
  });
  const rounds = await engine.run(
    [
      req('default', 'web-00002', 'web-00001'),
      req('otel', 'fail-00002', 'ok-00002'),
      req('pull', 'hello-00002', 'hello-00001'),
    ],
    AT,
  );
  const sr = (k: string) => rounds.get(k)?.results.find((r) => r.metric === 'request-success-rate');
  const dur = (k: string) => rounds.get(k)?.results.find((r) => r.metric === 'request-duration');
  assert.equal(value(sr('default/web-00002')), 75);
  assert.equal(sr('default/web-00002')?.status, 'fail');
  assert.equal(sr('default/web-00002')?.family, 'knative-opencensus');
  assert.equal(value(sr('otel/fail-00002')), 0);
  assert.equal(sr('otel/fail-00002')?.family, 'knative-otel');
  assert.equal(value(sr('pull/hello-00002')), 75);
  assert.equal(sr('pull/hello-00002')?.family, 'knative-otel-target-info');
  // web-00002 answers in (1000, 2000] ms, web-00001 in (100, 150]: a significant increase.
  const d = dur('default/web-00002');
  assert.equal(d?.status, 'fail', JSON.stringify(d));
  assert.ok(d?.stats && d.stats.canaryCount >= 5 && d.stats.stableCount >= 5, JSON.stringify(d?.stats));
  // hello-00002 is faster than hello-00001 (74.75 vs 248.5 ms): no increase.
  assert.equal(dur('pull/hello-00002')?.status, 'pass', JSON.stringify(dur('pull/hello-00002')));
});
