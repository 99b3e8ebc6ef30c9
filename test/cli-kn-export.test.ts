// Table tests for `service export` and `revision delete --prune` ordering, from knative/client
// pkg/commands/service/export.go (sortRevisions: generation ascending, then name descending) and
// pkg/commands/revision/list.go (namespace, service, generation descending, name ascending), and the
// Export/List shapes kn prints for a Service with one and with several routed Revisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportService, sortForExport } from '../src/cli/kn/export.js';
import { unreferencedRevisions } from '../src/cli/kn/revision.js';
import { KnError } from '../src/cli/kn/errors.js';
import type { Revision, Service } from '../src/serving/types.js';

const rev = (name: string, gen?: string, extra: { ns?: string; svc?: string; state?: string } = {}): Revision => ({
  metadata: {
    name,
    namespace: extra.ns ?? 'default',
    labels: {
      'serving.knative.dev/service': extra.svc ?? 'hello',
      ...(gen === undefined ? {} : { 'serving.knative.dev/configurationGeneration': gen }),
      ...(extra.state === undefined ? {} : { 'serving.knative.dev/routingState': extra.state }),
    },
  },
  spec: { containers: [{ image: `img:${name}` }] },
});

interface SortCase {
  name: string;
  revisions: Revision[];
  want: string[];
}
const exportSorts: SortCase[] = [
  {
    name: 'by generation, oldest first',
    revisions: [rev('c', '3'), rev('a', '1'), rev('b', '2')],
    want: ['a', 'b', 'c'],
  },
  { name: 'same generation: name descending', revisions: [rev('a', '1'), rev('b', '1')], want: ['b', 'a'] },
  { name: 'no generation label: name descending', revisions: [rev('a'), rev('c'), rev('b')], want: ['c', 'b', 'a'] },
];
for (const c of exportSorts) {
  test(`export order: ${c.name}`, () => {
    assert.deepEqual(
      sortForExport(c.revisions).map((r) => r.metadata?.name),
      c.want,
    );
  });
}

const pruneSorts: SortCase[] = [
  {
    name: 'only revisions whose routingState is not active, newest generation first',
    revisions: [
      rev('h-1', '1', { state: 'reserve' }),
      rev('h-3', '3', { state: 'pending' }),
      rev('h-2', '2', { state: 'active' }),
      rev('h-0', '0'),
    ],
    want: ['h-3', 'h-1', 'h-0'],
  },
  {
    name: 'grouped by namespace, then service',
    revisions: [
      rev('z-1', '1', { svc: 'zed', state: 'reserve' }),
      rev('a-1', '1', { svc: 'abc', state: 'reserve' }),
      rev('o-1', '1', { ns: 'aaa', svc: 'zed', state: 'reserve' }),
    ],
    want: ['o-1', 'a-1', 'z-1'],
  },
];
for (const c of pruneSorts) {
  test(`prune: ${c.name}`, () => {
    assert.deepEqual(unreferencedRevisions(c.revisions), c.want);
  });
}

const svc = (traffic: NonNullable<Service['spec']>['traffic']): Service => ({
  metadata: {
    name: 'hello',
    namespace: 'default',
    uid: 'u',
    resourceVersion: '7',
    generation: 2,
    labels: { app: 'x', 'serving.knative.dev/serviceUID': 'u' },
    annotations: { 'serving.knative.dev/creator': 'admin', note: 'kept' },
  },
  spec: {
    template: {
      metadata: { name: 'hello-b', annotations: { 'client.knative.dev/updateTimestamp': 't', keep: 'me' } },
      spec: { containers: [{ image: 'img:b' }] },
    },
    ...(traffic ? { traffic } : {}),
  },
  status: { latestReadyRevisionName: 'hello-b' },
});

test('export: one revision gives no traffic and null revisions', () => {
  const out = exportService(svc([{ latestRevision: true, percent: 100 }]), [rev('hello-b', '2')], {
    withRevisions: true,
    mode: 'export',
  });
  assert.deepEqual(out, {
    kind: 'Export',
    apiVersion: 'client.knative.dev/v1alpha1',
    metadata: { creationTimestamp: null },
    spec: {
      service: {
        kind: 'Service',
        apiVersion: 'serving.knative.dev/v1',
        metadata: { name: 'hello', creationTimestamp: null, labels: { app: 'x' }, annotations: { note: 'kept' } },
        spec: {
          template: {
            metadata: { name: 'hello-b', creationTimestamp: null, annotations: { keep: 'me' } },
            spec: { containers: [{ image: 'img:b', resources: {} }] },
          },
        },
        status: {},
      },
      revisions: null,
    },
  });
});

test('export: replay without revisions is the Service alone', () => {
  const out = exportService(svc(undefined), [], { withRevisions: false, mode: 'replay' });
  assert.equal(out['kind'], 'Service');
  assert.equal((out['spec'] as Record<string, unknown>)['traffic'], undefined);
});

test('export: replay with revisions lists the routed older ones first, @latest resolved on the last', () => {
  const traffic = [
    { latestRevision: true, percent: 60 },
    { revisionName: 'hello-a', latestRevision: false, percent: 40 },
  ];
  const out = exportService(svc(traffic), [rev('hello-b', '2'), rev('hello-x', '0'), rev('hello-a', '1')], {
    withRevisions: true,
    mode: 'replay',
  });
  const items = out['items'] as Array<Record<string, Record<string, unknown>>>;
  assert.deepEqual(
    items.map((i) => (i['spec']!['template'] as { metadata: { name: string } }).metadata.name),
    ['hello-a', 'hello-b'],
  );
  assert.deepEqual(items[1]!['spec']!['traffic'], [
    { revisionName: 'hello-b', latestRevision: true, percent: 60 },
    { revisionName: 'hello-a', latestRevision: false, percent: 40 },
  ]);
  assert.equal(items[0]!['spec']!['traffic'], undefined);
});

test("export: --with-revisions and none found is kn's error", () => {
  assert.throws(
    () => exportService(svc(undefined), [], { withRevisions: true, mode: 'export' }),
    (e: unknown) => e instanceof KnError && e.message === 'no revisions found for the service hello',
  );
});
