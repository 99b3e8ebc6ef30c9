// Knative Eventing semantics, table-driven: ISO periods, back-off, retry set, filters (Knative's own filter
// test tables), admission messages (trigger_validation_test.go, delivery_types_test.go), and statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  admitEventing,
  backoffDelayMs,
  isFailure,
  isRetriable,
  parsePeriodMs,
  reconcileBrokerStatus,
  reconcileTriggerStatus,
  triggerFilter,
  type Broker,
  type DeliverySpec,
  type Destination,
  type FilterResult,
  type TriggerSpec,
} from '../src/eventing/index.js';
import { withSink, withoutSink } from '../src/eventing/reconciler/sinkbinding-reconciler.js';
import { resolveDestination } from '../src/eventing/reconciler/resolver.js';
import type { KubeObject } from '../src/kube/index.js';

const NOW = Date.UTC(2026, 0, 1);

test('ISO-8601 periods parse as rickb777/date/period does', () => {
  const cases: { name: string; text: string; want: number | undefined }[] = [
    { name: 'fraction of a second', text: 'PT0.2S', want: 200 },
    { name: 'one decimal kept', text: 'PT0.25S', want: 200 },
    { name: 'minutes and seconds', text: 'PT1M30S', want: 90_000 },
    { name: 'a day', text: 'P1D', want: 86_400_000 },
    { name: 'zero', text: 'PT0S', want: 0 },
    { name: 'words', text: 'invalid time', want: undefined },
    { name: 'a timestamp', text: '1985-04-12T23:20:50.52Z', want: undefined },
    { name: 'bare P', text: 'P', want: undefined },
    { name: 'bare PT', text: 'PT', want: undefined },
  ];
  for (const c of cases) assert.equal(parsePeriodMs(c.text), c.want, c.name);
});

