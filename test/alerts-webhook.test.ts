// Webhook sink and dispatcher behaviour against real loopback HTTP servers: signatures and replay rejection,
// retries, dead sinks, de-duplication, bounded queues, secrets and log redaction.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { createLogger } from '../src/observability/logger.js';
import { ManualClock } from '../src/util/clock.js';
import {
  AlertDispatcher,
  AlertError,
  EnvSecretResolver,
  FunctionSecretResolver,
  KubeSecretResolver,
  retryDelay,
  parseRetryAfter,
  redactSinkUrl,
  signWebhook,
  verifyWebhookSignature,
  toAlertEvent,
  eventKey,
  type AlertEvent,
  type AlertSinkSpec,
  type SecretKeyRef,
} from '../src/alerts/index.js';
import { AlertNotifier } from '../src/alerts/index.js';
import { notificationsOf, type Notifier } from '../src/rollout/controller/index.js';
import { freePort, waitFor } from './support/procs.js';

// ---- shared fixtures -------------------------------------------------------------------------------------------

const HMAC_KEY = 'hmac-key-0123456789-DO-NOT-LOG';
const URL_PASSWORD = 'url-password-SECRET-42';
const QUERY_TOKEN = 'query-token-SECRET-77';
const SECRETS: Record<string, string> = { 'default/hooks/hmac': HMAC_KEY };

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
const secrets = new FunctionSecretResolver(
  async (ns: string, ref: SecretKeyRef) => SECRETS[`${ns}/${ref.name}/${ref.key}`],
);

let seq = 0;
function event(o: Partial<AlertEvent> = {}): AlertEvent {
  seq++;
  return {
    id: `ev-${seq}`,
    type: 'rolledBack',
    namespace: 'default',
    service: 'web',
    rollout: 'web',
    phase: 'RolledBack',
    stableRevision: 'web-00001',
    canaryRevision: 'web-00002',
    canaryWeight: 0,
    stableWeight: 100,
    step: { index: 2, total: 4 },
    failedMetric: { name: 'success-rate', value: 0.82, thresholdRange: { min: 0.99 }, query: 'sum(rate(x[1m]))' },
    commit: { sha: '0123456789abcdef0123456789abcdef01234567', message: 'web: bump image' },
    message: 'web-00001 serves 100%; web-00002 rolled back',
    time: Date.now(),
    severity: 'critical',
    ...o,
  };
}

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

interface Receiver {
  url: string;
  got: Received[];
  server: Server;
  close(): Promise<void>;
}

/** A loopback HTTP server; `respond` decides each answer (default 200). */
async function receiver(
  respond: (r: Received, res: ServerResponse, n: number) => void = (_r, res) => {
    res.writeHead(200).end();
  },
): Promise<Receiver> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() };
      got.push(r);
      respond(r, res, got.length);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    server,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function dispatcher(o: ConstructorParameters<typeof AlertDispatcher>[0] = {}): AlertDispatcher {
  const d = new AlertDispatcher({
    secrets,
    logger,
    retry: { baseMs: 20, maxMs: 200, maxAttempts: 5 },
    timeoutMs: 2000,
    ...o,
  });
  cleanups.push(() => d.close());
  return d;
}

// ---- pure parts ------------------------------------------------------------------------------------------------

test('retryDelay: exponential with equal jitter, capped, honours Retry-After, stops after maxAttempts', () => {
  const p = { maxAttempts: 4, baseMs: 1000, maxMs: 3000, factor: 2 };
  const rows: Array<{ name: string; attempt: number; rnd: number; retryAfter?: number; want: number | null }> = [
    { name: 'first failure, no jitter drawn', attempt: 1, rnd: 0, want: 500 },
    { name: 'first failure, max jitter', attempt: 1, rnd: 0.999999, want: 1000 },
    { name: 'second failure doubles', attempt: 2, rnd: 0, want: 1000 },
    { name: 'third failure is capped at maxMs', attempt: 3, rnd: 0.999999, want: 3000 },
    { name: 'Retry-After raises the delay', attempt: 1, rnd: 0, retryAfter: 2000, want: 2000 },
    { name: 'Retry-After is capped too', attempt: 1, rnd: 0, retryAfter: 60_000, want: 3000 },
    { name: 'no attempts left', attempt: 4, rnd: 0.5, want: null },
    { name: 'nonsense attempt', attempt: 0, rnd: 0.5, want: null },
  ];
  for (const r of rows)
    assert.equal(
      retryDelay(r.attempt, () => r.rnd, p, r.retryAfter),
      r.want,
      r.name,
    );
  assert.equal(parseRetryAfter('2', 0), 2000);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(parseRetryAfter('soon', 0), undefined);
});

