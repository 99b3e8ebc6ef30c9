// Pure parts of analysis: the batching rewrite, templates, and the judges against known values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBatch, renderBatch, alternation, seriesFor } from '../src/rollout/analysis/batch.js';
import { scanTemplate, renderTemplate } from '../src/rollout/analysis/template.js';
import { judgeThreshold } from '../src/rollout/analysis/judges/threshold.js';
import {
  judgeMannWhitney,
  mannWhitneyU,
  hodgesLehmann,
  normalCdf,
  normalQuantile,
} from '../src/rollout/analysis/judges/mann-whitney.js';
import type { MetricResult } from '../src/rollout/analysis/result.js';

interface BatchCase {
  name: string;
  template: string;
  want: string | { notBatchable: RegExp };
}
const R = 'revision_name="{{revision}}"';
const N = 'namespace_name="{{namespace}}"';
const TI = 'target_info{kn_revision_name="{{revision}}", k8s_namespace_name="{{namespace}}"}';
const batchCases: BatchCase[] = [
  {
    name: 'simple ratio: both sums keep the revision label',
    template: `sum(rate(c{${R},code!="5xx"}[{{interval}}])) / sum(rate(c{${R}}[{{interval}}]))`,
    want: 'sum by (revision_name) (rate(c{revision_name=~"{{revision}}",code!="5xx"}[{{interval}}])) / sum by (revision_name) (rate(c{revision_name=~"{{revision}}"}[{{interval}}]))',
  },
  {
    name: 'guarded ratio: `or on() vector(0)` is paired per rollout through the members table',
    template: `(sum(rate(c{${R},code!="5xx"}[5s])) or on() vector(0)) / (sum(rate(c{${R}}[5s])) > 0)`,
    want: '(sum by (revision_name) (rate(c{revision_name=~"{{revision}}",code!="5xx"}[5s])) or on(revision_name) ({{members}} + on() group_left () (vector(0)))) / (sum by (revision_name) (rate(c{revision_name=~"{{revision}}"}[5s])) > 0)',
  },
  {
    name: 'guarded without on(): `or vector(0)`',
    template: `sum(c{${R}}) or vector(0)`,
    want: 'sum by (revision_name) (c{revision_name=~"{{revision}}"}) or ({{members}} + on() group_left () (vector(0)))',
  },
  {
    name: 'target_info join: group_left already copies the batching labels',
    template: `sum(rate(h_count[5s]) * on(job, instance) group_left(kn_revision_name, k8s_namespace_name) ${TI})`,
    want: 'sum by (kn_revision_name, k8s_namespace_name) (rate(h_count[5s]) * on(job, instance) group_left(kn_revision_name, k8s_namespace_name) target_info{kn_revision_name=~"{{revision}}", k8s_namespace_name=~"{{namespace}}"})',
  },
  {
    name: 'target_info join: group_left gets the labels it lacks',
    template: `histogram_quantile(0.99, sum by (le) (rate(h_bucket[5s]) * on (job, instance) group_left ${TI}))`,
    want: 'histogram_quantile(0.99, sum by (le, kn_revision_name, k8s_namespace_name) (rate(h_bucket[5s]) * on (job, instance) group_left (kn_revision_name, k8s_namespace_name) target_info{kn_revision_name=~"{{revision}}", k8s_namespace_name=~"{{namespace}}"}))',
  },
  {
    name: 'histogram_quantile over sum by (le): labels appended to the by list',
    template: `histogram_quantile(0.99, sum by (le) (rate(h_bucket{${R}}[1m])))`,
    want: 'histogram_quantile(0.99, sum by (le, revision_name) (rate(h_bucket{revision_name=~"{{revision}}"}[1m])))',
  },
  {
    name: 'postfix by clause',
    template: `sum(rate(h_bucket{${R}}[1m])) by (le)`,
    want: 'sum(rate(h_bucket{revision_name=~"{{revision}}"}[1m])) by (le, revision_name)',
  },
  {
    name: 'without: the batching label is taken out of the list',
    template: `sum without (revision_name, pod) (x{${R}})`,
    want: 'sum without (pod) (x{revision_name=~"{{revision}}"})',
  },
  {
    name: 'on(...) between two per-rollout sides gains the batching labels; ignoring loses them',
    template: `sum by (code) (x{${R}}) / on(code) sum by (code) (y{${R}}) + ignoring(revision_name) z{${R}} * 0`,
    want: 'sum by (code, revision_name) (x{revision_name=~"{{revision}}"}) / on(code, revision_name) sum by (code, revision_name) (y{revision_name=~"{{revision}}"}) + ignoring() z{revision_name=~"{{revision}}"} * 0',
  },
  {
    name: 'share of all traffic: many-to-one onto a constant side needs no change',
    template: `sum(x{${R}}) / on() group_left sum(x)`,
    want: 'sum by (revision_name) (x{revision_name=~"{{revision}}"}) / on() group_left sum(x)',
  },
  {
    name: 'one-to-one with a constant aggregate: the constant is paired per rollout',
    template: `sum(x{${R}}) / on() sum(x)`,
    want: 'sum by (revision_name) (x{revision_name=~"{{revision}}"}) / on(revision_name) ({{members}} + on() group_left () (sum(x)))',
  },
  {
    name: 'no aggregation: only the matcher changes',
    template: `rate(c{${R}}[1m])`,
    want: 'rate(c{revision_name=~"{{revision}}"}[1m])',
  },
  {
    name: 'namespace matcher: both labels batch',
    template: `sum(c{${N},${R}})`,
    want: 'sum by (revision_name, namespace_name) (c{namespace_name=~"{{namespace}}",revision_name=~"{{revision}}"})',
  },
  {
    name: 'a metric named like an aggregator is left alone',
    template: `summary_total{${R}} + max_over_time(x{${R}}[1m])`,
    want: 'summary_total{revision_name=~"{{revision}}"} + max_over_time(x{revision_name=~"{{revision}}"}[1m])',
  },
  {
    name: 'by clause that already has the labels is unchanged; scalars pass through',
    template: `avg by (revision_name) (x{${R}}) * 100 > bool 5`,
    want: `avg by (revision_name) (x{revision_name=~"{{revision}}"}) * 100 > bool 5`,
  },
  {
    name: 'not batchable: uses {{stableRevision}}',
    template: `sum(x{${R}}) / sum(x{revision_name="{{stableRevision}}"})`,
    want: { notBatchable: /stableRevision/ },
  },
  {
    name: 'not batchable: a constant with labels paired one-to-one',
    template: `sum(x{${R}}) / on() up`,
    want: { notBatchable: /same for every rollout and has labels/ },
  },
  {
    name: 'not batchable: series with and without the revision label joined by or',
    template: `rate(x{${R}}[1m]) or vector(0)`,
    want: { notBatchable: /pair differently/ },
  },
  {
    name: 'not batchable: a selector that does not bind the namespace like the others',
    template: `sum(x{${N},${R}}) / sum(y{${R}})`,
    want: { notBatchable: /does not match namespace_name="\{\{namespace\}\}"/ },
  },
  {
    name: 'not batchable: {{revision}} in a negative matcher',
    template: 'sum(x{revision_name!="{{revision}}"})',
    want: { notBatchable: /outside an equality label matcher|no label=/ },
  },
  {
    name: 'not batchable: {{revision}} in a regex',
    template: `sum(x{pod=~"{{revision}}-.*", ${R}})`,
    want: { notBatchable: /outside an equality label matcher/ },
  },
  { name: 'not batchable: no {{revision}}', template: 'sum(x)', want: { notBatchable: /does not select a revision/ } },
  { name: 'not batchable: scalar()', template: `scalar(sum(x{${R}}))`, want: { notBatchable: /scalar/ } },
  { name: 'not batchable: absent()', template: `absent(x{${R}})`, want: { notBatchable: /absent/ } },
  {
    name: 'not batchable: label_replace onto the batching label',
    template: `label_replace(x{${R}}, "revision_name", "y", "", "")`,
    want: { notBatchable: /label_replace\(\) to write the batching label/ },
  },
];
for (const c of batchCases) {
  test(`batch: ${c.name}`, () => {
    const p = planBatch(c.template);
    if (typeof c.want === 'string') {
      assert.equal(p.batchable, true, p.batchable ? '' : p.reason);
      if (p.batchable) assert.equal(p.template, c.want);
    } else {
      assert.equal(p.batchable, false);
      if (!p.batchable) assert.match(p.reason, c.want.notBatchable);
    }
  });
}

