// The MT broker's data plane over real HTTP: a broker-ingress server in front of BrokerDataPlane, real
// subscriber and dead-letter servers, the real cluster Sender. What is checked is what Knative's ingress,
// broker-filter and dispatcher do (../shared/reference/eventing-anchors.md §3.4–3.7): status codes, TTL on every
// entry, knativearrivaltime, headers the subscriber sees, retries and their back-off, dead-letter extensions
// (including a reply that cannot be forwarded and a subscriber that never answers), replies re-ingested.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerDataPlane } from '../src/eventing/dataplane/broker-dataplane.js';
import { clusterSender } from '../src/eventing/dataplane/cluster-http.js';
import { CHANNEL_ADDRESS_ANNOTATION } from '../src/eventing/index.js';
import type { Broker, DeliverySpec, Trigger } from '../src/eventing/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { ManualClock } from '../src/util/clock.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const NS = 'events';
const BROKER_URL = `http://broker-ingress.knative-eventing.svc.cluster.local/${NS}/b`;
const clock = new ManualClock(Date.UTC(2026, 11, 5, 8, 0, 0));
const sleeps: number[] = [];
const received: Received[] = [];
let triggers: Trigger[] = [];
let broker: Broker;
let sub: Server;
let ingress: Server;
let subUrl = '';
let ingressPort = 0;
const send = clusterSender('http://127.0.0.1:9');

/** The subscriber's behaviour is chosen by path. */
function subscriber(
  path: string,
  headers: IncomingHttpHeaders,
): { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } {
  switch (path) {
    case '/ok':
    case '/dls':
      return { status: 202 };
    case '/fail500':
      return { status: 500, body: 'boom' };
    case '/bad400':
      return { status: 400, body: 'destination-response' };
    case '/garbage':
      return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'not an event' };
    case '/slow':
      return { status: 202, delayMs: 3000 };
    case '/reply':
    case '/loop': {
      const id = String(headers['ce-id']);
      return {
        status: 200,
        headers: {
          'ce-specversion': '1.0',
          'ce-id': `${id}-r`,
          'ce-source': 'replier',
          'ce-type': path === '/loop' ? 'loop' : 'reply-type',
          'content-type': 'application/json',
          'knative-hop': 'replied',
          'x-custom': 'dropped',
        },
        body: '{"re":true}',
      };
    }
    default:
      return { status: 404 };
  }
}

function readyBroker(
  annotations: Record<string, string> = {
    [CHANNEL_ADDRESS_ANNOTATION]: 'http://b-kne-trigger-kn-channel.events.svc.cluster.local',
  },
): Broker {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: { name: 'b', namespace: NS, generation: 1 },
    spec: {},
    status: {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True' }],
      address: { name: 'http', url: BROKER_URL },
      annotations,
    },
  } as Broker;
}

function trigger(
  name: string,
  path: string,
  filter: Record<string, string>,
  delivery?: DeliverySpec,
  dls = false,
): Trigger {
  return {
    metadata: { name, namespace: NS },
    spec: {
      broker: 'b',
      filter: { attributes: filter },
      subscriber: { uri: `${subUrl}${path}` },
      ...(delivery ? { delivery } : {}),
    },
    status: { subscriberUri: `${subUrl}${path}`, ...(dls ? { deadLetterSinkUri: `${subUrl}/dls` } : {}) },
  } as Trigger;
}

function post(
  path: string,
  headers: Record<string, string>,
  body = '',
  method = 'POST',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ingressPort, method, path, headers, agent: false }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const binary = (id: string, type: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-source': 'test',
  'ce-type': type,
  'content-type': 'application/json',
  ...extra,
});
const at = (p: string): Received[] => received.filter((r) => r.path === p);
const decode = (b64: unknown): string => Buffer.from(String(b64), 'base64').toString('utf8');

before(async () => {
  sub = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = subscriber(new URL(path, 'http://x').pathname, req.headers);
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      };
      if (a.delayMs) setTimeout(answer, a.delayMs).unref();
      else answer();
    });
  });
  await new Promise<void>((r) => sub.listen(0, '127.0.0.1', r));
  subUrl = `http://127.0.0.1:${(sub.address() as AddressInfo).port}`;
  const dp = new BrokerDataPlane({
    topology: {
      broker: (ns, name) => (ns === NS && name === 'b' ? broker : undefined),
      triggers: (ns, name) => triggers.filter((t) => t.metadata?.namespace === ns && t.spec?.broker === name),
    },
    send,
    clock,
    log: silentLogger(),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  ingress = createServer((req, res) => dp.handle(req, res));
  await new Promise<void>((r) => ingress.listen(0, '127.0.0.1', r));
  ingressPort = (ingress.address() as AddressInfo).port;
});

