import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { childName, revisionName } from '../src/serving/names.js';
import { makeConfiguration } from '../src/serving/resources/configuration.js';
import { makeRoute } from '../src/serving/resources/route.js';
import { makeRevision } from '../src/serving/resources/revision.js';
import type { Configuration, Service } from '../src/serving/types.js';

interface NameCase {
  name: string;
  parent: string;
  suffix: string;
  want: string;
}

const nameCases: NameCase[] = [
  { name: 'short parent', parent: 'svc', suffix: '-00001', want: 'svc-00001' },
  { name: 'exactly 63', parent: 'a'.repeat(57), suffix: '-00001', want: `${'a'.repeat(57)}-00001` },
  // 64 characters: the first 25 of the parent, then md5(parent), then the suffix.
  {
    name: 'too long is hashed',
    parent: 'a'.repeat(58),
    suffix: '-00001',
    want: `${'a'.repeat(25)}${createHash('md5').update('a'.repeat(58)).digest('hex')}-00001`,
  },
  { name: 'empty suffix', parent: 'x'.repeat(10), suffix: '', want: 'x'.repeat(10) },
];

for (const c of nameCases) {
  test(`childName: ${c.name}`, () => {
    const got = childName(c.parent, c.suffix);
    assert.equal(got, c.want);
    assert.ok(got.length <= 63);
  });
}

interface RevCase {
  name: string;
  config: string;
  generation: number;
  want: string;
}

const revCases: RevCase[] = [
  { name: 'first generation', config: 'svc', generation: 1, want: 'svc-00001' },
  { name: 'five digits', config: 'web', generation: 12345, want: 'web-12345' },
  { name: 'more than five digits', config: 'web', generation: 123456, want: 'web-123456' },
];

for (const c of revCases) {
  test(`revisionName: ${c.name}`, () => assert.equal(revisionName(c.config, c.generation), c.want));
}

const service: Service = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {
    name: 'svc',
    namespace: 'default',
    uid: 'u-1',
    labels: { team: 'a' },
    annotations: {
      'serving.knative.dev/rollout-duration': '60s',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      note: 'x',
    },
  },
  spec: {
    template: { spec: { containers: [{ image: 'busybox' }] } },
    traffic: [
      { tag: 'current', revisionName: 'svc-00001', percent: 90, latestRevision: false },
      { tag: 'latest', latestRevision: true, percent: 10 },
    ],
  },
};

test('makeRoute: named after the Service, owned by it, latest targets follow its Configuration', () => {
  const r = makeRoute(service);
  assert.equal(r.metadata?.name, 'svc');
  assert.deepEqual(r.metadata?.labels, { team: 'a', 'serving.knative.dev/service': 'svc' });
  assert.deepEqual(r.metadata?.annotations, { 'serving.knative.dev/rollout-duration': '60s', note: 'x' });
  assert.deepEqual(r.metadata?.ownerReferences, [
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      name: 'svc',
      uid: 'u-1',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.deepEqual(r.spec?.traffic, [
    { tag: 'current', revisionName: 'svc-00001', percent: 90, latestRevision: false },
    { tag: 'latest', configurationName: 'svc', latestRevision: true, percent: 10 },
  ]);
});

test('makeConfiguration: drops rollout-duration and records the route', () => {
  const c = makeConfiguration(service, { metadata: { annotations: { 'serving.knative.dev/routes': 'other' } } });
  assert.equal(c.metadata?.name, 'svc');
  assert.deepEqual(c.metadata?.annotations, { note: 'x', 'serving.knative.dev/routes': 'other,svc' });
  assert.deepEqual(c.metadata?.labels, {
    team: 'a',
    'serving.knative.dev/service': 'svc',
    'serving.knative.dev/serviceUID': 'u-1',
  });
  assert.deepEqual(c.spec, { template: service.spec?.template });
});

interface RevisionCase {
  name: string;
  configuration: Configuration;
  wantName: string;
  wantRoutingState: string;
}

const base: Configuration = {
  metadata: {
    name: 'svc',
    namespace: 'default',
    generation: 3,
    uid: 'c-1',
    labels: { 'serving.knative.dev/service': 'svc', 'serving.knative.dev/serviceUID': 'u-1' },
  },
  spec: { template: { spec: { containers: [{ image: 'busybox' }] } } },
};

const revisionCases: RevisionCase[] = [
  { name: 'generation name, pending', configuration: base, wantName: 'svc-00003', wantRoutingState: 'pending' },
  {
    name: 'byo name, active when routed',
    configuration: {
      ...base,
      metadata: { ...base.metadata, annotations: { 'serving.knative.dev/routes': 'svc' } },
      spec: { template: { metadata: { name: 'svc-v2' }, spec: { containers: [{ image: 'busybox' }] } } },
    },
    wantName: 'svc-v2',
    wantRoutingState: 'active',
  },
];

for (const c of revisionCases) {
  test(`makeRevision: ${c.name}`, () => {
    const rev = makeRevision(c.configuration, Date.UTC(2026, 0, 1));
    assert.equal(rev.metadata?.name, c.wantName);
    assert.equal(rev.metadata?.labels?.['serving.knative.dev/routingState'], c.wantRoutingState);
    assert.equal(rev.metadata?.annotations?.['serving.knative.dev/routingStateModified'], '2026-01-01T00:00:00Z');
    assert.equal(rev.metadata?.labels?.['serving.knative.dev/configuration'], 'svc');
    assert.equal(rev.metadata?.labels?.['serving.knative.dev/configurationGeneration'], '3');
    assert.equal(rev.metadata?.labels?.['serving.knative.dev/service'], 'svc');
    assert.equal(rev.metadata?.ownerReferences?.[0]?.kind, 'Configuration');
  });
}
