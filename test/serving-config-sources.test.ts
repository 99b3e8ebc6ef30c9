// env from ConfigMaps and Secrets, resolved as the kubelet does: table cases for `$(VAR)` expansion
// (Kubernetes' third_party/forked/golang/expansion/expand_test.go) and for valueFrom / envFrom with the
// kubelet's error messages, which become a Revision's CreateContainerConfigError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expandVars,
  referencedSources,
  resolveContainerEnv,
  secretStrings,
  type EnvResolution,
} from '../src/serving/config-sources.js';

const vars: Record<string, string> = { VAR_A: 'A', VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)', VAR_EMPTY: '' };

test('$(VAR) expansion follows Kubernetes rules', () => {
  const cases: Array<[string, string]> = [
    ['$(VAR_A)', 'A'],
    ['___$(VAR_B)___', '___B___'],
    ['$(VAR_A)-$(VAR_A)', 'A-A'],
    ['$(VAR_A)-1', 'A-1'],
    ['$(VAR_A)_$(VAR_B)_$(VAR_C)', 'A_B_C'],
    ['$$(VAR_B)_$(VAR_A)', '$(VAR_B)_A'],
    ['$$(VAR_C)_$(VAR_A)', '$(VAR_C)_A'],
    ['f000-$$VAR_A', 'f000-$VAR_A'],
    ['foo\\$(VAR_C)bar', 'foo\\Cbar'],
    ['foo\\\\$(VAR_C)bar', 'foo\\\\Cbar'],
    ['$(VAR_A)$(VAR_B)$(VAR_C)', 'ABC'],
    ['$(VAR_REF)', '$(VAR_A)'],
    ['$(VAR_DNE)', '$(VAR_DNE)'],
    ['$(VAR_EMPTY)', ''],
    ['$(VAR_A', '$(VAR_A'],
    ['$(VAR_A$(VAR_B)', '$(VAR_A$(VAR_B)'],
    ['$', '$'],
    ['$$', '$'],
    ['$$$', '$$'],
    ['$VAR_A', '$VAR_A'],
    ['$()', '$()'],
    ['$$()', '$()'],
    ['', ''],
    ['$(VAR_A) $', 'A $'],
  ];
  for (const [input, want] of cases)
    assert.equal(
      expandVars(input, (n) => vars[n]),
      want,
      JSON.stringify(input),
    );
});

const configMaps: Record<string, Record<string, string>> = {
  'default/web': { GREETING: 'Hello', 'bad key': 'x', LEVEL: 'debug' },
};
const secrets: Record<string, Record<string, string>> = { 'default/creds': { password: 's3cret' } };
const lookups = {
  configMap: (ns: string, n: string) => configMaps[`${ns}/${n}`],
  secret: (ns: string, n: string) => secrets[`${ns}/${n}`],
};
const env = (r: EnvResolution): Record<string, string> | string =>
  r.ok ? Object.fromEntries(r.env.map((e) => [e.name, e.value])) : `${r.reason}: ${r.message}`;

test('valueFrom and envFrom resolve in the kubelet order, with its messages for what is missing', () => {
  const cmKey = (name: string, key: string, optional?: boolean) => ({
    valueFrom: { configMapKeyRef: { name, key, ...(optional !== undefined ? { optional } : {}) } },
  });
  const cases: Array<{ name: string; container: unknown; want: Record<string, string> | string }> = [
    {
      name: 'configMapKeyRef and secretKeyRef, then a literal expanded from both',
      container: {
        env: [
          { name: 'G', ...cmKey('web', 'GREETING') },
          { name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
          { name: 'TARGET', value: '$(G), $(P) $(LATER)' },
          { name: 'LATER', value: 'x' },
        ],
      },
      want: { G: 'Hello', P: 's3cret', TARGET: 'Hello, s3cret $(LATER)', LATER: 'x' },
    },
    {
      name: 'envFrom with a prefix; invalid names skipped; env overrides envFrom',
      container: {
        envFrom: [{ configMapRef: { name: 'web' }, prefix: 'APP_' }, { secretRef: { name: 'creds' } }],
        env: [{ name: 'APP_LEVEL', value: 'info' }],
      },
      want: { APP_GREETING: 'Hello', APP_LEVEL: 'info', password: 's3cret' },
    },
    {
      name: 'a missing key',
      container: { env: [{ name: 'X', ...cmKey('web', 'NOPE') }] },
      want: "CreateContainerConfigError: couldn't find key NOPE in ConfigMap default/web",
    },
    {
      name: 'a missing key in a Secret',
      container: { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'user' } } }] },
      want: "CreateContainerConfigError: couldn't find key user in Secret default/creds",
    },
    {
      name: 'a missing ConfigMap',
      container: { env: [{ name: 'X', ...cmKey('gone', 'k') }] },
      want: 'CreateContainerConfigError: configmaps "gone" not found',
    },
    {
      name: 'a missing Secret in envFrom',
      container: { envFrom: [{ secretRef: { name: 'gone' } }] },
      want: 'CreateContainerConfigError: secrets "gone" not found',
    },
    {
      name: 'optional: a missing key, ConfigMap or envFrom source is skipped',
      container: {
        envFrom: [{ configMapRef: { name: 'gone', optional: true } }],
        env: [
          { name: 'X', ...cmKey('web', 'NOPE', true) },
          { name: 'Y', ...cmKey('gone', 'k', true) },
          { name: 'Z', value: '$(X)' },
        ],
      },
      want: { Z: '$(X)' },
    },
    {
      name: 'a literal value wins over valueFrom (the kubelet checks value first)',
      container: { env: [{ name: 'A', value: 'lit', ...cmKey('gone', 'k') }] },
      want: { A: 'lit' },
    },
  ];
  for (const c of cases) assert.deepEqual(env(resolveContainerEnv(c.container, 'default', lookups)), c.want, c.name);
  const r = resolveContainerEnv({ envFrom: [{ configMapRef: { name: 'web' } }] }, 'default', lookups);
  assert.ok(r.ok);
  assert.deepEqual(r.skipped, ['bad key']);
});

test('referencedSources names every ConfigMap and Secret of env, envFrom and volumes', () => {
  const spec = {
    containers: [
      {
        envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 's1' } }],
        env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'b', key: 'k' } } }],
      },
    ],
    volumes: [
      { name: 'v1', configMap: { name: 'c' } },
      { name: 'v2', secret: { secretName: 's2' } },
      { name: 'v3', projected: { sources: [{ configMap: { name: 'd' } }, { secret: { name: 's3' } }] } },
    ],
  };
  const r = referencedSources(spec);
  assert.deepEqual([...r.configMaps].sort(), ['a', 'b', 'c', 'd']);
  assert.deepEqual([...r.secrets].sort(), ['s1', 's2', 's3']);
});

test('secretStrings decodes data and lets stringData win', () => {
  assert.deepEqual(
    secretStrings({ data: { a: Buffer.from('x y').toString('base64'), b: 'Zm9v' }, stringData: { b: 'bar' } }),
    {
      a: 'x y',
      b: 'bar',
    },
  );
});
