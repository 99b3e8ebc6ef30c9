// Table tests: kn's pod-spec and scale flags → the Service spec kn sends. Rows follow knative/client
// pkg/flags/podspec_helper_test.go (TestUpdateEnvFrom, TestUpdateVolumeMountsAndVolumes, TestUpdateProbes*,
// TestResolveProbe*), pkg/util/corev1_helper_test.go (TestGenerateVolumeName) and
// pkg/commands/service/configuration_edit_flags.go (--scale), with kn's error texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { applyEditFlags, type EditFlags } from '../src/cli/kn/edit.js';
import { generateVolumeName, resolveProbeHandler, resolveProbeOptions } from '../src/cli/kn/podspec.js';
import { KnError } from '../src/cli/kn/errors.js';
import type { Container, Probe, RevisionSpec, Service } from '../src/serving/types.js';

const sum = (path: string): string => createHash('sha1').update(path).digest('hex').slice(0, 8);

interface NameCase {
  path: string;
  want: string;
}
// kn's vectors: the sanitized part; the checksum of the path is appended as kn's test does.
const names: NameCase[] = [
  { path: 'Ab12~`!@#$%^&*()-=_+[]{}|/\\<>,./?:;"\'xZ', want: 'ab12---------------------------------xz' },
  { path: '/Ab12~`!@#$%^&*()-=_+[]{}|/\\<>,./?:;"\'xZ/', want: 'ab12---------------------------------xz-' },
  { path: '', want: 'k-' },
  { path: '/', want: 'k-' },
  { path: '/path.mypath/', want: 'path-mypath-' },
  { path: '/.path.mypath', want: 'k--path-mypath' },
  { path: '/etc/config', want: 'etc-config' },
];
for (const c of names) {
  test(`generateVolumeName(${JSON.stringify(c.path)})`, () => {
    assert.equal(generateVolumeName(c.path), `${c.want}-${sum(c.path)}`);
  });
}
test('generateVolumeName: cut to 63 characters ending in -n', () => {
  const long = '/./Ab12~`!@#$%^&*()-=_+[]{}|/\\<>,./?:;"\'xZ/Ab12~`!@#$%^&*()-=_+[]{}|/\\<>,./?:;"\'xZ/';
  assert.equal(generateVolumeName(long), 'k---ab12---------------------------------xz-ab12--------------n');
});

const IMG = 'gcr.io/knative-samples/helloworld-go';
const NOW = '2026-12-05T08:00:00Z';
const vol = (p: string): string => generateVolumeName(p);

function base(spec: RevisionSpec = { containers: [{ image: IMG }] }): Service {
  return { metadata: { name: 'hello', namespace: 'default' }, spec: { template: { spec } } };
}

interface Case {
  name: string;
  flags: EditFlags;
  /** The existing template spec (update); default: one container with the image. */
  from?: RevisionSpec;
  /** The expected container (first), volumes, and template annotations other than kn's bookkeeping. */
  want?: { container?: Container; volumes?: RevisionSpec['volumes']; annotations?: Record<string, string> };
  err?: string;
}

