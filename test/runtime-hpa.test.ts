// The HPA class: the Kubernetes HPA's replica calculator (cases from k8s.io/kubernetes
// pkg/controller/podautoscaler/replica_calculator_test.go), its stabilization windows with injected time, the
// annotations → HPA spec mapping of Knative's hpa.go, CPU quantities, and /proc sampling of a real process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { resolveAutoscaling } from '../src/runtime/annotations.js';
import { revisionSpecFromKnative } from '../src/runtime/from-knative.js';
import {
  HPA_DEFAULTS,
  hpaDecide,
  hpaRecommend,
  initialHpaState,
  parseCpuQuantity,
  type HpaSpec,
  type HpaState,
} from '../src/runtime/hpa.js';
import { CpuRate, parseStatCpuSeconds, parseStatusRssBytes, readProcessTreeUsage } from '../src/runtime/proc-usage.js';

const MI = 1024 * 1024;
function spec(over: Partial<HpaSpec> = {}): HpaSpec {
  return {
    metric: 'cpu',
    targetUtilizationPercent: 50,
    targetAverageBytes: 0,
    minReplicas: 1,
    maxReplicas: 0,
    scaleUpStabilizationMs: 0,
    scaleDownStabilizationMs: HPA_DEFAULTS.scaleDownStabilizationMs,
    tolerance: HPA_DEFAULTS.tolerance,
    ...over,
  };
}

describe('replica calculator', () => {
  const cases: Array<{
    name: string;
    spec: Partial<HpaSpec>;
    current: number;
    usages: number[];
    pending?: number;
    request?: number;
    want: number | 'error';
    utilisation?: number;
  }> = [
    // TestReplicaCalcScaleUp: requests 1.0, levels 300m/500m/700m, target 30 % → 5 at 50 %.
    {
      name: 'scale up',
      spec: { targetUtilizationPercent: 30 },
      current: 3,
      usages: [0.3, 0.5, 0.7],
      want: 5,
      utilisation: 50,
    },
    // TestReplicaCalcScaleDown: 5 pods, levels 100/300/500/250/250m, target 50 % → 3 at 28 %.
    {
      name: 'scale down',
      spec: {},
      current: 5,
      usages: [0.1, 0.3, 0.5, 0.25, 0.25],
      want: 3,
      utilisation: 28,
    },
    // TestReplicaCalcTolerance: 102 % of a 100 % target is within 0.1 → unchanged.
    {
      name: 'within tolerance',
      spec: { targetUtilizationPercent: 100 },
      current: 3,
      usages: [1.01, 1.03, 1.02],
      want: 3,
      utilisation: 102,
    },
    // TestReplicaCalcScaleUpUnreadyLessScale: one of 3 unready, ready at 500m/700m, target 30 % → 4 at 60 %.
    {
      name: 'scale up with an unready pod',
      spec: { targetUtilizationPercent: 30 },
      current: 3,
      usages: [0.5, 0.7],
      pending: 1,
      want: 4,
      utilisation: 60,
    },
    // TestReplicaCalcScaleUpUnreadyNoScale: the unready pod brings the ratio back under 1 → unchanged.
    {
      name: 'unready pods cancel a scale up',
      spec: { targetUtilizationPercent: 50 },
      current: 3,
      usages: [0.8],
      pending: 2,
      want: 3,
      utilisation: 80,
    },
    // The task's case: request 100m, target 50 %, one process burning 0.2 cores → 400 % / 50 % → ceil(4 × 1) = 4.
    { name: 'one busy process', spec: {}, current: 1, usages: [0.2], request: 0.1, want: 4, utilisation: 200 },
    { name: 'no cpu request: no scaling', spec: {}, current: 2, usages: [0.9, 0.9], request: -1, want: 'error' },
    { name: 'no metric yet', spec: {}, current: 2, usages: [], want: 'error' },
    // AverageValue: memory 300Mi and 500Mi against 200Mi → ratio 2 → 4.
    {
      name: 'memory average value',
      spec: { metric: 'memory', targetAverageBytes: 200 * MI },
      current: 2,
      usages: [300 * MI, 500 * MI],
      want: 4,
      utilisation: 400 * MI,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = hpaRecommend(spec(c.spec), {
        now: 0,
        currentReplicas: c.current,
        usages: c.usages,
        pendingPods: c.pending ?? 0,
        cpuRequestCores: c.request === -1 ? undefined : (c.request ?? 1),
      });
      if (c.want === 'error') {
        assert.ok('error' in r, JSON.stringify(r));
        return;
      }
      assert.ok(!('error' in r), JSON.stringify(r));
      assert.equal(r.replicas, c.want);
      if (c.utilisation !== undefined) assert.equal(r.current, c.utilisation);
    });
  }
  test('the missing request is named', () => {
    const r = hpaRecommend(spec(), {
      now: 0,
      currentReplicas: 1,
      usages: [0.5],
      pendingPods: 0,
      cpuRequestCores: undefined,
    });
    assert.ok('error' in r);
    assert.match(r.error, /missing request for cpu.*resources\.requests\.cpu/);
  });
});