after(async () => {
  send.close();
  sub.closeAllConnections();
  await new Promise((r) => sub.close(r));
  await new Promise((r) => ingress.close(r));
});

beforeEach(() => {
  received.length = 0;
  sleeps.length = 0;
  broker = readyBroker();
  triggers = [];
});

const ingressCodes: Array<{
  name: string;
  method?: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  want: number;
  setup?: () => void;
}> = [
  { name: 'GET is 405', method: 'GET', path: `/${NS}/b`, headers: {}, want: 405 },
  { name: 'PUT is 405', method: 'PUT', path: `/${NS}/b`, headers: binary('1', 't'), body: '{}', want: 405 },
  { name: 'OPTIONS is 200', method: 'OPTIONS', path: `/${NS}/b`, headers: {}, want: 200 },
  { name: '/ is 404', path: '/', headers: binary('1', 't'), body: '{}', want: 404 },
  { name: 'three segments are 400', path: `/knative/${NS}/b`, headers: binary('1', 't'), body: '{}', want: 400 },
  { name: 'a trailing slash is tolerated', path: `/${NS}/b/`, headers: binary('1', 't'), body: '{}', want: 202 },
  {
    name: 'not a CloudEvent is 400',
    path: `/${NS}/b`,
    headers: { 'content-type': 'text/plain' },
    body: 'hello',
    want: 400,
  },
  {
    name: 'an unknown specversion is 400',
    path: `/${NS}/b`,
    headers: { ...binary('1', 't'), 'ce-specversion': '19.0' },
    body: '{}',
    want: 400,
  },
  { name: 'an unknown broker is 404', path: `/${NS}/nope`, headers: binary('1', 't'), body: '{}', want: 404 },
  {
    name: 'TTL 1 is used up on entry: 400',
    path: `/${NS}/b`,
    headers: binary('1', 't', { 'ce-knativebrokerttl': '1' }),
    body: '{}',
    want: 400,
  },
  {
    name: 'a broker without its channel address is 500',
    path: `/${NS}/b`,
    headers: binary('1', 't'),
    body: '{}',
    want: 500,
    setup: () => (broker = readyBroker({})),
  },
  {
    name: 'a Broker not Ready for another reason (an unresolved dead-letter sink) still takes events: 202',
    path: `/${NS}/b`,
    headers: binary('1', 't'),
    body: '{}',
    want: 202,
    setup: () => {
      broker.status!.conditions = [
        { type: 'Ready', status: 'False', reason: "Unable to get the dead letter sink's URI" },
        { type: 'DeadLetterSinkResolved', status: 'False' },
      ];
    },
  },
  {
    name: 'a Broker whose spec change is not yet observed still takes events: 202',
    path: `/${NS}/b`,
    headers: binary('1', 't'),
    body: '{}',
    want: 202,
    setup: () => (broker.metadata!.generation = 2),
  },
];

for (const c of ingressCodes) {
  test(`ingress: ${c.name}`, async () => {
    c.setup?.();
    const r = await post(c.path, c.headers, c.body ?? '', c.method ?? 'POST');
    assert.equal(r.status, c.want, r.body);
    assert.equal(r.headers['allow'], 'POST, OPTIONS');
  });
}

test('a binary event reaches the matching Trigger only, as Knative delivers it, and 202 comes after', async () => {
  triggers = [trigger('match', '/ok', { type: 'greeting' }), trigger('other', '/ok?other', { type: 'other' })];
  const r = await post(
    `/${NS}/b`,
    binary('e1', 'greeting', {
      'ce-myext': 'v',
      'x-request-id': 'rid-1',
      'knative-foo': 'kf',
      'x-b3-traceid': 'tid',
      foo: 'dropped',
      authorization: 'Bearer secret',
    }),
    '{"hello":"world"}',
  );
  assert.equal(r.status, 202, r.body);
  assert.equal(received.length, 1, 'synchronous fan-out: the delivery happened before the answer');
  const h = received[0]!.headers;
  assert.equal(received[0]!.path, '/ok');
  assert.equal(received[0]!.body, '{"hello":"world"}');
  assert.deepEqual(
    [h['ce-id'], h['ce-type'], h['ce-source'], h['ce-specversion'], h['ce-myext'], h['content-type']],
    ['e1', 'greeting', 'test', '1.0', 'v', 'application/json'],
  );
  assert.equal(h['ce-knativearrivaltime'], new Date(clock.now()).toISOString());
  assert.equal(h['ce-knativebrokerttl'], undefined, 'broker-filter removes the TTL');
  assert.equal(h['prefer'], 'reply');
  assert.equal(h['kn-namespace'], NS);
  assert.deepEqual(
    [h['x-request-id'], h['knative-foo'], h['x-b3-traceid'], h['foo'], h['authorization']],
    ['rid-1', 'kf', 'tid', undefined, undefined],
    'only x-request-id, knative-* and x-b3-* pass through',
  );
});

