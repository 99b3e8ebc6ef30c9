// Knative Eventing, embedded, end to end through `sluice start` and the real kubectl, following the
// getting-started tutorial: `kn quickstart`'s lowercase `kind: broker`, the cloudevents-player with min-scale 1
// and a SinkBinding, a Trigger back to the player; then filters, retries into a dead-letter sink, a subscriber
// scaled to zero, the bad inputs, and a rollback published by a `type: broker` alert to a player behind a
// Trigger. Every wait is on a condition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { run, SLUICE_BIN, sluiceStartFixture, waitFor } from './support/procs.js';
import { helloService } from './support/manifests.js';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Obj {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    address?: { url?: string };
    subscriberUri?: string;
    sinkUri?: string;
    deadLetterSinkUri?: string;
    latestReadyRevisionName?: string;
  };
}
interface PlayerMessage {
  id: string;
  type: string;
  eventType: string;
  extensions: Record<string, string>;
  data: unknown;
}

const fx = sluiceStartFixture('sluice-eventing-e2e-', ['--quickstart-broker']);
const k = (args: string[], input?: string) => fx.kubectl(args, input);
const INGRESS = 'broker-ingress.knative-eventing.svc.cluster.local';

async function apply(yaml: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = join(fx.dir, `m-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(p, yaml);
  return k(['apply', '-f', p]);
}

async function getJson(kind: string, name: string): Promise<Obj | undefined> {
  const r = await k(['get', kind, name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
}

const cond = (o: Obj | undefined, t: string): Condition | undefined => o?.status?.conditions?.find((c) => c.type === t);
const ready = (o: Obj | undefined): boolean => cond(o, 'Ready')?.status === 'True';

async function waitReady(kind: string, name: string, ms = 60_000): Promise<Obj> {
  return waitFor(
    `${kind} ${name} Ready`,
    async () => {
      const o = await getJson(kind, name);
      return ready(o) ? o : undefined;
    },
    ms,
    100,
  );
}

/** An HTTP request on the router with a Host header. */
function http(
  method: string,
  host: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<{ status: number; body: string }> {
  const url = new URL(fx.sluice.endpoints.router ?? '');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers: { ...headers, host }, agent: false },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${host}${path} timed out`)));
    req.end(body);
  });
}

const ce = (id: string, type: string): Record<string, string> => ({
  'ce-id': id,
  'ce-specversion': '1.0',
  'ce-type': type,
  'ce-source': 'e2e',
  'content-type': 'application/json',
});

async function messages(svc: string): Promise<PlayerMessage[]> {
  const r = await http('GET', `${svc}.default.svc.cluster.local`, '/messages?page=0&size=200');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as PlayerMessage[];
}

