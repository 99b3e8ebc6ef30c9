// Knative's field masks (pkg/apis/serving/fieldmask.go) and the config-features flags that open them, as
// ValidatePodSpec reports them: cases ported from knative/serving's k8s_validation_test.go (TestPodSpecValidation,
// TestPodSpecFeatureValidation, TestContainerValidation, TestInitContainerValidation, TestVolumeValidation,
// TestPodSpecSecurityContextValidation), paths relative to the pod spec and compared as Error() text. The last
// case goes through admission, where the path starts at `spec.template.spec`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePodSpec } from '../src/serving/pod-spec-validation.js';
import { FEATURE_DEFAULTS, parseFeatures, type PodSpecFeatures } from '../src/serving/features.js';
import { admit } from '../src/serving/admission.js';
import type { RevisionSpec } from '../src/serving/types.js';

type Flags = Partial<PodSpecFeatures>;
const c0 = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ image: 'busybox', ...extra });
const pod = (extra: Record<string, unknown>, container: Record<string, unknown> = {}): RevisionSpec => ({
  containers: [c0(container)],
  ...extra,
});
/** A volume mounted read-only by the one container, so only the volume's own errors remain. */
const withVolume = (volume: Record<string, unknown>, mount: Record<string, unknown> = {}): RevisionSpec => ({
  containers: [c0({ volumeMounts: [{ name: volume['name'], mountPath: '/data', readOnly: true, ...mount }] })],
  volumes: [volume],
});

