// The template annotations Knative's RevisionTemplateSpec.Validate checks besides autoscaling: queue-proxy's
// resource annotations (TestValidateQueueSidecarAnnotation, TestRevisionTemplateSpecValidation) and the
// networking.knative.dev keys (networking's ValidateAnnotations), compared as Knative's Error() text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateNetworkingAnnotations, validateQueueSidecarAnnotations } from '../src/serving/template-annotations.js';
import { admit } from '../src/serving/admission.js';

const PCT = 'queue.sidecar.serving.knative.dev/resource-percentage';
// Go's ErrGeneric without a path stays without one under ViaKey: Knative prints `…: ` with nothing after.
const WARN =
  'Queue proxy resource percentage annotation is deprecated. Please use the available annotations to explicitly set resource values per service: ';

test('queue sidecar resource annotations as TestValidateQueueSidecarAnnotation', () => {
  const cases: Array<[name: string, annotations: Record<string, string>, want: string]> = [
    ['too small', { [PCT]: '0.01982' }, `${WARN}\nexpected 0.1 <= 0.01982 <= 100: [${PCT}]`],
    ['too big', { [PCT]: '100.0001' }, `${WARN}\nexpected 0.1 <= 100.0001 <= 100: [${PCT}]`],
    ['empty value', { [PCT]: '' }, `${WARN}\ninvalid value: : [${PCT}]`],
    ['not a number', { [PCT]: '50mx' }, `${WARN}\ninvalid value: 50mx: [${PCT}]`],
    ['empty annotations', {}, ''],
    ['another annotation', { 'serving.knative.dev/creator': 'umph' }, ''],
    ['0.1 is valid', { [PCT]: '0.1' }, WARN],
    ['100 is valid', { [PCT]: '100' }, WARN],
    [
      'invalid quantities',
      {
        'queue.sidecar.serving.knative.dev/cpu-resource-limit': '100mx',
        'queue.sidecar.serving.knative.dev/cpu-resource-request': '50mx',
        'queue.sidecar.serving.knative.dev/memory-resource-limit': '1Gi',
        'queue.sidecar.serving.knative.dev/memory-resource-request': '100Mi',
        'queue.sidecar.serving.knative.dev/ephemeral-storage-resource-limit': '5Gi',
        'queue.sidecar.serving.knative.dev/ephemeral-storage-resource-request': '2Gi',
      },
      'invalid value: 100mx: [queue.sidecar.serving.knative.dev/cpu-resource-limit]\n' +
        'invalid value: 50mx: [queue.sidecar.serving.knative.dev/cpu-resource-request]',
    ],
  ];
  for (const [name, annotations, want] of cases)
    assert.equal(validateQueueSidecarAnnotations(annotations).error(), want, name);
});

test('networking.knative.dev annotations on a template', () => {
  const cases: Array<[string, string]> = [
    ['networking.knative.dev/visibility', 'invalid key name "networking.knative.dev/visibility": '],
    ['networking.knative.dev/foo', 'invalid key name "networking.knative.dev/foo": '],
    ['networking.knative.dev/ingress.class', ''],
    ['networking.knative.dev/disable-auto-tls', ''],
    ['networking.internal.knative.dev/rollout', ''],
  ];
  for (const [key, want] of cases) assert.equal(validateNetworkingAnnotations({ [key]: 'x' }).error(), want, key);
});

test('admission refuses them under spec.template.metadata.annotations', () => {
  const svc = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'default' },
    spec: {
      template: {
        metadata: {
          annotations: {
            'networking.knative.dev/visibility': 'cluster-local',
            [PCT]: '200',
          },
        },
        spec: { containers: [{ image: 'helloworld' }] },
      },
    },
  };
  const r = admit('Service', 'CREATE', svc);
  assert.equal(r.ok, false);
  if (!r.ok)
    assert.equal(
      r.error.error(),
      // knative/pkg's flatten splits the key at its dots, so `[queue` is no index and keeps its dot, as in Knative.
      `expected 0.1 <= 200 <= 100: spec.template.metadata.annotations.[${PCT}]\n` +
        'invalid key name "networking.knative.dev/visibility": spec.template.metadata.annotations',
    );
});