test('verifyWebhookSignature: ok, stale either side, tampered, malformed, missing', () => {
  const body = '{"a":1}';
  const now = 1_700_000_000_000;
  const ts = String(now / 1000);
  const sig = signWebhook('k', ts, body);
  assert.deepEqual(verifyWebhookSignature('k', ts, body, sig, now), { ok: true });
  assert.deepEqual(verifyWebhookSignature('k', ts, Buffer.from(body), sig, now + 299_000, 300), { ok: true });
  assert.deepEqual(verifyWebhookSignature('k', ts, body, sig, now + 301_000, 300), { ok: false, reason: 'stale' });
  assert.deepEqual(verifyWebhookSignature('k', ts, body, sig, now - 301_000, 300), { ok: false, reason: 'stale' });
  assert.deepEqual(verifyWebhookSignature('k', ts, '{"a":2}', sig, now), { ok: false, reason: 'mismatch' });
  assert.deepEqual(verifyWebhookSignature('other', ts, body, sig, now), { ok: false, reason: 'mismatch' });
  assert.deepEqual(verifyWebhookSignature('k', String(Number(ts) + 1), body, sig, now), {
    ok: false,
    reason: 'mismatch',
  });
  assert.deepEqual(verifyWebhookSignature('k', ts, body, sig.slice(0, -2), now), { ok: false, reason: 'malformed' });
  assert.deepEqual(verifyWebhookSignature('k', 'yesterday', body, sig, now), { ok: false, reason: 'malformed' });
  assert.deepEqual(verifyWebhookSignature('k', undefined, body, sig, now), { ok: false, reason: 'missing' });
});

test('toAlertEvent maps a machine notify action; eventKey ignores id, time and message', () => {
  const e = toAlertEvent(
    {
      event: 'step',
      namespace: 'ns',
      service: 'web',
      revision: 'web-2',
      stableRevision: 'web-1',
      step: 1,
      weight: 20,
      message: 'step 1: 20% to web-2',
      at: 5,
    },
    { totalSteps: 3 },
  );
  assert.equal(e.phase, 'Progressing');
  assert.equal(e.stableWeight, 80);
  assert.deepEqual(e.step, { index: 1, total: 3 });
  assert.equal(e.severity, 'info');
  assert.equal(eventKey(e), eventKey({ ...e, id: 'other', time: 99, message: 'restarted' }));
  assert.notEqual(eventKey(e), eventKey({ ...e, step: { index: 2, total: 3 } }));
});

test('secret resolvers: env variables, core/v1 Secret data (base64) and stringData, typed not-found errors', async () => {
  const env = new EnvSecretResolver({ SLUICE_SECRET_PROD_HOOKS_HMAC: 'a', SLUICE_SECRET_HOOKS_TOKEN: 'b' });
  assert.equal(await env.resolve('prod', { name: 'hooks', key: 'hmac' }), 'a');
  assert.equal(await env.resolve('other', { name: 'hooks', key: 'token' }), 'b');
  await assert.rejects(
    env.resolve('prod', { name: 'nope', key: 'x' }),
    (e: unknown) => e instanceof AlertError && e.code === 'AlertSecretNotFound' && e.retryable,
  );
  let reads = 0;
  const kube = new KubeSecretResolver(async (ns, name) => {
    reads++;
    return ns === 'default' && name === 'slack'
      ? { data: { address: Buffer.from('https://hooks.example/x').toString('base64') }, stringData: { plain: 'p' } }
      : undefined;
  });
  assert.equal(await kube.resolve('default', { name: 'slack', key: 'address' }), 'https://hooks.example/x');
  assert.equal(await kube.resolve('default', { name: 'slack', key: 'plain' }), 'p');
  assert.equal(reads, 1, 'cached within the TTL');
  await assert.rejects(kube.resolve('default', { name: 'slack', key: 'missing' }), /has no key missing/);
  await assert.rejects(kube.resolve('default', { name: 'gone', key: 'k' }), /not found/);
});

