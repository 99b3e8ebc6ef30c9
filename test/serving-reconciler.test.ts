// Units of the Serving reconcilers: the work queue's contract, and the pure pieces each reconciler uses
// (routing table entries, network config, revision status from the data plane, routing state, write-once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WorkQueue,
  retryDelayMs,
  dataPlaneRoute,
  networkConfigFromData,
  revisionStatusFromObservation,
  nextRoutingState,
  keepTransitionTimes,
  jsonEqual,
  stableFailureMessage,
  TerminalError,
  type DataPlaneRevisionStatus,
  type DataPlaneRoute,
} from '../src/serving/reconciler/index.js';
import type { IngressSplit, RevisionStatus } from '../src/serving/index.js';

const NOW = Date.UTC(2026, 0, 1);

test('retryDelayMs doubles from the base and stops at the cap', () => {
  const cases: Array<{ name: string; failures: number; want: number }> = [
    { name: 'no failure, no delay', failures: 0, want: 0 },
    { name: 'first failure waits the base', failures: 1, want: 10 },
    { name: 'fourth failure waits 8 × base', failures: 4, want: 80 },
    { name: 'many failures wait the cap', failures: 40, want: 30_000 },
  ];
  for (const c of cases) assert.equal(retryDelayMs(c.failures, 10, 30_000), c.want, c.name);
});

test('WorkQueue: a key queued many times runs once; one in flight per key; an event during a run runs it again', async () => {
  const runs: string[] = [];
  let active = 0;
  let maxActiveSameKey = 0;
  let release: (() => void) | undefined;
  const q = new WorkQueue({
    name: 't',
    workers: 4,
    reconcile: async (k) => {
      runs.push(k.name);
      active++;
      maxActiveSameKey = Math.max(maxActiveSameKey, active);
      if (runs.length === 1) await new Promise<void>((r) => (release = r));
      active--;
    },
  });
  q.add({ namespace: 'ns', name: 'a' });
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 5; i++) q.add({ namespace: 'ns', name: 'a' }); // while running: marks it dirty once
  release?.();
  await q.whenIdle();
  assert.deepEqual(runs, ['a', 'a']);
  assert.equal(maxActiveSameKey, 1);
});

