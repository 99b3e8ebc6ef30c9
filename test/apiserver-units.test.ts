// Table-driven tests of the API server's pure pieces: ages, selectors, JSONPath, patches, field
// ownership, schema pruning/defaulting/validation messages, lease decisions, and the log's torn tail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { humanDuration } from '../src/apiserver/duration.js';
import { parseLabelSelector, parseFieldSelector } from '../src/apiserver/selectors.js';
import { evalJsonPath, parseJsonPath } from '../src/apiserver/jsonpath.js';
import { mergePatch, serverSideApply } from '../src/apiserver/patch.js';
import { prune, applyDefaults, validateAgainst } from '../src/apiserver/schema.js';
import type { SchemaNode } from '../src/apiserver/registry.js';
import type { KObject } from '../src/apiserver/types.js';
import { Store } from '../src/apiserver/store.js';
import { decideLease, microTime } from '../src/kube/leader.js';
import { tempDir, removeDir } from './support/procs.js';

const S = 1000,
  M = 60 * S,
  H = 60 * M,
  D = 24 * H;
const ages: Array<{ name: string; ms: number; want: string }> = [
  { name: 'seconds under two minutes', ms: 119 * S, want: '119s' },
  { name: 'whole minutes under ten', ms: 5 * M, want: '5m' },
  { name: 'minutes and seconds under ten minutes', ms: 5 * M + 7 * S, want: '5m7s' },
  { name: 'minutes under three hours', ms: 150 * M, want: '150m' },
  { name: 'hours and minutes under eight hours', ms: 3 * H + 20 * M, want: '3h20m' },
  { name: 'hours under two days', ms: 30 * H, want: '30h' },
  { name: 'days and hours under eight days', ms: 2 * D + 3 * H, want: '2d3h' },
  { name: 'whole days', ms: 3 * D, want: '3d' },
  { name: 'days under two years', ms: 400 * D, want: '400d' },
  { name: 'a clock slightly behind', ms: -500, want: '0s' },
  { name: 'a time far in the future', ms: -5 * S, want: '<invalid>' },
];
for (const c of ages) test(`humanDuration: ${c.name}`, () => assert.equal(humanDuration(c.ms), c.want));

const labelCases: Array<{ name: string; sel: string; labels: Record<string, string> | undefined; want: boolean }> = [
  { name: 'equality matches', sel: 'app=web', labels: { app: 'web' }, want: true },
  { name: 'double equals', sel: 'app==web', labels: { app: 'api' }, want: false },
  { name: 'inequality allows a missing key', sel: 'app!=web', labels: {}, want: true },
  { name: 'set membership', sel: 'tier in (a, b)', labels: { tier: 'b' }, want: true },
  { name: 'notin excludes', sel: 'tier notin (a,b)', labels: { tier: 'a' }, want: false },
  { name: 'exists', sel: 'app', labels: { app: '' }, want: true },
  { name: 'does not exist', sel: '!app', labels: { app: 'x' }, want: false },
  { name: 'conjunction', sel: 'app=web,tier in (a),!canary', labels: { app: 'web', tier: 'a' }, want: true },
  { name: 'no labels at all', sel: 'app=web', labels: undefined, want: false },
];
for (const c of labelCases)
  test(`label selector: ${c.name}`, () => assert.equal(parseLabelSelector(c.sel)(c.labels), c.want));

test('label selector: garbage is a 400 naming the requirement', () => {
  assert.throws(() => parseLabelSelector('app=(x'), /unable to parse requirement/);
});

test('field selector: only supported fields', () => {
  const o = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e', namespace: 'ns' },
    involvedObject: { name: 'hello' },
  } as KObject;
  assert.equal(parseFieldSelector('metadata.name=e', [])(o), true);
  assert.equal(parseFieldSelector('involvedObject.name=hello', ['involvedObject.name'])(o), true);
  assert.throws(() => parseFieldSelector('spec.x=1', []), /field label not supported: spec\.x/);
});

