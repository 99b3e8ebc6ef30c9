import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, deniedMessage, VALIDATION_WEBHOOK_NAME, type AdmissionOperation } from '../src/serving/admission.js';
import type { ServingKind } from '../src/serving/types.js';
import { clusterServingConfig } from '../src/serving/cluster-config.js';
import { requestUsername } from '../src/cli/embedded.js';

const svc = (
  name: string,
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
): Record<string, unknown> => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', ...metadata },
  spec,
});
const template = (image: string, name?: string): Record<string, unknown> => ({
  ...(name ? { metadata: { name } } : {}),
  spec: { containers: [{ image }] },
});
const route = (traffic: unknown[], metadata: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Route',
  metadata: { name: 'r', namespace: 'default', ...metadata },
  spec: { traffic },
});

interface Case {
  name: string;
  kind: ServingKind;
  op?: AdmissionOperation;
  object: unknown;
  old?: unknown;
  /** Expected error text; undefined means admitted. */
  want?: string;
}

const cases: Case[] = [
  {
    name: 'route: valid split with tags',
    kind: 'Route',
    object: route([
      { tag: 'prod', revisionName: 'foo', percent: 90 },
      { tag: 'exp', configurationName: 'bar', percent: 10 },
    ]),
  },
  {
    name: 'route: sum over',
    kind: 'Route',
    object: route([
      { revisionName: 'a', percent: 60 },
      { configurationName: 'c', percent: 60 },
    ]),
    want: 'Traffic targets sum to 120, want 100: spec.traffic',
  },
  {
    name: 'route: both names',
    kind: 'Route',
    object: route([{ revisionName: 'a', configurationName: 'c', percent: 100 }]),
    want: 'expected exactly one, got both: spec.traffic[0].configurationName, spec.traffic[0].revisionName',
  },
  {
    name: 'route: duplicate tags',
    kind: 'Route',
    object: route([
      { tag: 'a', revisionName: 'x', percent: 50 },
      { tag: 'a', revisionName: 'y', percent: 50 },
    ]),
    want: 'Multiple definitions for "a": spec.traffic[0].tag, spec.traffic[1].tag',
  },
  {
    name: 'route: percent out of range also breaks the sum',
    kind: 'Route',
    object: route([{ revisionName: 'x', percent: 101 }]),
    want: 'Traffic targets sum to 101, want 100: spec.traffic\nexpected 0 <= 101 <= 100: spec.traffic[0].percent',
  },
  {
    name: 'route: latestRevision false without a revision',
    kind: 'Route',
    object: route([{ configurationName: 'c', latestRevision: false, percent: 100 }]),
    want: 'may not set revisionName "" when latestRevision is false: spec.traffic[0].latestRevision',
  },
  {
    name: 'route: url is not allowed in spec',
    kind: 'Route',
    object: route([{ revisionName: 'x', percent: 100, url: 'http://x' }]),
    want: 'must not set the field(s): spec.traffic[0].url',
  },
  {
    name: 'route: bad rollout-duration',
    kind: 'Route',
    object: route([{ revisionName: 'x', percent: 100 }], {
      annotations: { 'serving.knative.dev/rollout-duration': '1.5s' },
    }),
    want: 'rollout-duration=1.5s is not at second precision: metadata.annotations.serving.knative.dev/rollout-duration',
  },
  {
    name: 'service: canonical',
    kind: 'Service',
    object: svc('valid', { template: template('busybox'), traffic: [{ latestRevision: true, percent: 100 }] }),
  },
  {
    name: 'service: missing image',
    kind: 'Service',
    object: svc('valid', { template: { spec: { containers: [{ name: 'c' }] } } }),
    want: 'missing field(s): spec.template.spec.containers[0].image',
  },
  {
    name: 'service: configurationName is implied',
    kind: 'Service',
    object: svc('valid', { template: template('busybox'), traffic: [{ configurationName: 'x', percent: 100 }] }),
    want: 'must not set the field(s): spec.traffic[0].configurationName',
  },
  {
    name: 'service: name too long',
    kind: 'Service',
    object: svc('a'.repeat(64), { template: template('busybox') }),
    want: 'not a DNS 1035 label: [must be no more than 63 characters]: metadata.name',
  },
  {
    name: 'service: autoscaling annotation belongs on the template',
    kind: 'Service',
    object: svc(
      'valid',
      { template: template('busybox') },
      { annotations: { 'autoscaling.knative.dev/min-scale': '1' } },
    ),
    want: 'invalid key name "autoscaling.knative.dev/min-scale": metadata.annotations\nautoscaling annotations must be put under "spec.template.metadata.annotations" to work',
  },
  {
    name: 'service: template annotation out of range',
    kind: 'Service',
    object: svc('valid', {
      template: {
        metadata: {
          annotations: { 'autoscaling.knative.dev/max-scale': '1', 'autoscaling.knative.dev/min-scale': '2' },
        },
        spec: { containers: [{ image: 'busybox' }] },
      },
    }),
    want: 'max-scale=1 is less than min-scale=2: spec.template.metadata.annotations.autoscaling.knative.dev/max-scale, spec.template.metadata.annotations.autoscaling.knative.dev/min-scale',
  },
  {
    name: 'service: reserved env and port',
    kind: 'Service',
    object: svc('valid', {
      template: {
        spec: {
          containers: [{ image: 'busybox', env: [{ name: 'PORT', value: '1' }], ports: [{ containerPort: 8012 }] }],
        },
      },
    }),
    want:
      '"PORT" is a reserved environment variable: spec.template.spec.containers[0].env[0].name\n' +
      'invalid value: 8012 is a reserved port: spec.template.spec.containers[0].ports.containerPort\n8012 is a reserved port, please use a different value',
  },
  {
    name: 'service: container concurrency bounds',
    kind: 'Service',
    object: svc('valid', { template: { spec: { containerConcurrency: -1, containers: [{ image: 'busybox' }] } } }),
    want: 'expected 0 <= -1 <= 1000: spec.template.spec.containerConcurrency',
  },
  {
    name: 'service: byo name needs the service prefix',
    kind: 'Service',
    object: svc('byo-name', { template: template('hellworld', 'foo') }),
    want: 'invalid value: "foo" must have prefix "byo-name-": spec.template.metadata.name',
  },
  {
    name: 'service update: same byo name with a changed template',
    kind: 'Service',
    op: 'UPDATE',
    old: svc('byo-name', { template: template('helloworld:bar', 'byo-name-foo') }),
    object: svc('byo-name', { template: template('helloworld:foo', 'byo-name-foo') }),
    want:
      'Saw the following changes without a name change (-old +new): spec.template.metadata.name\n' +
      '{*v1.RevisionTemplateSpec}.Spec.PodSpec.Containers[0].Image:\n\t-: "helloworld:bar"\n\t+: "helloworld:foo"\n',
  },
  {
    name: 'service update: new byo name with a changed template',
    kind: 'Service',
    op: 'UPDATE',
    old: svc('byo-name', { template: template('helloworld:bar', 'byo-name-bar') }),
    object: svc('byo-name', { template: template('helloworld:foo', 'byo-name-foo') }),
  },
  {
    name: 'revision update: spec is immutable',
    kind: 'Revision',
    op: 'UPDATE',
    old: { kind: 'Revision', metadata: { name: 'r' }, spec: { containers: [{ image: 'a' }] } },
    object: { kind: 'Revision', metadata: { name: 'r' }, spec: { containers: [{ image: 'b' }] } },
    want: 'Immutable fields changed (-old +new): spec\n{v1.RevisionSpec}.PodSpec.Containers[0].Image:\n\t-: "a"\n\t+: "b"\n',
  },
  {
    name: 'configuration: name or generateName required',
    kind: 'Configuration',
    object: { kind: 'Configuration', metadata: {}, spec: { template: template('busybox') } },
    want: 'name or generateName is required: metadata.name',
  },
];

