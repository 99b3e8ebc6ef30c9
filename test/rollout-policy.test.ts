// Policy parsing: positions (file:line:column), field paths, schema from deploy/crds, semantic checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { parsePolicies, loadPolicyDir } from '../src/rollout/policy/parse.js';
import { parseDuration, formatPromDuration } from '../src/rollout/policy/duration.js';
import { loadCrdSchema, findCrdFile } from '../src/rollout/policy/schema.js';
import { PolicyError } from '../src/rollout/errors.js';
import { SluiceError } from '../src/util/errors.js';

const GOOD = `apiVersion: delivery.sluice.dev/v1alpha1
kind: RolloutPolicy
metadata:
  name: web
spec:
  targetRef: {name: web}
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {duration: 5s}
        - analysis: {}
  analysis:
    interval: 1s
    failureLimit: 2
    metrics:
      - name: success-rate
        query: sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}]))
        thresholdRange: {min: 0.99}
        onNoData: hold
  rollback: {to: pinned}
`;

/** GOOD with line `n` (1-based) replaced. */
function withLine(n: number, text: string): string {
  const lines = GOOD.split('\n');
  lines[n - 1] = text;
  return lines.join('\n');
}
function withExtra(after: number, text: string): string {
  const lines = GOOD.split('\n');
  lines.splice(after, 0, text);
  return lines.join('\n');
}