function player(
  name: string,
  annotations: Record<string, string> = { 'autoscaling.knative.dev/min-scale': '1' },
): string {
  const ann = Object.entries(annotations)
    .map(([a, v]) => `        ${a}: "${v}"`)
    .join('\n');
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  template:
    metadata:
      annotations:
${ann}
    spec:
      containers:
        - image: quay.io/ruben/cloudevents-player:latest
`;
}

test("--quickstart-broker's example-broker is Ready with Knative's address; kn quickstart's `kind: broker` applies", async () => {
  const b = await waitReady('broker', 'example-broker');
  // kn quickstart's manifest, byte for byte: kubectl maps the lowercase kind through discovery.
  const file = join(fx.dir, 'kn-quickstart-broker.yaml');
  await writeFile(
    file,
    'apiVersion: eventing.knative.dev/v1\nkind: broker\nmetadata:\n name: kn-quickstart-broker\n namespace: default\n',
  );
  const r = await k(['apply', '-f', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^broker\.eventing\.knative\.dev\/kn-quickstart-broker created/);
  assert.equal(ready(await waitReady('broker', 'kn-quickstart-broker')), true);
  const stored = await k(['get', 'broker', 'kn-quickstart-broker', '-o', 'jsonpath={.kind}']);
  assert.equal(stored.stdout, 'Broker', 'stored under the served kind');
  // Deleting it by the same file works (kubectl maps the kind again). A second `kubectl apply` of the file is
  // refused by kubectl itself ("precondition failed for: map[kind:broker]": its three-way merge will not change
  // `kind`), as against any server that stores the served kind.
  const del = await k(['delete', '-f', file]);
  assert.equal(del.code, 0, del.stderr);
  await waitFor('kn-quickstart-broker to be gone', async () =>
    (await getJson('broker', 'kn-quickstart-broker')) ? undefined : true,
  );
  assert.equal(b.status?.address?.url, `http://${INGRESS}/default/example-broker`);
  assert.equal(b.metadata.annotations?.['eventing.knative.dev/broker.class'], 'MTChannelBasedBroker');
  assert.deepEqual(b.spec?.['delivery'], { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' });
  assert.equal(cond(b, 'DeadLetterSinkResolved')?.reason, 'DeadLetterSinkNotConfigured');
  const table = await k(['get', 'brokers']);
  assert.match(table.stdout, /^NAME\s+URL\s+AGE\s+READY\s+REASON/);
  assert.match(
    table.stdout,
    /example-broker\s+http:\/\/broker-ingress\.knative-eventing\.svc\.cluster\.local\/default\/example-broker\s+\S+\s+True/,
  );
});

test('the tutorial: the player sends through the broker (SinkBinding K_SINK) and a Trigger brings the event back as RECEIVED', async () => {
  assert.equal((await apply(player('cloudevents-player'))).code, 0);
  const binding = await apply(`apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: ce-player-binding
  namespace: default
spec:
  subject:
    apiVersion: serving.knative.dev/v1
    kind: Service
    name: cloudevents-player
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: example-broker
`);
  assert.equal(binding.code, 0, binding.stderr);
  const sb = await waitReady('sinkbinding', 'ce-player-binding');
  assert.equal(sb.status?.sinkUri, `http://${INGRESS}/default/example-broker`);
  const trig = await apply(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: cloudevents-trigger
  namespace: default
  annotations:
    knative-eventing-injection: enabled
spec:
  broker: example-broker
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: cloudevents-player
`);
  assert.equal(trig.code, 0, trig.stderr);
  const t = await waitReady('trigger', 'cloudevents-trigger');
  assert.equal(t.status?.subscriberUri, 'http://cloudevents-player.default.svc.cluster.local');
  assert.equal(t.metadata.labels?.['eventing.knative.dev/broker'], 'example-broker');
  // The binding rolled a revision with K_SINK; wait until that one serves.
  await waitFor(
    'the player revision with K_SINK to be ready',
    async () => {
      const s = await getJson('ksvc', 'cloudevents-player');
      return ready(s) && s?.status?.latestReadyRevisionName === 'cloudevents-player-00002';
    },
    30_000,
    100,
  );
  assert.equal((await http('DELETE', 'cloudevents-player.default.svc.cluster.local', '/messages')).status, 202);

  const sent = await http(
    'POST',
    'cloudevents-player.default.svc.cluster.local',
    '/messages',
    ce('tutorial-1', 'some-type'),
    '{"msg":"Hello CloudEvents!"}',
  );
  assert.equal(sent.status, 202, sent.body);
  const got = await waitFor('the event back as RECEIVED', async () => {
    const m = await messages('cloudevents-player');
    const rec = m.find((x) => x.id === 'tutorial-1' && x.type === 'RECEIVED');
    return rec && m.some((x) => x.id === 'tutorial-1' && x.type === 'SENT') ? rec : undefined;
  });
  assert.equal(got.eventType, 'some-type');
  assert.deepEqual(got.data, { msg: 'Hello CloudEvents!' });
  assert.ok(got.extensions['knativearrivaltime'], 'ingress stamps knativearrivaltime');
  assert.equal(got.extensions['knativebrokerttl'], undefined, 'broker-filter removes the TTL');
});

test('a Trigger with --filter type=other delivers nothing for some-type', async () => {
  assert.equal((await apply(player('other-player'))).code, 0);
  assert.equal(
    (
      await apply(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: other-trigger, namespace: default}
spec:
  broker: example-broker
  filter: {attributes: {type: other}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: other-player}}
`)
    ).code,
    0,
  );
  await waitReady('trigger', 'other-trigger');
  // Ingress answers after every matching delivery finished (synchronous fan-out), so 202 means done.
  const r = await http('POST', INGRESS, '/default/example-broker', ce('filtered-1', 'some-type'), '{}');
  assert.equal(r.status, 202, r.body);
  const r2 = await http('POST', INGRESS, '/default/example-broker', ce('other-1', 'other'), '{}');
  assert.equal(r2.status, 202, r2.body);
  const m = await messages('other-player');
  assert.deepEqual(
    m.map((x) => x.id),
    ['other-1'],
  );
});