for (const c of cases) {
  test(`admit: ${c.name}`, () => {
    const r = admit(c.kind, c.op ?? 'CREATE', c.object, c.old);
    if (c.want === undefined) {
      assert.equal(r.ok, true, r.ok ? '' : r.error.error());
    } else {
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.error(), c.want);
    }
  });
}

test('admit: a Service without traffic defaults to all traffic on the latest revision', () => {
  const r = admit('Service', 'CREATE', svc('s', { template: template('busybox') }));
  assert.equal(r.ok, true);
  if (!r.ok) return;
  const spec = (r.object as { spec: { traffic: unknown; template: { spec: Record<string, unknown> } } }).spec;
  assert.deepEqual(spec.traffic, [{ percent: 100, latestRevision: true }]);
  assert.equal(spec.template.spec['timeoutSeconds'], 300);
  assert.equal(spec.template.spec['containerConcurrency'], 0);
  assert.deepEqual((spec.template.spec['containers'] as unknown[])[0], {
    name: 'user-container',
    image: 'busybox',
    resources: {},
    readinessProbe: { tcpSocket: { port: 0 }, successThreshold: 1 },
  });
});

test('admit: re-sending an unchanged byo-named template against the stored, defaulted one is allowed', () => {
  const created = admit('Service', 'CREATE', svc('byo-name', { template: template('x', 'byo-name-foo') }));
  assert.equal(created.ok, true);
  if (!created.ok) return;
  const again = svc('byo-name', {
    template: template('x', 'byo-name-foo'),
    traffic: [{ revisionName: 'byo-name-foo', percent: 100 }],
  });
  const r = admit('Service', 'UPDATE', again, created.object);
  assert.equal(r.ok, true, r.ok ? '' : r.error.error());
});