const obj = {
  metadata: { labels: { 'serving.knative.dev/configuration': 'hello' } },
  status: {
    conditions: [
      { type: 'Ready', status: 'True', reason: '' },
      { type: 'Active', status: 'False', reason: 'NoTraffic' },
    ],
    traffic: [{ percent: 100 }],
  },
};
const paths: Array<{ name: string; path: string; want: unknown[] }> = [
  { name: 'dotted field', path: '.status.traffic[0].percent', want: [100] },
  { name: 'filter by condition type', path: ".status.conditions[?(@.type=='Active')].reason", want: ['NoTraffic'] },
  { name: 'escaped dotted key', path: ".metadata.labels['serving\\.knative\\.dev/configuration']", want: ['hello'] },
  { name: 'missing field', path: '.status.url', want: [] },
];
for (const c of paths)
  test(`jsonpath: ${c.name}`, () => assert.deepEqual(evalJsonPath(obj, parseJsonPath(c.path)), c.want));

const merges: Array<{ name: string; target: unknown; patch: unknown; want: unknown }> = [
  {
    name: 'adds and replaces',
    target: { a: 1, b: { c: 2 } },
    patch: { b: { d: 3 } },
    want: { a: 1, b: { c: 2, d: 3 } },
  },
  { name: 'null deletes', target: { a: 1, b: 2 }, patch: { a: null }, want: { b: 2 } },
  { name: 'arrays are replaced whole', target: { l: [1, 2] }, patch: { l: [3] }, want: { l: [3] } },
  { name: 'a non-object patch replaces', target: { a: 1 }, patch: 'x', want: 'x' },
];
for (const c of merges)
  test(`merge patch (RFC 7386): ${c.name}`, () => assert.deepEqual(mergePatch(c.target, c.patch), c.want));

test("server-side apply: another manager's field with a different value is a conflict unless forced", () => {
  const live: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      managedFields: [
        {
          manager: 'sluice-rollout',
          operation: 'Update',
          apiVersion: 'serving.knative.dev/v1',
          time: '',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': { 'f:traffic': {} } },
        },
      ],
    },
    spec: { traffic: [{ revisionName: 'web-00001', percent: 100 }] },
  };
  const applied: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { traffic: [{ latestRevision: true, percent: 100 }] },
  };
  const label = { group: 'serving.knative.dev', plural: 'services', name: 'web', apiVersion: 'serving.knative.dev/v1' };
  assert.throws(
    () => serverSideApply(live, applied, 'gitops', false, 'now', label),
    /Apply failed with 1 conflict: conflict with "sluice-rollout" using serving\.knative\.dev\/v1: \.spec\.traffic/,
  );
  const forced = serverSideApply(live, applied, 'gitops', true, 'now', label);
  assert.deepEqual((forced.obj.spec as { traffic: unknown }).traffic, [{ latestRevision: true, percent: 100 }]);
  assert.deepEqual(
    forced.managedFields.map((m) => m.manager),
    ['gitops'],
  );
});

const schema: SchemaNode = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['image'],
      properties: {
        image: { type: 'string', minLength: 1 },
        replicas: { type: 'integer', default: 1, minimum: 0, maximum: 10 },
        mode: { type: 'string', enum: ['a', 'b'] },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        port: { 'x-kubernetes-int-or-string': true },
      },
    },
  },
};
test('schema: unknown fields are pruned and reported; preserved subtrees are kept', () => {
  const o: Record<string, unknown> = {
    apiVersion: 'x/v1',
    kind: 'X',
    metadata: { name: 'n', bogus: 1 },
    spec: { image: 'i', typo: 1, extra: { anything: true } },
    top: 1,
  };
  const dropped = prune(o, schema);
  assert.deepEqual(dropped.sort(), ['metadata.bogus', 'spec.typo', 'top']);
  assert.deepEqual(o.spec, { image: 'i', extra: { anything: true } });
});
test('schema: defaults fill absent fields only', () => {
  const o = { spec: { image: 'i' } };
  applyDefaults(o, schema);
  assert.deepEqual(o.spec, { image: 'i', replicas: 1 });
});
const invalid: Array<{ name: string; spec: unknown; field: string; message: RegExp }> = [
  { name: 'required', spec: {}, field: 'spec.image', message: /^Required value$/ },
  {
    name: 'wrong type',
    spec: { image: 'i', replicas: 'x' },
    field: 'spec.replicas',
    message: /^Invalid value: "string": spec\.replicas in body must be of type integer: "string"$/,
  },
  {
    name: 'over maximum',
    spec: { image: 'i', replicas: 11 },
    field: 'spec.replicas',
    message: /should be less than or equal to 10/,
  },
  {
    name: 'enum',
    spec: { image: 'i', mode: 'c' },
    field: 'spec.mode',
    message: /^Unsupported value: "c": supported values: "a", "b"$/,
  },
  {
    name: 'int-or-string rejects a bool',
    spec: { image: 'i', port: true },
    field: 'spec.port',
    message: /Invalid value/,
  },
];
for (const c of invalid) {
  test(`schema validation: ${c.name}`, () => {
    const causes = validateAgainst({ spec: c.spec }, schema);
    const hit = causes.find((x) => x.field === c.field);
    assert.ok(hit, `a cause for ${c.field} in ${JSON.stringify(causes)}`);
    assert.match(hit.message, c.message);
  });
}