const cases: Case[] = [
  // --env and --env-value-from (TestUpdateEnvVars*)
  {
    name: 'env: kept in the order given (MixedEnvOrder)',
    flags: { env: ['z=foo', 'a=bar', 'x=baz'] },
    want: {
      container: {
        image: IMG,
        env: [
          { name: 'z', value: 'foo' },
          { name: 'a', value: 'bar' },
          { name: 'x', value: 'baz' },
        ],
      },
    },
  },
  {
    name: 'env-value-from: secret, sc, config-map, cm (ValueFromNew)',
    flags: { envValueFrom: ['a=secret:foo:key', 'b=sc:bar:key2', 'c=config-map:baz:key3', 'd=cm:goo:key4'] },
    want: {
      container: {
        image: IMG,
        env: [
          { name: 'a', valueFrom: { secretKeyRef: { name: 'foo', key: 'key' } } },
          { name: 'b', valueFrom: { secretKeyRef: { name: 'bar', key: 'key2' } } },
          { name: 'c', valueFrom: { configMapKeyRef: { name: 'baz', key: 'key3' } } },
          { name: 'd', valueFrom: { configMapKeyRef: { name: 'goo', key: 'key4' } } },
        ],
      },
    },
  },
  {
    name: 'env and env-value-from interleaved follow the command line',
    flags: {
      env: ['c=baz', 'a=plain'],
      envValueFrom: ['a=secret:foo:key', 'b=sc:bar:key2'],
      envOrder: ['env-value-from', 'env-value-from', 'env', 'env'],
    },
    want: {
      container: {
        image: IMG,
        env: [
          { name: 'a', value: 'plain' },
          { name: 'b', valueFrom: { secretKeyRef: { name: 'bar', key: 'key2' } } },
          { name: 'c', value: 'baz' },
        ],
      },
    },
  },
  {
    name: 'env-file: its lines go in where --env-file was given; its NAME- lines are ignored, as in kn',
    flags: {
      env: ['A=flag', 'Z=last'],
      envFileLines: ['B=file', 'A=file', 'Z-'],
      envOrder: ['env', 'env-file', 'env'],
    },
    want: {
      container: {
        image: IMG,
        env: [
          { name: 'A', value: 'file' },
          { name: 'B', value: 'file' },
          { name: 'Z', value: 'last' },
        ],
      },
    },
  },
  {
    name: 'env-file: a line without "=" is an --env error, as in kn',
    flags: { envFileLines: ['JUSTNAME'] },
    err: 'Invalid --env: argument requires a value that contains the "=" character; got "JUSTNAME"',
  },
  {
    name: 'env-value-from: replaces in place, NAME- removes',
    from: {
      containers: [
        {
          image: IMG,
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
        },
      ],
    },
    flags: { envValueFrom: ['A=cm:cfg:a', 'B-'] },
    want: {
      container: { image: IMG, env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a' } } }] },
    },
  },
  ...['foo=foo', 'foo=bar:', 'foo=foo:bar', 'foo=secret', 'foo=cm:name'].map((v): Case => ({
    name: `env-value-from: ${v} is not resourceType:name:key`,
    flags: { envValueFrom: [v] },
    err: `argument requires a value in form "resourceType:name:key" where "resourceType" can be one of "config-map" ("cm") or "secret" ("sc"); got ${JSON.stringify(v.slice(4))}`,
  })),
  {
    name: 'env-value-from: unknown type',
    flags: { envValueFrom: ['foo=foo:bar:baz'] },
    err: 'unsupported env source type ""foo""; supported source types are "config-map" ("cm") and "secret" ("sc")',
  },
  {
    name: 'env-value-from: empty name',
    flags: { envValueFrom: ['foo=secret::key'] },
    err: 'the name of Secret cannot be an empty string',
  },
  {
    name: 'env-value-from: empty key',
    flags: { envValueFrom: ['foo=cm:name:'] },
    err: 'the key referenced by resource ConfigMap "name" cannot be an empty string',
  },

  // --env-from
  {
    name: 'env-from: config-map and secret, in order',
    flags: { envFrom: ['config-map:cm1', 'secret:s1', 'cm:cm2'] },
    want: {
      container: {
        image: IMG,
        envFrom: [{ configMapRef: { name: 'cm1' } }, { secretRef: { name: 's1' } }, { configMapRef: { name: 'cm2' } }],
      },
    },
  },
  {
    name: 'env-from: an existing reference is not added twice; NAME- removes',
    from: { containers: [{ image: IMG, envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 'b' } }] }] },
    flags: { envFrom: ['cm:a', 'secret:b-', 'sc:c'] },
    want: { container: { image: IMG, envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 'c' } }] } },
  },
  {
    name: 'env-from: removing the last reference drops envFrom',
    from: { containers: [{ image: IMG, envFrom: [{ configMapRef: { name: 'a' } }] }] },
    flags: { envFrom: ['config-map:a-'] },
    want: { container: { image: IMG } },
  },
  { name: 'env-from: "-" alone', flags: { envFrom: ['-'] }, err: '"-" is not a valid value for "--env-from"' },
  {
    name: 'env-from: no type',
    flags: { envFrom: ['myconfig'] },
    err: 'argument requires a value that contains the : character; got "myconfig", ["myconfig"]',
  },
  {
    name: 'env-from: unknown type',
    flags: { envFrom: ['foo:bar'] },
    err: 'unsupported volume source type ""foo""; supported volume source types are "config-map" and "secret"',
  },
  {
    name: 'env-from: empty name',
    flags: { envFrom: ['cm:'] },
    err: 'the name of config-map cannot be an empty string',
  },

  // --mount / --volume
  {
    name: 'mount: a ConfigMap gets a generated, read-only volume',
    flags: { mount: ['/etc/config=cm:app-config'] },
    want: {
      container: { image: IMG, volumeMounts: [{ name: vol('/etc/config'), readOnly: true, mountPath: '/etc/config' }] },
      volumes: [{ name: vol('/etc/config'), configMap: { name: 'app-config' } }],
    },
  },
  {
    name: 'mount: a Secret with subpath and readOnly=false',
    flags: { mount: ['/etc/secret=secret:app-secret/tls:readOnly=false'] },
    want: {
      container: { image: IMG, volumeMounts: [{ name: vol('/etc/secret'), mountPath: '/etc/secret', subPath: 'tls' }] },
      volumes: [{ name: vol('/etc/secret'), secret: { secretName: 'app-secret' } }],
    },
  },
  {
    name: 'mount + volume: a named volume mounted by name',
    flags: { mount: ['/mydir=myvol'], volume: ['myvol=sc:mysecret'] },
    want: {
      container: { image: IMG, volumeMounts: [{ name: 'myvol', readOnly: true, mountPath: '/mydir' }] },
      volumes: [{ name: 'myvol', secret: { secretName: 'mysecret' } }],
    },
  },
  {
    name: 'mount: emptyDir and pvc are writable by default',
    flags: { mount: ['/cache=ed:scratch', '/data=pvc:claim1', '/ro=pvc:claim2:readOnly=true'] },
    want: {
      container: {
        image: IMG,
        volumeMounts: [
          { name: vol('/cache'), mountPath: '/cache' },
          { name: vol('/data'), mountPath: '/data' },
          { name: vol('/ro'), readOnly: true, mountPath: '/ro' },
        ],
      },
      volumes: [
        { name: vol('/cache'), emptyDir: {} },
        { name: vol('/data'), persistentVolumeClaim: { claimName: 'claim1' } },
        { name: vol('/ro'), persistentVolumeClaim: { claimName: 'claim2' } },
      ],
    },
  },
  {
    name: 'volume: emptyDir with type and size',
    flags: { volume: ['scratch=emptyDir:scratch:type=Memory,size=10Gi'] },
    want: {
      container: { image: IMG },
      volumes: [{ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '10Gi' } }],
    },
  },
  {
    name: 'volume: an existing volume changes source in place (cm → secret)',
    from: {
      containers: [{ image: IMG, volumeMounts: [{ name: 'v1', readOnly: true, mountPath: '/v1' }] }],
      volumes: [{ name: 'v1', configMap: { name: 'old' } }],
    },
    flags: { volume: ['v1=secret:new'] },
    want: {
      container: { image: IMG, volumeMounts: [{ name: 'v1', readOnly: true, mountPath: '/v1' }] },
      volumes: [{ name: 'v1', secret: { secretName: 'new' } }],
    },
  },
  {
    name: 'mount: PATH- unmounts and removes the generated volume',
    from: {
      containers: [
        {
          image: IMG,
          volumeMounts: [
            { name: vol('/etc/config'), readOnly: true, mountPath: '/etc/config' },
            { name: 'keep', readOnly: true, mountPath: '/keep' },
          ],
        },
      ],
      volumes: [
        { name: vol('/etc/config'), configMap: { name: 'app-config' } },
        { name: 'keep', configMap: { name: 'k' } },
      ],
    },
    flags: { mount: ['/etc/config-'] },
    want: {
      container: { image: IMG, volumeMounts: [{ name: 'keep', readOnly: true, mountPath: '/keep' }] },
      volumes: [{ name: 'keep', configMap: { name: 'k' } }],
    },
  },
  {
    name: 'volume: a mounted volume cannot be removed',
    from: {
      containers: [{ image: IMG, volumeMounts: [{ name: 'v1', readOnly: true, mountPath: '/v1' }] }],
      volumes: [{ name: 'v1', configMap: { name: 'c' } }],
    },
    flags: { volume: ['v1-'] },
    err: 'The volume "v1" cannot be removed because it is mounted',
  },
  {
    name: 'mount: re-pointing a path to a volume that does not exist',
    from: { containers: [{ image: IMG, volumeMounts: [{ name: 'v1', mountPath: '/v1' }] }], volumes: [{ name: 'v1' }] },
    flags: { mount: ['/v1=nope'] },
    err: 'There is no volume matched with "nope"',
  },
  {
    name: 'mount: no "="',
    flags: { mount: ['/mydir'] },
    err: 'Invalid --mount: argument requires a value that contains the "=" character; got "/mydir"',
  },
  {
    name: 'mount: unknown type',
    flags: { mount: ['/mydir=foo:bar'] },
    err: 'unsupported volume type ""foo""; supported volume types are "config-map or cm", "secret or sc", "volume or vo", and "emptyDir or ed"',
  },
  { name: 'mount: unknown option', flags: { mount: ['/m=cm:c:ro=true'] }, err: 'unknown mount option "ro"' },
  {
    name: 'mount: readOnly not a bool',
    flags: { mount: ['/m=cm:c:readOnly=yes'] },
    err: 'strconv.ParseBool: parsing "yes": invalid syntax',
  },
  {
    name: 'volume: cm with three parts',
    flags: { volume: ['v=cm:a:b'] },
    err: 'incorrect mount details for type "cm"',
  },
  {
    name: 'volume: emptyDir with a bad option',
    flags: { volume: ['v=ed:v:colour=red'] },
    err: 'incorrect format to specify emptyDir type',
  },

  // probes
  {
    name: 'probe-readiness: http with empty host (the docs form)',
    flags: { probeReadiness: 'http::8080:/healthz' },
    want: { container: { image: IMG, readinessProbe: { httpGet: { path: '/healthz', port: 8080 } } } },
  },
  {
    name: 'probe-readiness: https with host and named port',
    flags: { probeReadiness: 'https:example.com:http:/ready' },
    want: {
      container: {
        image: IMG,
        readinessProbe: { httpGet: { path: '/ready', port: 'http', host: 'example.com', scheme: 'HTTPS' } },
      },
    },
  },
  {
    name: 'probe-readiness: http without port is port 0',
    flags: { probeReadiness: 'http:::/' },
    want: { container: { image: IMG, readinessProbe: { httpGet: { path: '/', port: 0 } } } },
  },
  {
    name: 'probe-readiness: exec with options',
    flags: { probeReadiness: 'exec:cat,/tmp/ready', probeReadinessOpts: 'InitialDelaySeconds=5,periodseconds=0x0a' },
    want: {
      container: {
        image: IMG,
        readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, initialDelaySeconds: 5, periodSeconds: 10 },
      },
    },
  },
  {
    name: 'probe-liveness: tcp replaces the handler, keeps the options',
    from: { containers: [{ image: IMG, livenessProbe: { httpGet: { port: 80 }, failureThreshold: 3 } }] },
    flags: { probeLiveness: 'tcp::8080' },
    want: { container: { image: IMG, livenessProbe: { tcpSocket: { port: 8080 }, failureThreshold: 3 } } },
  },
  { name: 'probe: empty', flags: { probeReadiness: '' }, err: 'no probe parameters detected' },
  {
    name: 'probe: too many parts',
    flags: { probeReadiness: 'http:a:b:c:d' },
    err: 'too many probe parameters provided, please check the format',
  },
  {
    name: 'probe: http with three parts',
    flags: { probeReadiness: 'http::8080' },
    err: "unexpected probe format, please use 'http:host:port:path'",
  },
  {
    name: 'probe: exec without command',
    flags: { probeReadiness: 'exec:' },
    err: 'at least one command parameter is required for Exec probe',
  },
  {
    name: 'probe: unknown type',
    flags: { probeReadiness: 'grpc::8080' },
    err: "unsupported probe type 'grpc'; supported types: http, https, exec, tcp",
  },
  {
    name: 'probe opts: not a number',
    flags: { probeReadinessOpts: 'TimeoutSeconds=soon' },
    err: "not a nummeric value for parameter 'TimeoutSeconds'",
  },
  {
    name: 'probe opts: unknown name',
    flags: { probeReadinessOpts: 'Delay=1' },
    err: "not a valid probe parameter name 'Delay'",
  },

  // scale
  {
    name: 'scale: N sets min and max',
    flags: { scale: '3' },
    want: {
      annotations: { 'autoscaling.knative.dev/min-scale': '3', 'autoscaling.knative.dev/max-scale': '3' },
    },
  },
  {
    name: 'scale: MIN..MAX',
    flags: { scale: '1..5' },
    want: {
      annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '5' },
    },
  },
  {
    name: 'scale: ..MAX leaves min alone',
    flags: { scale: '..5' },
    want: { annotations: { 'autoscaling.knative.dev/max-scale': '5' } },
  },
  {
    name: 'scale: MIN.. leaves max alone',
    flags: { scale: '2..' },
    want: { annotations: { 'autoscaling.knative.dev/min-scale': '2' } },
  },
  {
    name: 'scale-min, scale-max, scale-target, scale-metric, scale-activation, scale-init',
    flags: { scaleMin: 1, scaleMax: 10, scaleTarget: 50, scaleMetric: 'rps', scaleActivation: 2, scaleInit: 0 },
    want: {
      annotations: {
        'autoscaling.knative.dev/min-scale': '1',
        'autoscaling.knative.dev/max-scale': '10',
        'autoscaling.knative.dev/target': '50',
        'autoscaling.knative.dev/metric': 'rps',
        'autoscaling.knative.dev/activation-scale': '2',
        'autoscaling.knative.dev/initial-scale': '0',
      },
    },
  },
  { name: 'scale: not a number', flags: { scale: 'many' }, err: 'Scale must be of the format x..y or x' },
  { name: 'scale: bad bound', flags: { scale: '1..x' }, err: 'strconv.Atoi: parsing "x": invalid syntax' },
  {
    name: 'scale with scale-max',
    flags: { scale: '3', scaleMax: 4 },
    err: 'only --scale or --scale-max can be specified',
  },
  {
    name: 'scale with scale-min',
    flags: { scale: '3', scaleMin: 1 },
    err: 'only --scale or --scale-min can be specified',
  },
  {
    name: 'scale-init with the same annotation',
    flags: { scaleInit: 1, annotations: ['autoscaling.knative.dev/initial-scale=2'] },
    err: 'only one of the --scale-init or --annotation autoscaling.knative.dev/initial-scale can be specified',
  },
];