test('a subscriber answering 500 is retried by the policy and the event lands in the dead-letter sink with the error extensions', async () => {
  assert.equal((await apply(player('dls-player'))).code, 0);
  assert.equal(
    (
      await apply(`apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: failing, namespace: default}
spec:
  template:
    metadata: {annotations: {autoscaling.knative.dev/min-scale: "1"}}
    spec:
      containers:
        - image: sluice.dev/samples/echo
`)
    ).code,
    0,
  );
  await waitReady('ksvc', 'failing');
  assert.equal(
    (
      await apply(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: failing-trigger, namespace: default}
spec:
  broker: example-broker
  filter: {attributes: {type: dls-type}}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: failing}
    uri: /status/500
  delivery:
    retry: 2
    backoffPolicy: linear
    backoffDelay: PT0.1S
    deadLetterSink: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: dls-player}}
`)
    ).code,
    0,
  );
  const t = await waitReady('trigger', 'failing-trigger');
  assert.equal(t.status?.subscriberUri, 'http://failing.default.svc.cluster.local/status/500');
  assert.equal(t.status?.deadLetterSinkUri, 'http://dls-player.default.svc.cluster.local');
  const r = await http('POST', INGRESS, '/default/example-broker', ce('dead-1', 'dls-type'), '{"n":1}');
  assert.equal(r.status, 202, 'dead-lettered deliveries count as delivered');
  const dead = (await messages('dls-player')).find((x) => x.id === 'dead-1');
  assert.ok(dead, 'the dead-letter sink got the event');
  assert.equal(dead.extensions['knativeerrorcode'], '500');
  assert.equal(dead.extensions['knativeerrordest'], 'http://failing.default.svc.cluster.local/status/500');
  assert.ok(dead.extensions['knativeerrordata'] !== undefined);
  // 1 attempt + 2 retries, as the router's queue-proxy metrics count them.
  const metrics = await http('GET', 'metrics.local', '/metrics');
  const line = metrics.body
    .split('\n')
    .find(
      (l) =>
        l.startsWith('revision_request_count{') &&
        l.includes('revision_name="failing-00001"') &&
        l.includes('response_code="500"'),
    );
  assert.ok(line?.endsWith(' 3'), line);
});

test('a subscriber scaled to zero is woken by an event, as a request would', async () => {
  // config-autoscaler with a short grace period, and a 6 s stable window on the revision: idle → zero in ~8 s.
  const cm = await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: config-autoscaler, namespace: knative-serving}
data: {scale-to-zero-grace-period: "2s", enable-scale-to-zero: "true"}
`);
  assert.equal(cm.code, 0, cm.stderr);
  const svc = await apply(player('sleepy', { 'autoscaling.knative.dev/window': '6s' }));
  assert.equal(svc.code, 0, svc.stderr);
  await waitReady('ksvc', 'sleepy');
  assert.equal(
    (
      await apply(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: sleepy-trigger, namespace: default}
spec:
  broker: example-broker
  filter: {attributes: {type: wake-up}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: sleepy}}
`)
    ).code,
    0,
  );
  await waitReady('trigger', 'sleepy-trigger');
  await waitFor(
    'sleepy-00001 to scale to zero',
    async () => {
      const r = (await getJson('revision', 'sleepy-00001')) as
        (Obj & { status?: { actualReplicas?: number } }) | undefined;
      return r?.status?.actualReplicas === 0 && cond(r, 'Active')?.status === 'False';
    },
    40_000,
    200,
  );
  const r = await http('POST', INGRESS, '/default/example-broker', ce('wake-1', 'wake-up'), '{}');
  assert.equal(r.status, 202, r.body);
  assert.deepEqual(
    (await messages('sleepy')).map((x) => x.id),
    ['wake-1'],
  );
});

test('bad input: non-CloudEvent 400, unknown broker 404, GET 405, missing broker BrokerReady False, malformed filter denied', async () => {
  const notCe = await http('POST', INGRESS, '/default/example-broker', { 'content-type': 'text/plain' }, 'hello');
  assert.equal(notCe.status, 400);
  assert.equal((await http('POST', INGRESS, '/default/nope', ce('x', 't'), '{}')).status, 404);
  assert.equal((await http('GET', INGRESS, '/default/example-broker')).status, 405);
  assert.equal((await http('POST', INGRESS, '/a/b/c', ce('x', 't'), '{}')).status, 400);
  assert.equal(
    (
      await apply(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: orphan, namespace: default}
spec:
  broker: missing-broker
  subscriber: {uri: "http://example.com/"}
`)
    ).code,
    0,
  );
  const orphan = await waitFor('trigger orphan BrokerReady False', async () => {
    const t = await getJson('trigger', 'orphan');
    return cond(t, 'BrokerReady')?.status === 'False' ? t : undefined;
  });
  assert.equal(cond(orphan, 'BrokerReady')?.reason, 'BrokerDoesNotExist');
  assert.equal(cond(orphan, 'BrokerReady')?.message, 'Broker "missing-broker" does not exist');
  const bad = await apply(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: bad-filter, namespace: default}
