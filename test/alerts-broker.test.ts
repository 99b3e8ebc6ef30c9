// `type: broker` alerts: the Broker is read through the API at each send; embedded, the POST goes to the router
// with the Broker's cluster-local Host and path; on a cluster, to status.address.url. A missing or not-Ready
// Broker is AlertBrokerNotReady and retried, so an event published while the Broker comes up still arrives.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { HTTP, type CloudEventV1 } from 'cloudevents';
import { createLogger } from '../src/observability/logger.js';
import {
  AlertDispatcher,
  AlertError,
  brokerNotReadyReason,
  brokerTarget,
  postWithHost,
  type AlertEvent,
  type BrokerLike,
  type WireEvent,
} from '../src/alerts/index.js';
import { waitFor } from './support/procs.js';

const INGRESS = 'http://broker-ingress.knative-eventing.svc.cluster.local';

const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  }),
});

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function event(o: Partial<AlertEvent> = {}): AlertEvent {
  return {
    id: `ev-${Math.random().toString(36).slice(2)}`,
    type: 'rolledBack',
    namespace: 'shop',
    service: 'web',
    rollout: 'web',
    phase: 'RolledBack',
    stableRevision: 'web-00001',
    canaryRevision: 'web-00002',
    canaryWeight: 20,
    stableWeight: 80,
    message: 'web-00002 rolled back',
    time: Date.parse('2026-11-23T10:00:00Z'),
    severity: 'critical',
    ...o,
  };
}

function ready(ns: string, name: string): BrokerLike {
  return {
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      address: { url: `${INGRESS}/${ns}/${name}` },
    },
  };
}