test('batch: rendered for 3 rollouts, one regex alternation, sorted and escaped', () => {
  const p = planBatch(`sum(rate(c{${R}}[{{interval}}]))`);
  assert.ok(p.batchable);
  if (!p.batchable) return;
  const q = renderBatch(
    p,
    [
      { revision: 'c-1', namespace: 'd', service: 'c' },
      { revision: 'a-1', namespace: 'd', service: 'a' },
      { revision: 'b-1', namespace: 'd', service: 'b' },
    ],
    '1m',
  );
  assert.equal(q, 'sum by (revision_name) (rate(c{revision_name=~"a-1|b-1|c-1"}[1m]))');
  const g = planBatch(`sum(c{${N},${R}}) or vector(0)`);
  assert.ok(g.batchable);
  if (!g.batchable) return;
  assert.equal(
    renderBatch(g, [{ revision: 'a-1', namespace: 'd', service: 'a' }], '1m'),
    'sum by (revision_name, namespace_name) (c{namespace_name=~"d",revision_name=~"a-1"}) or ' +
      '((label_replace(label_replace(vector(0), "revision_name", "a-1", "", ""), "namespace_name", "d", "", "")) + on() group_left () (vector(0)))',
  );
  assert.equal(alternation(['x.1', 'a']), 'a|x\\\\.1');
});