test('back-off before each retry: d·2^i and d·i with i from 0, Retry-After only with retryAfterMax', () => {
  const exp: DeliverySpec = { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' };
  const lin: DeliverySpec = { retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT2.5S' };
  const cases: {
    name: string;
    ds: DeliverySpec;
    attempt: number;
    resp?: { statusCode: number; retryAfterSeconds: number };
    want: number;
  }[] = [
    { name: 'exponential first retry waits d', ds: exp, attempt: 1, want: 200 },
    { name: 'exponential third retry waits 4d', ds: exp, attempt: 3, want: 800 },
    { name: 'exponential tenth retry', ds: exp, attempt: 10, want: 102_400 },
    { name: 'linear first retry is immediate', ds: lin, attempt: 1, want: 0 },
    { name: 'linear second retry waits d', ds: lin, attempt: 2, want: 2500 },
    { name: 'no policy: immediate', ds: { retry: 3, backoffDelay: 'PT1S' }, attempt: 2, want: 0 },
    { name: 'no delay: immediate', ds: { retry: 3, backoffPolicy: 'linear' }, attempt: 2, want: 0 },
    {
      name: 'Retry-After ignored without retryAfterMax',
      ds: exp,
      attempt: 1,
      resp: { statusCode: 429, retryAfterSeconds: 5 },
      want: 200,
    },
    {
      name: 'Retry-After capped by retryAfterMax',
      ds: { ...exp, retryAfterMax: 'PT2S' },
      attempt: 1,
      resp: { statusCode: 503, retryAfterSeconds: 5 },
      want: 2000,
    },
    {
      name: 'Retry-After on a 500 is ignored',
      ds: { ...exp, retryAfterMax: 'PT2S' },
      attempt: 1,
      resp: { statusCode: 500, retryAfterSeconds: 5 },
      want: 200,
    },
  ];
  for (const c of cases) assert.equal(backoffDelayMs(c.ds, c.attempt, c.resp), c.want, c.name);
});

test('retried statuses and failures follow SelectiveRetry and isFailure', () => {
  const cases: { code: number; retry: boolean; failure: boolean }[] = [
    { code: -1, retry: true, failure: true },
    { code: 200, retry: false, failure: false },
    { code: 202, retry: false, failure: false },
    { code: 302, retry: false, failure: true },
    { code: 400, retry: false, failure: true },
    { code: 401, retry: false, failure: true },
    { code: 404, retry: true, failure: true },
    { code: 408, retry: true, failure: true },
    { code: 409, retry: true, failure: true },
    { code: 429, retry: true, failure: true },
    { code: 500, retry: true, failure: true },
    { code: 503, retry: true, failure: true },
  ];
  for (const c of cases) {
    assert.equal(isRetriable(c.code), c.retry, `retry ${c.code}`);
    assert.equal(isFailure(c.code), c.failure, `failure ${c.code}`);
  }
});

test('trigger filters: Knative filter tables', () => {
  const base = { specversion: '1.0', type: 'com.example.someevent', source: '/mycontext', id: '1234' };
  const ext = { ...base, myextension: 'my-extension-value' };
  const sub = { ...base, subject: 'mysubject' };
  const k = { specversion: '1.0', type: 'dev.knative.example', source: 'knativesource', id: '1234' };
  const kext = { ...k, myextension: 'my-extension-value' };
  const cases: { name: string; spec: TriggerSpec; event: Record<string, string>; want: FilterResult }[] = [
    { name: 'no filter', spec: {}, event: base, want: 'noFilter' },
    { name: 'empty attributes', spec: { filter: { attributes: {} } }, event: base, want: 'noFilter' },
    {
      name: 'wrong type',
      spec: { filter: { attributes: { type: 'some-other-type', source: '' } } },
      event: base,
      want: 'fail',
    },
    {
      name: 'any type, wrong source',
      spec: { filter: { attributes: { type: '', source: 'x' } } },
      event: base,
      want: 'fail',
    },
    { name: 'both wildcards', spec: { filter: { attributes: { type: '', source: '' } } }, event: base, want: 'pass' },
    {
      name: 'extension wildcard, absent',
      spec: { filter: { attributes: { myextension: '' } } },
      event: base,
      want: 'fail',
    },
    {
      name: 'extension wildcard, present',
      spec: { filter: { attributes: { myextension: '' } } },
      event: ext,
      want: 'pass',
    },
    { name: 'subject wildcard, absent', spec: { filter: { attributes: { subject: '' } } }, event: base, want: 'fail' },
    { name: 'subject exact', spec: { filter: { attributes: { subject: 'mysubject' } } }, event: sub, want: 'pass' },
    { name: 'exact type', spec: { filters: [{ exact: { type: 'dev.knative.example' } }] }, event: k, want: 'pass' },
    { name: 'exact missing attr', spec: { filters: [{ exact: { missingattribute: 'v' } }] }, event: k, want: 'fail' },
    {
      name: 'exact two keys one wrong',
      spec: { filters: [{ exact: { type: 'dev.knative.example', source: 'x' } }] },
      event: k,
      want: 'fail',
    },
    { name: 'exact empty value skipped', spec: { filters: [{ exact: { type: '' } }] }, event: k, want: 'noFilter' },
    { name: 'prefix', spec: { filters: [{ prefix: { type: 'dev.knative' } }] }, event: k, want: 'pass' },
    { name: 'prefix ext', spec: { filters: [{ prefix: { myextension: 'my-extension' } }] }, event: kext, want: 'pass' },
    { name: 'suffix', spec: { filters: [{ suffix: { source: 'source' } }] }, event: k, want: 'pass' },
    { name: 'suffix wrong', spec: { filters: [{ suffix: { type: 'wrong.suffix' } }] }, event: k, want: 'fail' },
    { name: 'all empty', spec: { filters: [{ all: [] }] }, event: k, want: 'noFilter' },
    {
      name: 'all pass and fail',
      spec: { filters: [{ all: [{ prefix: { type: 'dev' } }, { exact: { type: 'x' } }] }] },
      event: k,
      want: 'fail',
    },
    {
      name: 'any pass and fail',
      spec: { filters: [{ any: [{ exact: { type: 'x' } }, { prefix: { type: 'dev' } }] }] },
      event: k,
      want: 'pass',
    },
    { name: 'not fail', spec: { filters: [{ not: { exact: { type: 'x' } } }] }, event: k, want: 'pass' },
    { name: 'not empty', spec: { filters: [{ not: {} }] }, event: k, want: 'noFilter' },
    {
      name: 'empty filters fall back to attributes',
      spec: { filters: [], filter: { attributes: { type: 'x' } } },
      event: k,
      want: 'fail',
    },
    { name: 'cesql empty is no filter', spec: { filters: [{ cesql: '' }] }, event: k, want: 'noFilter' },
    { name: 'cesql false', spec: { filters: [{ cesql: "type = 'x'" }] }, event: k, want: 'fail' },
    { name: 'cesql true', spec: { filters: [{ cesql: "type LIKE 'dev.knative.%'" }] }, event: k, want: 'pass' },
    { name: 'cesql error fails', spec: { filters: [{ cesql: 'missingattr = 1' }] }, event: k, want: 'fail' },
    { name: 'cesql not boolean fails', spec: { filters: [{ cesql: "'true'" }] }, event: k, want: 'fail' },
    {
      name: 'cesql that does not parse is skipped',
      spec: { filters: [{ cesql: 'this is wrong' }] },
      event: k,
      want: 'noFilter',
    },
    {
      name: 'not of an unparsable cesql',
      spec: { filters: [{ not: { cesql: 'type =' } }] },
      event: k,
      want: 'noFilter',
    },
    {
      name: 'unparsable cesql next to a fail in all: fail',
      spec: { filters: [{ exact: { type: 'x' } }, { cesql: 'type =' }] },
      event: k,
      want: 'fail',
    },
    {
      name: 'not cesql error: pass',
      spec: { filters: [{ not: { cesql: 'missingattr = 1' } }] },
      event: k,
      want: 'pass',
    },
    {
      name: 'cesql in any',
      spec: { filters: [{ any: [{ exact: { type: 'x' } }, { cesql: "source LIKE '%'" }] }] },
      event: k,
      want: 'pass',
    },
  ];
  for (const c of cases) assert.equal(triggerFilter(c.spec, c.event), c.want, c.name);
});

const sub = { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 's' } };
const trig = (spec: Record<string, unknown>, annotations?: Record<string, string>): Record<string, unknown> => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name: 't', namespace: 'test-ns-1', ...(annotations ? { annotations } : {}) },
  spec: { broker: 'b', subscriber: sub, ...spec },
});

