// The router's raw-socket fast path (src/runtime/fast-path.ts) over real sockets: message framing both ways,
// keep-alive and pipelining, hand-off to the http.Server mid-connection (and the exact split across it),
// hop-by-hop headers, timeoutSeconds, refused connections, client aborts and upstream connection reuse.
// The revisions are stubs (leases on a port, a queue when asked) so each case controls its process exactly;
// the processes are real servers in this test: an http one, and a raw one answering scripted bytes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { silentLogger } from '../src/observability/logger.js';
import { systemClock } from '../src/util/clock.js';
import { RuntimeMetrics } from '../src/runtime/metrics.js';
import { freePort } from '../src/runtime/ports.js';
import type { Lease, Revision } from '../src/runtime/revision.js';
import { Router } from '../src/runtime/router.js';
import { waitFor } from '../src/runtime/testing.js';
import type { RouteTable } from '../src/runtime/types.js';

// ---- stub revisions: what the router uses of a Revision, with the process at a port we choose ----

class StubRevision {
  readonly key: string;
  readonly labels;
  readonly spec: { name: string };
  timeoutMs = 10_000;
  /** tryAcquire says "no process free" (the slow path then queues through acquire). */
  noFastLease = false;
  /** After a refused connection, leases wait until ready() (as a suspect replica leaves rotation). */
  suspect = false;
  inFlight = 0;
  refusedCount = 0;
  #pool: Pool | undefined;
  #waiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    public port: number,
  ) {
    this.key = `default/${name}`;
    this.spec = { name };
    this.labels = { namespace_name: 'default', service_name: 's', configuration_name: 's', revision_name: name };
  }

  tryAcquire(): Lease | undefined {
    if (this.noFastLease || this.suspect) return undefined;
    return this.#lease();
  }

  acquire(signal?: AbortSignal): Promise<Lease> {
    if (!this.suspect) return Promise.resolve(this.#lease());
    return new Promise((resolve, reject) => {
      const go = (): void => resolve(this.#lease());
      this.#waiters.push(go);
      signal?.addEventListener('abort', () => {
        this.#waiters = this.#waiters.filter((w) => w !== go);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      });
    });
  }

  ready(): void {
    this.suspect = false;
    for (const w of this.#waiters.splice(0)) w();
  }

  #lease(): Lease {
    this.inFlight++;
    this.#pool ??= new Pool(`http://127.0.0.1:${this.port}`, { pipelining: 1 });
    let released = false;
    return {
      port: this.port,
      dispatcher: this.#pool,
      replicaId: 1,
      release: () => {
        assert.equal(released, false, `lease of ${this.name} released twice`);
        released = true;
        this.inFlight--;
      },
      refused: () => {
        this.refusedCount++;
        this.suspect = true;
      },
    };
  }

  async close(): Promise<void> {
    await this.#pool?.destroy();
  }
}

// ---- upstream processes ----

/** The http upstream: echoes what it received as JSON, or follows the path (/sleep/MS, /upload, /big/N). */
class HttpUpstream {
  readonly server: HttpServer;
  connections = 0;
  /** The connection accepted last, and whether it closed. */
  lastClosed = false;
  /** Requests whose client (the router) closed before the answer ended. */
  aborted = 0;
  port = 0;

  constructor() {
    this.server = createHttpServer((req, res) => void this.#answer(req, res));
    this.server.on('connection', (s: Socket) => {
      this.connections++;
      this.lastClosed = false;
      s.once('close', () => {
        if (this.connections === n) this.lastClosed = true;
      });
      const n = this.connections;
    });
  }

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  async #answer(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    res.on('close', () => {
      if (!res.writableFinished) this.aborted++;
    });
    if (url === '/upload') {
      // Reads slowly, so the router has to hold the client back.
      const hash = createHash('sha256');
      let length = 0;
      for await (const c of req) {
        hash.update(c as Buffer);
        length += (c as Buffer).length;
        if (length % (256 * 1024) < (c as Buffer).length) await sleep(5);
      }
      res.end(JSON.stringify({ length, sha256: hash.digest('hex') }));
      return;
    }
    const big = /^\/big\/(\d+)$/.exec(url);
    if (big) {
      const total = Number(big[1]);
      res.writeHead(200, { 'content-length': total, 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 'sluice');
      let sent = 0;
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await once(res, 'drain');
      }
      res.end();
      return;
    }
    const body: Buffer[] = [];
    for await (const c of req) body.push(c as Buffer);
    const sleepMs = /^\/sleep\/(\d+)$/.exec(url);
    if (sleepMs) await sleep(Number(sleepMs[1]));
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        method: req.method,
        url,
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        body: Buffer.concat(body).toString('latin1'),
      }),
    );
  }
}