const BOOKKEEPING = ['client.knative.dev/updateTimestamp', 'client.knative.dev/user-image'];

for (const c of cases) {
  test(`flags → spec: ${c.name}`, () => {
    const run = (): Service =>
      applyEditFlags(base(c.from), c.flags, { nowIso: NOW, random: () => 'x', create: c.from === undefined });
    if (c.err !== undefined) {
      assert.throws(run, (e: unknown) => e instanceof KnError && e.message === c.err);
      return;
    }
    const svc = run();
    const tspec = svc.spec?.template?.spec ?? {};
    if (c.want?.container) assert.deepEqual(tspec.containers?.[0], c.want.container);
    assert.deepEqual(tspec.volumes, c.want?.volumes);
    const ann = { ...(svc.spec?.template?.metadata?.annotations ?? {}) };
    for (const k of BOOKKEEPING) delete ann[k];
    assert.deepEqual(ann, c.want?.annotations ?? {});
  });
}

test('flags → spec: a failed flag leaves the input untouched', () => {
  const from = base({ containers: [{ image: IMG, envFrom: [{ configMapRef: { name: 'a' } }] }] });
  const copy = structuredClone(from);
  assert.throws(() =>
    applyEditFlags(from, { envFrom: ['cm:b'], mount: ['/x'] }, { nowIso: NOW, random: () => 'x', create: false }),
  );
  assert.deepEqual(from, copy);
});