const t0 = Date.UTC(2026, 0, 1);
const leases: Array<{ name: string; lease: Parameters<typeof decideLease>[0]; now: number; want: string }> = [
  { name: 'no lease: create it', lease: undefined, now: t0, want: 'create' },
  {
    name: 'held by me: renew',
    lease: { holderIdentity: 'me', renewTime: microTime(t0), leaseDurationSeconds: 15 },
    now: t0 + 5_000,
    want: 'renew',
  },
  {
    name: 'held by another, fresh: wait',
    lease: { holderIdentity: 'other', renewTime: microTime(t0), leaseDurationSeconds: 15 },
    now: t0 + 10_000,
    want: 'wait',
  },
  {
    name: 'held by another, expired: take over',
    lease: { holderIdentity: 'other', renewTime: microTime(t0), leaseDurationSeconds: 15, leaseTransitions: 2 },
    now: t0 + 16_000,
    want: 'takeover',
  },
  {
    name: 'released (no holder): take over',
    lease: { holderIdentity: '', renewTime: microTime(t0) },
    now: t0 + 1,
    want: 'takeover',
  },
];
for (const c of leases) {
  test(`leader election: ${c.name}`, () => {
    const d = decideLease(c.lease, 'me', 15, c.now);
    assert.equal(d.action, c.want);
    if (d.action === 'takeover') assert.equal(d.spec.leaseTransitions, (c.lease?.leaseTransitions ?? 0) + 1);
  });
}

test('store: a torn last line of the log is cut, everything before it kept', async () => {
  const dir = await tempDir();
  try {
    const { store } = await Store.open({ dir });
    for (let i = 0; i < 3; i++)
      await store.put('/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `c${i}`, namespace: 'd' },
      });
    await store.close();
    await appendFile(join(dir, 'wal.log'), '{"rv":4,"op":"put","key":"/configmaps|d|c3","obj":{"apiVer');
    const reopened = await Store.open({ dir });
    assert.ok(reopened.tornBytes > 0);
    assert.deepEqual(
      reopened.store.list('/configmaps', 'd').map((o) => o.metadata.name),
      ['c0', 'c1', 'c2'],
    );
    assert.equal(reopened.store.resourceVersion, 3);
    const next = await reopened.store.put('/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c3', namespace: 'd' },
    });
    assert.equal(next.metadata.resourceVersion, '4');
    await reopened.store.close();
    const log = await readFile(join(dir, 'wal.log'), 'utf8');
    assert.ok(
      log.endsWith('\n') &&
        log
          .split('\n')
          .filter(Boolean)
          .every((l) => JSON.parse(l)),
    );
  } finally {
    await removeDir(dir);
  }
});

test('store: compaction writes a snapshot and keeps every object and the rv sequence', async () => {
  const dir = await tempDir();
  try {
    const { store } = await Store.open({ dir, compactAtBytes: 2000 });
    for (let i = 0; i < 40; i++)
      await store.put('/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `c${i % 10}`, namespace: 'd' },
        data: { i: String(i) },
      });
    await store.close();
    const { store: s2 } = await Store.open({ dir });
    assert.equal(s2.count(), 10);
    assert.equal(s2.resourceVersion, 40);
    assert.equal((s2.get('/configmaps', 'd', 'c9')!.data as Record<string, string>).i, '39');
    await s2.close();
  } finally {
    await removeDir(dir);
  }
});