test('trigger and broker admission: Knative messages', () => {
  const cases: {
    name: string;
    kind: 'Trigger' | 'Broker';
    object: Record<string, unknown>;
    old?: Record<string, unknown>;
    want: string | null;
  }[] = [
    { name: 'valid trigger', kind: 'Trigger', object: trig({}), want: null },
    {
      name: 'relative uri alone',
      kind: 'Trigger',
      object: trig({ subscriber: { uri: '/x' } }),
      want: 'invalid value: Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent: spec.subscriber.uri',
    },
    {
      name: 'ref with absolute uri',
      kind: 'Trigger',
      object: trig({ subscriber: { ...sub, uri: 'http://x.example/' } }),
      want: 'Absolute URI is not allowed when Ref or [apiVersion, kind, name] is present: spec.subscriber.ref, spec.subscriber.uri, spec.subscriber[apiVersion, kind, name]',
    },
    {
      name: 'subscriber ref without name',
      kind: 'Trigger',
      object: trig({ subscriber: { ref: { apiVersion: 'v1', kind: 'Service' } } }),
      want: 'missing field(s): spec.subscriber.ref.name',
    },
    {
      name: 'nested filter key',
      kind: 'Trigger',
      object: trig({
        filters: [{ all: [{ exact: { a: 'b' } }, { exact: { a: 'b' } }, { prefix: { invALID: 'abc' } }] }],
      }),
      want: 'invalid key name "invALID": spec.filters[0].all[2].prefix[invALID]\nAttribute name must start with a letter and can only contain lowercase alphanumeric',
    },
    {
      name: 'bad backoffDelay',
      kind: 'Trigger',
      object: trig({ delivery: { backoffDelay: 'invalid time' } }),
      want: 'invalid value: invalid time: spec.delivery.backoffDelay',
    },
    {
      name: 'zero timeout',
      kind: 'Trigger',
      object: trig({ delivery: { timeout: 'PT0S' } }),
      want: 'invalid value: PT0S: spec.delivery.timeout',
    },
    {
      name: 'retryAfterMax needs its feature',
      kind: 'Trigger',
      object: trig({ delivery: { retryAfterMax: 'PT1S' } }),
      want: 'must not set the field(s): spec.delivery.retryAfterMax',
    },
    {
      name: 'empty dead letter sink',
      kind: 'Trigger',
      object: trig({ delivery: { deadLetterSink: {} } }),
      want: 'expected at least one, got none: spec.delivery.deadLetterSink.ref, spec.delivery.deadLetterSink.uri',
    },
    {
      name: 'dependency not JSON',
      kind: 'Trigger',
      object: trig({}, { 'knative.dev/dependency': 'invalid dependency annotation' }),
      want: 'The provided annotation was not a corev1.ObjectReference: "invalid dependency annotation": metadata.annotations[knative.dev/dependency]\ninvalid character \'i\' looking for beginning of value',
    },
    {
      name: 'dependency other namespace',
      kind: 'Trigger',
      object: trig({}, { 'knative.dev/dependency': '{"kind":"K","name":"n","apiVersion":"v1","namespace":"x"}' }),
      want: 'Namespace must be empty or equal to the trigger namespace "test-ns-1": metadata.annotations[knative.dev/dependency].namespace',
    },
    {
      name: 'injection value',
      kind: 'Trigger',
      object: trig({}, { 'eventing.knative.dev/injection': 'wut' }),
      want: 'The provided injection annotation value can only be "enabled" or "disabled", not "wut": metadata.annotations[eventing.knative.dev/injection]',
    },
    {
      name: 'valid cesql',
      kind: 'Trigger',
      object: trig({ filters: [{ cesql: "type = 'dev.knative' AND ttl < 3" }] }),
      want: null,
    },
    {
      name: 'cesql that does not parse',
      kind: 'Trigger',
      object: trig({ filters: [{ cesql: 'this is wrong' }] }),
      want: "invalid value: this is wrong: spec.filters[0].cesql\nparse error: syntax error: unexpected 'is' at position 5, expected an operator or the end of the expression",
    },
    {
      name: 'broker class immutable',
      kind: 'Broker',
      object: {
        metadata: { name: 'b', namespace: 'd', annotations: { 'eventing.knative.dev/broker.class': 'Other' } },
      },
      old: {
        metadata: {
          name: 'b',
          namespace: 'd',
          annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
        },
        spec: {
          config: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'config-br-default-channel',
            namespace: 'knative-eventing',
          },
        },
      },
      want: 'Immutable annotations changed (-old +new): annotations\n{string}:\n\t-: "MTChannelBasedBroker"\n\t+: "Other"\n',
    },
  ];
  for (const c of cases) {
    const r = admitEventing(c.kind, c.old ? 'UPDATE' : 'CREATE', c.object, c.old);
    if (c.want === null) assert.ok(r.ok, `${c.name}: ${r.ok ? '' : r.message}`);
    else {
      assert.ok(!r.ok, c.name);
      if (!r.ok) {
        assert.equal(r.error.error(), c.want, c.name);
        assert.ok(
          r.message.startsWith(
            'admission webhook "validation.webhook.eventing.knative.dev" denied the request: validation failed: ',
          ),
        );
      }
    }
  }
});