test('admit: the input object is not changed', () => {
  const input = svc('s', { template: template('busybox') });
  const before = structuredClone(input);
  admit('Service', 'CREATE', input);
  assert.deepEqual(input, before);
});

test('deniedMessage: kubectl text', () => {
  const r = admit('Route', 'CREATE', route([{ revisionName: 'a', percent: 110 }]));
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(
      deniedMessage(r.error),
      `admission webhook "${VALIDATION_WEBHOOK_NAME}" denied the request: validation failed: Traffic targets sum to 110, want 100: spec.traffic\nexpected 0 <= 110 <= 100: spec.traffic[0].percent`,
    );
  }
});

test('clusterServingConfig reads config-defaults, config-features and config-autoscaler with Knative key names', () => {
  const cases: Array<{ name: string; data: Record<string, Record<string, string>>; want: Record<string, unknown> }> = [
    {
      name: 'no ConfigMaps: Knative defaults',
      data: {},
      want: { fieldRef: 'Disabled', allowZero: false, maxTimeout: 600 },
    },
    {
      name: 'enabled / allowed permit, case-insensitive; booleans and integers parsed',
      data: {
        'config-features': { 'kubernetes.podspec-fieldref': 'allowed', 'secure-pod-defaults': 'AllowRootBounded' },
        'config-autoscaler': { 'allow-zero-initial-scale': 'true', 'max-scale-limit': '10' },
        'config-defaults': { 'max-revision-timeout-seconds': '900', 'container-name-template': 'app' },
      },
      want: {
        fieldRef: 'Allowed',
        spd: 'AllowRootBounded',
        allowZero: true,
        maxTimeout: 900,
        maxScaleLimit: 10,
        container: 'app',
      },
    },
    {
      name: 'unparsable values keep the default',
      data: {
        'config-features': { 'kubernetes.podspec-fieldref': 'yes', 'multi-container': 'AllowRootBounded' },
        'config-autoscaler': { 'allow-zero-initial-scale': 'maybe' },
        'config-defaults': { 'max-revision-timeout-seconds': '9m' },
      },
      want: { fieldRef: 'Disabled', multi: 'Enabled', allowZero: false, maxTimeout: 600 },
    },
  ];
  for (const c of cases) {
    const cfg = clusterServingConfig((n) => c.data[n]);
    const got: Record<string, unknown> = {
      fieldRef: cfg.features.fieldRef,
      allowZero: cfg.autoscaler.allowZeroInitialScale,
      maxTimeout: cfg.defaults.maxRevisionTimeoutSeconds,
    };
    if ('spd' in c.want) got['spd'] = cfg.features.securePodDefaults;
    if ('multi' in c.want) got['multi'] = cfg.features.multiContainer;
    if ('maxScaleLimit' in c.want) got['maxScaleLimit'] = cfg.autoscaler.maxScaleLimit;
    if ('container' in c.want) got['container'] = cfg.defaults.userContainerName;
    assert.deepEqual(got, c.want, c.name);
  }
});

test('creator and lastModifier are the authenticated user of the request', () => {
  const base = {
    operation: 'CREATE' as const,
    resource: { group: 'serving.knative.dev', version: 'v1', plural: 'services' } as never,
    object: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'who' } },
    user: 'kubectl/v1.31',
  };
  assert.equal(requestUsername(base), 'sluice-admin', 'no authenticated user: the embedded single user');
  assert.equal(
    requestUsername({ ...base, userInfo: { username: 'system:serviceaccount:default:deployer' } } as never),
    'system:serviceaccount:default:deployer',
  );
  const svc = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'who', namespace: 'default' },
    spec: { template: { spec: { containers: [{ image: 'x' }] } } },
  };
  const r = admit('Service', 'CREATE', svc, undefined, { username: 'alice' });
  assert.ok(r.ok);
  const ann = (r.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
  assert.equal(ann['serving.knative.dev/creator'], 'alice');
  assert.equal(ann['serving.knative.dev/lastModifier'], 'alice');
});