test('WorkQueue: errors are retried with back-off until success; TerminalError is not retried', async () => {
  let attempts = 0;
  let terminal = 0;
  const q = new WorkQueue({
    name: 't',
    baseDelayMs: 1,
    reconcile: async (k) => {
      if (k.name === 'flaky') {
        attempts++;
        if (attempts < 3) throw new Error('conflict');
      } else {
        terminal++;
        throw new TerminalError('bad spec');
      }
    },
  });
  q.add({ namespace: 'ns', name: 'flaky' });
  q.add({ namespace: 'ns', name: 'bad' });
  const deadline = Date.now() + 2000;
  while (attempts < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(attempts, 3);
  assert.equal(terminal, 1);
  assert.equal(q.stats.errors, 3);
  q.stop();
});

test('WorkQueue: requeueAfterMs brings the key back', async () => {
  let n = 0;
  const q = new WorkQueue({ name: 't', reconcile: async () => (++n < 3 ? { requeueAfterMs: 5 } : {}) });
  q.add({ namespace: '', name: 'x' });
  const deadline = Date.now() + 2000;
  while (n < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(n, 3);
  q.stop();
});

test('dataPlaneRoute turns reconcileRoute ingress programs into router entries', () => {
  const split = (revisionName: string, percent: number): IngressSplit => ({ revisionName, percent, protocol: 'http1' });
  const cases: Array<{
    name: string;
    splits: Array<[string, IngressSplit[]]>;
    hosts: Record<string, string>;
    want: DataPlaneRoute;
  }> = [
    {
      name: 'one revision at 100 %, cluster-local host gets its short forms',
      splits: [['', [split('hello-00001', 100)]]],
      hosts: { 'hello.default.svc.cluster.local': '' },
      want: {
        namespace: 'default',
        name: 'hello',
        hosts: ['hello.default.svc.cluster.local', 'hello.default.svc', 'hello.default'],
        traffic: [{ revisionName: 'hello-00001', percent: 100 }],
      },
    },
    {
      name: 'tags become 0 % entries with their own hosts; zero-percent splits are dropped from the main host',
      splits: [
        ['', [split('a', 100), split('b', 0)]],
        ['one', [split('a', 100)]],
        ['two', [split('b', 100)]],
      ],
      hosts: { 'hello.ns.example.com': '', 'one-hello.ns.example.com': 'one', 'two-hello.ns.example.com': 'two' },
      want: {
        namespace: 'ns',
        name: 'hello',
        hosts: ['hello.ns.example.com'],
        traffic: [
          { revisionName: 'a', percent: 100 },
          { revisionName: 'a', percent: 0, tag: 'one', hosts: ['one-hello.ns.example.com'] },
          { revisionName: 'b', percent: 0, tag: 'two', hosts: ['two-hello.ns.example.com'] },
        ],
      },
    },
    {
      name: 'a rolling tagged target serves its larger share on the tag host',
      splits: [
        ['', [split('old', 90), split('new', 10)]],
        ['t', [split('old', 90), split('new', 10)]],
      ],
      hosts: { 'r.ns.example.com': '', 't-r.ns.example.com': 't' },
      want: {
        namespace: 'ns',
        name: 'r',
        hosts: ['r.ns.example.com'],
        traffic: [
          { revisionName: 'old', percent: 90 },
          { revisionName: 'new', percent: 10 },
          { revisionName: 'old', percent: 0, tag: 't', hosts: ['t-r.ns.example.com'] },
        ],
      },
    },
  ];
  for (const c of cases) {
    assert.deepEqual(
      dataPlaneRoute(c.want.namespace, c.want.name, { splits: new Map(c.splits), hosts: c.hosts }),
      c.want,
      c.name,
    );
  }
});

test('networkConfigFromData reads config-domain and config-network with Knative defaults', () => {
  const cases: Array<{
    name: string;
    domain?: Record<string, string>;
    network?: Record<string, string>;
    want: Partial<ReturnType<typeof networkConfigFromData>>;
  }> = [
    {
      name: 'absent ConfigMaps: svc.cluster.local and the default templates',
      want: {
        domains: [{ domain: 'svc.cluster.local', selector: {} }],
        domainTemplate: '{{.Name}}.{{.Namespace}}.{{.Domain}}',
        tagTemplate: '{{.Tag}}-{{.Name}}',
        rolloutDurationSeconds: 0,
      },
    },
    {
      name: 'a default domain replaces the catch-all',
      domain: { 'example.com': '' },
      want: { domains: [{ domain: 'example.com', selector: {} }] },
    },
    {
      name: 'legacy camelCase keys and a rollout duration in seconds',
      network: { domainTemplate: '{{.Name}}-{{.Namespace}}.{{.Domain}}', 'rollout-duration': '120' },
      want: { domainTemplate: '{{.Name}}-{{.Namespace}}.{{.Domain}}', rolloutDurationSeconds: 120 },
    },
    {
      name: 'rollout duration as a Go duration',
      network: { 'rollout-duration': '2m' },
      want: { rolloutDurationSeconds: 120 },
    },
  ];
  for (const c of cases) {
    const got = networkConfigFromData(c.domain, c.network);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof typeof got], v, `${c.name}: ${k}`);
  }
});