interface Case {
  name: string;
  yaml: string;
  want: string[];
}
const cases: Case[] = [
  { name: 'a valid policy has no errors', yaml: GOOD, want: [] },
  {
    name: 'interval not a duration',
    yaml: withLine(14, '    interval: 5 minutes'),
    want: [
      'policies/web.yaml:14:15: spec.analysis.interval: must be a duration such as 500ms, 1s, 5m or 1h; got "5 minutes"',
    ],
  },
  {
    name: 'interval of zero',
    yaml: withLine(14, '    interval: 0s'),
    want: ['policies/web.yaml:14:15: spec.analysis.interval: must be longer than 0; got "0s"'],
  },
  { name: 'sub-second interval is fine (no floor)', yaml: withLine(14, '    interval: 500ms'), want: [] },
  {
    name: 'weights must increase',
    yaml: withLine(12, '        - setWeight: 10'),
    want: [
      'policies/web.yaml:12:22: spec.strategy.canary.steps[2].setWeight: weights must increase from step to step; 10 follows 20 at steps[0]',
    ],
  },
  {
    name: 'weight above 100',
    yaml: withLine(10, '        - setWeight: 120'),
    want: ['policies/web.yaml:10:22: spec.strategy.canary.steps[0].setWeight: must be <= 100; got 120'],
  },
  {
    name: 'a step with two kinds',
    yaml: withLine(10, '        - {setWeight: 20, pause: {}}'),
    want: [
      'policies/web.yaml:10:27: spec.strategy.canary.steps[0].pause: set only one of setWeight, pause, analysis; setWeight and pause are both set',
    ],
  },
  {
    name: 'unknown field (a typo) is reported, not pruned',
    yaml: withLine(15, '    failurelimit: 2'),
    want: [
      'policies/web.yaml:15:5: spec.analysis.failurelimit: unknown field; expected one of: failureCounting, failureLimit, interval, metrics, window',
    ],
  },
  {
    name: 'unknown template variable',
    yaml: withLine(18, '        query: sum(rate(x{revision_name="{{canary}}"}[1m]))'),
    want: [
      'policies/web.yaml:18:16: spec.analysis.metrics[0].query: unknown template variable "{{canary}}"; known: {{service}}, {{namespace}}, {{revision}}, {{stableRevision}}, {{interval}} (at character 27)',
    ],
  },
  {
    name: 'empty query',
    yaml: withLine(18, '        query: "  "'),
    want: [
      'policies/web.yaml:18:16: spec.analysis.metrics[0].query: must not be empty; write a PromQL template such as sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}])), or leave it out and name a builtin',
    ],
  },
  {
    name: 'a builtin by name needs no query',
    yaml: withLine(17, '      - name: request-success-rate').replace(/^ {8}query: .*\n/m, ''),
    want: [],
  },
  {
    name: 'a misspelt builtin names the builtins and the closest one',
    yaml: withLine(17, '      - name: request-sucess-rate').replace(/^ {8}query: .*\n/m, ''),
    want: [
      'policies/web.yaml:17:15: spec.analysis.metrics[0].name: "request-sucess-rate" is not a builtin metric; did you mean "request-success-rate"? Builtins: request-success-rate, request-duration, request-error-rate, request-rate; any other metric needs a query',
    ],
  },
  {
    name: 'request-duration percentile 100 is out of range',
    yaml: withLine(17, '      - name: request-duration').replace(/^ {8}query: .*\n/m, '        percentile: 100\n'),
    want: [
      'policies/web.yaml:18:21: spec.analysis.metrics[0].percentile: must be between 0 and 100, exclusive (e.g. 99 or 99.9); got 100',
    ],
  },
  {
    name: 'request-duration percentile 0 is out of range',
    yaml: withLine(17, '      - name: request-duration').replace(/^ {8}query: .*\n/m, '        percentile: 0\n'),
    want: [
      'policies/web.yaml:18:21: spec.analysis.metrics[0].percentile: must be between 0 and 100, exclusive (e.g. 99 or 99.9); got 0',
    ],
  },
  {
    name: 'percentile on a custom query',
    yaml: withExtra(18, '        percentile: 95'),
    want: [
      'policies/web.yaml:19:9: spec.analysis.metrics[0].percentile: applies only to the builtin request-duration (a metric with that name and no query)',
    ],
  },
  {
    name: 'minRequests must not be negative',
    yaml: withExtra(18, '        minRequests: -1'),
    want: ['policies/web.yaml:19:22: spec.analysis.metrics[0].minRequests: must be >= 0; got -1'],
  },
  {
    name: 'onNoData enum',
    yaml: withLine(20, '        onNoData: wait'),
    want: ['policies/web.yaml:20:19: spec.analysis.metrics[0].onNoData: must be one of: hold, fail, pass; got "wait"'],
  },
  {
    name: 'missing thresholdRange for a threshold metric',
    yaml: withLine(19, ''),
    want: [
      'policies/web.yaml:17:9: spec.analysis.metrics[0].thresholdRange: is required unless judge is {type: mannWhitney}; e.g. thresholdRange: {min: 0.99}',
    ],
  },
  {
    name: 'min above max',
    yaml: withLine(19, '        thresholdRange: {min: 2, max: 1}'),
    want: ['policies/web.yaml:19:31: spec.analysis.metrics[0].thresholdRange.min: must not exceed max (1); got 2'],
  },
  {
    name: 'no target',
    yaml: withLine(6, ''),
    want: ['policies/web.yaml:5:1: spec: must set exactly one of: targetRef, selector'],
  },
  {
    name: 'missing interval',
    yaml: withLine(14, ''),
    want: ['policies/web.yaml:13:3: spec.analysis.interval: is required'],
  },
  {
    name: 'analysis step without spec.analysis',
    yaml: GOOD.split('\n').slice(0, 12).join('\n') + '\n',
    want: [
      'policies/web.yaml:12:21: spec.strategy.canary.steps[2].analysis: an analysis step needs spec.analysis with metrics to check',
    ],
  },
  {
    name: 'wrong kind',
    yaml: withLine(2, 'kind: Rollout'),
    want: ['policies/web.yaml:2:7: kind: must be RolloutPolicy; got "Rollout"'],
  },
  {
    name: 'failureCounting enum',
    yaml: withExtra(15, '    failureCounting: sometimes'),
    want: [
      'policies/web.yaml:16:22: spec.analysis.failureCounting: must be one of: consecutive, cumulative; got "sometimes"',
    ],
  },
  {
    name: 'noDataTimeout with onNoData fail',
    yaml: withLine(20, '        onNoData: fail\n        noDataTimeout: 10s'),
    want: [
      'policies/web.yaml:21:9: spec.analysis.metrics[0].noDataTimeout: applies only to onNoData: hold; onNoData is fail',
    ],
  },
  {
    name: 'alert without url',
    yaml: GOOD + '  alerts:\n    - {type: webhook}\n',
    want: ['policies/web.yaml:23:7: spec.alerts[0].url: is required for type webhook'],
  },
  {
    name: 'slack without url or secretRef',
    yaml: GOOD + '  alerts:\n    - {type: slack}\n',
    want: [
      'policies/web.yaml:23:7: spec.alerts[0].url: is required for type slack (or a secretRef holding the incoming-webhook URL)',
    ],
  },
  {
    name: 'slack with the URL in a Secret',
    yaml: GOOD + '  alerts:\n    - {type: slack, secretRef: {name: slack, key: url}}\n',
    want: [],
  },
  {
    name: 'alert type enum',
    yaml: GOOD + '  alerts:\n    - {type: pager, url: "http://x"}\n',
    want: [
      'policies/web.yaml:23:14: spec.alerts[0].type: must be one of: webhook, slack, alertmanager, cloudevents, broker; got "pager"',
    ],
  },
  {
    name: 'broker alert',
    yaml: GOOD + '  alerts:\n    - {type: broker, broker: example-broker}\n',
    want: [],
  },
  {
    name: 'broker alert in another namespace',
    yaml: GOOD + '  alerts:\n    - {type: broker, broker: example-broker, namespace: events}\n',
    want: [],
  },
  {
    name: 'broker alert without a broker name',
    yaml: GOOD + '  alerts:\n    - {type: broker}\n',
    want: ['policies/web.yaml:23:7: spec.alerts[0].broker: is required for type broker'],
  },
  {
    name: 'broker alert with a url',
    yaml: GOOD + '  alerts:\n    - {type: broker, broker: b, url: "http://x"}\n',
    want: [
      "policies/web.yaml:23:38: spec.alerts[0].url: does not apply to type broker (the Broker's address is read from its status)",
    ],
  },
  {
    name: 'broker name not a DNS name',
    yaml: GOOD + '  alerts:\n    - {type: broker, broker: Example_Broker}\n',
    want: [
      'policies/web.yaml:23:30: spec.alerts[0].broker: must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$; got "Example_Broker"',
    ],
  },
  {
    name: 'broker field on a webhook',
    yaml: GOOD + '  alerts:\n    - {type: webhook, url: "http://x", broker: b}\n',
    want: ['policies/web.yaml:23:48: spec.alerts[0].broker: applies only to type broker'],
  },
  {
    name: 'broken YAML',
    yaml: withLine(14, '    interval: [1s'),
    want: [
      'policies/web.yaml:15:5: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
];

for (const c of cases) {
  test(`policy: ${c.name}`, () => {
    const r = parsePolicies(c.yaml, 'policies/web.yaml');
    assert.deepEqual(
      r.errors.map((e) => e.where()),
      c.want,
    );
    assert.equal(r.policies.length, c.want.length === 0 ? 1 : 0);
    for (const e of r.errors) {
      assert.ok(e instanceof PolicyError && e instanceof SluiceError);
      assert.match(e.code, /^SLUICE_ERR_POLICY_/);
    }
  });
}

test('policy: multi-document file: each document reported with its own lines', () => {
  const bad = withLine(14, '    interval: soon').replace('name: web', 'name: api');
  const r = parsePolicies(`${GOOD}---\n${bad}`, 'policies/all.yaml');
  assert.equal(r.policies.length, 1);
  assert.equal(r.policies[0]?.policy.metadata.name, 'web');
  const offset = GOOD.split('\n').length; // lines of the first document and the separator
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.path]),
    [[14 + offset, 'spec.analysis.interval']],
  );
});

