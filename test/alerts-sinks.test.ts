// Slack and CloudEvents sinks against real loopback receivers: a Slack-shaped incoming webhook (URL from a
// core/v1-style Secret, 429 + Retry-After honoured) and a CloudEvents receiver built with the SDK's HTTP.toEvent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { HTTP, type CloudEventV1 } from 'cloudevents';
import { createLogger } from '../src/observability/logger.js';
import {
  AlertDispatcher,
  KubeSecretResolver,
  slackMessage,
  cloudEventType,
  toCloudEvent,
  type AlertEvent,
  type AlertSinkSpec,
  type SecretLike,
  type WireEvent,
} from '../src/alerts/index.js';
import { freePort, waitFor } from './support/procs.js';

const SLACK_TOKEN = 'XOXSECRETslacktoken0123456789';
const DEAD_SLACK_TOKEN = 'DEADSECRETslacktoken987654321';
const CE_TOKEN = 'ce-bearer-SECRET-31337';

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

/** Secrets as the API server would return them: base64 `data`. */
const store = new Map<string, SecretLike>();
function putSecret(ns: string, name: string, data: Record<string, string>): void {
  store.set(`${ns}/${name}`, {
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });
}
const secrets = new KubeSecretResolver(async (ns, name) => store.get(`${ns}/${name}`), { ttlMs: 0 });

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
    step: { index: 1, total: 3 },
    failedMetric: {
      name: 'success-rate',
      value: 0.8234,
      thresholdRange: { min: 0.99 },
      query: 'sum(rate(revision_request_count[1m]))',
    },
    commit: { sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', message: 'web: new checkout flow\n\nlong body' },
    message: 'web-00001 serves 100%; web-00002 rolled back (success-rate below 0.99)',
    time: Date.parse('2026-11-23T10:00:00Z'),
    severity: 'critical',
    ...o,
  };
}

interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

async function receiver(respond: (r: Received, res: ServerResponse, n: number) => void) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      };
      got.push(r);
      respond(r, res, got.length);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const close = (): Promise<void> =>
    new Promise<void>((res) => {
      server.closeAllConnections();
      server.close(() => res());
    });
  cleanups.push(close);
  return { base, got };
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function dispatcher(): AlertDispatcher {
  const d = new AlertDispatcher({
    secrets,
    logger,
    retry: { baseMs: 20, maxMs: 2000, maxAttempts: 4 },
    timeoutMs: 2000,
    random: () => 0,
  });
  cleanups.push(() => d.close());
  return d;
}

test('slackMessage: text and blocks carry service, revisions, weights, metric vs threshold and the commit', () => {
  const m = slackMessage(event());
  for (const s of [
    'shop/web',
    'rolled back',
    'web-00002',
    'web-00001',
    '20% / 80%',
    'success-rate = 0.8234',
    '≥ 0.99',
    'a1b2c3d4e5f6',
    'new checkout flow',
  ]) {
    assert.ok(m.text.includes(s), `text has ${s}: ${m.text}`);
  }
  const blob = JSON.stringify(m.blocks);
  for (const s of [
    '*Canary*',
    '*Stable*',
    '*Weights*',
    '*Step*\\n1/3',
    '*Failed metric*',
    '0.8234 (threshold min 0.99)',
    '*Commit*',
    'a1b2c3d4e5f6',
  ]) {
    assert.ok(blob.includes(s), `blocks have ${s}`);
  }
  assert.ok(!m.text.includes('long body'), 'only the commit subject');
  const esc = slackMessage(event({ message: 'a <b> & c' }));
  assert.ok(esc.text.includes('a &lt;b&gt; &amp; c'));
});