test('revisionStatusFromObservation maps data plane observations to Knative conditions', () => {
  const obs = (o: Partial<DataPlaneRevisionStatus>): DataPlaneRevisionStatus => ({
    namespace: 'ns',
    name: 'r',
    ready: 'Unknown',
    reason: 'Deploying',
    message: '',
    active: false,
    actualReplicas: 1,
    desiredReplicas: 1,
    ...o,
  });
  const ready: RevisionStatus = revisionStatusFromObservation(
    undefined,
    NOW,
    obs({ ready: 'True', reason: '', active: true }),
    1,
  );
  const cases: Array<{
    name: string;
    prev?: RevisionStatus;
    o: DataPlaneRevisionStatus;
    want: Record<string, string>;
  }> = [
    {
      name: 'deploying: Ready Unknown',
      o: obs({}),
      want: { Ready: 'Unknown', ResourcesAvailable: 'Unknown', Active: 'Unknown' },
    },
    {
      name: 'ready with a process',
      o: obs({ ready: 'True', reason: '', active: true }),
      want: { Ready: 'True', ContainerHealthy: 'True', ResourcesAvailable: 'True', Active: 'True' },
    },
    {
      name: 'scaled to zero stays Ready with Active=False NoTraffic',
      prev: ready,
      o: obs({ ready: 'True', reason: '', active: false, actualReplicas: 0, desiredReplicas: 0 }),
      want: { Ready: 'True', Active: 'False/NoTraffic' },
    },
    {
      name: 'container exits: Ready False with the exit reason',
      o: obs({
        ready: 'False',
        reason: 'ExitCode1',
        message: 'Container failed with exit code 1. Restart 2 after a 1000 ms back-off (CrashLoopBackOff); logs in x',
      }),
      want: { Ready: 'False/ExitCode1', ContainerHealthy: 'False/ExitCode1' },
    },
  ];
  for (const c of cases) {
    const s = revisionStatusFromObservation(c.prev, NOW, c.o, 1);
    assert.equal(s.observedGeneration, 1, c.name);
    for (const [type, want] of Object.entries(c.want)) {
      const cond = s.conditions?.find((x) => x.type === type);
      const got = want.includes('/') ? `${cond?.status}/${cond?.reason}` : cond?.status;
      assert.equal(got, want, `${c.name}: ${type}`);
    }
  }
});

test('stableFailureMessage drops the restart count so a crash loop does not rewrite the status', () => {
  assert.equal(
    stableFailureMessage(
      'Container failed with exit code 1. Restart 7 after a 16000 ms back-off (CrashLoopBackOff); logs in /x.log',
    ),
    'Container failed with exit code 1. Restarting with back-off (CrashLoopBackOff); logs in /x.log',
  );
});

test('nextRoutingState follows Knative: active while routed, reserve after, pending before', () => {
  const cases: Array<{ name: string; current: string | undefined; routed: boolean; want: string }> = [
    { name: 'new and routed', current: 'pending', routed: true, want: 'active' },
    { name: 'new, not yet routed', current: 'pending', routed: false, want: 'pending' },
    { name: 'lost its traffic', current: 'active', routed: false, want: 'reserve' },
    { name: 'reserve routed again', current: 'reserve', routed: true, want: 'active' },
    { name: 'no label yet', current: undefined, routed: false, want: 'pending' },
  ];
  for (const c of cases) assert.equal(nextRoutingState(c.current, c.routed), c.want, c.name);
});

test('keepTransitionTimes keeps the stored time of a condition whose content did not change', () => {
  const prev = {
    conditions: [
      {
        type: 'Ready',
        status: 'False' as const,
        reason: 'X',
        message: 'm',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  };
  const same = {
    conditions: [
      {
        type: 'Ready',
        status: 'False' as const,
        reason: 'X',
        message: 'm',
        lastTransitionTime: '2026-01-01T00:05:00Z',
      },
    ],
  };
  const changed = {
    conditions: [{ type: 'Ready', status: 'True' as const, lastTransitionTime: '2026-01-01T00:05:00Z' }],
  };
  assert.ok(jsonEqual(keepTransitionTimes(prev, same), prev), 'unchanged content: no write');
  assert.equal(
    keepTransitionTimes(prev, changed).conditions[0]?.lastTransitionTime,
    '2026-01-01T00:05:00Z',
    'a real transition keeps its new time',
  );
  assert.ok(
    jsonEqual({ a: 1, b: { c: 2, d: undefined } }, { b: { c: 2 }, a: 1 }),
    'key order and undefined fields do not matter',
  );
});