const cases: Array<{ name: string; spec: RevisionSpec; flags?: Flags; want: string }> = [
  {
    name: 'automountServiceAccountToken = true',
    spec: pod({ automountServiceAccountToken: true }),
    want: 'must not set the field(s): automountServiceAccountToken',
  },
  { name: 'automountServiceAccountToken = false', spec: pod({ automountServiceAccountToken: false }), want: '' },
  {
    name: 'extra field',
    spec: pod({ terminationGracePeriodSeconds: 5 }),
    want: 'must not set the field(s): terminationGracePeriodSeconds',
  },
  {
    name: 'a pointer field set to false is still set',
    spec: pod({ shareProcessNamespace: false }),
    want: 'must not set the field(s): shareProcessNamespace',
  },
  {
    name: 'disallowed container fields',
    spec: pod(
      {},
      {
        name: 'fail',
        stdin: true,
        stdinOnce: true,
        tty: true,
        lifecycle: {},
        volumeDevices: [{ name: 'disallowed', devicePath: '/' }],
      },
    ),
    want:
      'must not set the field(s): containers[0].lifecycle, containers[0].stdin, containers[0].stdinOnce, ' +
      'containers[0].tty, containers[0].volumeDevices',
  },
  {
    name: 'has numerous problems',
    spec: { containers: [{ lifecycle: {} }] },
    want: 'missing field(s): containers[0].image\nmust not set the field(s): containers[0].lifecycle',
  },
  {
    name: 'port with hostPort',
    spec: pod({}, { ports: [{ containerPort: 8080, hostPort: 80 }] }),
    want: 'must not set the field(s): containers[0].ports.hostPort',
  },
  {
    name: 'port with hostIP',
    spec: pod({}, { ports: [{ containerPort: 8080, hostIP: '127.0.0.1' }] }),
    want: 'must not set the field(s): containers[0].ports.hostIP',
  },
  {
    name: 'resource claims',
    spec: pod({}, { resources: { limits: { cpu: '1' }, claims: [{ name: 'gpu' }] } }),
    want: 'must not set the field(s): containers[0].resources.claims',
  },
  {
    name: 'not allowed to add a security context capability',
    spec: pod({}, { securityContext: { capabilities: { add: ['all'] } } }),
    want: 'must not set the field(s): containers[0].securityContext.capabilities.add',
  },
  {
    name: 'allowed to add a security context capability when the gate is enabled',
    spec: pod({}, { securityContext: { capabilities: { add: ['all'] } } }),
    flags: { addCapabilities: 'Enabled' },
    want: '',
  },
  {
    name: 'secure-pod-defaults lets NET_BIND_SERVICE alone through',
    spec: pod({}, { securityContext: { capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } } }),
    flags: { securePodDefaults: 'AllowRootBounded' },
    want: '',
  },
  {
    name: 'secure-pod-defaults: NET_BIND_SERVICE with another capability',
    spec: pod({}, { securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'SYS_ADMIN'] } } }),
    flags: { securePodDefaults: 'Enabled' },
    want: 'must not set the field(s): containers[0].securityContext.capabilities.add',
  },
  {
    name: 'disallowed security context field',
    spec: pod({}, { securityContext: { privileged: true, procMount: 'Unmasked', seLinuxOptions: { level: 's0' } } }),
    want:
      'must not set the field(s): containers[0].securityContext.privileged, ' +
      'containers[0].securityContext.procMount, containers[0].securityContext.seLinuxOptions',
  },
  {
    name: 'allowed setting security context field privileged to false',
    spec: pod({}, { securityContext: { privileged: false } }),
    want: '',
  },
  {
    name: 'too large uid',
    spec: pod({}, { securityContext: { runAsUser: 2147483648 } }),
    want: 'expected 0 <= 2147483648 <= 2147483647: containers[0].securityContext.runAsUser',
  },
  {
    name: 'pod security context with the feature disabled',
    spec: pod({ securityContext: { runAsUser: 1000 } }),
    want: 'must not set the field(s): securityContext, securityContext.runAsUser',
  },
  {
    name: 'pod security context: disallowed fields even with the feature',
    spec: pod({ securityContext: { seLinuxOptions: {}, windowsOptions: {}, sysctls: [], runAsNonRoot: true } }),
    flags: { securityContext: 'Enabled' },
    want: 'must not set the field(s): securityContext.seLinuxOptions, securityContext.sysctls, securityContext.windowsOptions',
  },
  {
    name: 'pod security context: supplementalGroups out of range',
    spec: pod({ securityContext: { supplementalGroups: [1, -1] } }),
    flags: { securityContext: 'Allowed' },
    want: 'expected 0 <= -1 <= 2147483647: securityContext.supplementalGroups[1]',
  },
  {
    name: 'secure-pod-defaults: a RuntimeDefault seccomp profile at pod level',
    spec: pod({ securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }),
    flags: { securePodDefaults: 'Enabled' },
    want: '',
  },
  {
    name: 'secure-pod-defaults: a Localhost seccomp profile at pod level',
    spec: pod({ securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } } }),
    flags: { securePodDefaults: 'Enabled' },
    want: 'must not set the field(s): securityContext.seccompProfile',
  },
  {
    name: 'hostPath volume with the feature disabled',
    spec: withVolume({ name: 'foo', hostPath: { path: '/valid/path' } }),
    want:
      'HostPath volume support is disabled, but found HostPath volume foo: \n' +
      'must not set the field(s): volumes[0].hostPath',
  },
  {
    name: 'hostPath volume with the feature enabled',
    spec: withVolume({ name: 'foo', hostPath: { path: '/valid/path' } }),
    flags: { hostPath: 'Enabled' },
    want: '',
  },
  {
    name: 'missing volume source when hostPath is enabled',
    spec: withVolume({ name: 'foo' }),
    flags: { hostPath: 'Enabled' },
    want:
      'expected exactly one, got neither: volumes[0].configMap, volumes[0].emptyDir, volumes[0].hostPath, ' +
      'volumes[0].projected, volumes[0].secret',
  },
  {
    name: 'CSI volume with the feature disabled',
    spec: withVolume({ name: 'foo', csi: { driver: 'foo' } }),
    want: 'CSI volume support is disabled, but found CSI volume foo: \nmust not set the field(s): volumes[0].csi',
  },
  {
    name: 'an NFS volume: no flag opens it',
    spec: withVolume({ name: 'foo', nfs: { server: 'nfs', path: '/' } }),
    flags: { hostPath: 'Enabled', csi: 'Enabled' },
    want:
      'expected exactly one, got neither: volumes[0].configMap, volumes[0].csi, volumes[0].emptyDir, ' +
      'volumes[0].hostPath, volumes[0].projected, volumes[0].secret\n' +
      'must not set the field(s): volumes[0].nfs',
  },
  {
    name: 'PVC with the PVC feature disabled',
    spec: withVolume({ name: 'foo', persistentVolumeClaim: { claimName: 'myclaim' } }),
    want:
      'Persistent volume claim support is disabled, but found persistent volume claim myclaim: \n' +
      'Persistent volume write support is disabled, but found persistent volume claim myclaim that is not read-only: \n' +
      'must not set the field(s): volumes[0].persistentVolumeClaim',
  },
  {
    name: 'emptyDir Allowed passes the mask but not the check, which wants Enabled',
    spec: withVolume({ name: 'cache', emptyDir: {} }),
    flags: { emptyDir: 'Allowed' },
    want: 'EmptyDir volume support is disabled, but found EmptyDir volume cache: ',
  },
  {
    name: 'emptyDir with an unknown medium',
    spec: withVolume({ name: 'cache', emptyDir: { medium: 'Disk' } }),
    want: 'invalid value: Disk: volumes[0].emptyDir.medium',
  },
  {
    name: 'configMap items: key and path are required, mode only',
    spec: withVolume({ name: 'cfg', configMap: { name: 'c', items: [{ key: 'a', extra: 'x' }] } }),
    want: 'missing field(s): volumes[0].items[0].path\nmust not set the field(s): volumes[0].items[0].extra',
  },
  {
    name: 'projected: a source kind Knative does not pass, and a token without a path',
    spec: withVolume({
      name: 'all',
      projected: { sources: [{ clusterTrustBundle: { path: 'ca' } }, { serviceAccountToken: { audience: 'x' } }] },
    }),
    want:
      'expected exactly one, got neither: volumes[0].projected[0].configMap, volumes[0].projected[0].downwardAPI, ' +
      'volumes[0].projected[0].secret, volumes[0].projected[0].serviceAccountToken\n' +
      'missing field(s): volumes[0].projected[1].serviceAccountToken.path\n' +
      'must not set the field(s): volumes[0].projected[0].clusterTrustBundle',
  },
  {
    name: 'multiple volume source',
    spec: withVolume({ name: 'foo', configMap: { name: 'c' }, projected: { sources: [{ secret: { name: 's' } }] } }),
    want: 'expected exactly one, got both: volumes[0].configMap, volumes[0].projected',
  },
  {
    name: 'multiple projected volumes single source',
    spec: withVolume({ name: 'foo', projected: { sources: [{ configMap: { name: 'c' }, secret: { name: 's' } }] } }),
    want: 'expected exactly one, got both: volumes[0].projected[0].configMap, volumes[0].projected[0].secret',
  },
  {
    name: 'multiple project volume one-per-source (no names)',
    spec: withVolume({ name: 'foo', projected: { sources: [{ secret: {} }, { configMap: {} }] } }),
    want: 'missing field(s): volumes[0].projected[0].secret.name, volumes[0].projected[1].configMap.name',
  },
  {
    name: 'secret missing keyToPath values',
    spec: withVolume({ name: 'foo', secret: { secretName: 's', items: [{}] } }),
    want: 'missing field(s): volumes[0].items[0].key, volumes[0].items[0].path',
  },
  {
    name: 'projection with DownwardAPI with both fieldRef and resourceFieldRef',
    spec: withVolume({
      name: 'foo',
      projected: {
        sources: [
          {
            downwardAPI: {
              items: [
                { path: 'x', fieldRef: { fieldPath: 'metadata.name' }, resourceFieldRef: { resource: 'limits.cpu' } },
              ],
            },
          },
        ],
      },
    }),
    want:
      'Within a single item, cannot set both: volumes[0].projected[0].downwardAPI.items[0].fieldRef, ' +
      'volumes[0].projected[0].downwardAPI.items[0].resourceFieldRef',
  },
  {
    name: 'bad volume name',
    spec: withVolume({ name: '@@@', configMap: { name: 'c' } }),
    want: 'invalid value: @@@: volumes[0].name',
  },
  {
    name: 'ephemeral volume with the feature disabled',
    spec: withVolume({ name: 'foo', ephemeral: { volumeClaimTemplate: {} } }),
    want:
      'Ephemeral volume support is disabled, but found Ephemeral volume foo: \n' +
      'must not set the field(s): volumes[0].ephemeral',
  },
  {
    name: 'image volume with the feature disabled',
    spec: withVolume({ name: 'foo', image: { reference: 'busybox' } }),
    want: 'Image volume support is disabled, but found Image volume foo: \nmust not set the field(s): volumes[0].image',
  },
  {
    name: 'image volume enabled: reference required, a known pullPolicy',
    spec: withVolume({ name: 'foo', image: { pullPolicy: 'Sometimes' } }),
    flags: { imageVolumes: 'Enabled' },
    want: 'invalid value: Sometimes: volumes[0].image.pullPolicy\nmissing field(s): volumes[0].image.reference',
  },
  {
    name: 'mount uses mountPropagation, but the feature is not enabled',
    spec: withVolume(
      { name: 'foo', persistentVolumeClaim: { claimName: 'myclaim' } },
      { mountPropagation: 'HostToContainer' },
    ),
    flags: { persistentVolumeClaim: 'Enabled', persistentVolumeWrite: 'Enabled' },
    want:
      'Volume Mount Propagation support is disabled, but found volume mount foo with mount propagation: \n' +
      'must not set the field(s): containers[0].volumeMounts[0].mountPropagation',
  },
  {
    name: 'mount uses mountPropagation Bidirectional',
    spec: withVolume(
      { name: 'foo', persistentVolumeClaim: { claimName: 'myclaim' } },
      { mountPropagation: 'Bidirectional' },
    ),
    flags: { persistentVolumeClaim: 'Enabled', persistentVolumeWrite: 'Enabled', mountPropagation: 'Enabled' },
    want: 'mount propagation should be set to None or HostToContainer: containers[0].volumeMounts[0].mountPropagation',
  },
  {
    name: 'a read-only PVC mounted read-write',
    spec: withVolume({ name: 'foo', persistentVolumeClaim: { claimName: 'c', readOnly: true } }, { readOnly: false }),
    flags: { persistentVolumeClaim: 'Enabled' },
    want: 'volume is readOnly but volume mount is not: containers[0].volumeMounts[0].readOnly',
  },
  {
    name: 'volume mount subPathExpr and recursiveReadOnly',
    spec: withVolume(
      { name: 'cfg', configMap: { name: 'c' } },
      { subPathExpr: '$(POD)', recursiveReadOnly: 'Enabled' },
    ),
    want:
      'must not set the field(s): containers[0].volumeMounts[0].recursiveReadOnly, ' +
      'containers[0].volumeMounts[0].subPathExpr',
  },
  {
    name: 'sidecar probes without multi-container probing',
    spec: {
      containers: [
        c0({ ports: [{ containerPort: 8080 }] }),
        c0({
          name: 'side',
          livenessProbe: { tcpSocket: {} },
          startupProbe: { periodSeconds: 1, httpGet: { path: '/' }, terminationGracePeriodSeconds: 10 },
        }),
      ],
    },
    want:
      'must not set the field(s): containers[1].livenessProbe, containers[1].startupProbe, ' +
      'containers[1].startupProbe.periodSeconds, containers[1].startupProbe.terminationGracePeriodSeconds',
  },
  {
    name: 'init-container name collision',
    spec: { initContainers: [c0({ name: 'the-name' })], containers: [c0({ name: 'the-name' })] },
    flags: { initContainers: 'Enabled' },
    want: 'duplicate container name "the-name": containers[0].name',
  },
  {
    name: 'PVC not read-only, mount read-only, write disabled by default',
    spec: withVolume({ name: 'foo', persistentVolumeClaim: { claimName: 'myclaim', readOnly: false } }),
    flags: { persistentVolumeClaim: 'Enabled' },
    want: 'Persistent volume write support is disabled, but found persistent volume claim myclaim that is not read-only: ',
  },
  {
    name: 'an init container may mount what the user container does not',
    spec: {
      initContainers: [c0({ name: 'init', volumeMounts: [{ name: 'data', mountPath: '/data' }] })],
      containers: [c0()],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
    flags: { initContainers: 'Enabled' },
    want: '',
  },
  {
    name: 'invalid with multiple handlers',
    spec: pod(
      {},
      {
        readinessProbe: {
          periodSeconds: 1,
          timeoutSeconds: 1,
          successThreshold: 1,
          failureThreshold: 3,
          httpGet: { path: '/' },
          exec: {},
          tcpSocket: {},
        },
      },
    ),
    want:
      'expected exactly one, got both: containers[0].readinessProbe.exec, containers[0].readinessProbe.httpGet, ' +
      'containers[0].readinessProbe.tcpSocket',
  },
  {
    name: 'sidecar probes without a port, multi-container probing enabled',
    spec: {
      containers: [
        c0({ ports: [{ containerPort: 8080 }] }),
        c0({
          name: 'side',
          readinessProbe: {
            periodSeconds: 1,
            timeoutSeconds: 1,
            successThreshold: 1,
            failureThreshold: 3,
            httpGet: { path: '/' },
          },
          livenessProbe: { tcpSocket: {} },
        }),
      ],
    },
    flags: { multiContainerProbing: 'Enabled' },
    want:
      'invalid value: 0: containers[1].livenessProbe.tcpSocket.port, containers[1].readinessProbe.httpGet.port\n' +
      'Probe port must be specified',
  },
  {
    name: 'invalid liveness tcp probe (has port)',
    spec: pod({}, { livenessProbe: { tcpSocket: { port: 'imap' } } }),
    want: 'invalid value: imap: containers[0].livenessProbe.tcpSocket.port\nProbe port must match container port',
  },
  {
    name: 'probe handler masks: an exec probe with an unknown field',
    spec: pod({}, { livenessProbe: { exec: { command: ['true'], shell: 'sh' } } }),
    want: 'must not set the field(s): containers[0].livenessProbe.exec.shell',
  },
  {
    name: 'init containers are off by default',
    spec: pod({ initContainers: [c0({ name: 'init' })] }),
    want:
      'must not set the field(s): initContainers\n' +
      'pod spec support for init-containers is off, but found 1 init containers: ',
  },
  {
    name: 'an init container with lifecycle and probes',
    spec: pod({ initContainers: [c0({ name: 'init', lifecycle: {}, readinessProbe: { tcpSocket: { port: 1 } } })] }),
    flags: { initContainers: 'Enabled' },
    want:
      'field not allowed in an init container: containers[0].lifecycle, containers[0].readinessProbe\n' +
      'must not set the field(s): containers[0].lifecycle',
  },
];