describe('stabilization and bounds', () => {
  // Each step: at `t` seconds, one process uses `cores` of a 100m request (target 50 %); the desired count after.
  const scenarios: Array<{
    name: string;
    spec: Partial<HpaSpec>;
    steps: Array<[t: number, cores: number, want: number]>;
  }> = [
    {
      name: 'default: up at once, down only after 300 s without a higher recommendation',
      spec: {},
      steps: [
        [0, 0.2, 4],
        [15, 0, 4],
        [299, 0, 4],
        [301, 0, 1],
      ],
    },
    {
      name: "Knative's window annotation sets both windows: 10 s",
      spec: { scaleUpStabilizationMs: 10_000, scaleDownStabilizationMs: 10_000 },
      steps: [
        [0, 0.05, 1],
        // The up window holds the lowest recommendation of the last 10 s (1 at t=0).
        [5, 0.2, 1],
        [11, 0.2, 4],
        [15, 0, 4],
        [22, 0, 1],
      ],
    },
    {
      name: 'max-scale caps and min-scale floors',
      spec: { maxReplicas: 3, minReplicas: 2, scaleDownStabilizationMs: 0 },
      steps: [
        [0, 0.2, 3],
        [1, 0, 2],
      ],
    },
    {
      // Default behavior.scaleUp: +4 pods or +100 % per 15 s, whichever is more; the period counts from its start.
      name: 'scale-up policy: from 1, at most 5 within 15 s, then 10, then 20',
      spec: { scaleDownStabilizationMs: 0 },
      steps: [
        [0, 2, 5],
        [10, 2, 5],
        [16, 2, 10],
        [20, 2, 10],
        [32, 2, 20],
      ],
    },
    {
      name: 'never to zero',
      spec: { minReplicas: 0, scaleDownStabilizationMs: 0 },
      steps: [[0, 0, 1]],
    },
  ];
  for (const s of scenarios) {
    test(s.name, () => {
      let state: HpaState = initialHpaState();
      let current = 1;
      for (const [t, cores, want] of s.steps) {
        const d = hpaDecide(spec(s.spec), state, {
          now: t * 1000,
          currentReplicas: current,
          // Every existing process uses the same: the load grows with the count as under a steady CPU load.
          usages: Array.from({ length: current }, () => cores / current),
          pendingPods: 0,
          cpuRequestCores: 0.1,
        });
        assert.equal(d.desiredPods, want, `at ${t}s: ${d.why}`);
        state = d.state;
        current = d.desiredPods;
      }
    });
  }
  test('without a cpu request the count stays, only brought within bounds', () => {
    const d = hpaDecide(spec({ maxReplicas: 2 }), initialHpaState(), {
      now: 0,
      currentReplicas: 5,
      usages: [1, 1],
      pendingPods: 3,
      cpuRequestCores: undefined,
    });
    assert.equal(d.desiredPods, 2);
    assert.equal(d.current, undefined);
  });
});

describe('annotations → HPA (Knative hpa.go)', () => {
  const a = (o: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [`autoscaling.knative.dev/${k}`, v]));
  const hpaClass = { class: 'hpa.autoscaling.knative.dev' };
  const cases: Array<{ name: string; ann: Record<string, string>; want: Partial<HpaSpec> | undefined; warn?: RegExp }> =
    [
      {
        name: 'cpu target 50, window 6s',
        ann: { ...hpaClass, metric: 'cpu', target: '50', window: '6s' },
        want: {
          metric: 'cpu',
          targetUtilizationPercent: 50,
          scaleUpStabilizationMs: 6000,
          scaleDownStabilizationMs: 6000,
        },
      },
      {
        name: 'no metric, no target: cpu 80 %, Kubernetes windows',
        ann: hpaClass,
        want: {
          metric: 'cpu',
          targetUtilizationPercent: 80,
          scaleUpStabilizationMs: 0,
          scaleDownStabilizationMs: 300_000,
        },
      },
      {
        name: 'fractional target rounds up',
        ann: { ...hpaClass, target: '49.2' },
        want: { targetUtilizationPercent: 50 },
      },
      {
        name: 'memory target in Mi',
        ann: { ...hpaClass, metric: 'memory', target: '128' },
        want: { metric: 'memory', targetAverageBytes: 128 * MI },
      },
      {
        name: 'memory without target',
        ann: { ...hpaClass, metric: 'memory' },
        want: { metric: 'cpu', targetUtilizationPercent: 80 },
        warn: /metric=memory needs autoscaling\.knative\.dev\/target/,
      },
      {
        name: 'min-scale 0 is 1, max-scale kept',
        ann: { ...hpaClass, 'min-scale': '0', 'max-scale': '4' },
        want: { minReplicas: 1, maxReplicas: 4 },
      },
      {
        name: 'rps is not an HPA metric',
        ann: { ...hpaClass, metric: 'rps' },
        want: { metric: 'cpu' },
        warn: /metric="rps" is not run here for the HPA class/,
      },
      {
        name: 'kpa class',
        ann: { class: 'kpa.autoscaling.knative.dev', metric: 'cpu' },
        want: undefined,
        warn: /metric="cpu" is not run here/,
      },
      {
        name: 'unknown class',
        ann: { class: 'custom.example.com' },
        want: undefined,
        warn: /class="custom\.example\.com" is not run here/,
      },
    ];
  for (const c of cases) {
    test(c.name, () => {
      const r = resolveAutoscaling(a(c.ann), 0);
      if (c.want === undefined) assert.equal(r.hpa, undefined);
      else {
        assert.ok(r.hpa);
        for (const [k, v] of Object.entries(c.want)) assert.equal(r.hpa[k as keyof HpaSpec], v, k);
        assert.ok(r.initialScale >= 1);
      }
      if (c.warn)
        assert.ok(
          r.warnings.some((w) => c.warn?.test(w)),
          r.warnings.join('; '),
        );
      else assert.deepEqual(r.warnings, []);
    });
  }
});

