// Scale to and from zero (the activator holds requests while a process starts), containerConcurrency as a hard
// limit with queueing, and the concurrency autoscaler adding processes under load. Windows are shrunk so
// each scenario takes a second or two.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLogger } from '../src/observability/logger.js';
import { Runtime } from '../src/runtime/runtime.js';
import { httpRequest, waitFor, waitForStatus } from '../src/runtime/testing.js';
import type { RevisionStatus } from '../src/runtime/types.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sluice-runtime-scale-'));
let rt: Runtime;
let url: string;
/** The runtime's log lines (warnings about annotations and the HPA's metric are asserted on). */
const logLines: string[] = [];

before(async () => {
  rt = new Runtime({
    dataDir,
    logger: createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _enc, cb) {
          logLines.push(chunk.toString());
          cb();
        },
      }),
    }),
    tickMs: 50,
    // hpaMetricWindowMs: CPU use averaged over 2 s instead of metrics-server's 15 s.
    autoscaler: { stableWindowMs: 600, scaleToZeroGracePeriodMs: 200, hpaMetricWindowMs: 2000 },
    backoff: { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 },
  });
  url = (await rt.listen(0)).url;
});
after(async () => {
  await rt.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const routes: Array<{ namespace: string; name: string; traffic: Array<{ revisionName: string; percent: number }> }> =
  [];
function addRoute(name: string, revisionName: string): void {
  routes.push({ namespace: 'default', name, traffic: [{ revisionName, percent: 100 }] });
  rt.setRoutes({ domain: 'example.com', routes });
}

test('an idle revision scales to zero, then 100 concurrent first requests are all served', async () => {
  rt.upsertRevision({
    namespace: 'default',
    name: 'cold-00001',
    serviceName: 'cold',
    containers: [{ image: 'ghcr.io/knative/autoscale-go' }],
  });
  addRoute('cold', 'cold-00001');
  await waitForStatus(rt, 'default', 'cold-00001', (s) => s.ready === 'True' && s.replicas === 1);
  const zero = await waitForStatus(rt, 'default', 'cold-00001', (s) => s.actualReplicas === 0, 5000);
  assert.equal(zero.ready, 'True');
  assert.equal(zero.active, false);
  assert.equal(zero.desiredReplicas, 0);
  assert.equal(zero.conditions.find((c) => c.type === 'Active')?.reason, 'NoTraffic');

  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: 100 }, () =>
      httpRequest(url, { host: 'cold.default.example.com', path: '/?sleep=20', timeoutMs: 20_000 }),
    ),
  );
  const statuses = results.map((r) => r.status);
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    `non-200 answers: ${results
      .filter((r) => r.status !== 200)
      .map((r) => r.body)
      .slice(0, 3)
      .join(' | ')}`,
  );
  assert.ok(results.every((r) => r.body.startsWith('Slept for ')));
  assert.ok(results.every((r) => r.headers['knative-serving-revision'] === 'cold-00001'));
  const active = rt.revisionStatus('default', 'cold-00001');
  assert.ok(active && active.actualReplicas >= 1, JSON.stringify(active));
  assert.ok(Date.now() - started < 15_000);
});

test('containerConcurrency=1 is a hard limit: extra requests queue and are served in turn', async () => {
  rt.upsertRevision({
    namespace: 'default',
    name: 'single-00001',
    serviceName: 'single',
    containerConcurrency: 1,
    annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' },
    containers: [{ image: 'sluice.dev/samples/echo' }],
  });
  addRoute('single', 'single-00001');
  await waitForStatus(rt, 'default', 'single-00001', (s) => s.ready === 'True');
  let maxInFlight = 0;
  let maxQueued = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const s = rt.revisionStatus('default', 'single-00001') as RevisionStatus;
      maxInFlight = Math.max(maxInFlight, s.load.inFlight);
      maxQueued = Math.max(maxQueued, s.load.queued);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const t0 = Date.now();
  const done: number[] = [];
  const results = await Promise.all(
    Array.from({ length: 3 }, () =>
      httpRequest(url, { host: 'single.default.example.com', path: '/sleep/250' }).then((r) => {
        done.push(Date.now() - t0);
        return r;
      }),
    ),
  );
  sampling = false;
  await sampler;
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200],
  );
  assert.equal(maxInFlight, 1);
  assert.equal(maxQueued, 2);
  // Served one after another: the last finishes no sooner than three sleeps.
  assert.ok(Math.max(...done) >= 740, `finished at ${done.join(', ')} ms`);
  assert.equal(new Set(results.map((r) => (JSON.parse(r.body) as { pid: number }).pid)).size, 1);
});