test('slack: the incoming-webhook URL comes from a Secret; 429 + Retry-After is honoured; the message is complete', async () => {
  const rx = await receiver((_r, res, n) => {
    if (n === 1) res.writeHead(429, { 'retry-after': '1' }).end('rate_limited');
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const hook = `${rx.base}/services/T000/B000/${SLACK_TOKEN}`;
  putSecret('shop', 'slack', { address: hook });
  // a second Slack sink whose URL (also a secret) points nowhere: its failures must not leak the token
  putSecret('shop', 'slack-dead', {
    address: `http://127.0.0.1:${await freePort()}/services/T000/B000/${DEAD_SLACK_TOKEN}`,
  });
  const d = dispatcher();
  const sinks: AlertSinkSpec[] = [
    { type: 'slack', secretRef: { name: 'slack' } },
    { type: 'slack', secretRef: { name: 'slack-dead', key: 'address' } },
  ];
  const r = d.notify(event(), sinks);
  assert.equal(r.queued, 2);
  await waitFor('slack delivery after the 429', () => rx.got.length === 2, 5000);
  assert.ok(
    rx.got[1]!.at - rx.got[0]!.at >= 900,
    `waited ${(rx.got[1]!.at - rx.got[0]!.at).toFixed(0)} ms after Retry-After: 1`,
  );
  assert.equal(rx.got[1]!.url, `/services/T000/B000/${SLACK_TOKEN}`);
  assert.equal(rx.got[1]!.headers['content-type'], 'application/json');
  const msg = JSON.parse(rx.got[1]!.body) as { text: string; blocks: unknown[] };
  assert.ok(msg.text.includes('success-rate = 0.8234 (want ≥ 0.99)'), msg.text);
  assert.ok(msg.text.includes('commit a1b2c3d4e5f6'), msg.text);
  assert.ok(JSON.stringify(msg.blocks).includes('threshold min 0.99'));
  await waitFor(
    'dead slack sink failure logged',
    () => logLines.some((l) => l.includes('slack-dead') && l.includes('ECONNREFUSED')),
    5000,
  );
});

test('cloudevents: an SDK receiver (HTTP.toEvent) parses binary and structured modes; a 503 is retried', async () => {
  const parsed: Array<{ mode: string; ce: CloudEventV1<WireEvent>; auth: string | undefined }> = [];
  const rx = await receiver((r, res, n) => {
    if (n === 1) {
      res.writeHead(503).end('busy'); // the SDK's own transport would call this a success
      return;
    }
    try {
      const ce = HTTP.toEvent({ headers: r.headers, body: r.body }) as CloudEventV1<WireEvent>;
      parsed.push({ mode: r.url.slice(1), ce, auth: r.headers.authorization });
      res.writeHead(202).end();
    } catch (e) {
      res.writeHead(400).end(String(e));
    }
  });
  putSecret('shop', 'ce', { token: CE_TOKEN });
  const d = dispatcher();
  const ev = event();
  d.notify(ev, [
    { type: 'cloudevents', url: `${rx.base}/binary`, secretRef: { name: 'ce' } },
    { type: 'cloudevents', url: `${rx.base}/structured`, mode: 'structured' },
  ]);
  await waitFor('both modes parsed', () => parsed.length === 2, 5000);
  await d.idle();
  assert.equal(rx.got.length, 3, 'one 503 retried');
  const byMode = new Map(parsed.map((p) => [p.mode, p]));
  const bin = rx.got.filter((g) => g.url === '/binary').at(-1)!;
  const str = rx.got.find((g) => g.url === '/structured')!;
  assert.equal(bin.headers['ce-type'], 'dev.sluice.rollout.rolledback');
  assert.equal(bin.headers['content-type'], 'application/json');
  assert.ok(String(str.headers['content-type']).startsWith('application/cloudevents+json'));
  assert.equal(str.headers['ce-type'], undefined);
  for (const mode of ['binary', 'structured']) {
    const p = byMode.get(mode);
    assert.ok(p, mode);
    assert.equal(p.ce.specversion, '1.0');
    assert.equal(p.ce.type, 'dev.sluice.rollout.rolledback');
    assert.equal(p.ce.source, '/apis/delivery.sluice.dev/v1alpha1/namespaces/shop/rollouts/web');
    assert.equal(p.ce.subject, 'web');
    assert.equal(p.ce.id, ev.id);
    assert.equal(p.ce.time, '2026-11-23T10:00:00.000Z');
    assert.equal(p.ce['severity'], 'critical');
    const data = p.ce.data!;
    assert.equal(data.kind, 'RolloutEvent');
    assert.equal(data.canaryRevision, 'web-00002');
    assert.equal(data.failedMetric?.value, 0.8234);
    assert.deepEqual(data.failedMetric?.thresholdRange, { min: 0.99 });
    assert.equal(data.commit?.sha, ev.commit!.sha);
  }
  assert.equal(byMode.get('binary')!.auth, `Bearer ${CE_TOKEN}`);
  assert.equal(byMode.get('structured')!.auth, undefined);
  assert.equal(cloudEventType({ type: 'analysisFailed' }), 'dev.sluice.rollout.analysisfailed');
  assert.equal(toCloudEvent(event({ type: 'gitError' })).type, 'dev.sluice.rollout.giterror');
});

test('no secret value appears in any log line', () => {
  assert.ok(logLines.length > 3, `captured ${logLines.length} lines`);
  for (const s of [SLACK_TOKEN, DEAD_SLACK_TOKEN, CE_TOKEN, Buffer.from(CE_TOKEN).toString('base64')]) {
    const hit = logLines.find((l) => l.includes(s));
    assert.equal(hit, undefined, `secret leaked: ${hit}`);
  }
});