interface Echo {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: Record<string, string>;
  body: string;
}

/** Scripted answers by path, written as raw bytes; `close` ends the connection after the answer. */
const RAW_ANSWERS: Record<string, { bytes: string; close?: boolean }> = {
  '/chunked': {
    bytes:
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n' +
      '5;name=value;quoted="a;b"\r\nhello\r\n6 ; spaced\r\n world\r\n0\r\nX-Sum: 42\r\nX-More: yes\r\n\r\n',
  },
  '/close-delimited': {
    bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the process closes',
    close: true,
  },
  '/head': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Head: yes\r\n\r\n' },
  '/garbage': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh' },
  '/stale': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh' },
  '/next': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Next: yes\r\n\r\nnext' },
  '/no-content': { bytes: 'HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n' },
  '/not-modified': { bytes: 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 99\r\n\r\n' },
  '/upstream-close': {
    bytes: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbye!',
    close: true,
  },
  '/hop-by-hop': {
    bytes:
      'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=30\r\nX-Private: secret\r\n' +
      'Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\nKnative-Serving-Revision: spoofed\r\nX-Kept: 1\r\nContent-Length: 2\r\n\r\nok',
  },
  '/cut': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial', close: true },
  '/early-hints': {
    bytes: 'HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal',
  },
};

/** The raw upstream: reads request heads (no bodies) and writes the scripted answer for each path. */
class RawUpstream {
  readonly server: NetServer;
  connections = 0;
  /** Each request received: its head, and which connection (numbered from 1) it came on. */
  requests: Array<{ head: string; connection: number }> = [];
  port = 0;

  constructor() {
    this.server = createNetServer((s) => {
      const connection = ++this.connections;
      let served = 0;
      let buf = '';
      s.on('data', (c: Buffer) => {
        buf += c.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          this.requests.push({ head, connection });
          const path = head.split(' ')[1] ?? '';
          // /stale: a kept-alive connection closed by the process just as a request arrives on it.
          if (path === '/stale' && served++ > 0) {
            s.destroy();
            return;
          }
          // /garbage: a kept-alive connection answering bytes that are not HTTP.
          if (path === '/garbage' && served++ > 0) {
            s.write('NOT HTTP\r\n\r\n');
            return;
          }
          served++;
          const a = RAW_ANSWERS[path];
          if (!a) s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
          else if (a.close) s.end(a.bytes);
          else s.write(a.bytes);
        }
      });
      s.on('error', () => s.destroy());
    });
  }

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }
}

// ---- a raw HTTP/1.1 client that reads answers one by one off one connection ----

interface RawResponse {
  status: number;
  head: string;
  headers: Map<string, string>;
  /** The body as it came on the wire (chunked framing included). */
  wire: Buffer;
  /** The body decoded. */
  body: Buffer;
}