test('batch: split picks the series of one revision, honouring the namespace label', () => {
  const series: { metric: Record<string, string>; value: [number, string] }[] = [
    { metric: { revision_name: 'web-1', namespace_name: 'a' }, value: [0, '1'] as [number, string] },
    { metric: { revision_name: 'web-1', namespace_name: 'b' }, value: [0, '2'] as [number, string] },
    { metric: { revision_name: 'api-1' }, value: [0, '3'] as [number, string] },
  ];
  assert.deepEqual(
    seriesFor(series, 'revision_name', 'namespace_name', 'web-1', 'b').map((s) => s.value[1]),
    ['2'],
  );
  assert.deepEqual(
    seriesFor(series, 'revision_name', 'namespace_name', 'api-1', 'z').map((s) => s.value[1]),
    ['3'],
  );
  assert.deepEqual(seriesFor(series, 'revision_name', 'namespace_name', 'gone', 'a'), []);
});

test('template: scan finds unknown names and unclosed braces; render substitutes', () => {
  assert.deepEqual(scanTemplate('x{a="{{ revision }}"}[{{interval}}]').problems, []);
  assert.match(scanTemplate('x{a="{{rev}}"}').problems[0]?.detail ?? '', /unknown template variable "\{\{rev\}\}"/);
  assert.match(scanTemplate('x{a="{{revision"}').problems[0]?.detail ?? '', /unclosed/);
  assert.equal(
    renderTemplate('{{service}}/{{namespace}}/{{revision}}/{{stableRevision}}/{{interval}}', {
      service: 's',
      namespace: 'n',
      revision: 'r',
      stableRevision: 'p',
      interval: '1m',
    }),
    's/n/r/p/1m',
  );
});

interface ThresholdCase {
  name: string;
  value: number | undefined;
  range: { min?: number; max?: number };
  want: MetricResult['status'];
}
const thresholdCases: ThresholdCase[] = [
  { name: 'inside the range passes', value: 0.995, range: { min: 0.99 }, want: 'pass' },
  { name: 'below min fails', value: 0.9, range: { min: 0.99 }, want: 'fail' },
  { name: 'above max fails', value: 600, range: { max: 500 }, want: 'fail' },
  { name: 'on the boundary passes', value: 500, range: { min: 1, max: 500 }, want: 'pass' },
  { name: 'NaN is no data, never a pass', value: NaN, range: { min: 0.99 }, want: 'noData' },
  { name: 'no series is no data', value: undefined, range: { max: 1 }, want: 'noData' },
  { name: '+Inf is a value and fails a max', value: Infinity, range: { max: 1 }, want: 'fail' },
];
for (const c of thresholdCases)
  test(`threshold: ${c.name}`, () => assert.equal(judgeThreshold('m', 'q', c.value, c.range).status, c.want));

