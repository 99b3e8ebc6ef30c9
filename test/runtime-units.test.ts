// Pure parts of the runtime: the KPA decision with a manual clock, concurrency windows, the exact weighted split
// (10,000 picks through the router's own routing code), host names, image references and annotations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/util/clock.js';
import { silentLogger } from '../src/observability/logger.js';
import { knativeAutoscalerDefaults, parseGoDuration, resolveAutoscaling } from '../src/runtime/annotations.js';
import {
  ConcurrencyAverager,
  ConcurrencyWindow,
  decide,
  initialAutoscalerState,
  type AutoscalerSpec,
  type AutoscalerState,
  type Observation,
} from '../src/runtime/autoscaler.js';
import { ImageTable, parseImageRef } from '../src/runtime/image-table.js';
import { RuntimeMetrics } from '../src/runtime/metrics.js';
import { normaliseHost, Router, routeHosts } from '../src/runtime/router.js';
import { SmoothWeightedRoundRobin } from '../src/runtime/weighted-split.js';
import { revisionSpecFromKnative } from '../src/runtime/from-knative.js';

const spec: AutoscalerSpec = {
  metric: 'concurrency',
  targetValue: 10,
  panicThreshold: 2,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  scaleToZeroGracePeriodMs: 30_000,
  scaleToZeroRetentionMs: 0,
  scaleDownDelayMs: 0,
  minScale: 0,
  maxScale: 0,
};

describe('autoscaler decide (pure, manual clock)', () => {
  interface Case {
    name: string;
    spec?: Partial<AutoscalerSpec>;
    state?: Partial<AutoscalerState>;
    /** Offsets in ms from the clock's start. */
    obs: Omit<Observation, 'now' | 'lastActiveAt'> & { idleMs?: number };
    advanceMs?: number;
    want: { desiredPods: number; panicking: boolean };
  }
  const cases: Case[] = [
    {
      name: 'steady load within target keeps one replica',
      obs: { readyPods: 1, currentPods: 1, stableValue: 7, panicValue: 8 },
      want: { desiredPods: 1, panicking: false },
    },
    {
      name: 'stable average 35 at target 10 wants 4',
      obs: { readyPods: 3, currentPods: 3, stableValue: 35, panicValue: 40 },
      want: { desiredPods: 4, panicking: false },
    },
    {
      name: 'burst over twice the ready capacity panics and follows the panic window',
      obs: { readyPods: 2, currentPods: 2, stableValue: 12, panicValue: 45 },
      want: { desiredPods: 5, panicking: true },
    },
    {
      name: 'in panic the count never drops below the panic high-water mark',
      state: { panicSince: 0, maxPanicPods: 8 },
      advanceMs: 10_000,
      obs: { readyPods: 8, currentPods: 8, stableValue: 20, panicValue: 30 },
      want: { desiredPods: 8, panicking: true },
    },
    {
      name: 'panic ends after a full stable window below the threshold',
      state: { panicSince: 0, maxPanicPods: 8 },
      advanceMs: 60_000,
      obs: { readyPods: 8, currentPods: 8, stableValue: 20, panicValue: 30 },
      want: { desiredPods: 4, panicking: false },
    },
    {
      name: 'scale-down is limited by max-scale-down-rate',
      obs: { readyPods: 10, currentPods: 10, stableValue: 5, panicValue: 5 },
      want: { desiredPods: 5, panicking: false },
    },
    {
      name: 'idle shorter than stable window + grace keeps the last replica',
      obs: { readyPods: 1, currentPods: 1, stableValue: 0, panicValue: 0, idleMs: 89_999 },
      want: { desiredPods: 1, panicking: false },
    },
    {
      name: 'idle for stable window + grace scales to zero',
      obs: { readyPods: 1, currentPods: 1, stableValue: 0, panicValue: 0, idleMs: 90_000 },
      want: { desiredPods: 0, panicking: false },
    },
    {
      name: 'min-scale holds replicas when idle',
      spec: { minScale: 2 },
      obs: { readyPods: 2, currentPods: 2, stableValue: 0, panicValue: 0, idleMs: 600_000 },
      want: { desiredPods: 2, panicking: false },
    },
    {
      name: 'max-scale caps a panic',
      spec: { maxScale: 3 },
      obs: { readyPods: 1, currentPods: 1, stableValue: 10, panicValue: 100 },
      want: { desiredPods: 3, panicking: true },
    },
    {
      name: 'scaled to zero with no traffic stays at zero',
      obs: { readyPods: 0, currentPods: 0, stableValue: 0, panicValue: 0, idleMs: 1000 },
      want: { desiredPods: 0, panicking: false },
    },
    {
      name: 'retention period outlasts stable window + grace',
      spec: { scaleToZeroRetentionMs: 300_000 },
      obs: { readyPods: 1, currentPods: 1, stableValue: 0, panicValue: 0, idleMs: 120_000 },
      want: { desiredPods: 1, panicking: false },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const clock = new ManualClock(0);
      clock.advance(c.advanceMs ?? 0);
      const now = clock.now();
      const got = decide(
        { ...spec, ...c.spec },
        { ...initialAutoscalerState(), ...c.state },
        { ...c.obs, now, lastActiveAt: now - (c.obs.idleMs ?? 0) },
      );
      assert.deepEqual({ desiredPods: got.desiredPods, panicking: got.panicking }, c.want, got.why);
    });
  }

  test('a burst then quiet: panic scales up at once, holds, and only a stable window later scales down', () => {
    const clock = new ManualClock(0);
    let state = initialAutoscalerState();
    const step = (o: Omit<Observation, 'now' | 'lastActiveAt'>): number => {
      const d = decide(spec, state, { ...o, now: clock.now(), lastActiveAt: clock.now() });
      state = d.state;
      clock.advance(2000);
      return d.desiredPods;
    };
    assert.equal(step({ readyPods: 1, currentPods: 1, stableValue: 5, panicValue: 5 }), 1);
    assert.equal(step({ readyPods: 1, currentPods: 1, stableValue: 8, panicValue: 60 }), 6);
    const held: number[] = [];
    for (let i = 0; i < 29; i++) held.push(step({ readyPods: 6, currentPods: 6, stableValue: 10, panicValue: 10 }));
    assert.ok(
      held.every((n) => n === 6),
      `held ${held.join(',')}`,
    );
    assert.equal(step({ readyPods: 6, currentPods: 6, stableValue: 10, panicValue: 10 }), 3);
  });
});