spec:
  broker: example-broker
  filter: {attributes: {0invalid: x}}
  subscriber: {uri: "http://example.com/"}
`);
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    /admission webhook "validation\.webhook\.eventing\.knative\.dev" denied the request: validation failed: invalid key name "0invalid": spec\.filter\.attributes\[0invalid\]/,
  );
  const immutable = await k([
    'patch',
    'trigger',
    'cloudevents-trigger',
    '--type=merge',
    '-p',
    '{"spec":{"broker":"other"}}',
  ]);
  assert.notEqual(immutable.code, 0);
  assert.match(immutable.stderr, /Immutable fields changed \(-old \+new\): broker, spec/);
});

test("kn-style commands: broker, trigger and source binding with kn's messages and columns", async () => {
  const sluice = (...args: string[]) =>
    run(process.execPath, [SLUICE_BIN, ...args], { env: { KUBECONFIG: join(fx.sluice.dataDir, 'kubeconfig') } });
  const bl = await sluice('broker', 'list');
  assert.equal(bl.code, 0, bl.stderr);
  assert.match(bl.stdout, /^NAME\s+URL\s+AGE\s+CONDITIONS\s+READY\s+REASON\n/);
  assert.match(
    bl.stdout,
    /example-broker\s+http:\/\/broker-ingress\.knative-eventing\.svc\.cluster\.local\/default\/example-broker\s+\S+\s+7 OK \/ 7\s+True/,
  );
  const bd = await sluice('broker', 'describe', 'example-broker');
  assert.match(bd.stdout, /Name:\s+example-broker/);
  assert.match(bd.stdout, /Address:\s*\n\s+URL:\s+http:\/\/broker-ingress/);
  assert.match(bd.stdout, /\+\+ DeadLetterSinkResolved\s+\S+ DeadLetterSinkNotConfigured/);
  const missing = await sluice('trigger', 'create', 'cli-trigger', '--sink', 'ksvc:nope', '--broker', 'example-broker');
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /Error: cannot create trigger 'cli-trigger' in namespace 'default' because: services\.serving\.knative\.dev "nope" not found/,
  );
  const tc = await sluice(
    'trigger',
    'create',
    'cli-trigger',
    '--sink',
    'cloudevents-player',
    '--broker',
    'example-broker',
    '--filter',
    'type=cli',
  );
  assert.equal(tc.code, 0, tc.stderr);
  assert.equal(tc.stdout, "Trigger 'cli-trigger' successfully created in namespace 'default'.\n");
  await waitReady('trigger', 'cli-trigger');
  const tl = await sluice('trigger', 'list');
  assert.match(tl.stdout, /^NAME\s+BROKER\s+SINK\s+AGE\s+CONDITIONS\s+READY\s+REASON\n/);
  assert.match(tl.stdout, /cli-trigger\s+example-broker\s+ksvc:cloudevents-player\s+\S+\s+7 OK \/ 7\s+True/);
  const tu = await sluice('trigger', 'update', 'cli-trigger', '--filter', 'type-', '--filter', 'source=cli');
  assert.equal(tu.stdout, "Trigger 'cli-trigger' updated in namespace 'default'.\n");
  assert.deepEqual((await getJson('trigger', 'cli-trigger'))?.spec?.['filter'], { attributes: { source: 'cli' } });
  const sl = await sluice('source', 'binding', 'list');
  assert.match(
    sl.stdout,
    /ce-player-binding\s+Service:serving\.knative\.dev\/v1:cloudevents-player\s+broker:example-broker/,
  );
  const tdsc = await sluice('trigger', 'describe', 'cli-trigger');
  assert.equal(tdsc.code, 0, tdsc.stderr);
  assert.match(tdsc.stdout, /^Name:\s+cli-trigger\nNamespace:\s+default\n/);
  assert.match(tdsc.stdout, /\nBroker:\s+example-broker\nFilter:\s*\n\s+source:\s+cli\n/);
  assert.match(
    tdsc.stdout,
    /\nSink:\s*\n\s+Name:\s+cloudevents-player\n\s+Resource:\s+Service \(serving\.knative\.dev\/v1\)\n/,
  );
  assert.match(tdsc.stdout, /\nConditions:\s*\n\s+OK TYPE\s+AGE REASON\n\s+\+\+ Ready\s/);
  const td = await sluice('trigger', 'delete', 'cli-trigger');
  assert.equal(td.stdout, "Trigger 'cli-trigger' deleted in namespace 'default'.\n");

  const bc = await sluice(
    'broker',
    'create',
    'cli-broker',
    '--retry',
    '3',
    '--backoff-policy',
    'linear',
    '--backoff-delay',
    'PT1S',
  );
  assert.equal(bc.stdout, "Broker 'cli-broker' successfully created in namespace 'default'.\n", bc.stderr);
  const cb = await waitReady('broker', 'cli-broker');
  assert.equal(
    cb.metadata.annotations?.['eventing.knative.dev/broker.class'],
    'MTChannelBasedBroker',
    'webhook default',
  );
  assert.deepEqual(cb.spec?.['delivery'], { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' });
  const bu = await sluice('broker', 'update', 'cli-broker', '--retry', '5');
  assert.equal(bu.stdout, "Broker 'cli-broker' updated in namespace 'default'.\n", bu.stderr);
  assert.deepEqual((await getJson('broker', 'cli-broker'))?.spec?.['delivery'], {
    retry: 5,
    backoffPolicy: 'linear',
    backoffDelay: 'PT1S',
  });
  const noFlags = await sluice('broker', 'update', 'cli-broker');
  assert.equal(noFlags.code, 1);
  assert.match(noFlags.stderr, /^Error: flag\(s\) not set\nUsage: update NAME/);
  const bdel = await sluice('broker', 'delete', 'cli-broker');
  assert.equal(bdel.stdout, "Broker 'cli-broker' successfully deleted in namespace 'default'.\n", bdel.stderr);
  const again = await sluice('broker', 'delete', 'cli-broker');
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /^Error: cannot delete broker 'cli-broker' in namespace 'default' because: brokers\.eventing\.knative\.dev "cli-broker" not found/,
  );

  // The tutorial's `kn source binding create`, on another Service.
  const bcr = await sluice(
    'source',
    'binding',
    'create',
    'cli-binding',
    '--subject',
    'Service:serving.knative.dev/v1:other-player',
    '--sink',
    'broker:example-broker',
  );
  assert.equal(bcr.stdout, "Sink binding 'cli-binding' created in namespace 'default'.\n", bcr.stderr);
  assert.equal(
    (await waitReady('sinkbinding', 'cli-binding')).status?.sinkUri,
    `http://${INGRESS}/default/example-broker`,
  );
  const envOf = (s: Obj | undefined): Array<{ name: string; value?: string }> =>
    (
      s?.spec?.['template'] as
        { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } | undefined
    )?.spec?.containers?.[0]?.env ?? [];
  const bound = await waitFor('K_SINK in other-player', async () => {
    const svc = await getJson('ksvc', 'other-player');
    return envOf(svc).some((e) => e.name === 'K_SINK') ? svc : undefined;
  });
  assert.equal(envOf(bound).find((e) => e.name === 'K_SINK')?.value, `http://${INGRESS}/default/example-broker`);
  const bdl = await sluice('source', 'binding', 'delete', 'cli-binding');
  assert.equal(bdl.stdout, "Sink binding 'cli-binding' deleted in namespace 'default'.\n", bdl.stderr);
  // Deleting the binding undoes it (psbinding's finalizer): K_SINK leaves the template, which rolls a Revision.
  await waitFor('the binding to be undone and gone', async () => {
    const svc = await getJson('ksvc', 'other-player');
    const stillBound = envOf(svc).some((e) => e.name === 'K_SINK');
    return !stillBound && !(await getJson('sinkbinding', 'cli-binding'));
  });
});

