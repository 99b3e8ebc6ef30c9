// `sluice validate`: offline checks of manifests and policies, each problem at file:line:column with the
// message Knative's webhook (or the policy parser) would give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, SLUICE_BIN, run, tempDir, removeDir } from './support/procs.js';

const svc = (traffic: string) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go
      containerConcurrency: 3
${traffic}`;

const cases: Array<{ name: string; file: string; text: string; code: number; want: RegExp }> = [
  { name: 'a valid Service', file: 'ok.yaml', text: svc(''), code: 0, want: /1 file\(s\), 1 object\(s\): valid/ },
  {
    name: "traffic summing to 110 gets Knative's message at spec.traffic",
    file: 'sum.yaml',
    code: 1,
    text: svc(
      '  traffic:\n    - {revisionName: hello-00001, percent: 60}\n    - {latestRevision: true, percent: 50}\n',
    ),
    want: /sum\.yaml:12:5: Traffic targets sum to 110, want 100: spec\.traffic/,
  },
  {
    name: 'an unknown field is named where it is',
    file: 'typo.yaml',
    code: 1,
    text: svc('  trafic: []\n'),
    want: /typo\.yaml:11:\d+: unknown field "spec\.trafic"/,
  },
  {
    name: 'a field in the wrong place is an unknown field there',
    file: 'misplaced.yaml',
    code: 1,
    text: svc('').replace('      containerConcurrency: 3', '          containerConcurrency: 3'),
    want: /misplaced\.yaml:10:\d+: unknown field "spec\.template\.spec\.containers\[0\]\.containerConcurrency"/,
  },
  {
    name: 'broken YAML is reported with its line',
    file: 'yaml.yaml',
    code: 1,
    text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n',
    want: /yaml\.yaml:\d+:\d+: invalid YAML/,
  },
  {
    name: "a policy error carries the policy's position",
    file: 'policy.yaml',
    code: 1,
    text: 'apiVersion: delivery.sluice.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: p}\nspec:\n  targetRef: {name: hello}\n  analysis:\n    interval: soon\n',
    want: /policy\.yaml:7:\d+: spec\.analysis\.interval/,
  },
  {
    name: 'an unguarded ratio is a warning at the query; the file stays valid (exit 0)',
    file: 'ratio.yaml',
    code: 0,
    text: policyWith(
      'sum(rate(revision_request_count{revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}])) / sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}]))',
    ),
    want: /ratio\.yaml:13:16: warning: spec\.analysis\.metrics\[0\]\.query: the numerator sum\(rate\(revision_request_count.* filters on response_code_class!="5xx" .*or on\(\) vector\(0\)/,
  },
  {
    name: 'a guarded ratio gets no warning',
    file: 'guarded.yaml',
    code: 0,
    text: policyWith(
      '(sum(rate(revision_request_count{revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}])) or on() vector(0)) / sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}]))',
    ),
    want: /^1 file\(s\), 1 object\(s\): valid\n$/,
  },
  {
    name: 'a misspelt builtin is an error naming the builtins',
    file: 'builtin.yaml',
    code: 1,
    text: policyWith(null, 'request-sucess-rate'),
    want: /builtin\.yaml:12:\d+: spec\.analysis\.metrics\[0\]\.name: "request-sucess-rate" is not a builtin metric; did you mean "request-success-rate"\? Builtins: request-success-rate, request-duration, request-error-rate, request-rate/,
  },
  {
    name: 'a valid Broker, Trigger and SinkBinding',
    file: 'eventing.yaml',
    code: 0,
    text: [
      'apiVersion: eventing.knative.dev/v1',
      'kind: Broker',
      'metadata: {name: example-broker}',
      '---',
      'apiVersion: eventing.knative.dev/v1',
      'kind: Trigger',
      'metadata: {name: on-rollback}',
      'spec:',
      '  broker: example-broker',
      '  filter: {attributes: {type: dev.sluice.rollout.rolledback}}',
      '  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}}',
      '---',
      'apiVersion: sources.knative.dev/v1',
      'kind: SinkBinding',
      'metadata: {name: ce-player-binding}',
      'spec:',
      '  subject: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}',
      '  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: example-broker}}',
      '',
    ].join('\n'),
    want: /1 file\(s\), 3 object\(s\): valid/,
  },
  {
    name: "kn quickstart's lowercase `kind: broker` is valid, as kubectl maps it, with a warning at the kind",
    file: 'lower.yaml',
    code: 0,
    text: 'apiVersion: eventing.knative.dev/v1\nkind: broker\nmetadata:\n name: example-broker\n namespace: default\n',
    want: /1 file\(s\), 1 object\(s\): valid\n[^]*lower\.yaml:2:7: warning: kind: "broker" is applied as "Broker", as kubectl maps it/,
  },
  {
    name: 'a lowercase kind under the wrong apiVersion is still refused',
    file: 'lower-av.yaml',
    code: 1,
    text: 'apiVersion: serving.knative.dev/v1\nkind: broker\nmetadata:\n name: example-broker\n',
    want: /lower-av\.yaml:2:7: kind: broker \(serving\.knative\.dev\/v1\) is not applied by Sluice/,
  },
  {
    name: "a Trigger without a broker gets the eventing webhook's message at spec.broker",
    file: 'trigger.yaml',
    code: 1,
    text: 'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t}\nspec:\n  subscriber: {uri: "http://example.com/"}\n',
    want: /trigger\.yaml:\d+:\d+: admission webhook "validation\.webhook\.eventing\.knative\.dev" denied the request: validation failed: missing field\(s\): spec\.broker/,
  },
  {
    name: "a Trigger filter with an invalid attribute name gets Knative's message where it is",
    file: 'filter.yaml',
    code: 1,
    text: 'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t}\nspec:\n  broker: b\n  filter:\n    attributes: {0invalid: x}\n  subscriber: {uri: "http://example.com/"}\n',
    want: /filter\.yaml:7:\d+: admission webhook "validation\.webhook\.eventing\.knative\.dev" denied the request: validation failed: invalid key name "0invalid": spec\.filter\.attributes\[0invalid\]/,
  },
  {
    name: 'a Broker with an unknown field is named where it is',
    file: 'broker.yaml',
    code: 1,
    text: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: b}\nspec:\n  delivry: {retry: 3}\n',
    want: /broker\.yaml:5:\d+: unknown field "spec\.delivry"/,
  },
];

/** A policy with one metric: `query` (null: none, a builtin by name). */
function policyWith(query: string | null, name = 'm'): string {
  return [
    'apiVersion: delivery.sluice.dev/v1alpha1',
    'kind: RolloutPolicy',
    'metadata: {name: p}',
    'spec:',
    '  targetRef: {name: hello}',
    '  strategy:',
    '    canary:',
    '      steps: [{setWeight: 50}, {analysis: {}}]',
    '  analysis:',
    '    interval: 1s',
    '    metrics:',
    `      - name: ${name}`,
    ...(query === null ? [] : [`        query: '${query}'`]),
    '        thresholdRange: {min: 0.99}',
    '',
  ].join('\n');
}

for (const c of cases) {
  test(`sluice validate: ${c.name}`, async () => {
    const dir = await tempDir();
    try {
      await mkdir(join(dir, 'm'));
      await writeFile(join(dir, 'm', c.file), c.text);
      const r = await run(process.execPath, [SLUICE_BIN, 'validate', join(dir, 'm')], { cwd: dir });
      assert.equal(r.code, c.code, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, c.want);
    } finally {
      await removeDir(dir);
    }
  });
}

test('sluice validate: the shipped examples and policies are valid', async () => {
  const r = await run(process.execPath, [SLUICE_BIN, 'validate', 'examples', 'policies'], { cwd: ROOT });
  assert.equal(r.code, 0, r.stderr);
});