test('redactSinkUrl hides userinfo, query values and (for secret URLs) the path', () => {
  assert.equal(
    redactSinkUrl('https://hooks.slack.com/services/T0/B0/XYZ', { secretPath: true }),
    'https://hooks.slack.com/[REDACTED]',
  );
  assert.equal(
    redactSinkUrl('http://u:pw@h:9/hook?token=abc&x=1'),
    'http://[REDACTED]@h:9/hook?token=[REDACTED]&x=[REDACTED]',
  );
  assert.equal(redactSinkUrl('http://h/hook'), 'http://h/hook');
  assert.equal(redactSinkUrl('https://h/api/webhooks/1234/AbCd1234efGh'), 'https://h/api/webhooks/1234/[REDACTED]');
  assert.equal(redactSinkUrl('not a url'), '[unparsable URL]');
});

// ---- against real servers --------------------------------------------------------------------------------------

test('webhook: receiver verifies the signature; a replay with an old timestamp, a re-stamped replay and a bad signature are rejected', async () => {
  let skewMs = 0;
  const accepted: Received[] = [];
  const rx = await receiver((r, res) => {
    const v = verifyWebhookSignature(
      HMAC_KEY,
      r.headers['x-sluice-timestamp'] as string,
      r.body,
      r.headers['x-sluice-signature-256'] as string,
      Date.now() + skewMs,
      300,
    );
    if (!v.ok) {
      res.writeHead(401).end(v.reason);
      return;
    }
    accepted.push(r);
    res.writeHead(204).end();
  });
  cleanups.push(rx.close);
  const d = dispatcher();
  const sinks: AlertSinkSpec[] = [{ type: 'webhook', url: rx.url, secretRef: { name: 'hooks', key: 'hmac' } }];
  const ev = event();
  const receipt = d.notify(ev, sinks);
  assert.equal(receipt.queued, 1);
  await waitFor('signed delivery', () => accepted.length === 1);
  const r = accepted[0]!;
  assert.match(String(r.headers['x-sluice-signature-256']), /^sha256=[0-9a-f]{64}$/);
  assert.equal(r.headers['x-sluice-event'], 'rolledBack');
  assert.equal(r.headers['x-sluice-delivery'], ev.id);
  assert.equal(r.headers['content-type'], 'application/json');
  const body = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(body['kind'], 'RolloutEvent');
  assert.equal(body['canaryRevision'], 'web-00002');
  assert.deepEqual(body['failedMetric'], ev.failedMetric);
  assert.equal(body['time'], new Date(ev.time).toISOString());

  const replay = (headers: Record<string, string>, payload = r.body): Promise<Response> =>
    fetch(rx.url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', ...headers } });
  const orig = {
    'x-sluice-timestamp': String(r.headers['x-sluice-timestamp']),
    'x-sluice-signature-256': String(r.headers['x-sluice-signature-256']),
  };
  // the same request, replayed 10 minutes later
  skewMs = 600_000;
  let res = await replay(orig);
  assert.equal(res.status, 401);
  assert.equal(await res.text(), 'stale');
  // re-stamped with a fresh timestamp: the MAC covers the timestamp, so it no longer matches
  res = await replay({ ...orig, 'x-sluice-timestamp': String(Math.floor((Date.now() + skewMs) / 1000)) });
  assert.equal(await res.text(), 'mismatch');
  skewMs = 0;
  // tampered body, and a signature made with another key
  res = await replay(orig, r.body.replace('web-00002', 'web-00003'));
  assert.equal(await res.text(), 'mismatch');
  res = await replay({
    ...orig,
    'x-sluice-signature-256': signWebhook('wrong-key', orig['x-sluice-timestamp'], r.body),
  });
  assert.equal(await res.text(), 'mismatch');
  // the original, in time, still verifies
  res = await replay(orig);
  assert.equal(res.status, 204);
});

test('retries with back-off until a flaky receiver succeeds (500, 500, 200); counters on the registry', async () => {
  const rx = await receiver((_r, res, n) => {
    res.writeHead(n < 3 ? 500 : 200).end(n < 3 ? 'boom' : 'ok');
  });
  cleanups.push(rx.close);
  const registry = new Registry();
  const d = dispatcher({ registry, random: () => 0.5 });
  const ev = event({ type: 'analysisFailed' });
  d.notify(ev, [{ type: 'webhook', url: rx.url }]);
  await waitFor('third attempt', () => rx.got.length === 3);
  await d.idle();
  assert.deepEqual(
    rx.got.map((g) => g.headers['x-sluice-delivery']),
    [ev.id, ev.id, ev.id],
    'same delivery id on every retry',
  );
  // equal jitter at 0.5: 15 ms then 30 ms
  assert.ok(rx.got[1]!.at - rx.got[0]!.at >= 12, `first back-off ${rx.got[1]!.at - rx.got[0]!.at} ms`);
  assert.ok(rx.got[2]!.at - rx.got[1]!.at >= 25, `second back-off ${rx.got[2]!.at - rx.got[1]!.at} ms`);
  const text = await registry.metrics();
  assert.match(text, /sluice_alerts_delivered_total\{sink="webhook"\} 1/);
  assert.match(text, /sluice_alerts_failed_attempts_total\{sink="webhook"\} 2/);
  const s = d.stats()[0]!;
  assert.equal(s.delivered, 1);
  assert.equal(s.failedAttempts, 2);
  assert.ok(logLines.some((l) => l.includes('will retry') && l.includes('HTTP 500')));
});

test('a permanent 4xx is not retried', async () => {
  const rx = await receiver((_r, res) => {
    res.writeHead(400).end('invalid_payload');
  });
  cleanups.push(rx.close);
  const d = dispatcher();
  d.notify(event(), [{ type: 'webhook', url: rx.url }]);
  await d.idle();
  assert.equal(rx.got.length, 1);
  assert.equal(d.stats()[0]!.dropped, 1);
});

// Independence is shown by order, not by a latency bound (figures are in `npm run bench`): the hanging sink's
// first attempt only ends at its timeout, so a good sink queued behind it would get nothing before an
// AlertTimeout is logged. It must get all five events before that.
test('a dead sink (connection refused, hanging) does not delay another sink', async () => {
  const refusedPort = await freePort();
  const hanging = await receiver(() => {
    /* never answers */
  });
  cleanups.push(hanging.close);
  const good = await receiver();
  cleanups.push(good.close);
  const timeoutMs = 4000;
  const d = dispatcher({ timeoutMs });
  const logsBefore = logLines.length;
  const mine = (): string[] => logLines.slice(logsBefore);
  const sinks: AlertSinkSpec[] = [
    // credentials in userinfo and query, to check they never reach a log line
    {
      type: 'webhook',
      url: `http://alice:${URL_PASSWORD}@127.0.0.1:${refusedPort}/hook?token=${QUERY_TOKEN}`,
      secretRef: { name: 'hooks', key: 'hmac' },
    },
    { type: 'webhook', url: hanging.url },
    { type: 'webhook', url: good.url },
  ];
  for (let i = 0; i < 5; i++) {
    const r = d.notify(event({ type: 'step', step: { index: i, total: 5 } }), sinks);
    assert.equal(r.queued, 3);
    await waitFor(`good sink gets event ${i}`, () => good.got.length === i + 1, 2 * timeoutMs, 2);
  }
  assert.ok(
    !mine().some((l) => l.includes('AlertTimeout')),
    'all five reached the good sink before the hanging sink timed out once',
  );
  assert.deepEqual(
    good.got.map((g) => (JSON.parse(g.body) as AlertEvent).step?.index),
    [0, 1, 2, 3, 4],
    'in order',
  );
  // the dead ones are failing and retrying on their own queues
  await waitFor(
    'refused and timed-out attempts logged',
    () =>
      mine().some((l) => l.includes('AlertNetwork') && l.includes('ECONNREFUSED')) &&
      mine().some((l) => l.includes('AlertTimeout')),
    4 * timeoutMs,
  );
  await waitFor('the good sink counted five deliveries', () => d.stats()[2]!.delivered === 5, 5000);
  const stats = d.stats();
  assert.ok(stats[0]!.failedAttempts >= 1 && stats[0]!.delivered === 0);
  assert.ok(stats[1]!.failedAttempts >= 1 && stats[1]!.delivered === 0);
});

test('de-duplication: the same event key to the same sink within the window is sent once', async () => {
  const rx = await receiver();
  cleanups.push(rx.close);
  const clock = new ManualClock(Date.now());
  const d = dispatcher({ clock, dedupeWindowMs: 60_000 });
  const sinks: AlertSinkSpec[] = [{ type: 'webhook', url: rx.url }];
  const a = event({ type: 'paused' });
  assert.equal(d.notify(a, sinks).queued, 1);
  // a controller restart recomputes the same notify: new id, later time, same key
  clock.advance(30_000);
  assert.deepEqual(d.notify({ ...a, id: 'again', time: a.time + 30_000 }, sinks), {
    queued: 0,
    duplicates: 1,
    dropped: 0,
    skipped: 0,
  });
  // a different step is a different event
  assert.equal(d.notify({ ...a, id: 'next', step: { index: 3, total: 4 } }, sinks).queued, 1);
  // after the window it is sent again
  clock.advance(30_001);
  assert.equal(d.notify({ ...a, id: 'later' }, sinks).queued, 1);
  // a sink's events filter skips what it does not want
  assert.equal(
    d.notify(event({ type: 'started' }), [{ type: 'webhook', url: rx.url, events: ['rolledBack'] }]).skipped,
    1,
  );
  await d.idle();
  assert.deepEqual(
    rx.got.map((g) => g.headers['x-sluice-delivery']),
    [a.id, 'next', 'later'],
  );
});

test('bounded queue: a stuck sink drops its oldest waiting jobs', async () => {
  const hanging = await receiver(() => {
    /* never answers */
  });
  cleanups.push(hanging.close);
  const registry = new Registry();
  const d = new AlertDispatcher({ secrets, logger, registry, maxQueue: 2, timeoutMs: 10_000 });
  const sinks: AlertSinkSpec[] = [{ type: 'webhook', url: hanging.url }];
  let dropped = 0;
  for (let i = 0; i < 5; i++) dropped += d.notify(event({ type: 'step', step: { index: i, total: 5 } }), sinks).dropped;
  // the first is in flight, two wait, two were dropped
  assert.equal(dropped, 2);
  assert.equal(d.stats()[0]!.waiting, 2);
  assert.match(await registry.metrics(), /sluice_alerts_dropped_total\{sink="webhook",reason="queueFull"\} 2/);
  const t0 = performance.now();
  await d.close();
  assert.ok(performance.now() - t0 < 1000, 'close aborts the in-flight request');
  assert.equal(d.notify(event(), sinks).skipped, 1, 'closed dispatcher takes nothing');
});

test('secrets: a missing secret is retried and named in the log, never its value', async () => {
  const rx = await receiver();
  cleanups.push(rx.close);
  let present = false;
  const late = new FunctionSecretResolver(async () => (present ? HMAC_KEY : undefined));
  const d = dispatcher({ secrets: late });
  d.notify(event(), [{ type: 'webhook', url: rx.url, secretRef: { name: 'late-hooks' } }]);
  await waitFor('not-found logged', () =>
    logLines.some((l) => l.includes('AlertSecretNotFound') && l.includes('late-hooks')),
  );
  present = true;
  await waitFor('delivered once the secret exists', () => rx.got.length === 1);
  const r = rx.got[0]!;
  assert.ok(
    verifyWebhookSignature(
      HMAC_KEY,
      r.headers['x-sluice-timestamp'] as string,
      r.body,
      r.headers['x-sluice-signature-256'] as string,
      Date.now(),
    ).ok,
  );
});

test("AlertNotifier fits the rollout controller: its notifications reach the policy's sinks, redeliveries once", async () => {
  const rx = await receiver();
  cleanups.push(rx.close);
  const d = dispatcher();
  const notifier: Notifier = new AlertNotifier(d, {
    extras: () => ({ totalSteps: 3, failedMetric: { name: 'error-rate', value: 0.2, thresholdRange: { max: 0.01 } } }),
  });
  const [n] = notificationsOf(
    [
      {
        kind: 'notify',
        event: 'rolledBack',
        namespace: 'default',
        service: 'api',
        revision: 'api-00002',
        stableRevision: 'api-00001',
        step: 1,
        weight: 0,
        message: 'api-00001 serves 100%',
        at: Date.now(),
      },
    ],
    [{ type: 'webhook', url: rx.url, secretRef: { name: 'hooks', key: 'hmac' } }],
  );
  await notifier.notify(n!);
  await notifier.notify(n!); // the controller's outbox redelivers after a crash
  await waitFor('delivery', () => rx.got.length === 1);
  await d.idle();
  assert.equal(rx.got.length, 1);
  const body = JSON.parse(rx.got[0]!.body) as AlertEvent;
  assert.equal(body.id, n!.id);
  assert.equal(body.phase, 'RolledBack');
  assert.deepEqual(body.step, { index: 1, total: 3 });
  assert.equal(body.failedMetric?.name, 'error-rate');
});

test('no secret value appears in any log line', () => {
  assert.ok(logLines.length > 10, `captured ${logLines.length} lines`);
  assert.ok(
    logLines.some((l) => l.includes('[REDACTED]')),
    'redacted URLs were logged',
  );
  for (const s of [HMAC_KEY, URL_PASSWORD, QUERY_TOKEN]) {
    const hit = logLines.find((l) => l.includes(s));
    assert.equal(hit, undefined, `secret leaked: ${hit}`);
  }
});