test('a structured event goes out in binary mode, or structured with delivery.format json', async () => {
  triggers = [trigger('bin', '/ok', {}), trigger('json', '/ok?json', {}, { format: 'json' })];
  const event = {
    specversion: '1.0',
    id: 's1',
    source: 'test',
    type: 't',
    datacontenttype: 'application/json',
    data: { n: 1 },
  };
  const r = await post(`/${NS}/b`, { 'content-type': 'application/cloudevents+json' }, JSON.stringify(event));
  assert.equal(r.status, 202, r.body);
  const bin = at('/ok')[0];
  assert.equal(bin?.headers['ce-id'], 's1');
  assert.deepEqual(JSON.parse(bin?.body ?? ''), { n: 1 });
  const json = at('/ok?json')[0];
  assert.match(String(json?.headers['content-type']), /^application\/cloudevents\+json/);
  const doc = JSON.parse(json?.body ?? '{}') as Record<string, unknown>;
  assert.deepEqual([doc['id'], doc['data'], doc['knativebrokerttl']], ['s1', { n: 1 }, undefined]);
});

test('a reply re-enters the same broker: a Trigger on its type gets it with a fresh arrival time', async () => {
  triggers = [trigger('asker', '/reply', { type: 'question' }), trigger('listener', '/ok', { type: 'reply-type' })];
  const r = await post(`/${NS}/b`, binary('q1', 'question', { 'ce-knativearrivaltime': '2020-01-01T00:00:00Z' }), '{}');
  assert.equal(r.status, 202, r.body);
  const now = new Date(clock.now()).toISOString();
  assert.equal(at('/reply')[0]?.headers['ce-knativearrivaltime'], now, 'ingress overwrites an arrival time');
  const got = at('/ok');
  assert.equal(got.length, 1, 'the reply was delivered before ingress answered');
  assert.equal(got[0]!.headers['ce-id'], 'q1-r');
  assert.equal(got[0]!.headers['ce-knativearrivaltime'], new Date(clock.now()).toISOString());
  assert.equal(got[0]!.body, '{"re":true}');
  assert.equal(got[0]!.headers['knative-hop'], 'replied', "the answer's pass-through headers travel with the reply");
  assert.equal(got[0]!.headers['x-custom'], undefined);
});

test('replies that come back as the same type loop until the TTL runs out, then the delivery fails (500)', async () => {
  triggers = [trigger('looper', '/loop', { type: 'loop' })];
  // TTL 3 → 2 on entry; the reply carries 2 → 1; its reply carries 1 → 0: refused with 400, not retried.
  const r = await post(`/${NS}/b`, binary('l1', 'loop', { 'ce-knativebrokerttl': '3' }), '{}');
  assert.equal(r.status, 500, r.body);
  assert.deepEqual(
    at('/loop').map((x) => x.headers['ce-id']),
    ['l1', 'l1-r'],
  );
});

test('a reply the broker refuses dead-letters the original, with the broker as knativeerrordest', async () => {
  triggers = [
    trigger('looper', '/loop', { type: 'loop' }, { retry: 3, deadLetterSink: { uri: `${subUrl}/dls` } }, true),
  ];
  const r = await post(`/${NS}/b`, binary('l2', 'loop', { 'ce-knativebrokerttl': '2' }), '{}');
  assert.equal(r.status, 202, r.body);
  assert.equal(at('/loop').length, 1);
  const dead = at('/dls')[0]?.headers;
  assert.equal(dead?.['ce-id'], 'l2');
  assert.equal(dead?.['ce-knativeerrordest'], BROKER_URL);
  assert.equal(dead?.['ce-knativeerrorcode'], '400');
  assert.match(decode(dead?.['ce-knativeerrordata']), /TTL/);
  assert.deepEqual(sleeps, [], 'a 400 is not retried');
});