describe('concurrency windows', () => {
  test('time-weighted average of a step function', () => {
    const a = new ConcurrencyAverager(0);
    a.set(500, 4);
    assert.equal(a.take(1000).average, 2);
    assert.equal(a.take(2000).average, 4);
  });
  test('stable and panic windows see different averages', () => {
    const w = new ConcurrencyWindow(60_000);
    for (let t = 0; t < 60_000; t += 1000) w.record({ start: t, end: t + 1000, average: t >= 54_000 ? 50 : 0 });
    assert.equal(w.average(60_000, 6_000), 50);
    assert.equal(w.average(60_000, 60_000), 5);
  });
});

describe('exact weighted split', () => {
  test('smooth weighted round-robin is exact per cycle and spread out', () => {
    const s = new SmoothWeightedRoundRobin([
      { value: 'a', weight: 50 },
      { value: 'b', weight: 25 },
      { value: 'c', weight: 25 },
    ]);
    const first = Array.from({ length: 8 }, () => s.next()).join('');
    assert.equal(first, 'abcaabca');
  });

  test('10,000 requests through Router.pick split 50/25/25 within 0.5 points', () => {
    const r = new Router({
      lookup: () => undefined,
      metrics: new RuntimeMetrics(),
      clock: new ManualClock(),
      logger: silentLogger(),
    });
    r.setRoutes({
      domain: 'example.com',
      routes: [
        {
          namespace: 'default',
          name: 'web',
          traffic: [
            { revisionName: 'web-1', percent: 50 },
            { revisionName: 'web-2', percent: 25 },
            { revisionName: 'web-3', percent: 25 },
          ],
        },
      ],
    });
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const p = r.pick('web.default.example.com:8080');
      assert.equal(p.kind, 'revision');
      if (p.kind === 'revision') counts.set(p.revision, (counts.get(p.revision) ?? 0) + 1);
    }
    for (const [rev, want] of [
      ['web-1', 50],
      ['web-2', 25],
      ['web-3', 25],
    ] as const) {
      const pct = ((counts.get(rev) ?? 0) / 10_000) * 100;
      assert.ok(Math.abs(pct - want) <= 0.5, `${rev}: ${pct}% want ${want}%`);
    }
  });

  test('an unchanged split keeps its position across setRoutes; a changed split takes effect', () => {
    const r = new Router({
      lookup: () => undefined,
      metrics: new RuntimeMetrics(),
      clock: new ManualClock(),
      logger: silentLogger(),
    });
    const table = (a: number) => ({
      routes: [
        {
          namespace: 'n',
          name: 'r',
          traffic: [
            { revisionName: 'a', percent: a },
            { revisionName: 'b', percent: 100 - a },
          ],
        },
      ],
    });
    r.setRoutes(table(50));
    const picks: string[] = [];
    const take = (): void => {
      const p = r.pick('r.n.example.com');
      picks.push(p.kind === 'revision' ? p.revision : p.kind);
    };
    take();
    r.setRoutes(table(50));
    take();
    assert.deepEqual(picks, ['a', 'b']);
    r.setRoutes(table(0));
    picks.length = 0;
    for (let i = 0; i < 5; i++) take();
    assert.deepEqual(picks, ['b', 'b', 'b', 'b', 'b']);
  });
});