test('policy: error codes separate YAML, schema and semantic problems', () => {
  const codes = (y: string): string[] => parsePolicies(y, 'p.yaml').errors.map((e) => e.code);
  assert.deepEqual(codes(withLine(14, '    interval: [1s')), ['SLUICE_ERR_POLICY_YAML']);
  assert.deepEqual(codes(withLine(14, '    interval: soon')), ['SLUICE_ERR_POLICY_SCHEMA']);
  assert.deepEqual(codes(withLine(12, '        - setWeight: 10')), ['SLUICE_ERR_POLICY_INVALID']);
});

test('policy: blue/green and A/B policies parse', () => {
  const bg = `apiVersion: delivery.sluice.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: bg}\nspec:\n  selector: {matchLabels: {tier: web}}\n  strategy:\n    blueGreen: {previewTag: preview, autoPromotionSeconds: 30}\n`;
  const ab = `apiVersion: delivery.sluice.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: ab}\nspec:\n  targetRef: {name: web}\n  strategy:\n    abTest:\n      match:\n        - header: {name: x-beta, exact: "yes"}\n        - cookie: {name: beta, regex: "^1$"}\n`;
  assert.deepEqual(
    parsePolicies(bg, 'bg.yaml').errors.map((e) => e.where()),
    [],
  );
  assert.deepEqual(
    parsePolicies(ab, 'ab.yaml').errors.map((e) => e.where()),
    [],
  );
  const badAb = ab.replace('regex: "^1$"', 'regex: "("');
  assert.match(
    parsePolicies(badAb, 'ab.yaml').errors[0]?.where() ?? '',
    /^ab\.yaml:10:39: spec\.strategy\.abTest\.match\[1\]\.cookie\.regex: is not a valid regular expression/,
  );
});