const failures: Array<{
  name: string;
  path: string;
  delivery: DeliverySpec;
  dls: boolean;
  want: number;
  attempts: number;
  sleeps: number[];
  dead?: { code: string; data: RegExp };
}> = [
  {
    name: '500 without a dead-letter sink: retried d·2^i, then ingress answers 500',
    path: '/fail500',
    delivery: { retry: 2, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' },
    dls: false,
    want: 500,
    attempts: 3,
    sleeps: [200, 400],
  },
  {
    name: '500 retried d·i (the first retry at once), then dead-lettered: 202',
    path: '/fail500',
    delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.5S' },
    dls: true,
    want: 202,
    attempts: 4,
    sleeps: [0, 500, 1000],
    dead: { code: '500', data: /^boom$/ },
  },
  {
    name: '400 is not retried and is dead-lettered with the body in knativeerrordata',
    path: '/bad400',
    delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.1S' },
    dls: true,
    want: 202,
    attempts: 1,
    sleeps: [],
    dead: { code: '400', data: /^destination-response$/ },
  },
  {
    name: 'a 2xx with a body that is not a CloudEvent is a 502, retried and dead-lettered',
    path: '/garbage',
    delivery: { retry: 1, backoffPolicy: 'exponential', backoffDelay: 'PT0.1S' },
    dls: true,
    want: 202,
    attempts: 2,
    sleeps: [100],
    dead: { code: '502', data: /^received a non-empty response not recognized as CloudEvent/ },
  },
  {
    name: 'no answer within delivery.timeout is code 500 with a dispatch error',
    path: '/slow',
    delivery: { timeout: 'PT0.2S' },
    dls: true,
    want: 202,
    attempts: 1,
    sleeps: [],
    dead: { code: '500', data: /^dispatch error: .*delivery\.timeout/ },
  },
];

for (const c of failures) {
  test(`delivery: ${c.name}`, async () => {
    triggers = [trigger('t', c.path, { type: 'x' }, c.delivery, c.dls)];
    const r = await post(`/${NS}/b`, binary('f1', 'x'), '{"n":1}');
    assert.equal(r.status, c.want, r.body);
    assert.equal(at(c.path).length, c.attempts, 'attempts at the subscriber');
    assert.deepEqual(sleeps, c.sleeps, 'the waits between attempts');
    const dead = at('/dls');
    if (!c.dead) {
      assert.equal(dead.length, 0);
      return;
    }
    assert.equal(dead.length, 1);
    const h = dead[0]!.headers;
    assert.equal(h['ce-id'], 'f1');
    assert.equal(dead[0]!.body, '{"n":1}');
    assert.equal(h['ce-knativeerrordest'], `${subUrl}${c.path}`);
    assert.equal(h['ce-knativeerrorcode'], c.dead.code);
    assert.match(decode(h['ce-knativeerrordata']), c.dead.data);
    assert.equal(h['ce-knativebrokerttl'], '255', 'the dead-letter sink gets the channel copy, TTL included');
  });
}

test('a subscriber that cannot be reached is dead-lettered with code 500 and `dispatch error: …`', async () => {
  const t = trigger('t', '/ok', { type: 'x' }, { retry: 0 }, true);
  t.status = { ...t.status, subscriberUri: 'http://127.0.0.1:9/gone' };
  triggers = [t];
  const r = await post(`/${NS}/b`, binary('u1', 'x'), '{}');
  assert.equal(r.status, 202, r.body);
  const h = at('/dls')[0]?.headers;
  assert.equal(h?.['ce-knativeerrordest'], 'http://127.0.0.1:9/gone');
  assert.equal(h?.['ce-knativeerrorcode'], '500');
  assert.match(decode(h?.['ce-knativeerrordata']), /^dispatch error: .*ECONNREFUSED/);
});

test('a failing Trigger does not hold back the others; ingress answers 500 naming it', async () => {
  triggers = [trigger('bad', '/fail500', {}, { retry: 0 }), trigger('good', '/ok', {})];
  const r = await post(`/${NS}/b`, binary('m1', 'x'), '{}');
  assert.equal(r.status, 500);
  assert.match(r.body, /delivery failed for trigger\(s\) bad/);
  assert.equal(at('/ok').length, 1);
});