test('the Knative-Serving-Tag header is honoured only when tag-header routing is on', () => {
  const r = new Router({
    lookup: () => undefined,
    metrics: new RuntimeMetrics(),
    clock: new ManualClock(),
    logger: silentLogger(),
  });
  const routes = [
    {
      namespace: 'n',
      name: 'r',
      traffic: [
        { revisionName: 'stable', percent: 100 },
        { revisionName: 'canary', percent: 0, tag: 'canary' },
      ],
    },
  ];
  const picked = (): string => {
    const p = r.pick('r.n.example.com', { 'knative-serving-tag': 'canary' });
    return p.kind === 'revision' ? p.revision : p.kind;
  };
  r.setRoutes({ routes });
  assert.equal(picked(), 'stable');
  r.setRoutes({ routes, tagHeaderRouting: true });
  assert.equal(picked(), 'canary');
});

describe('hosts', () => {
  interface Case {
    name: string;
    host: string;
    want: string;
  }
  const cases: Case[] = [
    { name: 'port stripped', host: 'Hello.Default.example.com:8080', want: 'hello.default.example.com' },
    { name: 'trailing dot', host: 'hello.default.example.com.', want: 'hello.default.example.com' },
    { name: 'IPv6 with port', host: '[::1]:80', want: '[::1]' },
  ];
  for (const c of cases) test(`normaliseHost: ${c.name}`, () => assert.equal(normaliseHost(c.host), c.want));

  test('Knative templates and cluster-local names', () => {
    const h = routeHosts(
      {
        namespace: 'demo',
        name: 'helloworld',
        traffic: [{ revisionName: 'helloworld-00001', percent: 100, tag: 'cn' }],
      },
      { routes: [], domain: 'xx.app.alicontainer.com' },
    );
    assert.deepEqual(h.main, [
      'helloworld.demo.xx.app.alicontainer.com',
      'helloworld.demo.svc.cluster.local',
      'helloworld.demo.svc',
      'helloworld.demo',
    ]);
    assert.equal(h.tags.get('cn')?.[0], 'cn-helloworld.demo.xx.app.alicontainer.com');
    const custom = routeHosts(
      { namespace: 'demo', name: 'hw', traffic: [{ revisionName: 'x', percent: 100, tag: 'v1' }] },
      {
        routes: [],
        domain: 'd.io',
        domainTemplate: '{{.Name}}-{{.Namespace}}.{{.Domain}}',
        tagTemplate: '{{.Name}}-{{.Tag}}',
      },
    );
    assert.equal(custom.main[0], 'hw-demo.d.io');
    assert.equal(custom.tags.get('v1')?.[0], 'hw-v1-demo.d.io');
  });
});