test('statuses: a broker whose dead-letter sink does not resolve, a trigger without its broker or subscriber', () => {
  const broker: Broker = {
    metadata: {
      name: 'b',
      namespace: 'n',
      annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
    },
    spec: { delivery: { deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'dls' } } } },
  };
  const bad = reconcileBrokerStatus(broker, { deadLetterSink: { error: 'services "dls" not found' } }, NOW);
  const cond = (cs: { type: string; status: string; reason?: string; message?: string }[] | undefined, t: string) =>
    cs?.find((c) => c.type === t);
  assert.equal(bad.error, 'services "dls" not found');
  assert.deepEqual(
    { ...cond(bad.status.conditions, 'DeadLetterSinkResolved'), lastTransitionTime: undefined },
    {
      type: 'DeadLetterSinkResolved',
      status: 'False',
      reason: "Unable to get the dead letter sink's URI",
      message: 'services "dls" not found',
      lastTransitionTime: undefined,
    },
  );
  assert.equal(cond(bad.status.conditions, 'Ready')?.status, 'False');
  const good = reconcileBrokerStatus(broker, { deadLetterSink: { uri: 'http://dls.n.svc.cluster.local' } }, NOW);
  assert.equal(good.status.deadLetterSinkUri, 'http://dls.n.svc.cluster.local');
  assert.equal(cond(good.status.conditions, 'Ready')?.status, 'True');

  const t = { metadata: { name: 't', namespace: 'n' }, spec: { broker: 'b', subscriber: sub } };
  const missing = reconcileTriggerStatus(t, { broker: null }, NOW);
  assert.equal(missing.error, undefined);
  assert.deepEqual(
    [cond(missing.status.conditions, 'BrokerReady')?.reason, cond(missing.status.conditions, 'BrokerReady')?.message],
    ['BrokerDoesNotExist', 'Broker "b" does not exist'],
  );
  assert.equal(cond(missing.status.conditions, 'Ready')?.status, 'False');
  const unresolved = reconcileTriggerStatus(
    t,
    {
      broker: { ...broker, spec: {}, status: good.status },
      subscriber: { error: 'failed to get object n/s: services.serving.knative.dev "s" not found' },
    },
    NOW,
  );
  assert.equal(cond(unresolved.status.conditions, 'SubscriberResolved')?.reason, "Unable to get the Subscriber's URI");
  assert.equal(unresolved.status.subscriberUri, undefined);
  const dlsFromBroker = reconcileTriggerStatus(
    t,
    {
      broker: { ...broker, status: good.status },
      subscriber: { uri: 'http://s.n.svc.cluster.local' },
      subscription: { ready: { status: 'True' } },
    },
    NOW,
  );
  assert.equal(dlsFromBroker.status.deadLetterSinkUri, 'http://dls.n.svc.cluster.local');
  assert.equal(cond(dlsFromBroker.status.conditions, 'Ready')?.status, 'True');
});

