// The one HTTP port of the data plane, Knative's ingress + activator + queue-proxy in one: hosts → route →
// revision (exact smooth weighted round-robin, tags by host or by `Knative-Serving-Tag`), then a process of
// that revision via Revision.acquire (which queues while cold or at containerConcurrency). Bodies stream in
// both directions; upgrades (WebSocket) pass through; `/metrics` on any host that is not a route.
import {
  createServer,
  request,
  STATUS_CODES,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import type { RouterOutcome, RuntimeMetrics } from './metrics.js';
import { UnavailableError, type Lease, type Revision } from './revision.js';
import type { RouteSpec, RouteTable } from './types.js';
import { SmoothWeightedRoundRobin } from './weighted-split.js';

export const REVISION_HEADER = 'knative-serving-revision';
export const SLUICE_REVISION_HEADER = 'x-sluice-revision';
export const TAG_HEADER = 'knative-serving-tag';

const DEFAULT_DOMAIN = 'example.com';
const DEFAULT_DOMAIN_TEMPLATE = '{{.Name}}.{{.Namespace}}.{{.Domain}}';
const DEFAULT_TAG_TEMPLATE = '{{.Tag}}-{{.Name}}';
/** How often a request is re-queued when its process refused the connection (it died, or is restarting). */
const MAX_CONNECT_RETRIES = 5;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

interface CompiledRoute {
  namespace: string;
  name: string;
  /** Identity of the split; a route whose split did not change keeps its round-robin position. */
  signature: string;
  split: SmoothWeightedRoundRobin<string>;
  tags: Map<string, string>;
}

interface HostEntry {
  route: CompiledRoute;
  /** Set for a tag's host: always that revision. */
  tag?: string;
}

export type RoutePick =
  | { kind: 'revision'; namespace: string; route: string; revision: string; tag?: string }
  | { kind: 'unknown-host'; host: string }
  | { kind: 'no-traffic'; namespace: string; route: string };

export interface RouterOptions {
  /** Finds the live Revision object for a route target; undefined if the runtime does not run it. */
  lookup: (namespace: string, revisionName: string) => Revision | undefined;
  metrics: RuntimeMetrics;
  clock: Clock;
  logger: Logger;
}

/** Knative's Go-template host names, for the three fields they use. */
export function renderHostTemplate(
  template: string,
  vars: { Name: string; Namespace: string; Domain: string; Tag?: string },
): string {
  return template.replace(
    /\{\{\s*\.(Name|Namespace|Domain|Tag)\s*\}\}/g,
    (_m, k: 'Name' | 'Namespace' | 'Domain' | 'Tag') => vars[k] ?? '',
  );
}

/** Host header → bare lower-case hostname: drops the port, IPv6 brackets' port, and a trailing dot. */
export function normaliseHost(host: string | undefined): string {
  let h = (host ?? '').trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end >= 0 ? h.slice(0, end + 1) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** Every hostname a route answers on: its external URL plus Knative's cluster-local names. */
export function routeHosts(r: RouteSpec, table: RouteTable): { main: string[]; tags: Map<string, string[]> } {
  const domain = r.domain ?? table.domain ?? DEFAULT_DOMAIN;
  const dt = table.domainTemplate ?? DEFAULT_DOMAIN_TEMPLATE;
  const tt = table.tagTemplate ?? DEFAULT_TAG_TEMPLATE;
  const local = (name: string): string[] => [
    `${name}.${r.namespace}.svc.cluster.local`,
    `${name}.${r.namespace}.svc`,
    `${name}.${r.namespace}`,
  ];
  const main = r.hosts ?? [
    renderHostTemplate(dt, { Name: r.name, Namespace: r.namespace, Domain: domain }),
    ...local(r.name),
  ];
  const tags = new Map<string, string[]>();
  for (const t of r.traffic) {
    if (!t.tag) continue;
    const tagName = renderHostTemplate(tt, { Name: r.name, Namespace: r.namespace, Domain: domain, Tag: t.tag });
    tags.set(
      t.tag,
      t.hosts ?? [renderHostTemplate(dt, { Name: tagName, Namespace: r.namespace, Domain: domain }), ...local(tagName)],
    );
  }
  return { main: main.map(normaliseHost), tags: new Map([...tags].map(([k, v]) => [k, v.map(normaliseHost)])) };
}

export class Router {
  readonly #o: RouterOptions;
  #hosts = new Map<string, HostEntry>();
  #routes = new Map<string, CompiledRoute>();
  #tagHeader = false;
  #server: Server | undefined;
  #sockets = new Set<Socket | Duplex>();
  #inFlight = 0;

  constructor(o: RouterOptions) {
    this.#o = o;
  }

  /**
   * Replace the routing table. Requests already routed keep their revision; a route whose split is unchanged
   * keeps its round-robin position, so repeated identical calls do not disturb the exact split.
   */
  setRoutes(table: RouteTable): void {
    const hosts = new Map<string, HostEntry>();
    const routes = new Map<string, CompiledRoute>();
    for (const r of table.routes) {
      const key = `${r.namespace}/${r.name}`;
      const weights = new Map<string, number>();
      for (const t of r.traffic)
        weights.set(t.revisionName, (weights.get(t.revisionName) ?? 0) + Math.max(0, t.percent));
      const items = [...weights].map(([value, weight]) => ({ value, weight }));
      const signature = JSON.stringify(items);
      const prev = this.#routes.get(key);
      const compiled: CompiledRoute = {
        namespace: r.namespace,
        name: r.name,
        signature,
        split: prev && prev.signature === signature ? prev.split : new SmoothWeightedRoundRobin(items),
        tags: new Map(r.traffic.filter((t) => t.tag).map((t) => [t.tag ?? '', t.revisionName])),
      };
      routes.set(key, compiled);
      const h = routeHosts(r, table);
      for (const host of h.main) hosts.set(host, { route: compiled });
      for (const [tag, list] of h.tags) for (const host of list) hosts.set(host, { route: compiled, tag });
    }
    this.#routes = routes;
    this.#hosts = hosts;
    this.#tagHeader = table.tagHeaderRouting ?? false;
    this.#o.metrics.routerHosts.set(hosts.size);
  }

  /** Hostnames currently routed, sorted. */
  hosts(): string[] {
    return [...this.#hosts.keys()].sort();
  }

  /** Route one request (advances the round-robin). Exposed so the split can be checked without sockets. */
  pick(hostHeader: string | undefined, headers: IncomingHttpHeaders = {}): RoutePick {
    const host = normaliseHost(hostHeader);
    const entry = this.#hosts.get(host);
    if (!entry) return { kind: 'unknown-host', host };
    const { route } = entry;
    const base = { namespace: route.namespace, route: route.name };
    if (entry.tag !== undefined) {
      const rev = route.tags.get(entry.tag);
      if (rev) return { kind: 'revision', ...base, revision: rev, tag: entry.tag };
    }
    if (this.#tagHeader) {
      const h = headers[TAG_HEADER];
      const tag = Array.isArray(h) ? h[0] : h;
      // Knative: an unknown tag in the header falls back to the route's split.
      const rev = tag !== undefined ? route.tags.get(tag) : undefined;
      if (tag !== undefined && rev) return { kind: 'revision', ...base, revision: rev, tag };
    }
    const rev = route.split.next();
    if (rev === undefined) return { kind: 'no-traffic', ...base };
    return { kind: 'revision', ...base, revision: rev };
  }

  listen(port: number, host = '127.0.0.1'): Promise<{ port: number; url: string }> {
    const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => this.#handle(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    server.on('clientError', (_e, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        const p = typeof addr === 'object' && addr ? addr.port : port;
        const h = host.includes(':') ? `[${host}]` : host;
        resolve({ port: p, url: `http://${h}:${p}` });
      });
    });
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
      for (const sock of this.#sockets) sock.destroy();
    });
  }

  #count(outcome: RouterOutcome): void {
    this.#o.metrics.routerRequests.inc({ outcome });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const pick = this.pick(req.headers.host, req.headers);
    if (pick.kind === 'unknown-host') {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
        this.#count('metrics');
        void this.#serveMetrics(res);
        return;
      }
      this.#count('unknown_host');
      req.resume();
      plain(
        res,
        404,
        `No route for host "${pick.host}". Hosts served here: see the route's status.url, or \`sluice route list\`.\n`,
      );
      return;
    }
    if (pick.kind === 'no-traffic') {
      this.#count('no_traffic');
      req.resume();
      plain(res, 503, `Route "${pick.namespace}/${pick.route}" has no traffic target with a percent above 0.\n`);
      return;
    }
    const rev = this.#o.lookup(pick.namespace, pick.revision);
    if (!rev) {
      this.#count('unavailable');
      req.resume();
      plain(
        res,
        503,
        `Revision "${pick.namespace}/${pick.revision}" of route "${pick.namespace}/${pick.route}" is not running here (not created yet, or removed).\n`,
        pick.revision,
      );
      return;
    }
    this.#inFlight++;
    this.#o.metrics.routerInFlight.set(this.#inFlight);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#inFlight--;
      this.#o.metrics.routerInFlight.set(this.#inFlight);
      // A client that left before any answer has no response code to report.
      if (!res.headersSent) return;
      this.#o.metrics.recordRequest(
        rev.labels,
        res.statusCode,
        performance.now() - started,
        req.method,
        req.httpVersion,
      );
    };
    res.once('finish', finish);
    res.once('close', finish);
    void this.#proxy(req, res, rev, started);
  }

  async #serveMetrics(res: ServerResponse): Promise<void> {
    try {
      const body = await this.#o.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.#o.metrics.registry.contentType });
      res.end(body);
    } catch (e) {
      plain(res, 500, `metrics failed: ${errorMessage(e)}\n`);
    }
  }

  async #proxy(req: IncomingMessage, res: ServerResponse, rev: Revision, started: number): Promise<void> {
    const name = rev.spec.name;
    const timeoutMs = rev.timeoutMs;
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        abort.abort(
          new UnavailableError(
            504,
            `Revision "${rev.key}" did not start answering within ${timeoutMs / 1000} s (timeoutSeconds).`,
          ),
        );
      },
      Math.max(0, timeoutMs - (performance.now() - started)),
    );
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        abort.abort(new UnavailableError(503, 'client went away'));
      }
      clearTimeout(timer);
    });

    for (let attempt = 0; ; attempt++) {
      let lease: Lease;
      try {
        lease = await rev.acquire(abort.signal);
      } catch (e) {
        clearTimeout(timer);
        if (clientGone) {
          this.#count('client_abort');
          return;
        }
        const status = e instanceof UnavailableError ? e.status : 503;
        this.#count(status === 504 ? 'timeout' : 'unavailable');
        req.resume();
        plain(res, status, `${errorMessage(e)}\n`, name);
        return;
      }
      const outcome = await this.#forward(req, res, rev, lease, abort.signal, () => timedOut);
      if (outcome === 'retry' && attempt < MAX_CONNECT_RETRIES && !abort.signal.aborted) continue;
      clearTimeout(timer);
      if (outcome === 'retry') {
        this.#count('upstream_error');
        req.resume();
        plain(
          res,
          502,
          `Revision "${rev.key}" refused the connection ${attempt + 1} times; its process is not listening (see the revision's status and log).\n`,
          name,
        );
      }
      return;
    }
  }

  /** One attempt. 'retry' only when the connection was refused, so no byte of the request was sent. */
  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    rev: Revision,
    lease: Lease,
    signal: AbortSignal,
    timedOut: () => boolean,
  ): Promise<'done' | 'retry'> {
    return new Promise((resolve) => {
      const name = rev.spec.name;
      const headers = forwardHeaders(req);
      const up = request({
        host: '127.0.0.1',
        port: lease.port,
        method: req.method,
        path: req.url,
        headers,
        agent: lease.agent ?? false,
      });
      let connected = false;
      let settled = false;
      const settle = (v: 'done' | 'retry'): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        lease.release();
        resolve(v);
      };
      const startBody = (): void => {
        if (connected) return;
        connected = true;
        req.pipe(up);
      };
      const onAbort = (): void => {
        up.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      up.once('socket', (s: Socket) => {
        if (s.connecting) s.once('connect', startBody);
        else startBody();
      });
      up.once('response', (ur) => {
        signal.removeEventListener('abort', onAbort);
        const out: OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(ur.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
        out[REVISION_HEADER] = name;
        out[SLUICE_REVISION_HEADER] = name;
        res.writeHead(ur.statusCode ?? 502, ur.statusMessage, out);
        ur.pipe(res);
        ur.once('error', () => res.destroy());
        ur.once('aborted', () => res.destroy());
        res.once('close', () => {
          if (!ur.complete) ur.destroy();
          settle('done');
        });
        ur.once('end', () => settle('done'));
      });
      up.once('error', (e: NodeJS.ErrnoException) => {
        req.unpipe(up);
        if (!connected && e.code === 'ECONNREFUSED' && !signal.aborted) {
          lease.refused();
          settle('retry');
          return;
        }
        // A connection that breaks mid-request usually means the process died; stop sending it work until
        // its exit is seen or its probe passes again, so the next request waits instead of failing too.
        if (e.code === 'ECONNRESET' || e.message === 'socket hang up') lease.refused();
        settle('done');
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (
          signal.aborted &&
          signal.reason instanceof UnavailableError &&
          signal.reason.message === 'client went away'
        ) {
          this.#count('client_abort');
          return;
        }
        if (timedOut()) {
          this.#count('timeout');
          plain(
            res,
            504,
            `Revision "${rev.key}" did not start answering within ${rev.timeoutMs / 1000} s (timeoutSeconds).\n`,
            name,
          );
          return;
        }
        this.#count('upstream_error');
        const why =
          e.code === 'ECONNRESET' || e.message === 'socket hang up'
            ? 'the connection closed before a response (did the process exit? see the revision status)'
            : (e.code ?? e.message);
        this.#o.logger.warn({ revision: rev.key, err: e.message }, 'upstream failed');
        plain(res, 502, `Revision "${rev.key}" failed to answer: ${why}.\n`, name);
      });
      up.once('response', () => this.#count('proxied'));
    });
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const pick = this.pick(req.headers.host, req.headers);
    if (pick.kind !== 'revision') {
      const msg =
        pick.kind === 'unknown-host'
          ? `No route for host "${pick.host}".\n`
          : `Route "${pick.namespace}/${pick.route}" has no traffic.\n`;
      rawResponse(socket, pick.kind === 'unknown-host' ? 404 : 503, msg);
      return;
    }
    const rev = this.#o.lookup(pick.namespace, pick.revision);
    if (!rev) {
      rawResponse(socket, 503, `Revision "${pick.namespace}/${pick.revision}" is not running here.\n`, pick.revision);
      return;
    }
    void this.#upgradeTo(req, socket, head, rev);
  }

  async #upgradeTo(req: IncomingMessage, socket: Duplex, head: Buffer, rev: Revision): Promise<void> {
    const name = rev.spec.name;
    const abort = new AbortController();
    const timer = setTimeout(
      () =>
        abort.abort(
          new UnavailableError(
            504,
            `Revision "${rev.key}" did not accept the upgrade within ${rev.timeoutMs / 1000} s.`,
          ),
        ),
      rev.timeoutMs,
    );
    socket.once('close', () => abort.abort(new UnavailableError(503, 'client went away')));
    let lease: Lease;
    try {
      lease = await rev.acquire(abort.signal);
    } catch (e) {
      clearTimeout(timer);
      rawResponse(socket, e instanceof UnavailableError ? e.status : 503, `${errorMessage(e)}\n`, name);
      return;
    }
    this.#inFlight++;
    this.#o.metrics.routerInFlight.set(this.#inFlight);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      lease.release();
      this.#inFlight--;
      this.#o.metrics.routerInFlight.set(this.#inFlight);
    };
    const headers: OutgoingHttpHeaders = { ...req.headers };
    const up = request({
      host: '127.0.0.1',
      port: lease.port,
      method: req.method,
      path: req.url,
      headers,
      agent: false,
    });
    up.once('upgrade', (ur, usock, uhead) => {
      clearTimeout(timer);
      const lines = [`HTTP/1.1 ${ur.statusCode ?? 101} ${ur.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i + 1 < ur.rawHeaders.length; i += 2) lines.push(`${ur.rawHeaders[i]}: ${ur.rawHeaders[i + 1]}`);
      lines.push(`Knative-Serving-Revision: ${name}`, `X-Sluice-Revision: ${name}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (uhead.length > 0) socket.write(uhead);
      if (head.length > 0) usock.write(head);
      usock.pipe(socket);
      socket.pipe(usock);
      const end = (): void => {
        usock.destroy();
        socket.destroy();
        release();
      };
      usock.once('close', end);
      usock.once('error', end);
      socket.once('close', end);
      this.#o.metrics.recordRequest(rev.labels, ur.statusCode ?? 101, 0, req.method, req.httpVersion);
    });
    up.once('response', (ur) => {
      // The process declined to upgrade: relay its answer as a plain response.
      const lines = [`HTTP/1.1 ${ur.statusCode ?? 502} ${ur.statusMessage ?? ''}`];
      for (let i = 0; i + 1 < ur.rawHeaders.length; i += 2) {
        const k = ur.rawHeaders[i] ?? '';
        if (!HOP_BY_HOP.has(k.toLowerCase())) lines.push(`${k}: ${ur.rawHeaders[i + 1]}`);
      }
      lines.push(`Knative-Serving-Revision: ${name}`, `X-Sluice-Revision: ${name}`, 'Connection: close');
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      ur.pipe(socket);
      ur.once('end', release);
      ur.once('close', release);
    });
    up.once('error', (e) => {
      rawResponse(socket, 502, `Revision "${rev.key}" failed the upgrade: ${e.message}.\n`, name);
      release();
    });
    up.end();
  }
}

function forwardHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote;
  out['x-forwarded-proto'] = 'http';
  return out;
}

function plain(res: ServerResponse, status: number, body: string, revision?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: OutgoingHttpHeaders = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  };
  if (revision) {
    headers[REVISION_HEADER] = revision;
    headers[SLUICE_REVISION_HEADER] = revision;
  }
  res.writeHead(status, headers);
  res.end(body);
}

function rawResponse(socket: Duplex, status: number, body: string, revision?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  if (revision) lines.push(`Knative-Serving-Revision: ${revision}`, `X-Sluice-Revision: ${revision}`);
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
}