test('policy: the repository policies/ directory is valid', () => {
  const root = dirname(findCrdFile()).replace(/[/\\]deploy[/\\]crds$/, '');
  const r = loadPolicyDir(join(root, 'policies'));
  assert.deepEqual(
    r.errors.map((e) => e.where()),
    [],
  );
  assert.ok(r.policies.length >= 1);
});

test('policy: the schema comes from deploy/crds (both kinds), with the status subresource fields', () => {
  assert.ok(fileURLToPath(import.meta.url));
  const policy = loadCrdSchema('RolloutPolicy');
  const rollout = loadCrdSchema('Rollout');
  assert.equal(policy.type, 'object');
  const status = (rollout.properties as Record<string, { properties: Record<string, unknown> }>).status;
  for (const f of ['phase', 'stableRevision', 'canaryRevision', 'canaryWeight', 'currentStep', 'message'])
    assert.ok(status?.properties[f], f);
});

interface DurationCase {
  name: string;
  text: string;
  want: number | undefined;
}
const durations: DurationCase[] = [
  { name: '500ms', text: '500ms', want: 500 },
  { name: '1s', text: '1s', want: 1000 },
  { name: '5m', text: '5m', want: 300_000 },
  { name: '1h', text: '1h', want: 3_600_000 },
  { name: '1m30s', text: '1m30s', want: 90_000 },
  { name: '1.5s', text: '1.5s', want: 1500 },
  { name: 'no unit', text: '10', want: undefined },
  { name: 'empty', text: '', want: undefined },
  { name: 'words', text: '5 minutes', want: undefined },
];
for (const d of durations) test(`duration: ${d.name}`, () => assert.equal(parseDuration(d.text), d.want));
test('duration: formatted for PromQL', () => {
  assert.deepEqual([1000, 90_000, 60_000, 3_600_000, 500].map(formatPromDuration), ['1s', '90s', '1m', '1h', '500ms']);
});

const promqlCases: Array<{ name: string; query: string; want: RegExp | null }> = [
  {
    name: 'a valid template with every variable',
    query:
      'sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}",service_name="{{service}}"}[{{interval}}])) / sum(rate(revision_request_count{revision_name="{{stableRevision}}"}[{{interval}}]))',
    want: null,
  },
  {
    name: 'a missing closing parenthesis',
    query: 'sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}])',
    want: /is not valid PromQL: syntax error at character \d+, near the end of the query/,
  },
  {
    name: 'a dangling operator',
    query: 'rate(x{revision_name="{{revision}}"}[{{interval}}]) /',
    want: /is not valid PromQL/,
  },
  {
    name: 'two expressions side by side',
    query: 'up{revision_name="{{revision}}"} up',
    want: /is not valid PromQL: syntax error at character 34, near "up"/,
  },
];
for (const c of promqlCases) {
  test(`policy PromQL: ${c.name}`, () => {
    const text = `apiVersion: delivery.sluice.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: p}
spec:
  targetRef: {name: web}
  strategy: {canary: {steps: [{setWeight: 50}, {analysis: {}}]}}
  analysis:
    interval: 1s
    metrics:
      - name: m
        query: '${c.query}'
        thresholdRange: {min: 0.99}
`;
    const r = parsePolicies(text, 'policies/p.yaml');
    const msgs = r.errors.map((e) => e.where());
    if (c.want === null) assert.deepEqual(msgs, []);
    else {
      assert.equal(msgs.length, 1, msgs.join('\n'));
      assert.match(msgs[0]!, /^policies\/p\.yaml:11:16: spec\.analysis\.metrics\[0\]\.query: /);
      assert.match(msgs[0]!, c.want);
    }
  });
}