test('SinkBinding Do and Undo on the subject: K_SINK and K_CE_OVERRIDES set, replaced, then removed', () => {
  const svc = (env?: Array<{ name: string; value: string }>): KubeObject => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'n' },
    spec: { template: { spec: { containers: [{ image: 'i', ...(env ? { env } : {}) }] } } },
  });
  const envOf = (o: KubeObject | undefined): unknown =>
    (o?.['spec'] as { template: { spec: { containers: Array<{ env?: unknown }> } } } | undefined)?.template.spec
      .containers[0]?.env;
  const user = { name: 'TARGET', value: 'x' };
  const cases: Array<{ name: string; in: KubeObject; do?: [string, Record<string, unknown>?]; want: unknown }> = [
    {
      name: 'Do adds K_SINK after the user env',
      in: svc([user]),
      do: ['http://a'],
      want: [user, { name: 'K_SINK', value: 'http://a' }],
    },
    {
      name: 'Do with overrides adds K_CE_OVERRIDES',
      in: svc(),
      do: ['http://a', { extensions: { e: 'v' } }],
      want: [
        { name: 'K_SINK', value: 'http://a' },
        { name: 'K_CE_OVERRIDES', value: '{"extensions":{"e":"v"}}' },
      ],
    },
    {
      name: 'Do replaces a stale K_SINK in place',
      in: svc([{ name: 'K_SINK', value: 'http://old' }, user]),
      do: ['http://a'],
      want: [{ name: 'K_SINK', value: 'http://a' }, user],
    },
    {
      name: 'Do is a no-op when already bound',
      in: svc([{ name: 'K_SINK', value: 'http://a' }]),
      do: ['http://a'],
      want: undefined,
    },
    {
      name: 'Undo removes both variables and keeps the user env',
      in: svc([{ name: 'K_SINK', value: 'http://a' }, user, { name: 'K_CE_OVERRIDES', value: '{}' }]),
      want: [user],
    },
    { name: 'Undo drops an env left empty', in: svc([{ name: 'K_SINK', value: 'http://a' }]), want: null },
    { name: 'Undo is a no-op when unbound', in: svc([user]), want: undefined },
  ];
  for (const c of cases) {
    const out = c.do ? withSink(c.in, c.do[0], c.do[1]) : withoutSink(c.in);
    if (c.want === undefined) assert.equal(out, undefined, c.name);
    else assert.deepEqual(envOf(out) ?? null, c.want, c.name);
  }
});