class RawClient {
  readonly socket: Socket;
  /** Received and not yet read: the chunks, flattened only when a head or a chunk line is looked for. */
  #chunks: Buffer[] = [];
  #length = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      this.#length += c.length;
      this.#wake?.();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((r) =>
      this.socket.once('close', () => {
        this.#ended = true;
        this.#wake?.();
        r();
      }),
    );
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  get #buf(): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  /** Wait for `bytes` unread bytes, or for `delimiter` among them. */
  async #need(what: string, bytes: number, delimiter?: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (this.#length < bytes || (delimiter !== undefined && !this.#buf.includes(delimiter))) {
      if (this.#ended) throw new Error(`connection closed waiting for ${what}; got ${this.#buf.toString('latin1')}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 50);
      });
    }
  }

  #take(n: number): Buffer {
    const b = this.#buf;
    this.#chunks = n === b.length ? [] : [b.subarray(n)];
    this.#length -= n;
    return b.subarray(0, n);
  }

  /** The next answer; `head` for the answer to a HEAD request (no body). */
  async response(opts: { head?: boolean } = {}): Promise<RawResponse> {
    await this.#need('a response head', 0, '\r\n\r\n');
    const headText = this.#take(this.#buf.indexOf('\r\n\r\n') + 4).toString('latin1');
    const [statusLine = '', ...lines] = headText.slice(0, -4).split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers = new Map<string, string>();
    for (const l of lines) {
      const k = l.slice(0, l.indexOf(':')).toLowerCase();
      const v = l.slice(l.indexOf(':') + 1).trim();
      headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
    }
    if (status < 200) return { status, head: headText, headers, wire: Buffer.alloc(0), body: Buffer.alloc(0) };
    if (opts.head || status === 204 || status === 304)
      return { status, head: headText, headers, wire: Buffer.alloc(0), body: Buffer.alloc(0) };
    if (headers.get('transfer-encoding')?.toLowerCase().endsWith('chunked')) {
      const wire: Buffer[] = [];
      const body: Buffer[] = [];
      for (;;) {
        await this.#need('a chunk size', 0, '\r\n');
        const line = this.#take(this.#buf.indexOf('\r\n') + 2);
        wire.push(line);
        const size = parseInt(line.toString('latin1'), 16);
        if (size === 0) {
          // Trailers, up to the empty line.
          for (;;) {
            await this.#need('a trailer line', 0, '\r\n');
            const t = this.#take(this.#buf.indexOf('\r\n') + 2);
            wire.push(t);
            if (t.length === 2) break;
          }
          return { status, head: headText, headers, wire: Buffer.concat(wire), body: Buffer.concat(body) };
        }
        await this.#need('chunk data', size + 2);
        const data = this.#take(size + 2);
        wire.push(data);
        body.push(data.subarray(0, size));
      }
    }
    const length = headers.get('content-length');
    if (length !== undefined) {
      const n = Number(length);
      await this.#need('the body', n);
      const body = this.#take(n);
      return { status, head: headText, headers, wire: body, body };
    }
    await this.closed;
    const body = this.#take(this.#length);
    return { status, head: headText, headers, wire: body, body };
  }

  /** Bytes received and not read as an answer. */
  get unread(): number {
    return this.#length;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The fast path forwards header names as the client wrote them; undici (the slow path) lower-cases them. */
function viaFastPath(e: Echo): boolean {
  return e.rawHeaders.includes('X-Forwarded-Proto');
}

function get(path: string, host: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
}

// ---- the router under test ----

const httpUp = new HttpUpstream();
const rawUp = new RawUpstream();
const metrics = new RuntimeMetrics();
let router: Router;
let port = 0;
const revs = new Map<string, StubRevision>();

const HTTP = 'web.default.example.com';
const RAW = 'raw.default.example.com';
const SPLIT = 'split.default.example.com';

function routes(): RouteTable {
  return {
    domain: 'example.com',
    tagHeaderRouting: true,
    routes: [
      {
        namespace: 'default',
        name: 'web',
        traffic: [
          { revisionName: 'web-1', percent: 100 },
          { revisionName: 'web-canary', percent: 0, tag: 'canary' },
        ],
      },
      { namespace: 'default', name: 'raw', traffic: [{ revisionName: 'raw-1', percent: 100 }] },
      {
        namespace: 'default',
        name: 'split',
        traffic: [
          { revisionName: 'split-a', percent: 50 },
          { revisionName: 'split-b', percent: 50 },
        ],
      },
      { namespace: 'default', name: 'slow', traffic: [{ revisionName: 'slow-1', percent: 100 }] },
      { namespace: 'default', name: 'gone', traffic: [{ revisionName: 'gone-1', percent: 100 }] },
    ],
  };
}

function rev(name: string): StubRevision {
  const r = revs.get(name);
  if (!r) throw new Error(`no stub ${name}`);
  return r;
}

async function proxiedCount(outcome: string): Promise<number> {
  const m = await metrics.routerRequests.get();
  return m.values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
}

before(async () => {
  await httpUp.listen();
  await rawUp.listen();
  for (const name of ['web-1', 'web-canary', 'split-a', 'split-b', 'slow-1', 'gone-1'])
    revs.set(name, new StubRevision(name, httpUp.port));
  revs.set('raw-1', new StubRevision('raw-1', rawUp.port));
  router = new Router({
    // The stub has every member of Revision the router and the proxy use.
    lookup: (_ns, name) => revs.get(name) as unknown as Revision | undefined,
    metrics,
    clock: systemClock,
    logger: silentLogger(),
  });
  router.setRoutes(routes());
  port = (await router.listen(0)).port;
});

after(async () => {
  await router.close();
  for (const r of revs.values()) await r.close();
  httpUp.server.closeAllConnections();
  httpUp.server.close();
  rawUp.server.close();
});

describe('answer framing from the process, relayed on one client connection', () => {
  interface Case {
    name: string;
    path: string;
    method?: string;
    wantStatus: number;
    /** The body as the client receives it on the wire. */
    wantWire: string;
    wantHeaders?: Record<string, string | undefined>;
    /** The client connection closes after this answer. */
    wantClose?: boolean;
    /** The process's connection cannot serve the next request. */
    wantNewUpstream?: boolean;
  }
  const cases: Case[] = [
    {
      name: 'chunked, with chunk extensions and trailers, relayed byte for byte',
      path: '/chunked',
      wantStatus: 200,
      wantWire: '5;name=value;quoted="a;b"\r\nhello\r\n6 ; spaced\r\n world\r\n0\r\nX-Sum: 42\r\nX-More: yes\r\n\r\n',
      wantHeaders: { 'transfer-encoding': 'chunked', trailer: 'X-Sum', 'knative-serving-revision': 'raw-1' },
    },
    {
      name: 'close-delimited: relayed until the process closes, then the client connection ends',
      path: '/close-delimited',
      wantStatus: 200,
      wantWire: 'until the process closes',
      wantHeaders: { connection: 'close' },
      wantClose: true,
      wantNewUpstream: true,
    },
    {
      name: 'HEAD: a Content-Length but no body',
      path: '/head',
      method: 'HEAD',
      wantStatus: 200,
      wantWire: '',
      wantHeaders: { 'content-length': '11', 'x-head': 'yes' },
    },
    { name: '204: no body', path: '/no-content', wantStatus: 204, wantWire: '', wantHeaders: { 'x-empty': 'yes' } },
    {
      name: '304: no body despite its Content-Length',
      path: '/not-modified',
      wantStatus: 304,
      wantWire: '',
      wantHeaders: { etag: '"v1"' },
    },
    {
      name: 'process says Connection: close: its connection is not reused, the client keeps its own',
      path: '/upstream-close',
      wantStatus: 200,
      wantWire: 'bye!',
      wantHeaders: { connection: 'keep-alive' },
      wantNewUpstream: true,
    },
    {
      name: 'hop-by-hop headers and those named in Connection are dropped; the revision headers are ours',
      path: '/hop-by-hop',
      wantStatus: 200,
      wantWire: 'ok',
      wantHeaders: {
        'x-private': undefined,
        'proxy-authenticate': undefined,
        upgrade: undefined,
        'keep-alive': 'timeout=5',
        'x-kept': '1',
        'knative-serving-revision': 'raw-1',
        'x-sluice-revision': 'raw-1',
      },
    },
    { name: '1xx interim answers are not relayed', path: '/early-hints', wantStatus: 200, wantWire: 'final' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const client = new RawClient(port);
      try {
        client.send(`${c.method ?? 'GET'} ${c.path} HTTP/1.1\r\nHost: ${RAW}\r\n\r\n`);
        const r = await client.response({ head: c.method === 'HEAD' });
        assert.equal(r.status, c.wantStatus, r.head);
        assert.equal(r.wire.toString('latin1'), c.wantWire);
        for (const [k, v] of Object.entries(c.wantHeaders ?? {}))
          assert.equal(r.headers.get(k), v, `${k} in ${r.head}`);
        assert.equal(r.head.match(/knative-serving-revision/gi)?.length, 1, r.head);
        if (c.wantClose) {
          await client.closed;
          return;
        }
        // The answer's end was found exactly: the next request on the same connection gets its own answer.
        client.send(`GET /next HTTP/1.1\r\nHost: ${RAW}\r\n\r\n`);
        const next = await client.response();
        assert.equal(next.status, 200);
        assert.equal(next.body.toString(), 'next');
        const [first, second] = rawUp.requests.slice(-2);
        assert.equal(first?.connection !== second?.connection, c.wantNewUpstream ?? false, 'a new process connection');
      } finally {
        client.destroy();
      }
    });
  }
});