describe('image references', () => {
  interface Case {
    name: string;
    ref: string;
    want: { repository: string; tag?: string; digest?: string };
  }
  const cases: Case[] = [
    {
      name: 'registry with tag',
      ref: 'gcr.io/knative-samples/helloworld-go:latest',
      want: { repository: 'gcr.io/knative-samples/helloworld-go', tag: 'latest' },
    },
    {
      name: 'docker hub user',
      ref: 'ruromero/cloudevents-player',
      want: { repository: 'docker.io/ruromero/cloudevents-player' },
    },
    { name: 'docker hub official', ref: 'nginx:1.25', want: { repository: 'docker.io/library/nginx', tag: '1.25' } },
    {
      name: 'digest',
      ref: 'ghcr.io/knative/autoscale-go@sha256:abc',
      want: { repository: 'ghcr.io/knative/autoscale-go', digest: 'sha256:abc' },
    },
    { name: 'registry port', ref: 'localhost:5000/app:v2', want: { repository: 'localhost:5000/app', tag: 'v2' } },
    {
      name: 'index.docker.io',
      ref: 'index.docker.io/ealen/echo-server',
      want: { repository: 'docker.io/ealen/echo-server' },
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseImageRef(c.ref), c.want));

  test('command and args follow Kubernetes: command replaces the entrypoint, args the CMD', () => {
    const t = new ImageTable();
    const sample = t.resolve({ image: 'ghcr.io/knative/autoscale-go:v1' });
    assert.ok(sample.ok && sample.command.argv[1]?.endsWith('samples/autoscale.js') && sample.command.watchesParent);
    const own = t.resolve({
      image: 'ghcr.io/knative/autoscale-go',
      command: ['python3', '-m', 'http.server'],
      args: ['9000'],
    });
    assert.ok(own.ok);
    assert.deepEqual(own.command.argv, ['python3', '-m', 'http.server', '9000']);
    assert.equal(own.command.watchesParent, false);
    const missing = t.resolve({ image: 'nope/nope' });
    assert.equal(missing.ok, false);
  });
});