describe('Kubernetes CPU quantities', () => {
  const cases: Array<[string, number | undefined]> = [
    ['100m', 0.1],
    ['0.5', 0.5],
    ['1', 1],
    ['1.5', 1.5],
    ['250000u', 0.25],
    ['2k', 2000],
    ['1e3m', undefined],
    ['1e-1', 0.1],
    ['', undefined],
    ['-1', undefined],
    ['100Mi', undefined],
    ['abc', undefined],
  ];
  for (const [q, want] of cases)
    test(JSON.stringify(q), () => {
      const got = parseCpuQuantity(q);
      if (want === undefined) assert.equal(got, undefined);
      else assert.ok(got !== undefined && Math.abs(got - want) < 1e-9, String(got));
    });
});

describe('/proc sampling', () => {
  test('stat fields after a comm with spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 7 3 20 0 11 0 1 0 0';
    assert.equal(parseStatCpuSeconds(stat), 3);
    assert.equal(parseStatusRssBytes('Name:\tnode\nVmRSS:\t   2048 kB\nThreads: 1\n'), 2048 * 1024);
    assert.equal(parseStatusRssBytes('Name:\tzombie\n'), 0);
  });
  test('CpuRate over a trailing window, reset when the counter goes back', () => {
    const r = new CpuRate(10_000);
    r.record(0, 0);
    assert.equal(r.cores(), undefined);
    r.record(5_000, 1);
    assert.equal(r.cores(), 0.2);
    r.record(20_000, 1);
    // The sample at 5 s is the newest at or before the window's start (10 s): 0 cores over 15 s.
    assert.equal(r.cores(), 0);
    r.record(21_000, 0.5);
    assert.equal(r.cores(), undefined);
  });
  test('a real CPU-burning child process is seen through its parent', async () => {
    // A shell whose child spins: the shell itself uses nothing, the tree about one core.
    const child = spawn('sh', ['-c', `${JSON.stringify(process.execPath)} -e "for(;;){}" & wait`], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      const pid = child.pid;
      assert.ok(pid !== undefined);
      await new Promise((r) => setTimeout(r, 200));
      const a = readProcessTreeUsage(pid);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      const b = readProcessTreeUsage(pid);
      assert.ok(a && b);
      const cores = (b.cpuSeconds - a.cpuSeconds) / ((Date.now() - t0) / 1000);
      // On a loaded 2-core machine the spinner gets less than a core, but clearly more than an idle shell.
      assert.ok(cores > 0.2, `measured ${cores} cores`);
      assert.ok(b.rssBytes > 1024 * 1024, `rss ${b.rssBytes}`);
    } finally {
      // detached: the shell leads its own process group, so the spinner goes with it.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
    assert.equal(readProcessTreeUsage(2 ** 22 + 1), undefined);
  });
});

test("a Revision's container resources reach the runtime (numbers as their text)", () => {
  const cases: Array<[unknown, unknown]> = [
    [
      { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: 1 } },
      { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1' } },
    ],
    [{ requests: { cpu: 0.5 } }, { requests: { cpu: '0.5' } }],
    [{}, undefined],
    [{ requests: { cpu: { nested: true } } }, undefined],
  ];
  for (const [resources, want] of cases) {
    const spec = revisionSpecFromKnative({
      metadata: { name: 'r-00001', namespace: 'default' },
      spec: { containers: [{ image: 'gcr.io/knative-samples/autoscale-go', resources }] },
    });
    assert.deepEqual(spec.containers[0]?.resources, want, JSON.stringify(resources));
  }
});