test("destination resolution as knative/pkg's URIResolver: v1 Service by name, Addressable status, relative uri, errors", () => {
  const objects: Record<string, KubeObject> = {
    'n/ksvc': {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'ksvc', namespace: 'n' },
      status: { address: { url: 'http://ksvc.n.svc.cluster.local' } },
    },
    'n/b': {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: { name: 'b', namespace: 'n' },
      status: {
        addresses: [{ url: 'http://broker-ingress.knative-eventing.svc.cluster.local/n/b' }],
        address: { url: 'http://other' },
      },
    },
    'n/noaddr': { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'noaddr', namespace: 'n' } },
  };
  const lister = { get: (ref: { name?: string }, ns: string) => objects[`${ns}/${ref.name ?? ''}`] };
  const ksvc = { apiVersion: 'serving.knative.dev/v1', kind: 'Service' };
  const cases: Array<{ name: string; dest: Destination; want: Record<string, string> }> = [
    { name: 'a bare uri', dest: { uri: 'https://example.com/x' }, want: { uri: 'https://example.com/x' } },
    {
      name: 'a v1 Service by its cluster-local name, unread',
      dest: { ref: { apiVersion: 'v1', kind: 'Service', name: 'plain' } },
      want: { uri: 'http://plain.n.svc.cluster.local' },
    },
    {
      name: 'a Knative Service',
      dest: { ref: { ...ksvc, name: 'ksvc' } },
      want: { uri: 'http://ksvc.n.svc.cluster.local' },
    },
    {
      name: 'addresses[0] before address',
      dest: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'b' } },
      want: { uri: 'http://broker-ingress.knative-eventing.svc.cluster.local/n/b' },
    },
    {
      name: 'an absolute path against the address',
      dest: { ref: { ...ksvc, name: 'ksvc' }, uri: '/status/500' },
      want: { uri: 'http://ksvc.n.svc.cluster.local/status/500' },
    },
    {
      name: 'a relative path replaces the last segment',
      dest: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'b' }, uri: 'other' },
      want: { uri: 'http://broker-ingress.knative-eventing.svc.cluster.local/n/other' },
    },
    {
      name: 'not found',
      dest: { ref: { ...ksvc, name: 'nope' } },
      want: { error: 'failed to get object n/nope: services.serving.knative.dev "nope" not found' },
    },
    {
      name: 'no address yet',
      dest: { ref: { ...ksvc, name: 'noaddr' } },
      want: { error: 'address not set for Service n/noaddr (serving.knative.dev/v1)' },
    },
  ];
  for (const c of cases) assert.deepEqual(resolveDestination(c.dest, 'n', lister), c.want, c.name);
});