// knative/client TestResolveProbeHandler{Error,HTTP,Exec,TCP} and TestResolveProbeOptions, with each expected
// corev1 value written as the JSON kn sends (a zero HTTPGetAction is `{port: 0}`).
interface ProbeCase {
  probe: string;
  want?: Record<string, unknown>;
  err?: string;
}
const probeCases: ProbeCase[] = [
  { probe: '', err: 'no probe parameters detected' },
  { probe: 'http:too-many:test-host:8080:/', err: 'too many probe parameters provided, please check the format' },
  {
    probe: 'http-probe:test-host:8080:/',
    err: "unsupported probe type 'http-probe'; supported types: http, https, exec, tcp",
  },
  { probe: 'http:::', want: { httpGet: { port: 0 } } },
  { probe: 'http:test-host:8080:/', want: { httpGet: { path: '/', port: 8080, host: 'test-host' } } },
  {
    probe: 'https:test-host:8080:/',
    want: { httpGet: { path: '/', port: 8080, host: 'test-host', scheme: 'HTTPS' } },
  },
  { probe: 'http::8080:/', want: { httpGet: { path: '/', port: 8080 } } },
  { probe: 'http:::/path', want: { httpGet: { path: '/path', port: 0 } } },
  { probe: 'http::namedPort:/', want: { httpGet: { path: '/', port: 'namedPort' } } },
  { probe: 'http::', err: "unexpected probe format, please use 'http:host:port:path'" },
  { probe: 'exec:/bin/cmd/with/slashes', want: { exec: { command: ['/bin/cmd/with/slashes'] } } },
  { probe: 'exec:/bin/cmd,arg,arg', want: { exec: { command: ['/bin/cmd', 'arg', 'arg'] } } },
  { probe: 'exec:', err: 'at least one command parameter is required for Exec probe' },
  { probe: 'exec:cmd:cmd', err: "unexpected probe format, please use 'exec:<exec_command>[,<exec_command>,...]'" },
  { probe: 'tcp:test-host:8080', want: { tcpSocket: { port: 8080, host: 'test-host' } } },
  { probe: 'tcp:test-host:myPort', want: { tcpSocket: { port: 'myPort', host: 'test-host' } } },
  { probe: 'tcp:', err: "unexpected probe format, please use 'tcp:host:port" },
  { probe: 'tcp:host:port:more', err: "unexpected probe format, please use 'tcp:host:port" },
];
for (const c of probeCases) {
  test(`resolveProbeHandler(${JSON.stringify(c.probe)})`, () => {
    if (c.err !== undefined) {
      assert.throws(
        () => resolveProbeHandler(c.probe),
        (e: unknown) => e instanceof KnError && e.message === c.err,
      );
    } else {
      assert.deepEqual(resolveProbeHandler(c.probe), c.want);
    }
  });
}

