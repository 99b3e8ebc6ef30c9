// The controller's own series (src/rollout/controller/metrics.ts) and the Grafana dashboard built on them
// (deploy/grafana/sluice-controller-dashboard.json): outcomes map to results, the gauges follow the Rollout
// cache at scrape time, and every dashboard query parses with Prometheus' grammar and names only series the
// brain exports. The same series after real rollouts are checked in test/rollout-e2e.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ControllerMetrics } from '../src/rollout/controller/metrics.js';
import type { Phase } from '../src/rollout/machine/types.js';
import { ROOT } from './support/procs.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const ended: Array<{ name: string; phase: Phase; result: string | undefined }> = [
  { name: 'a promotion counts as succeeded', phase: 'Succeeded', result: 'succeeded' },
  { name: 'a rollback counts as rolled_back', phase: 'RolledBack', result: 'rolled_back' },
  { name: 'an abort counts as aborted', phase: 'Aborted', result: 'aborted' },
  { name: 'a phase that is not an end is not a duration', phase: 'Progressing', result: undefined },
];
for (const c of ended) {
  test(`rollout duration: ${c.name}`, async () => {
    const registry = new Registry();
    const m = new ControllerMetrics(registry);
    m.rolloutEnded(c.phase, 42);
    const text = await registry.metrics();
    for (const r of ['succeeded', 'rolled_back', 'aborted'])
      assert.equal(sample(text, `sluice_rollout_duration_seconds_count{result="${r}"}`), r === c.result ? 1 : 0, r);
    if (c.result) {
      assert.equal(sample(text, `sluice_rollout_duration_seconds_bucket{le="30",result="${c.result}"}`), 0);
      assert.equal(sample(text, `sluice_rollout_duration_seconds_bucket{le="60",result="${c.result}"}`), 1);
    }
  });
}

test('phase and weight gauges follow the Rollout cache at scrape time; a standby exports no phases', async () => {
  const registry = new Registry();
  const m = new ControllerMetrics(registry);
  assert.equal(sample(await registry.metrics(), 'sluice_rollouts{phase="Succeeded"}'), undefined);
  let cache = [
    { namespace: 'default', service: 'web', phase: 'Progressing', canaryWeight: 20 },
    { namespace: 'default', service: 'api', phase: 'Succeeded', canaryWeight: 0 },
    { namespace: 'shop', service: 'cart', phase: 'Progressing', canaryWeight: 50 },
  ];
  m.setSource(() => cache);
  let text = await registry.metrics();
  assert.equal(sample(text, 'sluice_rollouts{phase="Progressing"}'), 2);
  assert.equal(sample(text, 'sluice_rollouts{phase="Succeeded"}'), 1);
  assert.equal(sample(text, 'sluice_rollouts{phase="RolledBack"}'), 0, 'every phase is exported');
  assert.equal(sample(text, 'sluice_rollout_canary_weight{namespace="shop",service="cart"}'), 50);
  cache = [{ namespace: 'default', service: 'web', phase: 'RolledBack', canaryWeight: 0 }];
  text = await registry.metrics();
  assert.equal(sample(text, 'sluice_rollouts{phase="Progressing"}'), 0);
  assert.equal(sample(text, 'sluice_rollouts{phase="RolledBack"}'), 1);
  assert.equal(sample(text, 'sluice_rollout_canary_weight{namespace="shop",service="cart"}'), undefined, 'gone');
  m.setSource(undefined);
  assert.equal(sample(await registry.metrics(), 'sluice_rollouts{phase="RolledBack"}'), undefined);
});

test('reconciles are counted by result, errors apart, with their time', async () => {
  const registry = new Registry();
  const m = new ControllerMetrics(registry);
  m.reconciled('success', 0.002);
  m.reconciled('requeue_after', 0.004);
  m.reconciled('error', 0.3);
  const text = await registry.metrics();
  const c = 'controller="rollout"';
  assert.equal(sample(text, `sluice_controller_reconcile_total{${c},result="success"}`), 1);
  assert.equal(sample(text, `sluice_controller_reconcile_total{${c},result="requeue_after"}`), 1);
  assert.equal(sample(text, `sluice_controller_reconcile_total{${c},result="error"}`), 1);
  assert.equal(sample(text, `sluice_controller_reconcile_errors_total{${c}}`), 1);
  assert.equal(sample(text, `sluice_controller_reconcile_time_seconds_count{${c}}`), 3);
  assert.equal(sample(text, `sluice_controller_reconcile_time_seconds_bucket{le="0.005",${c}}`), 2);
});

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}

test('every query of the Grafana dashboard parses and names only series the brain exports', async () => {
  const dash = JSON.parse(
    await readFile(join(ROOT, 'deploy', 'grafana', 'sluice-controller-dashboard.json'), 'utf8'),
  ) as { panels: Panel[] };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new ControllerMetrics(registry);
  const exported = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    exported.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
  }
  let queries = 0;
  for (const p of dash.panels) {
    for (const t of p.targets ?? []) {
      queries++;
      // Grafana's $job is a regex; any value keeps the query valid.
      const expr = t.expr.replace(/\$job/g, '.*');
      const names: string[] = [];
      let error: number | undefined;
      parser.parse(expr).iterate({
        enter: (n) => {
          if (n.type.isError && error === undefined) error = n.from;
          if (n.name === 'VectorSelector') {
            const id = n.node.getChild('Identifier');
            if (id) names.push(expr.slice(id.from, id.to));
          }
        },
      });
      assert.equal(error, undefined, `${p.title}: ${t.expr} has a syntax error at ${error}`);
      assert.ok(names.length > 0, `${p.title}: ${t.expr} reads a series`);
      for (const n of names) assert.ok(exported.has(n), `${p.title}: ${n} is not exported by the controller`);
    }
  }
  assert.ok(queries >= 10, `the dashboard has its queries (${queries})`);
});
