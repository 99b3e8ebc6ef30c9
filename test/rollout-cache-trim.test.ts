// What the rollout controller's informers keep (src/rollout/controller/cache-trim.ts): every field a decision
// reads survives, the rest goes, and equal parts of Rollouts are shared instead of held once per Rollout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RolloutSharing, shareQueries, trimRevision, trimService } from '../src/rollout/controller/cache-trim.js';
import { revisionReadiness, observedTraffic, pickStable } from '../src/rollout/controller/observe.js';
import type {
  AnalysisRunRecord,
  RevisionObject,
  RolloutObject,
  ServiceObject,
} from '../src/rollout/controller/types.js';

const managedFields = [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': { 'f:x': {} } } }];

test('a cached Revision keeps its identity, labels and conditions; its spec and managedFields go', () => {
  const rows: { name: string; rev: RevisionObject; ready: string }[] = [
    {
      name: 'ready',
      rev: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Revision',
        metadata: {
          name: 'web-00001',
          namespace: 'ns',
          labels: { 'serving.knative.dev/service': 'web' },
          managedFields,
        },
        spec: { containers: [{ image: 'x' }] },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      } as RevisionObject,
      ready: 'ready',
    },
    {
      name: 'no status yet',
      rev: { metadata: { name: 'web-00002', namespace: 'ns' }, spec: {} } as RevisionObject,
      ready: 'notReady',
    },
  ];
  for (const r of rows) {
    const t = trimRevision(r.rev);
    assert.equal(revisionReadiness(t), r.ready, r.name);
    assert.equal(revisionReadiness(t), revisionReadiness(r.rev), r.name);
    assert.equal(t.metadata.name, r.rev.metadata.name);
    assert.deepEqual(t.metadata.labels, r.rev.metadata.labels);
    assert.equal(t.metadata.managedFields, undefined);
    assert.equal((t as { spec?: unknown }).spec, undefined);
    assert.ok(
      r.rev.metadata.managedFields === undefined || r.rev.metadata.managedFields === managedFields,
      'input untouched',
    );
  }
});

test('a cached Service keeps traffic, status, labels and annotations but its template and last-applied', () => {
  const svc: ServiceObject = {
    metadata: {
      name: 'web',
      namespace: 'ns',
      generation: 3,
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}', keep: 'me' },
      managedFields,
    },
    spec: { template: { spec: { containers: [] } }, traffic: [{ revisionName: 'web-00001', percent: 100 }] },
    status: {
      observedGeneration: 3,
      latestReadyRevisionName: 'web-00001',
      traffic: [{ revisionName: 'web-00001', percent: 100 }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
  const t = trimService(svc);
  assert.deepEqual(t.spec, { traffic: svc.spec?.traffic });
  assert.deepEqual(t.metadata.annotations, { keep: 'me' });
  assert.deepEqual(t.metadata.labels, { app: 'web' });
  assert.equal(t.metadata.managedFields, undefined);
  assert.deepEqual(observedTraffic(t), observedTraffic(svc));
  assert.equal(pickStable(t), pickStable(svc));
  assert.ok(svc.spec?.template, 'input untouched');
});

const run = (at: string, query: string): AnalysisRunRecord => ({
  at,
  revision: 'web-00002',
  step: 1,
  verdict: 'pass',
  metrics: [{ metric: 'success-rate', status: 'pass', verdict: 'pass', value: 1, query }],
});

test('equal rendered queries are shared with the Rollout they replace; different ones are kept', () => {
  const q = 'sum(rate(x{revision_name="web-00002"}[1s]))';
  const old = [run('t1', q)];
  const fresh = JSON.parse(JSON.stringify([run('t1', q), run('t2', q), run('t3', 'other')])) as AnalysisRunRecord[];
  const shared = shareQueries(fresh, old);
  assert.deepEqual(shared, fresh, 'the same content');
  assert.equal(shared[2], fresh[2], 'a record whose query is new is kept as it is');
});

test('Rollouts under one policy share its governing spec and plan once they are equal', () => {
  const sharing = new RolloutSharing();
  const spec = { strategy: { canary: { steps: [{ setWeight: 10 }] } } };
  const plan = { strategy: 'canary', steps: [{ weight: 10 }], canaryTag: 'canary', stableTag: 'stable' };
  sharing.offer('RolloutPolicy ns/p', spec, plan);
  const ro = (name: string): RolloutObject =>
    JSON.parse(
      JSON.stringify({
        metadata: { name, namespace: 'ns', managedFields },
        spec: { commands: [] },
        status: { policy: 'RolloutPolicy ns/p', governingPolicy: { name: 'p', spec }, plan },
      }),
    ) as RolloutObject;
  const a = sharing.transform(ro('a'), undefined);
  const b = sharing.transform(ro('b'), undefined);
  assert.equal(a.status?.governingPolicy?.spec, spec);
  assert.equal(b.status?.plan, plan);
  assert.equal(a.metadata.managedFields, undefined);
  // A Rollout still governed by an older spec keeps its own.
  const older = ro('c');
  const changed = { strategy: { canary: { steps: [{ setWeight: 20 }] } } };
  (older.status as { governingPolicy: { spec: unknown } }).governingPolicy.spec = changed;
  assert.deepEqual(sharing.transform(older, undefined).status?.governingPolicy?.spec, changed);
});
