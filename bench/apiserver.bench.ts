// Benchmarks of the embedded API server, against a real server over HTTPS + bearer token:
//   1. durable writes/s (creates and updates of ConfigMaps and Knative Services) with 1, 16 and 64 keep-alive
//      clients, and writes per fdatasync (the WAL's group commit); 1 client is the no-batching baseline;
//   2. watch delivery latency to 100 concurrent raw watch streams;
//   3. memory of 10,000 stored ~1 KB ConfigMaps (RSS and heap delta after a forced GC);
//   4. restart time of `node bin/sluice.js apiserver` with those 10,000 objects, from the unreplayed WAL and
//      from a compacted snapshot.
//
// The server runs in a child process (bench/apiserver-server.ts, forked with --expose-gc) and the load
// generator in this one: with both in one process the clients' TLS and JSON work would share the server's
// event loop and be counted as server time, the server's memory could not be told apart from the clients',
// and GC could not be forced in the server alone. Restart is measured on the real CLI, as a user runs it.
// Data directories are under os.tmpdir() (the same ext4 disk as the checkout on the reference machine).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { mkdtemp, open, readFile, rm, stat, unlink } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage, ServerStats } from './apiserver-server.js';

type Figures = Record<string, number | string>;

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const ROOT = resolve(here, '..', '..');
const SLUICE_BIN = join(ROOT, 'bin', 'sluice.js');
const NS = 'bench';

/** Seconds each (operation, concurrency) throughput cell runs for. */
const CELL_SECONDS = 2;
const LEVELS = [1, 16, 64];
const WATCHERS = 100;
const WATCH_WRITES = 200;
const MEMORY_OBJECTS = 10_000;
const RESTARTS = 3;

// ---------------------------------------------------------------------------------------------------------
// helpers

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Conn {
  url: string;
  token: string;
  caPem: string;
}

interface Reply {
  status: number;
  text: string;
}

function call(c: Conn, agent: Agent, method: string, path: string, body?: unknown): Promise<Reply> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((res, rej) => {
    const req = request(
      new URL(path, c.url),
      {
        method,
        agent,
        ca: c.caPem,
        headers: {
          authorization: `Bearer ${c.token}`,
          accept: 'application/json',
          ...(data === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }),
        },
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (d: Buffer) => chunks.push(d));
        r.on('end', () => res({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        r.on('error', rej);
      },
    );
    req.on('error', rej);
    req.end(data);
  });
}

async function must(c: Conn, agent: Agent, method: string, path: string, body?: unknown): Promise<Reply> {
  const r = await call(c, agent, method, path, body);
  if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
}

/**
 * A minimal keep-alive HTTP/1.1 client on one TLS connection, one request at a time. The load generator shares
 * the 2 cores with the server, and node:https's request machinery costs about as much CPU per request as the
 * server's own work; this client (pre-built head, Content-Length framing only) leaves the cores to the server.
 * The server answers every write with a Content-Length body, which is all this parser handles.
 */
class RawClient {
  #sock: TLSSocket;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: { res: (r: Reply) => void; rej: (e: Error) => void } | undefined;
  #host: string;
  #auth: string;

