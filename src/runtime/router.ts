// The one HTTP port of the data plane, Knative's ingress + activator + queue-proxy in one: hosts → route →
// revision (exact smooth weighted round-robin, tags by host or by `Knative-Serving-Tag`), then a process of
// that revision via Revision.acquire (which queues while cold or at containerConcurrency). Bodies stream in
// both directions; upgrades (WebSocket) pass through; `/metrics` on any host that is not a route.
// The port is a net.Server: simple requests are proxied on raw sockets (fast-path.ts); every other request
// hands its connection to the http.Server here, the reference behaviour.
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
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { FastPath } from './fast-path.js';
import type { RouterOutcome, RuntimeMetrics } from './metrics.js';
import { forwardHeaders, HOP_BY_HOP, plain, ProxiedRequest, TAG_HEADER, type ProxyContext } from './proxy.js';
import { UnavailableError, type Lease, type Revision } from './revision.js';
import type { RouteSpec, RouteTable } from './types.js';
import { SmoothWeightedRoundRobin } from './weighted-split.js';

export { REVISION_HEADER, SLUICE_REVISION_HEADER, TAG_HEADER } from './proxy.js';

const DEFAULT_DOMAIN = 'example.com';
const DEFAULT_DOMAIN_TEMPLATE = '{{.Name}}.{{.Namespace}}.{{.Domain}}';
const DEFAULT_TAG_TEMPLATE = '{{.Tag}}-{{.Name}}';
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
  #net: NetServer | undefined;
  #fast: FastPath | undefined;
  /** A request the fast path routed and then handed off: its pick, for #handle to use instead of picking again. */
  readonly #handedOffPicks = new WeakMap<Socket, RoutePick>();
  #sockets = new Set<Socket | Duplex>();
  #inFlight = 0;
  #hostHandlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  readonly #proxyContext: ProxyContext;

  constructor(o: RouterOptions) {
    this.#o = o;
    this.#proxyContext = { count: (outcome) => this.#count(outcome), logger: o.logger };
    o.metrics.trackRouterInFlight(() => this.#inFlight);
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

  /**
   * Hands every request for `host` to `handler` (undefined removes it): how the broker ingress of Eventing
   * shares this port without the router knowing about brokers.
   */
  setHostHandler(host: string, handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined): void {
    if (handler) this.#hostHandlers.set(normaliseHost(host), handler);
    else this.#hostHandlers.delete(normaliseHost(host));
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
    const fast = new FastPath({
      hasHostHandler: (h) => this.#hostHandlers.size > 0 && this.#hostHandlers.has(normaliseHost(h)),
      pick: (h, headers) => this.pick(h, headers),
      lookup: this.#o.lookup,
      proxy: this.#proxyContext,
      begin: () => {
        this.#inFlight++;
      },
      end: (rev, status, startedAt, method) => {
        this.#inFlight--;
        // A client that left before any answer has no response code to report.
        if (status > 0) this.#o.metrics.recordRequest(rev.labels, status, performance.now() - startedAt, method, '1.1');
      },
      handOff: (socket, pick) => {
        if (pick) this.#handedOffPicks.set(socket, pick);
        server.emit('connection', socket);
      },
    });
    this.#fast = fast;
    // The same socket options as the http.Server's own, so a handed-off connection behaves as one it accepted.
    const net = createNetServer({ allowHalfOpen: true, noDelay: true }, (s) => fast.accept(s));
    this.#net = net;
    return new Promise((resolve, reject) => {
      net.once('error', reject);
      net.listen(port, host, () => {
        net.off('error', reject);
        // The http.Server never listens itself, but it starts its connection tracking (headersTimeout,
        // requestTimeout, closeAllConnections) on 'listening'.
        server.emit('listening');
        const addr = net.address();
        const p = typeof addr === 'object' && addr ? addr.port : port;
        const h = host.includes(':') ? `[${host}]` : host;
        resolve({ port: p, url: `http://${h}:${p}` });
      });
    });
  }

  async close(): Promise<void> {
    const s = this.#server;
    const net = this.#net;
    if (!s || !net) return;
    this.#server = undefined;
    this.#net = undefined;
    await new Promise<void>((r) => {
      // Waits for every accepted connection, the handed-off ones included, to close.
      net.close(() => r());
      // Not listening: only stops its connection tracking (its callback would get ERR_SERVER_NOT_RUNNING).
      s.close();
      s.closeAllConnections();
      this.#fast?.close();
      for (const sock of this.#sockets) sock.destroy();
    });
    this.#fast = undefined;
  }

  #count(outcome: RouterOutcome): void {
    this.#o.metrics.routerRequests.inc({ outcome });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    // Revision processes get HTTP_PROXY=<this router>, so `http://x.ns.svc.cluster.local/…` arrives here in
    // proxy (absolute) form; it is served like a request with that Host.
    const proxied = /^http:\/\//i.test(req.url ?? '');
    if (proxied) {
      const u = new URL(req.url ?? '');
      req.url = `${u.pathname}${u.search}`;
      req.headers.host = u.host;
    }
    const handedOff = this.#handedOffPicks.get(req.socket);
    if (handedOff) this.#handedOffPicks.delete(req.socket);
    const handler = this.#hostHandlers.get(normaliseHost(req.headers.host));
    if (handler) {
      this.#count('proxied');
      handler(req, res);
      return;
    }
    // The fast path routed this request before handing it here: the round-robin already advanced for it.
    const pick = handedOff ?? this.pick(req.headers.host, req.headers);
    if (pick.kind === 'unknown-host' && proxied && !isClusterLocalHost(pick.host)) {
      this.#forwardToOrigin(req, res);
      return;
    }
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
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#inFlight--;
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
    new ProxiedRequest(this.#proxyContext, req, res, rev, started).start();
  }

  /** Plain forward proxying for a revision process's request to a host outside the cluster. */
  #forwardToOrigin(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(`http://${req.headers.host ?? ''}${req.url ?? '/'}`);
    const up = request({
      host: u.hostname,
      port: u.port || 80,
      method: req.method,
      path: `${u.pathname}${u.search}`,
      headers: forwardHeaders(req),
      agent: false,
    });
    up.once('response', (ur) => {
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(ur.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, out);
      ur.pipe(res);
    });
    up.once('error', (e) => plain(res, 502, `Could not reach ${u.host}: ${e.message}\n`));
    req.pipe(up);
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
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      lease.release();
      this.#inFlight--;
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

/** Knative's cluster-local names: served here or nowhere. */
function isClusterLocalHost(host: string): boolean {
  return host.endsWith('.svc.cluster.local') || host.endsWith('.svc');
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
