// Alert delivery latency: from notify() to a loopback receiver having the event (webhook with HMAC verification,
// CloudEvents binary parsed with the SDK), p50/p99 over N sequential events; then the same with a dead sink
// (connection refused) and a hanging sink (accepts, never answers) in the same notify, measured in the same run,
// reported as ratios to the no-dead-sink baseline. Plus a burst: N events notified at once, time to the last.
import { createServer, type Server } from 'node:http';
import { createServer as netServer, type Socket } from 'node:net';
import { HTTP } from 'cloudevents';
import {
  AlertDispatcher,
  FunctionSecretResolver,
  verifyWebhookSignature,
  type AlertEvent,
  type AlertSinkSpec,
} from '../src/alerts/index.js';

const N = 200;
const WARMUP = 20;
const KEY = 'bench-hmac-key';

type Figures = Record<string, number | string>;

interface Rx {
  url: string;
  /** performance.now() when the event with this id arrived. */
  arrived: Map<string, number>;
  server: Server;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

async function webhookRx(): Promise<Rx> {
  const arrived = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const v = verifyWebhookSignature(
        KEY,
        req.headers['x-sluice-timestamp'] as string,
        body,
        req.headers['x-sluice-signature-256'] as string,
        Date.now(),
      );
      if (!v.ok) {
        res.writeHead(401).end();
        return;
      }
      arrived.set(String(req.headers['x-sluice-delivery']), performance.now());
      res.writeHead(204).end();
    });
  });
  return { url: `http://127.0.0.1:${await listen(server)}/hook`, arrived, server };
}

async function cloudEventsRx(): Promise<Rx> {
  const arrived = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const ce = HTTP.toEvent({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const one = Array.isArray(ce) ? ce[0] : ce;
      if (one) arrived.set(one.id, performance.now());
      res.writeHead(202).end();
    });
  });
  return { url: `http://127.0.0.1:${await listen(server)}/ce`, arrived, server };
}

let counter = 0;
function event(): AlertEvent {
  counter++;
  return {
    id: `bench-${counter}`,
    type: 'step',
    namespace: 'bench',
    service: 'web',
    rollout: 'web',
    phase: 'Progressing',
    stableRevision: 'web-00001',
    canaryRevision: 'web-00002',
    canaryWeight: 20,
    stableWeight: 80,
    step: { index: counter, total: 1_000_000 },
    commit: { sha: '0123456789abcdef0123456789abcdef01234567', message: 'bench' },
    message: `step ${counter}`,
    time: Date.now(),
    severity: 'info',
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for delivery');
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** Sequential: notify, wait for arrival, next. Returns latencies in ms. */
async function sequential(d: AlertDispatcher, rx: Rx, sinks: AlertSinkSpec[], n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const e = event();
    const t0 = performance.now();
    d.notify(e, sinks);
    await until(() => rx.arrived.has(e.id));
    out.push(rx.arrived.get(e.id)! - t0);
  }
  return out;
}

async function measure(
  prefix: string,
  rx: Rx,
  extra: AlertSinkSpec[],
  good: AlertSinkSpec,
  f: Figures,
): Promise<number[]> {
  const secrets = new FunctionSecretResolver(async () => KEY);
  const d = new AlertDispatcher({
    secrets,
    dedupeWindowMs: 0,
    timeoutMs: 1000,
    retry: { baseMs: 50, maxMs: 1000, maxAttempts: 5 },
  });
  try {
    const sinks = [...extra, good];
    await sequential(d, rx, sinks, WARMUP);
    const lat = (await sequential(d, rx, sinks, N)).sort((a, b) => a - b);
    f[`${prefix}_p50_ms`] = Number(pct(lat, 0.5).toFixed(3));
    f[`${prefix}_p99_ms`] = Number(pct(lat, 0.99).toFixed(3));
    return lat;
  } finally {
    await d.close();
  }
}

export async function run(): Promise<Figures> {
  const f: Figures = { events: N };
  const web = await webhookRx();
  const ce = await cloudEventsRx();
  // dead sinks: a port nobody listens on, and a TCP server that accepts and never answers
  const refused = netServer();
  const refusedPort = await new Promise<number>((r) =>
    refused.listen(0, '127.0.0.1', () => r((refused.address() as { port: number }).port)),
  );
  await new Promise<void>((r) => refused.close(() => r()));
  const hangSockets = new Set<Socket>();
  const hang = netServer((sock) => {
    hangSockets.add(sock); // never answers
    sock.on('close', () => hangSockets.delete(sock));
  });
  const hangPort = await new Promise<number>((r) =>
    hang.listen(0, '127.0.0.1', () => r((hang.address() as { port: number }).port)),
  );
  const dead: AlertSinkSpec[] = [
    { type: 'webhook', url: `http://127.0.0.1:${refusedPort}/hook` },
    { type: 'cloudevents', url: `http://127.0.0.1:${hangPort}/ce` },
  ];
  const webSink: AlertSinkSpec = { type: 'webhook', url: web.url, secretRef: { name: 'hooks' } };
  const ceSink: AlertSinkSpec = { type: 'cloudevents', url: ce.url };
  try {
    // warm the JIT and the connection pools once, so the first measured mode is not penalised
    const scratch: Figures = {};
    await measure('warm', web, [], webSink, scratch);
    await measure('warm', ce, [], ceSink, scratch);
    await measure('webhook', web, [], webSink, f);
    await measure('webhook_deadSink', web, dead, webSink, f);
    await measure('cloudevents', ce, [], ceSink, f);
    await measure('cloudevents_deadSink', ce, dead, ceSink, f);
    for (const p of ['webhook', 'cloudevents']) {
      for (const q of ['p50', 'p99']) {
        const base = f[`${p}_${q}_ms`] as number;
        const withDead = f[`${p}_deadSink_${q}_ms`] as number;
        f[`${p}_deadSink_${q}_ratio`] = Number((withDead / base).toFixed(2));
      }
    }
    // burst: N events at once to one webhook sink (one queue, one connection at a time)
    const d = new AlertDispatcher({ secrets: new FunctionSecretResolver(async () => KEY), dedupeWindowMs: 0 });
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const e = event();
      ids.push(e.id);
      d.notify(e, [webSink]);
    }
    f['burst_notify_ms'] = Number((performance.now() - t0).toFixed(3));
    await until(() => ids.every((id) => web.arrived.has(id)));
    const total = performance.now() - t0;
    f['burst_all_delivered_ms'] = Number(total.toFixed(1));
    f['burst_events_per_s'] = Math.round(N / (total / 1000));
    await d.close();
  } finally {
    for (const s of [web.server, ce.server]) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    for (const sock of hangSockets) sock.destroy();
    await new Promise<void>((r) => hang.close(() => r()));
  }
  return f;
}