interface Got {
  host: string | undefined;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function receiver(status = 202) {
  const got: Got[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({
        host: req.headers.host,
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(status).end(status >= 400 ? 'nope' : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { base, got };
}

test('brokerTarget: embedded goes to the router with the address host; cluster goes to the address', () => {
  const rows: Array<{
    name: string;
    address: string;
    router: string | undefined;
    want: { url: string; host?: string };
  }> = [
    {
      name: 'embedded',
      address: `${INGRESS}/default/example-broker`,
      router: 'http://127.0.0.1:8080',
      want: {
        url: 'http://127.0.0.1:8080/default/example-broker',
        host: 'broker-ingress.knative-eventing.svc.cluster.local',
      },
    },
    {
      name: 'embedded, router with a trailing slash',
      address: `${INGRESS}/ns/b`,
      router: 'http://127.0.0.1:9/',
      want: { url: 'http://127.0.0.1:9/ns/b', host: 'broker-ingress.knative-eventing.svc.cluster.local' },
    },
    { name: 'cluster', address: `${INGRESS}/ns/b`, router: undefined, want: { url: `${INGRESS}/ns/b` } },
    { name: 'empty router is a cluster', address: `${INGRESS}/ns/b`, router: '', want: { url: `${INGRESS}/ns/b` } },
  ];
  for (const r of rows) assert.deepEqual(brokerTarget(r.address, r.router), r.want, r.name);
});

test('brokerNotReadyReason: missing, not Ready (with reason and message), no address, Ready', () => {
  const rows: Array<[string, BrokerLike | undefined, string | undefined]> = [
    ['missing', undefined, 'not found'],
    ['no status', {}, 'is not Ready'],
    [
      'Ready False',
      { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ChannelTemplateFailed', message: 'x' }] } },
      'is not Ready (ChannelTemplateFailed: x)',
    ],
    ['Ready Unknown, no reason', { status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }, 'is not Ready'],
    ['Ready but no address', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 'has no address'],
    ['Ready', ready('a', 'b'), undefined],
  ];
  for (const [name, b, want] of rows) assert.equal(brokerNotReadyReason(b), want, name);
});

test('postWithHost keeps the Host header and classifies statuses as post does', async () => {
  const ok = await receiver(202);
  const sig = new AbortController().signal;
  const r = await postWithHost(`${ok.base}/ns/b`, 'broker-ingress.example', 'x', { 'ce-id': '1' }, sig, Date.now);
  assert.equal(r.status, 202);
  assert.equal(ok.got[0]?.host, 'broker-ingress.example');
  assert.equal(ok.got[0]?.url, '/ns/b');
  const bad = await receiver(503);
  await assert.rejects(
    postWithHost(`${bad.base}/ns/b`, 'h', 'x', {}, sig, Date.now),
    (e: unknown) => e instanceof AlertError && e.code === 'AlertHttpStatus' && e.retryable && e.status === 503,
  );
  const notFound = await receiver(404);
  await assert.rejects(
    postWithHost(`${notFound.base}/ns/b`, 'h', 'x', {}, sig, Date.now),
    (e: unknown) => e instanceof AlertError && !e.retryable && e.status === 404,
  );
  await assert.rejects(
    postWithHost('http://127.0.0.1:1/x', 'h', 'x', {}, sig, Date.now),
    (e: unknown) => e instanceof AlertError && e.code === 'AlertNetwork' && e.retryable,
  );
});

test('broker sink: a binary CloudEvent through the router, namespace defaulted to the Service; not Ready is retried', async () => {
  const router = await receiver(202);
  const brokers = new Map<string, BrokerLike>();
  const reads: string[] = [];
  const d = new AlertDispatcher({
    logger,
    retry: { baseMs: 30, maxMs: 200, maxAttempts: 8 },
    timeoutMs: 2000,
    random: () => 0,
    broker: {
      getBroker: async (ns, name) => {
        reads.push(`${ns}/${name}`);
        return brokers.get(`${ns}/${name}`);
      },
      routerUrl: async () => router.base,
    },
  });
  cleanups.push(() => d.close());
  const ev = event();
  // The Broker does not exist yet: the first attempts fail with AlertBrokerNotReady.
  d.notify(ev, [{ type: 'broker', broker: 'rollouts' }]);
  await waitFor('a failed attempt', () => logLines.some((l) => l.includes('AlertBrokerNotReady')), 5000);
  assert.ok(logLines.some((l) => l.includes('broker shop/rollouts not found')));
  brokers.set('shop/rollouts', ready('shop', 'rollouts'));
  await waitFor('delivered through the router', () => router.got.length === 1, 5000);
  await d.idle();
  assert.ok(
    reads.every((r) => r === 'shop/rollouts'),
    'namespace defaults to the Service',
  );
  const g = router.got[0]!;
  assert.equal(g.host, 'broker-ingress.knative-eventing.svc.cluster.local');
  assert.equal(g.url, '/shop/rollouts');
  assert.equal(g.headers['ce-type'], 'dev.sluice.rollout.rolledback', 'binary mode');
  const ce = HTTP.toEvent({ headers: g.headers, body: g.body }) as CloudEventV1<WireEvent>;
  assert.equal(ce.id, ev.id);
  assert.equal(ce.source, '/apis/delivery.sluice.dev/v1alpha1/namespaces/shop/rollouts/web');
  assert.equal(ce.data?.kind, 'RolloutEvent');
  assert.equal(ce.data?.canaryRevision, 'web-00002');
});

test('broker sink: cluster mode posts to status.address.url; an explicit namespace wins', async () => {
  const ingress = await receiver(202);
  const d = new AlertDispatcher({
    logger,
    retry: { baseMs: 20, maxMs: 100, maxAttempts: 2 },
    random: () => 0,
    broker: {
      getBroker: async (ns, name) =>
        ns === 'events' && name === 'mesh'
          ? {
              status: {
                conditions: [{ type: 'Ready', status: 'True' }],
                address: { url: `${ingress.base}/events/mesh` },
              },
            }
          : undefined,
    },
  });
  cleanups.push(() => d.close());
  d.notify(event({ type: 'started', severity: 'info' }), [{ type: 'broker', broker: 'mesh', namespace: 'events' }]);
  await waitFor('delivered', () => ingress.got.length === 1, 5000);
  assert.equal(ingress.got[0]!.url, '/events/mesh');
  assert.equal(ingress.got[0]!.headers['ce-type'], 'dev.sluice.rollout.started');
});

test('broker sink: without a Broker reader the sink is refused as AlertConfig', async () => {
  const d = new AlertDispatcher({ logger, retry: { baseMs: 10, maxMs: 10, maxAttempts: 1 } });
  cleanups.push(() => d.close());
  const r = d.notify(event(), [{ type: 'broker', broker: 'x' }]);
  await d.idle();
  assert.equal(r.skipped, 1);
  assert.ok(logLines.some((l) => l.includes('this controller cannot read Brokers')));
});