test('the autoscaler adds processes under load, then shrinks to zero when it stops', async () => {
  rt.upsertRevision({
    namespace: 'default',
    name: 'busy-00001',
    serviceName: 'busy',
    annotations: {
      'autoscaling.knative.dev/target': '2',
      'autoscaling.knative.dev/target-utilization-percentage': '100',
      'autoscaling.knative.dev/max-scale': '4',
    },
    containers: [{ image: 'gcr.io/knative-samples/autoscale-go' }],
  });
  addRoute('busy', 'busy-00001');
  await waitForStatus(rt, 'default', 'busy-00001', (s) => s.ready === 'True' && s.replicas === 1);
  let stop = false;
  const load = Promise.all(
    Array.from({ length: 8 }, async () => {
      let n = 0;
      while (!stop) {
        const r = await httpRequest(url, { host: 'busy.default.example.com', path: '/?sleep=100' });
        assert.equal(r.status, 200);
        n++;
      }
      return n;
    }),
  );
  try {
    const scaled = await waitForStatus(rt, 'default', 'busy-00001', (s) => s.replicas >= 3, 10_000);
    assert.ok(scaled.desiredReplicas >= 3 && scaled.desiredReplicas <= 4, JSON.stringify(scaled.autoscaler));
  } finally {
    stop = true;
  }
  const served = await load;
  assert.ok(served.every((n) => n > 0));
  // With the load gone the revision shrinks again (to zero, as nothing holds it).
  await waitForStatus(rt, 'default', 'busy-00001', (s) => s.actualReplicas === 0, 10_000);
  await waitFor('gauge shows zero desired', async () =>
    (await httpRequest(url, { host: '127.0.0.1', path: '/metrics' })).body.includes(
      'autoscaler_desired_pods{namespace_name="default",service_name="busy",configuration_name="busy",revision_name="busy-00001"} 0',
    ),
  );
});