  private constructor(sock: TLSSocket, host: string, token: string) {
    this.#sock = sock;
    this.#host = host;
    this.#auth = `Bearer ${token}`;
    sock.on('data', (d: Buffer) => this.#onData(d));
    const fail = (e: Error): void => {
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.rej(e);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed')));
  }

  static open(c: Conn): Promise<RawClient> {
    const u = new URL(c.url);
    return new Promise((res, rej) => {
      const s = connect(
        {
          host: u.hostname,
          port: Number(u.port),
          ca: c.caPem,
          servername: u.hostname === '127.0.0.1' ? undefined : u.hostname,
        },
        () => res(new RawClient(s, u.host, c.token)),
      );
      s.once('error', rej);
    });
  }

  send(method: string, path: string, body?: string): Promise<Reply> {
    const len = body === undefined ? 0 : Buffer.byteLength(body);
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: ${this.#host}\r\nAuthorization: ${this.#auth}\r\nAccept: application/json\r\n` +
      (body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${len}\r\n`) +
      '\r\n';
    return new Promise((res, rej) => {
      this.#waiting = { res, rej };
      this.#sock.write(body === undefined ? head : head + body);
    });
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    const end = this.#buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buf.subarray(0, end).toString('latin1');
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) {
      this.#sock.destroy(new Error(`response without Content-Length: ${head.split('\r\n')[0] ?? ''}`));
      return;
    }
    const total = end + 4 + Number(m[1]);
    if (this.#buf.length < total) return;
    const status = Number(head.slice(9, 12));
    const text = this.#buf.subarray(end + 4, total).toString('utf8');
    this.#buf = this.#buf.subarray(total);
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.res({ status, text });
  }

  close(): void {
    this.#sock.destroy();
  }
}

interface ServerChild extends Conn {
  proc: ChildProcess;
  dataDir: string;
  stats(gc?: boolean): Promise<ServerStats>;
  close(): Promise<void>;
}

async function forkServer(dataDir: string, compactAtBytes?: number): Promise<ServerChild> {
  const proc = fork(join(here, 'apiserver-server.js'), [dataDir, ...(compactAtBytes ? [String(compactAtBytes)] : [])], {
    // SLUICE_BENCH_SERVER_NODE_ARGS adds node flags to the server, e.g. --cpu-prof to profile it under load.
    execArgv: ['--expose-gc', ...(process.env.SLUICE_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters = new Map<number, (s: ServerStats) => void>();
  let nextId = 1;
  const ready = new Promise<Conn>((res, rej) => {
    proc.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') res({ url: m.url, token: m.token, caPem: m.caPem });
      else if (m.type === 'stats') {
        waiters.get(m.id)?.(m.stats);
        waiters.delete(m.id);
      }
    });
    proc.once('exit', (code) => rej(new Error(`benchmark API server exited with ${String(code)} before it was ready`)));
  });
  const conn = await ready;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    ...conn,
    proc,
    dataDir,
    stats(gc = false) {
      const id = nextId++;
      return new Promise((res) => {
        waiters.set(id, res);
        proc.send({ cmd: 'stats', id, gc } satisfies ParentMessage);
      });
    },
    async close() {
      proc.send({ cmd: 'close' } satisfies ParentMessage);
      await exited;
    },
  };
}

const keepAlive = (c: Conn, sockets: number): Agent => new Agent({ keepAlive: true, maxSockets: sockets, ca: c.caPem });

// Realistic objects: a ConfigMap of ~1 KB (an application config file and a few keys) and a Knative Service
// with labels, annotations, env and resources, also ~1 KB as JSON.
const APP_PROPERTIES = Array.from({ length: 18 }, (_, i) => `feature.flag.${i}=enabled-with-some-value-${i}`).join(
  '\n',
);

function configMap(name: string, gen = 0): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: NS,
      labels: { 'app.kubernetes.io/name': name.slice(0, 40), 'app.kubernetes.io/part-of': 'bench' },
      annotations: { 'bench.sluice.dev/generation': String(gen) },
    },
    data: { 'application.properties': APP_PROPERTIES, LOG_LEVEL: 'info', REGION: 'eu-west-1', GENERATION: String(gen) },
  };
}

function knativeService(name: string, gen = 0): Record<string, unknown> {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: NS,
      labels: { app: name.slice(0, 40), team: 'payments' },
      annotations: { 'bench.sluice.dev/generation': String(gen) },
    },
    spec: {
      template: {
        metadata: {
          annotations: {
            'autoscaling.knative.dev/min-scale': '1',
            'autoscaling.knative.dev/max-scale': '10',
            'autoscaling.knative.dev/target': '100',
          },
        },
        spec: {
          containerConcurrency: 0,
          timeoutSeconds: 300,
          containers: [
            {
              image:
                'ghcr.io/example/payments-api@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945',
              ports: [{ containerPort: 8080 }],
              env: [
                { name: 'GENERATION', value: String(gen) },
                { name: 'LOG_LEVEL', value: 'info' },
                { name: 'DATABASE_URL', value: 'postgres://payments@db.internal:5432/payments' },
                { name: 'FEATURE_FLAGS', value: 'checkout-v2,fast-refunds' },
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              readinessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 5 },
            },
          ],
        },
      },
    },
  };
}

interface Kind {
  key: string;
  path: string;
  make: (name: string, gen: number) => Record<string, unknown>;
}

const KINDS: Kind[] = [
  { key: 'cm', path: `/api/v1/namespaces/${NS}/configmaps`, make: configMap },
  { key: 'ksvc', path: `/apis/serving.knative.dev/v1/namespaces/${NS}/services`, make: knativeService },
];

// ---------------------------------------------------------------------------------------------------------
// 1. durable writes per second and per fdatasync

interface Cell {
  writes: number;
  errors: number;
  seconds: number;
  syncs: number;
  lat: number[];
  /** Whether the WAL was compacted (snapshot rewritten, writes stalled) during the cell. */
  compacted: boolean;
  /** CPU seconds the server process used per wall second (1 = one core busy). */
  serverCores: number;
  serverCpuMicrosPerWrite: number;
  clientCores: number;
}

/** mtime of the store's snapshot, which changes when the WAL compacts. */
async function snapshotTime(dataDir: string): Promise<number> {
  return stat(join(dataDir, 'store', 'snapshot.json')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
}

function openClients(c: Conn, n: number): Promise<RawClient[]> {
  return Promise.all(Array.from({ length: n }, () => RawClient.open(c)));
}

async function throughputCell(
  srv: ServerChild,
  kind: Kind,
  op: 'create' | 'update',
  clients: number,
  seconds: number,
  tag: string,
): Promise<Cell> {
  // Connections (TLS handshakes) are opened before the measured window, as a controller's keep-alive pool is.
  const conns = await openClients(srv, clients);
  // Updates: each client owns one object (no conflicts between clients) and PUTs it with the last
  // resourceVersion it saw, as a controller does.
  const owned: Array<Record<string, unknown>> = [];
  if (op === 'update') {
    await Promise.all(
      conns.map(async (cl, i) => {
        const r = await cl.send('POST', kind.path, JSON.stringify(kind.make(`${tag}-u${i}`, 0)));
        if (r.status !== 201) throw new Error(`create ${kind.key}: ${r.status} ${r.text.slice(0, 300)}`);
        owned[i] = JSON.parse(r.text) as Record<string, unknown>;
      }),
    );
  }
  const before = await srv.stats();
  const snapBefore = await snapshotTime(srv.dataDir);
  const clientBefore = process.cpuUsage();
  const lat: number[] = [];
  let writes = 0,
    errors = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    conns.map(async (cl, i) => {
      let n = 0;
      while (performance.now() < end) {
        n++;
        const s = performance.now();
        let r: Reply;
        if (op === 'create') {
          r = await cl.send('POST', kind.path, JSON.stringify(kind.make(`${tag}-${i}-${n}`, 0)));
        } else {
          const cur = owned[i]!;
          const next = kind.make(`${tag}-u${i}`, n);
          (next.metadata as Record<string, unknown>).resourceVersion = (
            cur.metadata as Record<string, unknown>
          ).resourceVersion;
          r = await cl.send('PUT', `${kind.path}/${tag}-u${i}`, JSON.stringify(next));
          if (r.status === 200) owned[i] = JSON.parse(r.text) as Record<string, unknown>;
        }
        lat.push(performance.now() - s);
        if (r.status === 200 || r.status === 201) writes++;
        else {
          errors++;
          if (errors === 1)
            process.stderr.write(`apiserver bench: ${op} ${kind.key} failed: ${r.status} ${r.text.slice(0, 300)}\n`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const clientCpu = process.cpuUsage(clientBefore);
  const after = await srv.stats();
  const compacted = (await snapshotTime(srv.dataDir)) !== snapBefore;
  for (const cl of conns) cl.close();
  const serverCpu = after.cpuMicros - before.cpuMicros;
  return {
    writes,
    errors,
    seconds: elapsed,
    syncs: after.syncs - before.syncs,
    lat,
    compacted,
    serverCores: serverCpu / 1e6 / elapsed,
    serverCpuMicrosPerWrite: serverCpu / Math.max(1, writes),
    clientCores: (clientCpu.user + clientCpu.system) / 1e6 / elapsed,
  };
}

async function throughput(out: Figures, srv: ServerChild): Promise<void> {
  // Warm-up (JIT, schema compilation, connection set-up) outside the measured cells.
  for (const k of KINDS) await throughputCell(srv, k, 'create', 16, 0.5, `warm-${k.key}`);
  let total = 0;
  for (const kind of KINDS) {
    for (const op of ['create', 'update'] as const) {
      for (const c of LEVELS) {
        const cell = await throughputCell(srv, kind, op, c, CELL_SECONDS, `${kind.key}-${op}-c${c}`);
        const p = `${kind.key}_${op}_c${c}`;
        out[`${p}_writes_per_s`] = Math.round(cell.writes / cell.seconds);
        out[`${p}_writes_per_sync`] = r1(cell.writes / Math.max(1, cell.syncs));
        out[`${p}_latency_p50_ms`] = r2(pct(cell.lat, 50));
        out[`${p}_latency_p99_ms`] = r2(pct(cell.lat, 99));
        out[`${p}_server_cpu_us_per_write`] = Math.round(cell.serverCpuMicrosPerWrite);
        out[`${p}_server_cores`] = r2(cell.serverCores);
        out[`${p}_client_cores`] = r2(cell.clientCores);
        if (cell.errors > 0) out[`${p}_errors`] = cell.errors;
        if (cell.compacted) out[`${p}_compacted_during`] = 'yes (snapshot written, writes stalled)';
        total += cell.writes;
      }
    }
  }
  out.throughput_total_writes = total;
}

// ---------------------------------------------------------------------------------------------------------
// 2. watch delivery latency to 100 raw watch streams

interface RawWatch {
  /** Per write index, the time its event arrived. */
  got: Map<number, number>;
  close(): void;
}

function openWatch(c: Conn, path: string, onEvent: () => void): Promise<RawWatch> {
  return new Promise((res, rej) => {
    const got = new Map<number, number>();
    let buf = '';
    // agent: false: one TLS connection per watcher, as 100 separate controllers would have.
    const req = request(
      new URL(path, c.url),
      { agent: false, ca: c.caPem, headers: { authorization: `Bearer ${c.token}`, accept: 'application/json' } },
      (r) => {
        if (r.statusCode !== 200) {
          rej(new Error(`watch: ${String(r.statusCode)}`));
          return;
        }
        r.setEncoding('utf8');
        r.on('data', (d: string) => {
          // Stamp first, parse minimally: only the object's name (`w-<index>`) is needed.
          const t = performance.now();
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const m = /"name":"w-(\d+)"/.exec(line);
            if (m) {
              got.set(Number(m[1]), t);
              onEvent();
            }
          }
        });
        r.on('error', () => undefined);
        res({ got, close: () => req.destroy() });
      },
    );
    req.on('error', (e) => rej(e));
    req.end();
  });
}

async function watchLatency(out: Figures, srv: ServerChild): Promise<void> {
  const agent = keepAlive(srv, 1);
  await must(srv, agent, 'POST', `/api/v1/namespaces/${NS}/configmaps`, configMap('w-start'));
  const list = JSON.parse((await must(srv, agent, 'GET', `/api/v1/namespaces/${NS}/configmaps?limit=1`)).text) as {
    metadata: { resourceVersion: string };
  };
  const rv = list.metadata.resourceVersion;
  let received = 0;
  let notify: (() => void) | undefined;
  const onEvent = (): void => {
    received++;
    notify?.();
  };
  const watches: RawWatch[] = [];
  // Open the streams a few at a time so the TLS handshakes do not time out on a busy machine.
  for (let i = 0; i < WATCHERS; i += 10) {
    watches.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(10, WATCHERS - i) }, () =>
          openWatch(srv, `/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=${rv}`, onEvent),
        ),
      )),
    );
  }
  await sleep(200);
  const starts: number[] = [];
  const acks: number[] = [];
  let timeouts = 0;
  for (let i = 0; i < WATCH_WRITES; i++) {
    const want = (i + 1) * WATCHERS;
    const allIn = new Promise<void>((res) => {
      notify = () => {
        if (received >= want) res();
      };
      notify();
    });
    starts[i] = performance.now();
    await must(srv, agent, 'POST', `/api/v1/namespaces/${NS}/configmaps`, configMap(`w-${i}`));
    acks[i] = performance.now() - starts[i]!;
    const timedOut = await Promise.race([allIn.then(() => false), sleep(2000).then(() => true)]);
    if (timedOut) {
      timeouts++;
      received = want;
    }
    await sleep(5);
  }
  notify = undefined;
  const lat: number[] = [];
  const spread: number[] = [];
  let missing = 0;
  for (let i = 0; i < WATCH_WRITES; i++) {
    const ts: number[] = [];
    for (const w of watches) {
      const t = w.got.get(i);
      if (t === undefined) missing++;
      else {
        lat.push(t - starts[i]!);
        ts.push(t);
      }
    }
    if (ts.length > 0) spread.push(Math.max(...ts) - Math.min(...ts));
  }
  for (const w of watches) w.close();
  agent.destroy();
  out.watch_watchers = WATCHERS;
  out.watch_writes = WATCH_WRITES;
  out.watch_events_delivered = lat.length;
  if (missing > 0) out.watch_events_missing = missing;
  if (timeouts > 0) out.watch_write_timeouts = timeouts;
  out.watch_latency_p50_ms = r2(pct(lat, 50));
  out.watch_latency_p99_ms = r2(pct(lat, 99));
  out.watch_latency_max_ms = r2(Math.max(...lat));
  out.watch_write_ack_p50_ms = r2(pct(acks, 50));
  out.watch_fanout_spread_p50_ms = r2(pct(spread, 50));
  out.watch_fanout_spread_p99_ms = r2(pct(spread, 99));
}

// ---------------------------------------------------------------------------------------------------------
// 3. memory of 10,000 objects, 4. restart time

async function memory(out: Figures, srv: ServerChild, dataDir: string): Promise<void> {
  const conns = await openClients(srv, 64);
  const base = await srv.stats(true);
  let next = 0;
  let bodyBytes = 0;
  const t0 = performance.now();
  await Promise.all(
    conns.map(async (cl) => {
      while (next < MEMORY_OBJECTS) {
        const i = next++;
        const body = JSON.stringify(configMap(`mem-${String(i).padStart(5, '0')}`));
        if (i === 0) bodyBytes = Buffer.byteLength(body);
        const r = await cl.send('POST', `/api/v1/namespaces/${NS}/configmaps`, body);
        if (r.status !== 201) throw new Error(`create ConfigMap: ${r.status} ${r.text.slice(0, 300)}`);
      }
    }),
  );
  out.memory_fill_writes_per_s = Math.round(MEMORY_OBJECTS / ((performance.now() - t0) / 1000));
  for (const cl of conns) cl.close();
  const after = await srv.stats(true);
  const stored = await must(srv, keepAlive(srv, 1), 'GET', `/api/v1/namespaces/${NS}/configmaps/mem-00000`);
  out.memory_objects = after.objects - base.objects;
  out.memory_request_body_bytes = bodyBytes;
  out.memory_stored_object_json_bytes = Buffer.byteLength(stored.text);
  out.memory_rss_delta_mib_per_10k = r1(((after.rss - base.rss) / 2 ** 20) * (10_000 / out.memory_objects));
  out.memory_heap_delta_mib_per_10k = r1(((after.heapUsed - base.heapUsed) / 2 ** 20) * (10_000 / out.memory_objects));
  out.memory_heap_bytes_per_object = Math.round((after.heapUsed - base.heapUsed) / out.memory_objects);
  out.memory_rss_after_mib = r1(after.rss / 2 ** 20);
  out.memory_wal_mib = r1((await stat(join(dataDir, 'store', 'wal.log'))).size / 2 ** 20);
}

interface Restart {
  endpointsMs: number;
  listMs: number;
  items: number;
}

async function restartOnce(dataDir: string): Promise<Restart> {
  const endpoints = join(dataDir, 'endpoints.json');
  await unlink(endpoints).catch(() => undefined);
  const t0 = performance.now();
  const proc = spawn(
    process.execPath,
    [SLUICE_BIN, 'apiserver', '--data', dataDir, '--api-port', '0', '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    let url = '';
    while (!url) {
      if (proc.exitCode !== null) throw new Error(`sluice apiserver exited with ${proc.exitCode}`);
      if (performance.now() - t0 > 60_000) throw new Error('sluice apiserver did not write endpoints.json within 60 s');
      try {
        url = (JSON.parse(await readFile(endpoints, 'utf8')) as { api: string }).api;
      } catch {
        await sleep(2);
      }
    }
    const endpointsMs = performance.now() - t0;
    const conn: Conn = {
      url,
      token: (await readFile(join(dataDir, 'token'), 'utf8')).trim(),
      caPem: await readFile(join(dataDir, 'ca.crt'), 'utf8'),
    };
    const agent = keepAlive(conn, 1);
    const r = await must(conn, agent, 'GET', `/api/v1/namespaces/${NS}/configmaps`);
    const listMs = performance.now() - t0;
    agent.destroy();
    const items = (JSON.parse(r.text) as { items: unknown[] }).items.length;
    return { endpointsMs, listMs, items };
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

async function restarts(out: Figures, dataDir: string, label: string): Promise<void> {
  const rs: Restart[] = [];
  for (let i = 0; i < RESTARTS; i++) rs.push(await restartOnce(dataDir));
  const med = (xs: number[]): number => pct(xs, 50);
  out[`restart_${label}_endpoints_ms`] = Math.round(med(rs.map((r) => r.endpointsMs)));
  out[`restart_${label}_first_list_ms`] = Math.round(med(rs.map((r) => r.listMs)));
  out[`restart_${label}_listed_objects`] = rs[0]!.items;
}

/** Raw fdatasync latency of the disk under the data directory: the floor under a durable write. */
async function diskProbe(out: Figures, dir: string): Promise<void> {
  const fh = await open(join(dir, 'probe'), 'a');
  const buf = Buffer.alloc(1024, 120);
  const xs: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await fh.write(buf);
    await fh.datasync();
    xs.push(performance.now() - t);
  }
  await fh.close();
  await unlink(join(dir, 'probe'));
  out.disk_fdatasync_p50_ms = r2(pct(xs, 50));
  out.disk_fdatasync_p99_ms = r2(pct(xs, 99));
}

async function timed(out: Figures, name: string, fn: () => Promise<void>): Promise<void> {
  const t = performance.now();
  await fn();
  out[`phase_${name}_s`] = r1((performance.now() - t) / 1000);
}

/**
 * SLUICE_BENCH_APISERVER=throughput,watch,memory (comma-separated; memory includes the restarts) runs only those
 * parts, for repeating one measurement; unset runs everything.
 */
function phases(): Set<string> {
  const v = process.env.SLUICE_BENCH_APISERVER;
  return new Set((v ? v.split(',') : ['throughput', 'watch', 'memory']).map((x) => x.trim()));
}

/** A fresh server on its own data directory, with the benchmark namespace. */
async function freshServer(dir: string, compactAtBytes?: number): Promise<ServerChild> {
  const srv = await forkServer(dir, compactAtBytes);
  const agent = keepAlive(srv, 1);
  await must(srv, agent, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  agent.destroy();
  return srv;
}

async function withServer(
  dir: string,
  fn: (srv: ServerChild) => Promise<void>,
  compactAtBytes?: number,
): Promise<void> {
  const srv = await freshServer(dir, compactAtBytes);
  try {
    await fn(srv);
  } finally {
    await srv.close();
  }
}

/**
 * Compaction: a server with a 1-byte compaction threshold snapshots the whole state after its next write.
 * Compaction runs inside the WAL's flush loop, so a write that arrives meanwhile waits for it: the second
 * write's latency is that stall.
 */
async function compaction(out: Figures, dir: string): Promise<void> {
  const srv = await forkServer(dir, 1);
  try {
    const agent = keepAlive(srv, 2);
    const t0 = performance.now();
    const first = must(srv, agent, 'POST', `/api/v1/namespaces/${NS}/configmaps`, configMap('compact-trigger'));
    await sleep(1);
    const t1 = performance.now();
    await must(srv, agent, 'POST', `/api/v1/namespaces/${NS}/configmaps`, configMap('compact-waiter'));
    out.compaction_stall_ms = Math.round(performance.now() - t1);
    await first;
    out.compaction_trigger_write_ms = Math.round(performance.now() - t0);
    agent.destroy();
  } finally {
    await srv.close();
  }
  out.restart_compacted_snapshot_mib = r1((await stat(join(dir, 'store', 'snapshot.json'))).size / 2 ** 20);
  out.restart_compacted_wal_bytes = (await stat(join(dir, 'store', 'wal.log'))).size;
}

export async function run(): Promise<Figures> {
  const out: Figures = { server: 'child process (fork, --expose-gc); restart via node bin/sluice.js apiserver' };
  const want = phases();
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  // Others share the 2 cores: a 1-minute load average well above 1 before or after means disturbed figures.
  out.loadavg_1m_start = r2(loadavg()[0] ?? 0);
  try {
    await diskProbe(out, root);
    // Each part gets a fresh server and data directory, so one part's objects and history do not weigh on the next.
    // Throughput runs with compaction deferred (1 GiB instead of 64 MiB of log): ~100,000 writes would otherwise
    // compact two or three times at points that vary from run to run, stalling whichever cell it lands in.
    // Compaction's cost is measured on its own below (compaction_stall_ms).
    if (want.has('throughput'))
      await withServer(join(root, 'a'), (srv) => timed(out, 'throughput', () => throughput(out, srv)), 2 ** 30);
    if (want.has('watch'))
      await withServer(join(root, 'b'), (srv) => timed(out, 'watch', () => watchLatency(out, srv)));
    if (want.has('memory')) {
      // 10,000 ConfigMaps, then restarts of the real CLI on that data directory: from the WAL, then compacted.
      // Baseline: the same restart with an empty store (process start, CRD install, TLS load).
      await withServer(join(root, 'e'), () => Promise.resolve());
      await restarts(out, join(root, 'e'), 'empty');
      const dir = join(root, 'c');
      await withServer(dir, (srv) => timed(out, 'memory', () => memory(out, srv, dir)));
      await timed(out, 'restart_wal', () => restarts(out, dir, 'wal'));
      await compaction(out, dir);
      await timed(out, 'restart_compacted', () => restarts(out, dir, 'compacted'));
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  out.loadavg_1m_end = r2(loadavg()[0] ?? 0);
  return out;
}