test('N sequential requests on one client connection use one connection to the process', async () => {
  const client = new RawClient(port);
  const before = httpUp.connections;
  for (let i = 0; i < 10; i++) {
    client.send(get(`/n/${i}`, HTTP));
    const r = await client.response();
    assert.equal(r.status, 200);
    const e = JSON.parse(r.body.toString()) as Echo;
    assert.equal(e.url, `/n/${i}`);
    assert.ok(viaFastPath(e));
  }
  assert.equal(httpUp.connections - before, 1);
  client.destroy();
});

test('a request body over 1 MiB streams up with backpressure and arrives intact', async () => {
  const big = Buffer.alloc(6 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  const client = new RawClient(port);
  client.send(`POST /upload HTTP/1.1\r\nHost: ${HTTP}\r\nContent-Length: ${big.length}\r\n\r\n`);
  client.send(big);
  const r = await client.response();
  assert.equal(r.status, 200, r.body.toString());
  assert.deepEqual(JSON.parse(r.body.toString()), {
    length: big.length,
    sha256: createHash('sha256').update(big).digest('hex'),
  });
  client.destroy();
});

test('a large answer to a slow reader streams down with backpressure and arrives intact', async () => {
  const size = 16 * 1024 * 1024;
  const client = new RawClient(port);
  client.socket.pause();
  client.send(get(`/big/${size}`, HTTP));
  await sleep(300);
  client.socket.resume();
  const r = await client.response();
  assert.equal(r.status, 200);
  assert.equal(r.body.length, size);
  assert.equal(r.body.subarray(0, 6).toString(), 'sluice');
  client.destroy();
});

test('X-Forwarded-For is appended to, X-Forwarded-Proto set; hop-by-hop and Connection-named headers dropped', async () => {
  const client = new RawClient(port);
  client.send(
    get(
      '/xff',
      HTTP,
      'X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nConnection: keep-alive, X-Secret\r\n' +
        'X-Secret: 1\r\nKeep-Alive: 300\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\nX-Kept: yes\r\n',
    ),
  );
  const e = JSON.parse((await client.response()).body.toString()) as Echo;
  assert.equal(e.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  assert.equal(e.headers['x-forwarded-proto'], 'http');
  assert.equal(e.headers['x-kept'], 'yes');
  assert.equal(e.headers['host'], HTTP);
  for (const h of ['x-secret', 'keep-alive', 'proxy-authorization', 'te', 'connection'])
    assert.equal(e.headers[h], undefined, h);
  assert.ok(viaFastPath(e));
  client.destroy();
});

test('a client Connection: close gets Connection: close and the connection ends after the answer', async () => {
  const client = new RawClient(port);
  client.send(get('/bye', HTTP, 'Connection: close\r\n'));
  const r = await client.response();
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('connection'), 'close');
  await client.closed;
});

test('pipelined requests are answered in order', async () => {
  const client = new RawClient(port);
  client.send(
    get('/p/1', HTTP) +
      `POST /p/2 HTTP/1.1\r\nHost: ${HTTP}\r\nContent-Length: 5\r\n\r\nhello` +
      get('/sleep/50', HTTP) +
      `HEAD /head HTTP/1.1\r\nHost: ${RAW}\r\n\r\n` +
      get('/p/5', HTTP),
  );
  const urls: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await client.response({ head: i === 3 });
    assert.equal(r.status, 200);
    urls.push(i === 3 ? String(r.headers.get('x-head')) : (JSON.parse(r.body.toString()) as Echo).url);
  }
  assert.deepEqual(urls, ['/p/1', '/p/2', '/sleep/50', 'yes', '/p/5']);
  assert.equal(client.unread, 0);
  client.destroy();
});