test('a canary answering 500s rolls back and its dev.sluice.rollout.rolledback reaches a player behind a Trigger', async () => {
  // The receiver: a cloudevents-player behind a Trigger that passes only rollbacks.
  assert.equal((await apply(player('rollout-watcher'))).code, 0);
  const trig = await apply(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: on-rollback, namespace: default}
spec:
  broker: example-broker
  filter: {attributes: {type: dev.sluice.rollout.rolledback}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: rollout-watcher}}
`);
  assert.equal(trig.code, 0, trig.stderr);
  await waitReady('trigger', 'on-rollback');
  // The policy publishes every rollout event into example-broker (namespace defaulted to the Service's).
  const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
  const successRate = `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or sum(rate(revision_request_count{${SEL}}[{{interval}}])) * 0) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
  const policy = {
    apiVersion: 'delivery.sluice.dev/v1alpha1',
    kind: 'RolloutPolicy',
    metadata: { name: 'flaky', namespace: 'default' },
    spec: {
      targetRef: { name: 'flaky' },
      strategy: { canary: { steps: [{ setWeight: 50 }, { analysis: {} }] } },
      analysis: {
        interval: '1s',
        window: '4s',
        failureLimit: 1,
        metrics: [
          {
            name: 'success-rate',
            query: successRate,
            thresholdRange: { min: 0.99 },
            onNoData: 'hold',
            noDataTimeout: '30s',
          },
        ],
      },
      rollback: { to: 'pinned' },
      progressDeadline: '60s',
      alerts: [{ type: 'broker', broker: 'example-broker' }],
    },
  };
  const fiveHundred =
    "require('http').createServer((q, s) => { s.writeHead(500, {'content-type': 'text/plain'}); s.end('boom\\n'); }).listen(process.env.PORT)";
  const applied = await k(
    ['apply', '-f', '-'],
    [policy, helloService('default', 'flaky', 'v1')].map((o) => JSON.stringify(o)).join('\n'),
  );
  assert.equal(applied.code, 0, applied.stderr);
  type RolloutJson = { status?: { phase?: string; stableRevision?: string; canaryRevision?: string } };
  const rollout = async (): Promise<RolloutJson | undefined> => {
    const r = await k(['get', 'rollouts.delivery.sluice.dev', 'flaky', '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as RolloutJson) : undefined;
  };
  await waitFor(
    'flaky pinned on flaky-00001',
    async () => {
      const st = (await rollout())?.status;
      return st?.phase === 'Succeeded' && st.stableRevision === 'flaky-00001';
    },
    60_000,
    200,
  );
  // Steady traffic through the router, so the analysis has a success rate to judge.
  let on = true;
  const traffic = (async () => {
    while (on) {
      await http('GET', 'flaky.default.svc.cluster.local', '/').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  try {
    const bad = await k(
      ['apply', '-f', '-'],
      JSON.stringify(helloService('default', 'flaky', 'v2', ['node', '-e', fiveHundred])),
    );
    assert.equal(bad.code, 0, bad.stderr);
    await waitFor(
      'flaky-00002 RolledBack',
      async () => {
        const st = (await rollout())?.status;
        return st?.phase === 'RolledBack' && st.canaryRevision === 'flaky-00002';
      },
      60_000,
      200,
    );
  } finally {
    on = false;
    await traffic;
  }
  const got = await waitFor(
    'the rollback event RECEIVED by rollout-watcher',
    async () => (await messages('rollout-watcher')).find((m) => m.type === 'RECEIVED'),
    30_000,
    200,
  );
  assert.equal(got.eventType, 'dev.sluice.rollout.rolledback');
  const data = got.data as { kind?: string; service?: string; canaryRevision?: string; stableRevision?: string };
  assert.equal(data.kind, 'RolloutEvent');
  assert.equal(data.service, 'flaky');
  assert.equal(data.canaryRevision, 'flaky-00002');
  assert.equal(data.stableRevision, 'flaky-00001');
  assert.ok(got.extensions['knativearrivaltime'], 'it came through the broker ingress');
  // The Trigger's filter passed only the rollback: started/step events reached the broker but not the player.
  assert.deepEqual(
    (await messages('rollout-watcher')).map((m) => m.eventType),
    ['dev.sluice.rollout.rolledback'],
  );
});