test('Knative field masks under config-features flags', () => {
  for (const c of cases) {
    const f = { ...FEATURE_DEFAULTS, ...c.flags };
    assert.equal(validatePodSpec(c.spec, f).error(), c.want, c.name);
  }
});

// TestPodSpecFeatureValidation: each pod spec field behind a flag is refused while the flag is Disabled and
// passes when it is Enabled or Allowed.
test('pod spec fields behind feature flags', () => {
  const features: Array<[keyof PodSpecFeatures, string, unknown]> = [
    ['affinity', 'affinity', { nodeAffinity: {} }],
    ['topologySpreadConstraints', 'topologySpreadConstraints', [{ maxSkew: 1, topologyKey: 'zone' }]],
    ['hostAliases', 'hostAliases', [{ ip: '127.0.0.1', hostnames: ['a'] }]],
    ['nodeSelector', 'nodeSelector', { disk: 'ssd' }],
    ['runtimeClassName', 'runtimeClassName', 'test'],
    ['tolerations', 'tolerations', [{ key: 'k', operator: 'Exists' }]],
    ['shareProcessNamespace', 'shareProcessNamespace', true],
    ['priorityClassName', 'priorityClassName', 'foo'],
    ['schedulerName', 'schedulerName', 'foo'],
    ['dnsPolicy', 'dnsPolicy', 'ClusterFirstWithHostNet'],
    ['dnsConfig', 'dnsConfig', { nameservers: ['1.1.1.1'] }],
    ['hostIPC', 'hostIPC', true],
    ['hostPID', 'hostPID', true],
    ['hostNetwork', 'hostNetwork', true],
    ['securityContext', 'securityContext', {}],
  ];
  for (const [flag, field, value] of features) {
    const spec = pod({ [field]: value });
    assert.equal(
      validatePodSpec(spec, FEATURE_DEFAULTS).error(),
      `must not set the field(s): ${field}`,
      `${field}, ${flag} disabled`,
    );
    for (const on of ['Enabled', 'Allowed'] as const)
      assert.equal(validatePodSpec(spec, { ...FEATURE_DEFAULTS, [flag]: on }).error(), '', `${field}, ${flag} ${on}`);
  }
});