test('pipelined requests across a hand-off: the bytes already read go to the http server in order', async () => {
  const client = new RawClient(port);
  client.send(
    get('/p/1', HTTP) +
      `POST /p/2 HTTP/1.1\r\nHost: ${HTTP}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n` +
      `POST /p/3 HTTP/1.1\r\nHost: ${HTTP}\r\nContent-Length: 3\r\n\r\ndef` +
      get('/p/4', HTTP),
  );
  const got: string[] = [];
  for (let i = 0; i < 4; i++) {
    const e = JSON.parse((await client.response()).body.toString()) as Echo;
    got.push(`${e.url} ${e.body} ${viaFastPath(e) ? 'fast' : 'slow'}`);
  }
  assert.deepEqual(got, ['/p/1  fast', '/p/2 abc slow', '/p/3 def slow', '/p/4  slow']);
  client.destroy();
});

describe('hand-off to the http server mid-connection', () => {
  interface Case {
    name: string;
    request: string;
    wantInterim?: number;
    wantBody: string;
    wantUrl?: string;
    /** The http server closes the connection after this answer. */
    wantClose?: boolean;
  }
  const cases: Case[] = [
    {
      name: 'Expect: 100-continue',
      request: `POST /expect HTTP/1.1\r\nHost: ${HTTP}\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n`,
      wantInterim: 100,
      wantBody: 'data',
    },
    {
      name: 'a chunked request body',
      request: `POST /chunked-up HTTP/1.1\r\nHost: ${HTTP}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndata\r\n0\r\n\r\n`,
      wantBody: 'data',
    },
    {
      name: 'an absolute-form (HTTP_PROXY) request',
      request: `GET http://${HTTP}/absolute?q=1 HTTP/1.1\r\nHost: ${HTTP}\r\n\r\n`,
      wantBody: '',
      wantUrl: '/absolute?q=1',
    },
    {
      // The process answers chunked, which HTTP/1.0 cannot carry: the http server closes after it.
      name: 'an HTTP/1.0 request',
      request: `GET /old HTTP/1.0\r\nHost: ${HTTP}\r\nConnection: keep-alive\r\n\r\n`,
      wantBody: '',
      wantClose: true,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const client = new RawClient(port);
      client.send(get('/first', HTTP));
      const first = JSON.parse((await client.response()).body.toString()) as Echo;
      assert.ok(viaFastPath(first));
      client.send(c.request);
      if (c.wantInterim) {
        assert.equal((await client.response()).status, c.wantInterim);
        client.send('data');
      }
      const r = await client.response();
      assert.equal(r.status, 200, r.head);
      const e = JSON.parse(r.body.toString()) as Echo;
      assert.equal(e.body, c.wantBody);
      if (c.wantUrl) assert.equal(e.url, c.wantUrl);
      assert.ok(!viaFastPath(e), 'served by the http server');
      if (c.wantClose) {
        await client.closed;
        return;
      }
      // The connection stays with the http server, and keeps working.
      client.send(get('/after', HTTP));
      const after = JSON.parse((await client.response()).body.toString()) as Echo;
      assert.equal(after.url, '/after');
      assert.ok(!viaFastPath(after));
      client.destroy();
    });
  }

  test('a head over 16 KiB, and garbage, get the http server’s 400 (its clientError answer)', async () => {
    const big = new RawClient(port);
    big.send(get('/', HTTP, `X-Big: ${'b'.repeat(17 * 1024)}\r\n`));
    assert.equal((await big.response()).status, 400);
    big.destroy();
    const bad = new RawClient(port);
    bad.send('NOT HTTP AT ALL\r\n\r\n');
    assert.equal((await bad.response()).status, 400);
    bad.destroy();
  });

  test('unknown hosts and /metrics are answered by the http server', async () => {
    const client = new RawClient(port);
    client.send(get('/', 'nope.example.com'));
    const r = await client.response();
    assert.equal(r.status, 404);
    assert.match(r.body.toString(), /No route for host "nope\.example\.com"/);
    client.send(get('/metrics', '127.0.0.1'));
    const m = await client.response();
    assert.equal(m.status, 200);
    assert.match(m.body.toString(), /sluice_router_requests_total/);
    client.destroy();
  });
});