describe('autoscaling annotations', () => {
  test('Go durations', () => {
    assert.equal(parseGoDuration('60s'), 60_000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.equal(parseGoDuration('soon'), undefined);
  });
  interface Case {
    name: string;
    annotations: Record<string, string>;
    cc: number;
    want: Partial<{
      metric: string;
      target: number;
      min: number;
      max: number;
      initial: number;
      windowMs: number;
      panicMs: number;
      warnings: number;
    }>;
  }
  const cases: Case[] = [
    {
      name: 'defaults: target 100 × 70 %',
      annotations: {},
      cc: 0,
      want: { target: 70, min: 0, max: 0, initial: 1, windowMs: 60_000, panicMs: 6_000 },
    },
    {
      name: 'containerConcurrency is the total when set (below the default)',
      annotations: {},
      cc: 10,
      want: { target: 7 },
    },
    {
      name: 'containerConcurrency is the total when set (above the default)',
      annotations: {},
      cc: 200,
      want: { target: 140 },
    },
    {
      name: 'an annotated target is capped by containerConcurrency',
      annotations: { 'autoscaling.knative.dev/target': '50' },
      cc: 10,
      want: { metric: 'concurrency', target: 7 },
    },
    {
      name: 'rps: requests-per-second-target-default 200 × 70 %',
      annotations: { 'autoscaling.knative.dev/metric': 'rps' },
      cc: 0,
      want: { metric: 'rps', target: 140 },
    },
    {
      name: 'rps: target 5 × 70 %, not capped by containerConcurrency',
      annotations: { 'autoscaling.knative.dev/metric': 'rps', 'autoscaling.knative.dev/target': '5' },
      cc: 1,
      want: { metric: 'rps', target: 3.5, warnings: 0 },
    },
    {
      name: 'rps: an annotated utilisation wins',
      annotations: {
        'autoscaling.knative.dev/metric': 'rps',
        'autoscaling.knative.dev/target': '5',
        'autoscaling.knative.dev/target-utilization-percentage': '100',
      },
      cc: 0,
      want: { metric: 'rps', target: 5 },
    },
    {
      name: 'a metric the KPA here does not run warns and scales on concurrency',
      annotations: { 'autoscaling.knative.dev/metric': 'memory' },
      cc: 0,
      want: { metric: 'concurrency', target: 70, warnings: 1 },
    },
    {
      name: "the seeds' annotations (kebab and camel case)",
      annotations: {
        'autoscaling.knative.dev/target': '200',
        'autoscaling.knative.dev/targetUtilizationPercentage': '80',
        'autoscaling.knative.dev/minScale': '3',
        'autoscaling.knative.dev/max-scale': '3',
        'autoscaling.knative.dev/window': '40s',
      },
      cc: 0,
      want: { target: 160, min: 3, max: 3, initial: 3, windowMs: 40_000, panicMs: 4_000 },
    },
    {
      name: 'malformed values warn and use defaults',
      annotations: { 'autoscaling.knative.dev/min-scale': 'lots', 'autoscaling.knative.dev/window': 'a while' },
      cc: 0,
      want: { min: 0, windowMs: 60_000, warnings: 2 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = resolveAutoscaling(c.annotations, c.cc, knativeAutoscalerDefaults);
      const got = {
        metric: r.spec.metric,
        target: r.spec.targetValue,
        min: r.spec.minScale,
        max: r.spec.maxScale,
        initial: r.initialScale,
        windowMs: r.spec.stableWindowMs,
        panicMs: r.spec.panicWindowMs,
        warnings: r.warnings.length,
      };
      for (const [k, v] of Object.entries(c.want))
        assert.equal(got[k as keyof typeof got], v, `${k}: ${JSON.stringify(got)}`);
    });
  }
});

describe('revisionSpecFromKnative', () => {
  test("maps a stored Revision (the seeds' helloworld) and drops what it cannot use", () => {
    const obj = {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: {
        name: 'helloworld-go-00001',
        namespace: 'demo',
        labels: {
          'serving.knative.dev/service': 'helloworld-go',
          'serving.knative.dev/configuration': 'helloworld-go',
        },
        annotations: { 'autoscaling.knative.dev/target': '10' },
      },
      spec: {
        containerConcurrency: 10,
        timeoutSeconds: 1000,
        containers: [
          {
            image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/helloworld-go:160e4dc8',
            ports: [{ name: 'http1', containerPort: 8080 }],
            env: [
              { name: 'TARGET', value: 'World' },
              { name: 'SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
            ],
            readinessProbe: { httpGet: { path: '/', port: 0 }, periodSeconds: 3 },
          },
        ],
      },
    };
    assert.deepEqual(revisionSpecFromKnative(obj), {
      namespace: 'demo',
      name: 'helloworld-go-00001',
      labels: obj.metadata.labels,
      annotations: obj.metadata.annotations,
      containerConcurrency: 10,
      timeoutSeconds: 1000,
      containers: [
        {
          image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/helloworld-go:160e4dc8',
          ports: [{ name: 'http1', containerPort: 8080 }],
          env: [{ name: 'TARGET', value: 'World' }, { name: 'SECRET' }],
          readinessProbe: { httpGet: { path: '/' }, periodSeconds: 3 },
        },
      ],
    });
    assert.throws(() => revisionSpecFromKnative({ metadata: { name: 'x' } }), { code: 'SLUICE_ERR_REVISION_SPEC' });
  });
});
