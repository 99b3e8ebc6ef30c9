// `autoscaling.knative.dev/metric: rps`: the target per replica as Knative's ResolveMetricTarget works it out
// (requests-per-second-target-default 200, a fixed 70 % utilisation, the annotations winning), the request rate
// sampled per tick, and a real Runtime with real processes scaling to ceil(30 / (5 × 0.7)) = 9 replicas under
// 30 requests per second paced against the wall clock.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { knativeAutoscalerDefaults, resolveAutoscaling } from '../src/runtime/annotations.js';
import { decide, initialAutoscalerState, RequestRate } from '../src/runtime/autoscaler.js';
import { Runtime } from '../src/runtime/runtime.js';
import { httpRequest, waitForStatus } from '../src/runtime/testing.js';
import { clusterAutoscalingDefaults, withClusterAutoscaling } from '../src/cli/config-autoscaler.js';

const A = 'autoscaling.knative.dev/';

test('the rps target per replica follows Knative ResolveMetricTarget', () => {
  const cases: Array<{
    name: string;
    annotations: Record<string, string>;
    cc?: number;
    rpsDefault?: number;
    want: { metric: string; target: number; warnings: number };
  }> = [
    {
      name: 'rps, target 5: 5 × 0.7',
      annotations: { metric: 'rps', target: '5' },
      want: { metric: 'rps', target: 3.5, warnings: 0 },
    },
    {
      name: 'rps, target 5 at 100 % utilisation',
      annotations: { metric: 'rps', target: '5', 'target-utilization-percentage': '100' },
      want: { metric: 'rps', target: 5, warnings: 0 },
    },
    {
      name: 'rps without a target: 200 × 0.7',
      annotations: { metric: 'rps' },
      want: { metric: 'rps', target: 140, warnings: 0 },
    },
    {
      name: 'rps: the cluster default, containerConcurrency does not cap it',
      annotations: { metric: 'rps' },
      cc: 1,
      rpsDefault: 50,
      want: { metric: 'rps', target: 35, warnings: 0 },
    },
    {
      name: 'concurrency stays as it was',
      annotations: { metric: 'concurrency', target: '5' },
      want: { metric: 'concurrency', target: 3.5, warnings: 0 },
    },
    {
      name: 'cpu is the HPA class metric: warned, concurrency used',
      annotations: { metric: 'cpu' },
      want: { metric: 'concurrency', target: 70, warnings: 1 },
    },
  ];
  for (const c of cases) {
    const ann = Object.fromEntries(Object.entries(c.annotations).map(([k, v]) => [A + k, v]));
    const config = { ...knativeAutoscalerDefaults, requestsPerSecondTargetDefault: c.rpsDefault ?? 200 };
    const r = resolveAutoscaling(ann, c.cc ?? 0, config);
    assert.deepEqual(
      { metric: r.spec.metric, target: Math.round(r.spec.targetConcurrency * 1e9) / 1e9, warnings: r.warnings.length },
      c.want,
      c.name,
    );
  }
});

test('the embedded data plane fills the cluster rps default, not the concurrency target', () => {
  const base = { namespace: 'default', name: 'r-00001', containers: [{ image: 'x' }] };
  const rps = withClusterAutoscaling(
    { ...base, annotations: { [A + 'metric']: 'rps' } },
    { ...clusterAutoscalingDefaults, requestsPerSecondTargetDefault: 40 },
  );
  assert.equal(rps.annotations?.[A + 'target'], '40');
  assert.equal(rps.annotations?.[A + 'target-utilization-percentage'], undefined);
  assert.equal(resolveAutoscaling(rps.annotations, 0).spec.targetConcurrency, 28);
  const conc = withClusterAutoscaling(base, clusterAutoscalingDefaults);
  assert.equal(conc.annotations?.[A + 'target'], '100');
  assert.equal(conc.annotations?.[A + 'target-utilization-percentage'], '70');
});

test('30 requests per second at target 5 want 9 replicas; the rate is requests over the period', () => {
  const rate = new RequestRate(1_000);
  for (let i = 0; i < 3; i++) rate.count();
  assert.deepEqual(rate.take(1_100), { start: 1_000, end: 1_100, average: 30 });
  rate.count();
  // A zero-length period has no rate; its request counts in the next one.
  assert.deepEqual(rate.take(1_100), { start: 1_100, end: 1_100, average: 0 });
  assert.equal(rate.take(1_200).average, 10);

  const { spec } = resolveAutoscaling({ [A + 'metric']: 'rps', [A + 'target']: '5' }, 0);
  const cases: Array<[stable: number, ready: number, want: number]> = [
    [30, 9, 9],
    [30, 1, 9],
    [3.5, 1, 1],
    [31.6, 9, 10],
  ];
  for (const [stable, ready, want] of cases) {
    const d = decide(spec, initialAutoscalerState(), {
      now: 0,
      readyPods: ready,
      currentPods: ready,
      stableConcurrency: stable,
      panicConcurrency: stable,
      lastActiveAt: 0,
    });
    assert.equal(d.desiredPods, want, `${stable} rps on ${ready} ready`);
    assert.match(d.why, /requests per second/);
  }
});

const dataDir = mkdtempSync(join(tmpdir(), 'sluice-runtime-rps-'));
let rt: Runtime;
let url: string;

before(async () => {
  rt = new Runtime({ dataDir, tickMs: 50, backoff: { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 } });
  url = (await rt.listen(0)).url;
});
after(async () => {
  await rt.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a revision with metric rps and target 5 scales to 9 replicas under 30 requests per second', async () => {
  rt.upsertRevision({
    namespace: 'default',
    name: 'rps-00001',
    serviceName: 'rps',
    annotations: {
      [A + 'metric']: 'rps',
      [A + 'target']: '5',
      // A short window keeps the test short; a panic window as long makes panic follow the same average.
      [A + 'window']: '2s',
      [A + 'panic-window-percentage']: '100',
    },
    containers: [{ image: 'gcr.io/knative-samples/autoscale-go' }],
  });
  rt.setRoutes({
    domain: 'example.com',
    routes: [{ namespace: 'default', name: 'rps', traffic: [{ revisionName: 'rps-00001', percent: 100 }] }],
  });
  await waitForStatus(rt, 'default', 'rps-00001', (s) => s.ready === 'True' && s.replicas === 1);
  // Paced against a schedule, not a fixed interval: a late timer catches up, so any 2 s hold 60 ± 1 requests.
  let stop = false;
  let sent = 0;
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const start = Date.now();
  const pace = (async () => {
    while (!stop) {
      while (sent < ((Date.now() - start) * 30) / 1000) {
        sent++;
        const p = httpRequest(url, { host: 'rps.default.example.com', path: '/' }).then(
          (r) => {
            if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
          },
          (e: unknown) => void failures.push(String(e)),
        );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    const s = await waitForStatus(
      rt,
      'default',
      'rps-00001',
      (st) =>
        !st.autoscaler.panicking &&
        st.desiredReplicas === 9 &&
        st.replicas === 9 &&
        Math.abs(st.autoscaler.stableConcurrency - 30) < 2,
      30_000,
    );
    assert.equal(s.autoscaler.metric, 'rps');
    assert.equal(s.autoscaler.targetPerReplica, 3.5);
  } finally {
    stop = true;
    await pace;
    await Promise.all(inFlight);
  }
  assert.deepEqual(failures.slice(0, 3), []);
});