test('the split stays exact when routed requests are handed off after their pick', async () => {
  // split-b's tryAcquire fails, so each request picked for it goes to the slow path with its pick.
  rev('split-b').noFastLease = true;
  try {
    const seq: string[] = [];
    for (let i = 0; i < 40; i++) {
      const client = new RawClient(port);
      // Every other connection starts with a request that is handed off before any pick.
      if (i % 3 === 0) {
        client.send(`POST /x HTTP/1.1\r\nHost: ${SPLIT}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
        seq.push(String((await client.response()).headers.get('knative-serving-revision')));
      }
      client.send(get('/s', SPLIT));
      const r = await client.response();
      assert.equal(r.status, 200);
      seq.push(String(r.headers.get('knative-serving-revision')));
      client.destroy();
    }
    const counts = { 'split-a': 0, 'split-b': 0 } as Record<string, number>;
    for (const s of seq) counts[s] = (counts[s] ?? 0) + 1;
    assert.equal(Math.abs((counts['split-a'] ?? 0) - (counts['split-b'] ?? 0)) <= 1, true, JSON.stringify(counts));
    // 50/50 smooth round-robin alternates exactly.
    for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1], `at ${i}: ${seq.join(',')}`);
  } finally {
    rev('split-b').noFastLease = false;
  }
});

test('Knative-Serving-Tag routes to the tagged revision on the fast path; an unknown tag takes the split', async () => {
  const client = new RawClient(port);
  client.send(get('/t', HTTP, 'Knative-Serving-Tag: canary\r\n'));
  const r = await client.response();
  assert.equal(r.headers.get('knative-serving-revision'), 'web-canary');
  assert.ok(viaFastPath(JSON.parse(r.body.toString()) as Echo));
  client.send(get('/t', HTTP, 'Knative-Serving-Tag: nope\r\n'));
  assert.equal((await client.response()).headers.get('knative-serving-revision'), 'web-1');
  client.destroy();
});

test('timeoutSeconds: 504 naming the revision, and the connection goes on', async () => {
  const slow = rev('slow-1');
  slow.timeoutMs = 300;
  const client = new RawClient(port);
  client.send(get('/sleep/2000', 'slow.default.example.com'));
  const r = await client.response();
  assert.equal(r.status, 504);
  assert.match(
    r.body.toString(),
    /Revision "default\/slow-1" did not start answering within 0\.3 s \(timeoutSeconds\)/,
  );
  assert.equal(r.headers.get('knative-serving-revision'), 'slow-1');
  client.send(get('/sleep/10', 'slow.default.example.com'));
  assert.equal((await client.response()).status, 200);
  assert.equal(slow.inFlight, 0);
  client.destroy();
});

test('a refused connection marks the process and waits for it; once it is back the request is served', async () => {
  const gone = rev('gone-1');
  const p = await freePort();
  gone.port = p;
  const client = new RawClient(port);
  client.send(`POST /back HTTP/1.1\r\nHost: gone.default.example.com\r\nContent-Length: 4\r\n\r\nbody`);
  await waitFor('the refusal', () => gone.refusedCount === 1);
  const back = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`back: ${Buffer.concat(chunks).toString()}`));
  });
  back.listen(p, '127.0.0.1');
  await once(back, 'listening');
  gone.ready();
  const r = await client.response();
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'back: body');
  assert.equal(gone.refusedCount, 1);
  assert.equal(gone.inFlight, 0);
  client.destroy();
  back.closeAllConnections();
  back.close();
});

test('a client that leaves mid-request releases the lease, aborts the process’s request and counts client_abort', async () => {
  const slow = rev('slow-1');
  slow.timeoutMs = 10_000;
  const abortsBefore = await proxiedCount('client_abort');
  const upstreamAbortsBefore = httpUp.aborted;
  const client = new RawClient(port);
  client.send(get('/sleep/3000', 'slow.default.example.com'));
  await waitFor('the request in flight', () => slow.inFlight === 1);
  client.destroy();
  await waitFor('the lease released', () => slow.inFlight === 0);
  assert.equal(await proxiedCount('client_abort'), abortsBefore + 1);
  await waitFor('the process saw its request aborted', () => httpUp.aborted === upstreamAbortsBefore + 1);
});

test('a process that closes mid-answer: the client connection is cut, the process marked, the lease released', async () => {
  const raw = rev('raw-1');
  const client = new RawClient(port);
  client.send(`GET /cut HTTP/1.1\r\nHost: ${RAW}\r\n\r\n`);
  await client.closed;
  assert.equal(raw.refusedCount, 1);
  assert.equal(raw.inFlight, 0);
  raw.ready();
});

describe('a pooled connection that fails a request as it arrives on it', () => {
  const cases = [
    {
      name: 'closed: a GET without a body is sent again on a new connection',
      method: 'GET',
      path: '/stale',
      wantStatus: 200,
      sent: 2,
      marked: false,
    },
    {
      name: 'closed: a POST is not sent again (502, the process marked)',
      method: 'POST',
      path: '/stale',
      wantStatus: 502,
      sent: 1,
      marked: true,
    },
    {
      name: 'answered with bytes that are not HTTP: not sent again (502)',
      method: 'GET',
      path: '/garbage',
      wantStatus: 502,
      sent: 1,
      marked: false,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const raw = rev('raw-1');
      const refusedBefore = raw.refusedCount;
      const client = new RawClient(port);
      // The first request leaves a kept-alive connection in the pool; the second takes it.
      client.send(`GET /next HTTP/1.1\r\nHost: ${RAW}\r\n\r\n`);
      assert.equal((await client.response()).status, 200);
      const sentTo = (): number => rawUp.requests.filter((r) => r.head.includes(c.path)).length;
      const sentBefore = sentTo();
      const extra = c.method === 'POST' ? 'Content-Length: 0\r\n' : '';
      client.send(`${c.method} ${c.path} HTTP/1.1\r\nHost: ${RAW}\r\n${extra}\r\n`);
      const res = await client.response();
      assert.equal(res.status, c.wantStatus);
      assert.equal(sentTo() - sentBefore, c.sent);
      if (c.wantStatus === 200) assert.equal(res.body.toString('latin1'), 'fresh');
      // A closed keep-alive connection says nothing about the process; a reset mid-request does.
      assert.equal(raw.refusedCount, refusedBefore + (c.marked ? 1 : 0));
      client.destroy();
      await waitFor('the lease released', () => raw.inFlight === 0);
      raw.ready();
    });
  }
});

test('an idle keep-alive connection is closed after 5 s, as the http server’s keepAliveTimeout does', async () => {
  const client = new RawClient(port);
  client.send(get('/idle', HTTP));
  assert.equal((await client.response()).status, 200);
  const start = Date.now();
  await client.closed;
  const waited = Date.now() - start;
  assert.ok(waited > 4500 && waited < 7000, `closed after ${waited} ms`);
});

test(
  'the rest of a body the process did not wait for is dropped while it keeps coming; the connection goes on',
  { timeout: 20_000 },
  async () => {
    const client = new RawClient(port);
    // /next answers at once, without reading the body: the remaining 290 bytes are discarded by the router.
    client.send(`POST /next HTTP/1.1\r\nHost: ${RAW}\r\nContent-Length: 300\r\n\r\n${'a'.repeat(10)}`);
    assert.equal((await client.response()).status, 200);
    // Slower than the keep-alive period in total, but never idle for one.
    for (let i = 0; i < 3; i++) {
      await sleep(2500);
      client.send('b'.repeat(i < 2 ? 100 : 90));
    }
    client.send(`GET /next HTTP/1.1\r\nHost: ${RAW}\r\n\r\n`);
    const next = await client.response();
    assert.equal(next.status, 200);
    assert.equal(next.body.toString('latin1'), 'next');
    client.destroy();
  },
);

test(
  'a client that stops sending the rest of a body nobody waits for is cut after a keep-alive period',
  { timeout: 20_000 },
  async () => {
    const client = new RawClient(port);
    client.send(`POST /next HTTP/1.1\r\nHost: ${RAW}\r\nContent-Length: 300\r\n\r\n${'a'.repeat(10)}`);
    assert.equal((await client.response()).status, 200);
    const start = Date.now();
    await client.closed;
    const waited = Date.now() - start;
    assert.ok(waited > 4500 && waited < 7000, `closed after ${waited} ms`);
    for (const r of revs.values()) assert.equal(r.inFlight, 0, r.name);
  },
);

test('requests are recorded in the revision metrics and the in-flight gauge returns to 0', async () => {
  const client = new RawClient(port);
  client.send(get('/m', HTTP));
  await client.response();
  client.destroy();
  const count = await metrics.requestCount.get();
  const served = count.values.find(
    (v) => v.labels['revision_name'] === 'web-1' && v.labels['response_code'] === '200',
  )?.value;
  assert.ok((served ?? 0) >= 1);
  const inFlight = await metrics.routerInFlight.get();
  assert.equal(inFlight.values[0]?.value, 0);
  for (const r of revs.values()) assert.equal(r.inFlight, 0, r.name);
});

test('close() ends fast-path client connections and pooled process connections', async () => {
  const own = new Router({
    lookup: (_ns, name) => revs.get(name) as unknown as Revision | undefined,
    metrics: new RuntimeMetrics(),
    clock: systemClock,
    logger: silentLogger(),
  });
  own.setRoutes(routes());
  const p = (await own.listen(0)).port;
  const client = new RawClient(p);
  const opened = httpUp.connections;
  client.send(get('/kept', HTTP));
  const r = await client.response();
  assert.ok(viaFastPath(JSON.parse(r.body.toString()) as Echo));
  assert.equal(httpUp.connections, opened + 1);
  await own.close();
  await client.closed;
  await waitFor('the pooled process connection closed', () => httpUp.lastClosed);
});
