// The cloudevents-player sample as a real process: the player's HTTP surface (ruromero/cloudevents-player,
// ../shared/reference/eventing-anchors.md §5) — POST / receives, GET|POST|DELETE /messages, the page — and
// where POST /messages sends: BROKER_URI, else K_SINK, in binary or structured mode, SENT or FAILED; and
// PLAYER_MODE=LOCAL, where the player is its own broker.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT, waitFor } from './support/procs.js';

const PLAYER = join(ROOT, 'dist', 'src', 'runtime', 'samples', 'cloudevents-player.js');
const children: ChildProcess[] = [];

interface Message {
  id: string;
  type: string;
  eventType: string;
  source: string;
  subject: string | null;
  extensions: Record<string, string>;
  data: unknown;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function startPlayer(env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [PLAYER], {
    env: { PATH: process.env['PATH'] ?? '', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  await waitFor(
    'the player to listen',
    async () => (await http(port, 'GET', '/healthz').catch(() => undefined))?.status === 200,
    10_000,
    50,
  );
  return port;
}

async function messages(port: number, q = '?page=0&size=200'): Promise<Message[]> {
  const r = await http(port, 'GET', `/messages${q}`);
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as Message[];
}

const binary = (id: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'ce-id': id,
  'ce-specversion': '1.0',
  'ce-type': 'some-type',
  'ce-source': 'command-line',
  'content-type': 'application/json',
  ...extra,
});

after(() => {
  for (const c of children) c.kill();
});

test('POST / records a CloudEvent as RECEIVED; the list is newest first, paged; DELETE clears; GET / is the page', async () => {
  const port = await startPlayer({ PLAYER_MODE: 'LOCAL' });
  assert.equal((await http(port, 'POST', '/', binary('a', { 'ce-myext': 'v' }), '{"msg":"one"}')).status, 202);
  const structured = JSON.stringify({
    specversion: '1.0',
    id: 'b',
    type: 't2',
    source: 's2',
    subject: 'sub',
    datacontenttype: 'application/json',
    data: { msg: 'two' },
  });
  assert.equal(
    (await http(port, 'POST', '/', { 'content-type': 'application/cloudevents+json' }, structured)).status,
    202,
  );
  const all = await messages(port);
  assert.deepEqual(
    all.map((m) => [m.id, m.type, m.eventType, m.source, m.subject]),
    [
      ['b', 'RECEIVED', 't2', 's2', 'sub'],
      ['a', 'RECEIVED', 'some-type', 'command-line', null],
    ],
  );
  assert.deepEqual(all[1]?.data, { msg: 'one' });
  assert.deepEqual(all[1]?.extensions, { myext: 'v' });
  assert.deepEqual(
    (await messages(port, '?page=1&size=1')).map((m) => m.id),
    ['a'],
  );
  const notCe = await http(port, 'POST', '/', { 'content-type': 'application/json' }, '{"msg":"no ce"}');
  assert.equal(notCe.status, 400);
  assert.equal((await http(port, 'DELETE', '/messages')).status, 202);
  assert.deepEqual(await messages(port), []);
  const page = await http(port, 'GET', '/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /CloudEvents Player/);
});

test('PLAYER_MODE=LOCAL: POST /messages goes to the player itself, listed as RECEIVED and SENT', async () => {
  const port = await startPlayer({ PLAYER_MODE: 'LOCAL' });
  assert.equal((await http(port, 'POST', '/messages', binary('loop-1'), '{"msg":"hi"}')).status, 202);
  const m = await waitFor('both entries', async () => {
    const all = await messages(port);
    return all.length === 2 ? all : undefined;
  });
  assert.deepEqual(
    m.map((x) => [x.id, x.type]),
    [
      ['loop-1', 'SENT'],
      ['loop-1', 'RECEIVED'],
    ],
  );
});

test('POST /messages sends to BROKER_URI (over K_SINK) in binary, or structured as given; an error is FAILED', async () => {
  const got: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];
  const broker: Server = createServer((req, res) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (b += d));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body: b });
      res.writeHead(req.url === '/fail' ? 500 : 202).end();
    });
  });
  await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(broker.address() as AddressInfo).port}`;
  try {
    const port = await startPlayer({ BROKER_URI: `${base}/ns/b`, K_SINK: `${base}/sink` });
    assert.equal((await http(port, 'POST', '/messages', binary('s1'), '{"msg":"bin"}')).status, 202);
    const structured = JSON.stringify({ specversion: '1.0', id: 's2', type: 't', source: 's', data: { n: 2 } });
    const r2 = await http(port, 'POST', '/messages', { 'content-type': 'application/cloudevents+json' }, structured);
    assert.equal(r2.status, 202);
    assert.deepEqual(
      got.map((g) => g.path),
      ['/ns/b', '/ns/b'],
    );
    assert.equal(got[0]?.headers['ce-id'], 's1');
    assert.equal(got[0]?.body, '{"msg":"bin"}');
    assert.match(String(got[1]?.headers['content-type']), /^application\/cloudevents\+json/);
    assert.equal((JSON.parse(got[1]?.body ?? '{}') as { id?: string }).id, 's2');
    assert.deepEqual(
      (await messages(port)).map((m) => [m.id, m.type]),
      [
        ['s2', 'SENT'],
        ['s1', 'SENT'],
      ],
    );

    const viaSink = await startPlayer({ K_SINK: `${base}/fail` });
    assert.equal((await http(viaSink, 'POST', '/messages', binary('f1'), '{}')).status, 202);
    assert.equal(got.at(-1)?.path, '/fail', 'K_SINK when there is no BROKER_URI');
    assert.deepEqual(
      (await messages(viaSink)).map((m) => [m.id, m.type]),
      [['f1', 'FAILED']],
    );
  } finally {
    await new Promise((r) => broker.close(r));
  }
});