test('metric rps: 30 requests/s with target 5 (× Knative’s fixed 70 % utilisation) settles at ceil(30 / 3.5) = 9', async () => {
  rt.upsertRevision({
    namespace: 'default',
    name: 'rate-00001',
    serviceName: 'rate',
    annotations: {
      'autoscaling.knative.dev/metric': 'rps',
      'autoscaling.knative.dev/target': '5',
      // A 20 s stable window: 9 holds for 28 < rps ≤ 31.5, and an event-loop stall of up to ~1 s (the sender and
      // the router share this process; the open-loop sender makes up for it in a burst) moves the window's
      // average by at most 5 %.
      'autoscaling.knative.dev/window': '20s',
    },
    containers: [{ image: 'ghcr.io/knative/helloworld-go' }],
  });
  addRoute('rate', 'rate-00001');
  await waitForStatus(rt, 'default', 'rate-00001', (s) => s.ready === 'True' && s.replicas === 1);
  // Open loop: each request is sent on schedule (t0 + i/30 s) whatever the answers, so the offered rate is 30/s
  // even while processes start; a late timer sends the missed ones at once instead of lowering the rate.
  let stop = false;
  let sent = 0;
  const inFlight = new Set<Promise<unknown>>();
  const t0 = Date.now();
  const pace = (async () => {
    while (!stop) {
      const due = Math.floor(((Date.now() - t0) * 30) / 1000);
      for (; sent < due; sent++) {
        const p = httpRequest(url, { host: 'rate.default.example.com', path: '/', timeoutMs: 20_000 }).then((r) =>
          assert.equal(r.status, 200),
        );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    // The ramp may overshoot while the panic window is in charge; once it is not, the stable window decides.
    const settled = await waitForStatus(
      rt,
      'default',
      'rate-00001',
      (s) => !s.autoscaler.panicking && s.desiredReplicas === 9 && s.autoscaler.stable > 25,
      90_000,
    );
    assert.equal(settled.autoscaler.metric, 'rps');
    assert.equal(settled.autoscaler.targetPerReplica, 3.5);
    // And it stays there: sampled for two more seconds, every desired count is 9.
    const seen = new Set<number>();
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      seen.add(rt.revisionStatus('default', 'rate-00001')?.desiredReplicas ?? -1);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...seen], [9], JSON.stringify(rt.revisionStatus('default', 'rate-00001')?.autoscaler));
    const metrics = (await httpRequest(url, { host: '127.0.0.1', path: '/metrics' })).body;
    assert.match(
      metrics,
      /autoscaler_target_requests_per_second\{namespace_name="default",service_name="rate",configuration_name="rate",revision_name="rate-00001"\} 3\.5/,
    );
  } finally {
    stop = true;
    await pace;
    await Promise.all(inFlight);
  }
  assert.ok(sent > 0);
});

test('class hpa, metric cpu: a process burning over 50 % of its 100m request scales out, and back to 1 after the window', async () => {
  rt.upsertRevision({
    namespace: 'default',
    name: 'burn-00001',
    serviceName: 'burn',
    annotations: {
      'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
      'autoscaling.knative.dev/metric': 'cpu',
      'autoscaling.knative.dev/target': '50',
      // Knative sets both HPA stabilization windows from `window`.
      'autoscaling.knative.dev/window': '4s',
      'autoscaling.knative.dev/max-scale': '3',
    },
    containers: [{ image: 'gcr.io/knative-samples/autoscale-go', resources: { requests: { cpu: '100m' } } }],
  });
  addRoute('burn', 'burn-00001');
  await waitForStatus(rt, 'default', 'burn-00001', (s) => s.ready === 'True' && s.replicas === 1);
  // Two closed-loop senders: each request spends tens of ms of CPU testing 15-digit numbers for primality, far
  // over the 50 ms/s that 50 % of 100m allows, even on a loaded machine.
  let stop = false;
  let served = 0;
  const sender = async (): Promise<void> => {
    while (!stop) {
      const r = await httpRequest(url, { host: 'burn.default.example.com', path: '/?prime=1000000000000000' });
      assert.equal(r.status, 200);
      served++;
    }
  };
  const senders = [sender(), sender()];
  let stoppedAt: number;
  try {
    const up = await waitForStatus(rt, 'default', 'burn-00001', (s) => s.desiredReplicas >= 2, 60_000);
    assert.equal(up.autoscaler.metric, 'cpu');
    assert.equal(up.autoscaler.targetPerReplica, 50);
    assert.ok(up.autoscaler.stable > 55, JSON.stringify(up.autoscaler));
    assert.equal(up.autoscaler.panicking, false);
  } finally {
    stop = true;
    stoppedAt = Date.now();
    await Promise.all(senders);
  }
  assert.ok(served > 0);
  // Idle now. The last high recommendation was made at most a tick before the stop, and the scale-down window
  // keeps the highest recommendation of the last 4 s: not back to 1 before then.
  await waitForStatus(rt, 'default', 'burn-00001', (s) => s.desiredReplicas === 1, 60_000);
  const after = Date.now() - stoppedAt;
  assert.ok(after >= 3900, `back to 1 after ${after} ms`);
  // The HPA class never scales to zero, although this runtime's KPA grace period is 200 ms.
  const seen = new Set<number>();
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    seen.add(rt.revisionStatus('default', 'burn-00001')?.desiredReplicas ?? -1);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual([...seen], [1]);
});

test('class hpa without resources.requests.cpu: the count stays, with a warning naming the missing request', async () => {
  rt.upsertRevision({
    namespace: 'default',
    name: 'norequest-00001',
    serviceName: 'norequest',
    annotations: {
      'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
      'autoscaling.knative.dev/target': '50',
      'autoscaling.knative.dev/window': '4s',
    },
    containers: [{ image: 'gcr.io/knative-samples/autoscale-go' }],
  });
  addRoute('norequest', 'norequest-00001');
  await waitForStatus(rt, 'default', 'norequest-00001', (s) => s.ready === 'True' && s.replicas === 1);
  let stop = false;
  const counts = new Set<number>();
  const sender = (async () => {
    while (!stop) {
      const r = await httpRequest(url, { host: 'norequest.default.example.com', path: '/?prime=1000000000000000' });
      assert.equal(r.status, 200);
      counts.add(rt.revisionStatus('default', 'norequest-00001')?.desiredReplicas ?? -1);
    }
  })();
  try {
    await waitFor(
      'the missing-request warning',
      () => logLines.some((l) => l.includes('norequest-00001') && l.includes('missing request for cpu')),
      30_000,
    );
    // Busy for a few more ticks: still one process.
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    stop = true;
    await sender;
  }
  assert.deepEqual([...counts], [1]);
  // Said once, not on every tick.
  assert.equal(logLines.filter((l) => l.includes('norequest-00001') && l.includes('missing request')).length, 1);
});