test('admission reads the flags from config-features and reports paths from spec.template.spec', () => {
  const svc = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'default' },
    spec: { template: { spec: { containers: [{ image: 'busybox', stdin: true }], nodeSelector: { a: 'b' } } } },
  };
  const denied = admit('Service', 'CREATE', svc);
  assert.equal(denied.ok, false);
  if (!denied.ok)
    assert.equal(
      denied.error.error(),
      'must not set the field(s): spec.template.spec.containers[0].stdin, spec.template.spec.nodeSelector',
    );
  const features = parseFeatures({ 'kubernetes.podspec-nodeselector': 'allowed' });
  const still = admit('Service', 'CREATE', svc, undefined, { features });
  assert.equal(still.ok, false);
  if (!still.ok) assert.equal(still.error.error(), 'must not set the field(s): spec.template.spec.containers[0].stdin');
});

// secure-pod-defaults (revision_defaults.go defaultSecurityContext): what admission fills in, and the warnings
// that stop once it is on.
test('secure-pod-defaults fills in the restricted profile and silences the insecure-default warnings', () => {
  const svc = (spec: Record<string, unknown>): Record<string, unknown> => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'default' },
    spec: { template: { spec } },
  });
  const cases: Array<{
    name: string;
    flag: 'Disabled' | 'AllowRootBounded' | 'Enabled';
    spec: Record<string, unknown>;
    want: unknown;
    warnings: number;
  }> = [
    {
      name: 'Enabled, a low port: NET_BIND_SERVICE added, runAsNonRoot set',
      flag: 'Enabled',
      spec: { containers: [{ image: 'busybox', ports: [{ containerPort: 80 }] }] },
      want: {
        allowPrivilegeEscalation: false,
        seccompProfile: { type: 'RuntimeDefault' },
        capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
        runAsNonRoot: true,
      },
      warnings: 0,
    },
    {
      name: 'AllowRootBounded: no runAsNonRoot; the pod seccomp profile is left to the pod',
      flag: 'AllowRootBounded',
      spec: {
        securityContext: { seccompProfile: { type: 'Unconfined' } },
        containers: [{ image: 'busybox', securityContext: { capabilities: { drop: ['NET_RAW'] } } }],
      },
      want: { allowPrivilegeEscalation: false, capabilities: { drop: ['NET_RAW'] } },
      warnings: 0,
    },
    {
      name: 'Disabled: nothing filled in, Knative warns (one message naming the four fields)',
      flag: 'Disabled',
      spec: { containers: [{ image: 'busybox' }] },
      want: undefined,
      warnings: 1,
    },
  ];
  for (const c of cases) {
    const features = { ...FEATURE_DEFAULTS, securePodDefaults: c.flag };
    const r = admit('Service', 'CREATE', svc(c.spec), undefined, { features });
    assert.equal(r.ok, true, r.ok ? '' : r.error.error());
    if (!r.ok) continue;
    const out = r.object as { spec: { template: { spec: RevisionSpec } } };
    assert.deepEqual(out.spec.template.spec.containers?.[0]?.securityContext, c.want, c.name);
    assert.equal(r.warnings.length, c.warnings, `${c.name}: ${r.warnings.join('; ')}`);
  }
  const init = admit(
    'Service',
    'CREATE',
    svc({ containers: [{ image: 'a' }], initContainers: [{ image: 'b' }] }),
    undefined,
    {
      features: { ...FEATURE_DEFAULTS, initContainers: 'Enabled' },
    },
  );
  assert.equal(init.ok, true);
  if (init.ok)
    assert.match(
      init.warnings.join('\n'),
      /^Kubernetes default value is insecure, .*spec\.template\.spec\.initContainers\[0\]\.securityContext\.allowPrivilegeEscalation/,
    );
});