// ClickHouse's test vector (tests/queries/0_stateless/01560_mann_whitney.sql): U = 223, p = 0.5426959774289482
const CH_X = [310, 195, 530, 155, 530, 245, 385, 450, 465, 545, 170, 180, 125, 180, 230, 75, 430, 480, 495, 295];
const CH_Y = [116, 171, 176, 421, 111, 326, 481, 111, 346, 441, 261, 411, 206, 521, 456, 446, 296, 51, 426, 261];
// R's ?wilcox.test example: W = 35; Hodges-Lehmann "difference in location" 0.305.
const R_X = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
const R_Y = [1.15, 0.88, 0.9, 0.74, 1.21];

test('mann-whitney: U and two-sided p match ClickHouse (ties, continuity correction)', () => {
  const t = mannWhitneyU(CH_X, CH_Y);
  assert.equal(t.u, 223);
  assert.ok(Math.abs(t.pValue - 0.5426959774289482) < 1e-6, String(t.pValue));
});
test('mann-whitney: W and Hodges-Lehmann estimate match R', () => {
  assert.equal(mannWhitneyU(R_X, R_Y).u, 35);
  assert.ok(Math.abs(hodgesLehmann(R_X, R_Y, 0.95).estimate - 0.305) < 1e-9);
});
test('normal distribution helpers', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963985) < 1e-6);
  assert.ok(Math.abs(normalQuantile(0.99) - 2.326347874) < 1e-6);
  assert.ok(Math.abs(normalCdf(1.96) - 0.9750021) < 1e-6);
});

const base = Array.from({ length: 60 }, (_, i) => 100 + ((i * 37) % 11));
interface MwCase {
  name: string;
  canary: number[];
  stable: number[];
  cfg?: Parameters<typeof judgeMannWhitney>[4];
  want: MetricResult['status'];
  reason?: RegExp;
}
const mwCases: MwCase[] = [
  {
    name: 'canary 50% slower (latency, increase is bad) → fail, effect and confidence stated',
    canary: base.map((v) => v * 1.5),
    stable: base,
    cfg: { direction: 'increase' },
    want: 'fail',
    reason: /higher than stable: shift .* \(98% CI \[.*\]\), mean ratio 1\.5, CLES 1/,
  },
  {
    name: 'canary the same distribution → pass',
    canary: [...base].reverse(),
    stable: base,
    want: 'pass',
    reason: /same/,
  },
  {
    name: 'canary faster but only increase is bad → pass',
    canary: base.map((v) => v * 0.5),
    stable: base,
    cfg: { direction: 'increase' },
    want: 'pass',
  },
  {
    name: 'canary lower success (decrease is bad) → fail',
    canary: base.map((v) => v - 30),
    stable: base,
    cfg: { direction: 'decrease' },
    want: 'fail',
    reason: /lower/,
  },
  {
    name: 'significant but within maxEffectSize 1.1 → pass',
    canary: base.map((v) => v * 1.05),
    stable: base,
    cfg: { maxEffectSize: 1.1 },
    want: 'pass',
    reason: /within maxEffectSize/,
  },
  {
    name: 'NaN samples are removed (Kayenta nanStrategy remove)',
    canary: [...base, NaN, NaN],
    stable: [...base, NaN],
    want: 'pass',
  },
  { name: 'no canary samples → noData', canary: [NaN], stable: base, want: 'noData', reason: /no samples for canary/ },
  {
    name: 'no samples with mustHaveData → fail',
    canary: [],
    stable: base,
    cfg: { mustHaveData: true },
    want: 'fail',
    reason: /mustHaveData/,
  },
  {
    name: 'no samples on a critical metric → fail',
    canary: base,
    stable: [],
    cfg: { critical: true },
    want: 'fail',
    reason: /critical/,
  },
  { name: 'all values equal → pass', canary: [5, 5, 5], stable: [5, 5], want: 'pass' },
];
for (const c of mwCases) {
  test(`mann-whitney judge: ${c.name}`, () => {
    const r = judgeMannWhitney('latency', 'q', c.canary, c.stable, c.cfg);
    assert.equal(r.status, c.want, 'reason' in r ? r.reason : '');
    if (c.reason) assert.match('reason' in r ? (r.reason ?? '') : '', c.reason);
    if (c.cfg?.critical) assert.equal(r.critical, true);
  });
}