interface OptsCase {
  opts: string;
  want?: Probe;
  err?: string;
}
const optsCases: OptsCase[] = [
  {
    opts: 'InitialDelaySeconds=1,TimeoutSeconds=2,PeriodSeconds=3,SuccessThreshold=4,FailureThreshold=5',
    want: { initialDelaySeconds: 1, timeoutSeconds: 2, periodSeconds: 3, successThreshold: 4, failureThreshold: 5 },
  },
  {
    opts: 'InitialDelaySeconds=2,InitialDelaySeconds=3',
    err: 'The key "InitialDelaySeconds" has been duplicate in [InitialDelaySeconds=2 InitialDelaySeconds=3]',
  },
  { opts: 'InitialDelaySeconds=v', err: "not a nummeric value for parameter 'InitialDelaySeconds'" },
  { opts: 'InitialDelay=5', err: "not a valid probe parameter name 'InitialDelay'" },
  { opts: 'periodSeconds= 010 ', want: { periodSeconds: 8 } },
  { opts: 'periodSeconds=2147483648', err: "not a nummeric value for parameter 'periodSeconds'" },
];
for (const c of optsCases) {
  test(`resolveProbeOptions(${JSON.stringify(c.opts)})`, () => {
    const p: Probe = {};
    if (c.err !== undefined) {
      assert.throws(
        () => resolveProbeOptions(p, c.opts),
        (e: unknown) => e instanceof KnError && e.message === c.err,
      );
    } else {
      resolveProbeOptions(p, c.opts);
      assert.deepEqual(p, c.want);
    }
  });
}
