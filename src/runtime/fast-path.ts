// The router's fast path: HTTP/1.1 relayed on raw sockets for the common request. Node's http server and undici
// client cost the router ~75–98 µs of CPU per proxied request, most of it in their machinery rather than in
// proxying, so the router's port is a net.Server and each connection starts here.
//
// A request is proxied here only when it is *simple*: an origin-form target over HTTP/1.1, well-formed
// header lines, one Host, no Transfer-Encoding, Upgrade or Expect, at most one valid Content-Length, a host
// without a host handler, and a routed revision with a process free at once (`tryAcquire`). Any other request
// hands its connection, from that request on, to the router's http.Server (`handOff`), whose answers are the
// reference: this module answers, counts and records exactly as `Router.#handle` + `ProxiedRequest` do.
//
// The message syntax (request heads, chunked framing) is in http1.ts.
//
// Allocation: one ClientConnection per client connection and one Upstream per connection to a process hold
// all state; a request allocates its head strings and nothing else (no closures, promises or listeners),
// except when its process refused the connection and it waits in the revision's queue.
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { errorMessage } from '../util/errors.js';
import {
  brokenConnection,
  CLIENT_GONE,
  failedMessage,
  HOP_BY_HOP,
  MAX_CONNECT_RETRIES,
  REVISION_HEADER,
  refusedBeforeSending,
  refusedMessage,
  SLUICE_REVISION_HEADER,
  TAG_HEADER,
  timeoutError,
  type ProxyContext,
} from './proxy.js';
import {
  BAD,
  ChunkedScanner,
  connectionTokens,
  MORE,
  parseLength,
  parseRequestHead,
  removeHeaders,
  scanHeaderLine,
  HeaderLine,
  RequestHead,
  upstreamHead,
} from './http1.js';
import { UnavailableError, type Lease, type Revision } from './revision.js';
import type { RoutePick } from './router.js';

/** Node's http server limit on a request head (`--max-http-header-size`); past it Node answers 431. */
const MAX_HEAD = 16 * 1024;
/** A longer response head fails the exchange, as undici's default limit (the same 16 KiB) does. */
const MAX_RESPONSE_HEAD = 16 * 1024;
/** Unread client bytes (a body waiting for its process, pipelined requests) past which the client is paused. */
const CLIENT_BUFFER_LIMIT = 64 * 1024;
/** Idle keep-alive connections kept per process port. */
const MAX_IDLE_PER_PORT = 64;
/**
 * An idle upstream connection older than this is not reused, as the replica's undici Pool does: the samples
 * (Node servers) close idle connections after 5 s, and a request sent on one they are closing would fail.
 */
const UPSTREAM_IDLE_MS = 4000;
/** The http server's `keepAliveTimeout`. */
const KEEP_ALIVE_MS = 5000;
/** The http server's `requestTimeout`: the most a request, its body included, may take to arrive. */
const REQUEST_TIMEOUT_MS = 300_000;
/** The response header line scanned at a time (the head is parsed synchronously). */
const RESPONSE_LINE = new HeaderLine();
/** Methods a client may send again after a connection failure (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const NO_HEADERS: IncomingHttpHeaders = {};
const KEEP_ALIVE_LINES = 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n';
const CLOSE_LINES = 'Connection: close\r\n\r\n';

/** What the fast path needs from the router. */
export interface FastPathRouter {
  /** True when a host handler (Eventing's broker ingress) serves this Host header's host. */
  hasHostHandler(hostHeader: string): boolean;
  /** `Router.pick`: advances the round-robin. */
  pick(hostHeader: string, headers: IncomingHttpHeaders): RoutePick;
  lookup(namespace: string, revisionName: string): Revision | undefined;
  readonly proxy: ProxyContext;
  /** A request was routed to a revision (the router's in-flight gauge). */
  begin(): void;
  /** It ended; `status` > 0 when an answer's head was sent, recorded like the slow path's. */
  end(rev: Revision, status: number, startedAt: number, method: string): void;
  /**
   * Give the connection to the http.Server, its unread bytes already unshifted; `pick` when this request was
   * already routed (the round-robin advanced), for the slow path to use instead of picking again.
   */
  handOff(socket: Socket, pick: RoutePick | undefined): void;
}

export class FastPath {
  readonly pool = new UpstreamPool();
  readonly #connections = new Set<ClientConnection>();

  constructor(readonly router: FastPathRouter) {}

  /** A new client connection: from here on the fast path owns it until it closes or is handed off. */
  accept(socket: Socket): void {
    this.#connections.add(new ClientConnection(this, socket));
  }

  forget(c: ClientConnection): void {
    this.#connections.delete(c);
  }

  /** Destroys every client connection still owned here and every upstream connection. */
  close(): void {
    for (const c of this.#connections) c.destroy();
    this.#connections.clear();
    this.pool.close();
  }
}

// ---- upstream connections ----

/** One keep-alive connection to a revision process; idle in the pool, or serving one ClientConnection. */
class Upstream {
  readonly socket: Socket;
  owner: ClientConnection | null = null;
  connected = false;
  error: Error | undefined;
  idleSince = 0;
  /** How long it may stay idle before it is not reused (shortened by the process's `Keep-Alive: timeout`). */
  idleMs = UPSTREAM_IDLE_MS;

  constructor(
    readonly pool: UpstreamPool,
    readonly port: number,
  ) {
    const s = createConnection(port, '127.0.0.1');
    this.socket = s;
    s.setNoDelay(true);
    pool.live.add(this);
    // Listeners once per connection; each event goes to whichever request uses the connection now.
    s.on('connect', () => {
      this.connected = true;
      this.owner?.onUpstreamConnect();
    });
    s.on('data', (chunk: Buffer) => {
      if (this.owner) this.owner.onUpstreamData(chunk);
      else s.destroy(); // bytes on an idle connection: nothing asked for them
    });
    s.on('drain', () => this.owner?.onUpstreamDrain());
    s.on('end', () => {
      if (this.owner) this.owner.onUpstreamEnd(this);
      else s.destroy();
    });
    s.on('error', (e: Error) => {
      this.error = e;
    });
    s.on('close', () => {
      pool.forget(this);
      this.owner?.onUpstreamClose(this, this.error);
    });
  }

  destroy(): void {
    this.owner = null;
    this.socket.destroy();
  }
}

/** Idle keep-alive connections per process port, newest last. */
class UpstreamPool {
  readonly #idle = new Map<number, Upstream[]>();
  /** Every upstream connection, idle or busy, so close() can destroy them all. */
  readonly live = new Set<Upstream>();

  take(port: number): Upstream | undefined {
    const list = this.#idle.get(port);
    if (!list) return undefined;
    const now = performance.now();
    for (let up = list.pop(); up; up = list.pop()) {
      if (now - up.idleSince < up.idleMs && !up.socket.destroyed) return up;
      // The newest is too old, so every older one is too.
      up.destroy();
    }
    return undefined;
  }

  put(up: Upstream): void {
    let list = this.#idle.get(up.port);
    if (!list) {
      list = [];
      this.#idle.set(up.port, list);
    }
    if (list.length >= MAX_IDLE_PER_PORT) {
      up.destroy();
      return;
    }
    up.idleSince = performance.now();
    list.push(up);
  }

  forget(up: Upstream): void {
    this.live.delete(up);
    const list = this.#idle.get(up.port);
    if (!list) return;
    const i = list.indexOf(up);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#idle.delete(up.port);
  }

  close(): void {
    for (const up of this.live) up.destroy();
    this.live.clear();
    this.#idle.clear();
  }
}

// ---- client connections ----

/** Why the client socket is paused (bits). */
const PAUSED_UPSTREAM = 1;
const PAUSED_BUFFER = 2;

/** How the answer's body is framed. */
const RES_HEAD = 0;
const RES_NONE = 1;
const RES_LENGTH = 2;
const RES_CHUNKED = 3;
const RES_CLOSE = 4;

/** What #startRequest did. */
const NEED_MORE = 0;
const STARTED = 1;
const GONE = 2;

function hangUp(): Error {
  // What undici reports when the process closes the connection before its answer ended.
  return Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
}

/** One client connection: its requests, one at a time, each relayed to a process over an Upstream. */
class ClientConnection {
  readonly #fp: FastPath;
  readonly #socket: Socket;
  readonly #remote: string;
  readonly #head = new RequestHead();
  readonly #chunked = new ChunkedScanner();
  /** Unread client bytes are #buf[#pos…]. */
  #buf: Buffer | null = null;
  #pos = 0;
  /** How many unread bytes were already searched for the end of a head. */
  #scanned = 0;
  #paused = 0;
  /** No more client input is processed (closing, closed or handed off). */
  #closed = false;
  #served = 0;
  readonly #idleTimer: NodeJS.Timeout;
  #timer: NodeJS.Timeout | undefined;
  #timerMs = 0;

  // The request in flight (#active), from routing to the end of its answer.
  #active = false;
  #rev: Revision | null = null;
  #lease: Lease | null = null;
  #started = 0;
  #method = '';
  #isHead = false;
  /** Close the client connection after this answer (the client or the process asked, or close-delimited). */
  #closeAfter = false;
  #upHead = '';
  /** Request body bytes still to forward (or to discard, when #discarding). */
  #reqRemaining = 0;
  #discarding = false;
  /** The request has no body (so its head alone can be sent again). */
  #bodiless = false;
  /** This exchange runs on a kept-alive connection taken from the pool. */
  #onPooled = false;
  /** The request was sent again once after its pooled connection closed under it. */
  #resent = false;
  /** Body bytes were discarded since the idle timer last fired. */
  #discardProgress = false;
  #attempt = 0;
  #queue: AbortController | null = null;
  #up: Upstream | null = null;
  #upHeadWritten = false;
  #upPaused = false;
  /** The answer: its framing, the status once its head went to the client (0 before). */
  #res = RES_HEAD;
  #rbuf: Buffer | null = null;
  #rscanned = 0;
  #status = 0;
  #resRemaining = 0;
  /** The upstream connection can serve another request after this answer. */
  #reuse = false;
  #upIdleMs = UPSTREAM_IDLE_MS;

  constructor(fp: FastPath, socket: Socket) {
    this.#fp = fp;
    this.#socket = socket;
    this.#remote = socket.remoteAddress ?? '';
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
    socket.on('drain', this.#onDrain);
    socket.on('finish', this.#onFinish);
    this.#idleTimer = setTimeout(this.#onIdleTimer, KEEP_ALIVE_MS);
    this.#idleTimer.unref();
  }

  destroy(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  // ---- client socket events (bound once per connection) ----

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    const buf = this.#buf;
    if (buf === null) {
      this.#buf = chunk;
      this.#pos = 0;
    } else {
      this.#buf = Buffer.concat([buf.subarray(this.#pos), chunk]);
      this.#pos = 0;
    }
    this.#drive();
  };

  /** The client half-closed: like Node's http server (httpAllowHalfOpen false), drop what is in flight and end. */
  readonly #onEnd = (): void => {
    if (this.#closed) return;
    this.#clientGone();
    this.#close(true);
  };

  readonly #onClose = (): void => {
    this.#closed = true;
    this.#clientGone();
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#timer);
    this.#buf = null;
    this.#fp.forget(this);
  };

  readonly #onError = (): void => {
    // 'close' follows and does the clean-up.
  };

  readonly #onDrain = (): void => {
    const up = this.#up;
    if (this.#upPaused && up) {
      this.#upPaused = false;
      up.socket.resume();
    }
  };

  readonly #onFinish = (): void => {
    // Our side ended (Connection: close, or the client left): like Node's destroySoon.
    if (this.#closed) this.#socket.destroy();
  };

  readonly #onIdleTimer = (): void => {
    if (this.#closed || this.#active) return;
    if (this.#reqRemaining > 0) {
      // The rest of a body nobody waits for: dropped while it keeps coming, within the http server's
      // requestTimeout; a client that stops sending it for a keep-alive period, or trickles it past that, is cut.
      if (this.#discardProgress && performance.now() - this.#started < REQUEST_TIMEOUT_MS) {
        this.#discardProgress = false;
        this.#idleTimer.refresh();
      } else this.destroy();
      return;
    }
    // A connection that never sent a request, or sends a head slowly, gets Node's own timeouts
    // (headersTimeout, requestTimeout); an idle keep-alive connection is closed as Node's keepAliveTimeout does.
    if (this.#served === 0 || this.#avail() > 0) this.#handOff(undefined);
    else this.destroy();
  };

  readonly #onRequestTimer = (): void => {
    if (!this.#active || this.#closed) return;
    const rev = this.#rev;
    if (!rev) return;
    const reason = timeoutError(rev);
    const q = this.#queue;
    if (q) {
      this.#queue = null;
      q.abort(reason);
    }
    this.#dropUpstream();
    if (this.#status !== 0) {
      // Part of the answer was sent: cut the connection, as the slow path's res.destroy() does.
      this.#endRequest();
      this.destroy();
      return;
    }
    this.#fp.router.proxy.count('timeout');
    this.#answer(reason.status, `${reason.message}\n`);
  };

  // ---- reading requests ----

  #avail(): number {
    const b = this.#buf;
    return b === null ? 0 : b.length - this.#pos;
  }

  #take(n: number): Buffer {
    const b = this.#buf as Buffer;
    const start = this.#pos;
    this.#pos += n;
    if (this.#pos === b.length) {
      this.#buf = null;
      this.#pos = 0;
      return start === 0 ? b : b.subarray(start);
    }
    return b.subarray(start, start + n);
  }

  #skip(n: number): void {
    const b = this.#buf as Buffer;
    this.#pos += n;
    if (this.#pos === b.length) {
      this.#buf = null;
      this.#pos = 0;
    }
  }

  /** Move client bytes on: forward or discard body bytes, or start the next request once the last one ended. */
  #drive(): void {
    for (;;) {
      if (this.#closed) return;
      if (this.#reqRemaining > 0) {
        const avail = this.#avail();
        if (avail === 0) break;
        const n = Math.min(avail, this.#reqRemaining);
        if (this.#discarding) {
          this.#skip(n);
          this.#discardProgress = true;
          this.#reqRemaining -= n;
          if (this.#reqRemaining === 0) this.#discarding = false;
          continue;
        }
        const up = this.#up;
        if (!up || !this.#upHeadWritten || (this.#paused & PAUSED_UPSTREAM) !== 0) break;
        this.#reqRemaining -= n;
        if (!up.socket.write(this.#take(n))) this.#pause(PAUSED_UPSTREAM);
        continue;
      }
      if (this.#active || this.#avail() === 0) break;
      const r = this.#startRequest();
      if (r === GONE) return;
      if (r === NEED_MORE) break;
    }
    if (this.#avail() > CLIENT_BUFFER_LIMIT) this.#pause(PAUSED_BUFFER);
    else this.#unpause(PAUSED_BUFFER);
  }

  #pause(bit: number): void {
    if (this.#paused === 0) this.#socket.pause();
    this.#paused |= bit;
  }

  #unpause(bit: number): void {
    if ((this.#paused & bit) === 0) return;
    this.#paused &= ~bit;
    if (this.#paused === 0 && !this.#closed) this.#socket.resume();
  }

  /** Parse the head at #pos and proxy it, or hand the connection off. */
  #startRequest(): number {
    const buf = this.#buf as Buffer;
    const pos = this.#pos;
    const avail = buf.length - pos;
    const end = buf.indexOf(CRLFCRLF, pos + (this.#scanned > 3 ? this.#scanned - 3 : 0));
    if (end < 0) {
      if (avail > MAX_HEAD) return this.#handOff(undefined);
      this.#scanned = avail;
      return NEED_MORE;
    }
    this.#scanned = 0;
    const headLen = end + 4 - pos;
    const h = this.#head;
    if (headLen > MAX_HEAD || !parseRequestHead(buf.toString('latin1', pos, end), h)) return this.#handOff(undefined);
    const conn = h.connection === undefined ? undefined : connectionTokens(h.connection);
    const router = this.#fp.router;
    if (router.hasHostHandler(h.host)) return this.#handOff(undefined);
    const pick = router.pick(h.host, h.tag === undefined ? NO_HEADERS : { [TAG_HEADER]: h.tag });
    if (pick.kind !== 'revision') return this.#handOff(pick);
    const rev = router.lookup(pick.namespace, pick.revision);
    if (!rev) return this.#handOff(pick);
    // A revision with no process free at once queues the request: the slow path's ProxiedRequest does that.
    const lease = rev.tryAcquire();
    if (!lease) return this.#handOff(pick);
    this.#skip(headLen);
    this.#active = true;
    this.#rev = rev;
    this.#started = performance.now();
    this.#method = h.method;
    this.#isHead = h.method === 'HEAD';
    this.#closeAfter = conn?.close ?? false;
    this.#upHead = upstreamHead(h, conn?.names, this.#remote);
    this.#reqRemaining = h.contentLength;
    this.#bodiless = h.contentLength === 0;
    this.#resent = false;
    this.#discarding = false;
    this.#attempt = 0;
    this.#status = 0;
    router.begin();
    this.#armTimer(rev.timeoutMs);
    this.#send(lease);
    return STARTED;
  }

  /** Node's pattern for giving a socket to an http.Server: unread bytes back into the stream, then 'connection'. */
  #handOff(pick: RoutePick | undefined): number {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#timer);
    const s = this.#socket;
    s.off('data', this.#onData);
    s.off('end', this.#onEnd);
    s.off('close', this.#onClose);
    s.off('error', this.#onError);
    s.off('drain', this.#onDrain);
    s.off('finish', this.#onFinish);
    this.#fp.forget(this);
    const b = this.#buf;
    this.#buf = null;
    if (b !== null) s.unshift(this.#pos === 0 ? b : b.subarray(this.#pos));
    this.#fp.router.handOff(s, pick);
    // The http server's 'data' listener resumes a flowing socket, not one we paused.
    if (s.isPaused()) s.resume();
    return GONE;
  }

  /** timeoutSeconds, from the start of the request to the end of its answer (as the slow path counts it). */
  #armTimer(ms: number): void {
    // One timer per connection, re-armed per request; a firing for a finished request finds nothing active.
    if (this.#timer !== undefined && this.#timerMs === ms) {
      this.#timer.refresh();
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#onRequestTimer, ms);
    this.#timer.unref();
    this.#timerMs = ms;
  }

  // ---- the exchange with the process ----

  #send(lease: Lease): void {
    this.#lease = lease;
    this.#res = RES_HEAD;
    this.#rbuf = null;
    this.#rscanned = 0;
    this.#reuse = true;
    this.#upIdleMs = UPSTREAM_IDLE_MS;
    this.#upHeadWritten = false;
    if (lease.dispatcher === undefined) {
      // The process was replaced between the lease and now: like a refused connection (as the slow path).
      this.#refused();
      return;
    }
    const pooled = this.#resent ? undefined : this.#fp.pool.take(lease.port);
    this.#onPooled = pooled !== undefined;
    const up = pooled ?? new Upstream(this.#fp.pool, lease.port);
    up.owner = this;
    up.error = undefined;
    this.#up = up;
    // A new connection gets the head once connected: a refused one has then consumed nothing, so the request
    // (body included, still in #buf) can go to another process.
    if (pooled) this.#writeHead();
  }

  /** Called by the Upstream. */
  onUpstreamConnect(): void {
    this.#writeHead();
    this.#drive();
  }

  /** The head and the body bytes already here, in one write. */
  #writeHead(): void {
    const s = (this.#up as Upstream).socket;
    this.#upHeadWritten = true;
    const n = Math.min(this.#reqRemaining, this.#avail());
    if (n === 0) {
      s.write(this.#upHead, 'latin1');
      return;
    }
    s.cork();
    s.write(this.#upHead, 'latin1');
    const ok = s.write(this.#take(n));
    s.uncork();
    this.#reqRemaining -= n;
    if (!ok) this.#pause(PAUSED_UPSTREAM);
  }

  /** Called by the Upstream. */
  onUpstreamDrain(): void {
    this.#unpause(PAUSED_UPSTREAM);
    this.#drive();
  }

  /** Called by the Upstream. */
  onUpstreamData(chunk: Buffer): void {
    if (this.#res !== RES_HEAD) {
      this.#relay(chunk);
      return;
    }
    let buf = chunk;
    if (this.#rbuf !== null) {
      buf = Buffer.concat([this.#rbuf, chunk]);
      this.#rbuf = null;
    }
    for (;;) {
      const end = buf.indexOf(CRLFCRLF, this.#rscanned > 3 ? this.#rscanned - 3 : 0);
      if (end < 0) {
        if (buf.length > MAX_RESPONSE_HEAD) {
          this.#upstreamFailed(
            Object.assign(new Error('response head too large'), { code: 'UND_ERR_HEADERS_OVERFLOW' }),
          );
          return;
        }
        this.#rbuf = buf;
        this.#rscanned = buf.length;
        return;
      }
      this.#rscanned = 0;
      const head = this.#responseHead(buf.toString('latin1', 0, end));
      if (head === null) {
        this.#upstreamFailed(new Error('invalid response from the process'));
        return;
      }
      if (head === '') {
        // An interim 1xx answer: not relayed (the slow path drops them too).
        buf = buf.subarray(end + 4);
        if (buf.length === 0) return;
        continue;
      }
      this.#sendHead(head, buf, end + 4);
      return;
    }
  }

  /**
   * Parse the process's head (latin1, without its final CRLFCRLF), set the answer's framing, and return the
   * head for the client; '' for an interim 1xx answer, null when it is not a valid HTTP/1.x answer.
   */
  #responseHead(s: string): string | null {
    if (s.length < 12 || !s.startsWith('HTTP/1.') || s.charCodeAt(8) !== 0x20) return null;
    const minor = s.charCodeAt(7);
    if (minor !== 0x31 && minor !== 0x30) return null;
    let status = 0;
    for (let k = 9; k < 12; k++) {
      const d = s.charCodeAt(k) - 0x30;
      if (d < 0 || d > 9) return null;
      status = status * 10 + d;
    }
    const sep = s.charCodeAt(12);
    if (s.length > 12 && sep !== 0x20 && sep !== 0x0d) return null;
    let eol = s.indexOf('\r\n', 12);
    if (eol < 0) eol = s.length;
    if (status < 100) return null;
    // 101 cannot answer a request without Upgrade: treat it as garbage.
    if (status < 200) return status === 101 ? null : '';
    if (minor === 0x30) this.#reuse = false;
    let out = `HTTP/1.1 ${s.slice(9, eol)}\r\n`;
    let te: string | undefined;
    let length = -1;
    let drop: string[] | undefined;
    let kept = '';
    const n = s.length;
    let i = eol + 2;
    while (i < n) {
      // A bare CR or LF in a value would split the head the client parses (llhttp, on the slow path, refuses it).
      if (!scanHeaderLine(s, i, RESPONSE_LINE)) return null;
      const { end: e, colon, valueStart: vs, valueEnd: ve } = RESPONSE_LINE;
      const name = s.slice(i, colon).toLowerCase();
      let keep = true;
      switch (name) {
        case 'connection': {
          const t = connectionTokens(s.slice(vs, ve));
          if (t.close) this.#reuse = false;
          if (t.names) drop = drop ? drop.concat(t.names) : t.names;
          keep = false;
          break;
        }
        case 'keep-alive': {
          // `timeout=N`: the process closes idle connections after N s; stop reusing one a second before.
          const v = s.slice(vs, ve);
          const at = v.indexOf('timeout=');
          if (at >= 0) {
            const secs = parseInt(v.slice(at + 8), 10);
            if (secs >= 0) this.#upIdleMs = Math.min(UPSTREAM_IDLE_MS, secs * 1000 - 1000);
          }
          keep = false;
          break;
        }
        case 'transfer-encoding':
          // Relayed as is, with the chunked body it frames.
          te = te === undefined ? s.slice(vs, ve) : `${te}, ${s.slice(vs, ve)}`;
          break;
        case 'content-length': {
          const l = parseLength(s.slice(vs, ve));
          if (l < 0 || (length >= 0 && l !== length)) return null;
          length = l;
          break;
        }
        case 'trailer':
          // Kept: the trailers it announces are relayed with the body.
          break;
        case REVISION_HEADER:
        case SLUICE_REVISION_HEADER:
          keep = false; // replaced by ours
          break;
        default:
          keep = !HOP_BY_HOP.has(name);
      }
      if (keep) kept += `${s.slice(i, e)}\r\n`;
      i = e + 2;
    }
    // Rare: the Connection header lists other headers, which describe this connection only.
    out += drop === undefined ? kept : removeHeaders(kept, drop);
    if (this.#upIdleMs <= 0) this.#reuse = false;
    // Message framing, RFC 9112 §6.3.
    if (this.#isHead || status === 204 || status === 304) this.#res = RES_NONE;
    else if (te !== undefined) {
      const codings = te.toLowerCase();
      this.#res = codings.endsWith('chunked') ? RES_CHUNKED : RES_CLOSE;
      // Both framings: the length must be ignored, and the connection must not be reused.
      if (length >= 0) this.#reuse = false;
      this.#chunked.reset();
    } else if (length >= 0) {
      this.#res = RES_LENGTH;
      this.#resRemaining = length;
    } else this.#res = RES_CLOSE;
    if (this.#res === RES_CLOSE) {
      this.#reuse = false;
      this.#closeAfter = true;
    }
    this.#status = status;
    const name = (this.#rev as Revision).spec.name;
    out += `Knative-Serving-Revision: ${name}\r\nX-Sluice-Revision: ${name}\r\n`;
    return out + (this.#closeAfter ? CLOSE_LINES : KEEP_ALIVE_LINES);
  }

  /** The answer's head and its first body bytes, in one write. */
  #sendHead(head: string, buf: Buffer, from: number): void {
    const s = this.#socket;
    const end = this.#bodyEnd(buf, from);
    if (end === BAD) {
      // The framing is broken before anything was sent: a 502 like any malformed answer.
      this.#status = 0;
      this.#upstreamFailed(new Error('invalid chunked body from the process'));
      return;
    }
    this.#fp.router.proxy.count('proxied');
    const stop = end === MORE ? buf.length : end;
    let ok: boolean;
    if (stop > from) {
      s.cork();
      s.write(head, 'latin1');
      ok = s.write(buf.subarray(from, stop));
      s.uncork();
    } else ok = s.write(head, 'latin1');
    if (end !== MORE) this.#finishAnswer();
    else if (!ok) this.#pauseUpstream();
  }

  /** Body bytes of a chunk after the head. */
  #relay(chunk: Buffer): void {
    const end = this.#bodyEnd(chunk, 0);
    if (end === BAD) {
      // Part of the answer is out: all that is left is to cut the client's connection.
      this.#upstreamFailed(new Error('invalid chunked body from the process'));
      return;
    }
    const stop = end === MORE ? chunk.length : end;
    let ok = true;
    if (stop > 0) ok = this.#socket.write(stop === chunk.length ? chunk : chunk.subarray(0, stop));
    if (end !== MORE) this.#finishAnswer();
    else if (!ok) this.#pauseUpstream();
  }

  /** Where the body ends in `buf` (from `from`): an index, MORE, or BAD; bytes past it spoil reuse. */
  #bodyEnd(buf: Buffer, from: number): number {
    let end: number;
    switch (this.#res) {
      case RES_NONE:
        end = from;
        break;
      case RES_LENGTH: {
        const n = Math.min(this.#resRemaining, buf.length - from);
        this.#resRemaining -= n;
        end = this.#resRemaining === 0 ? from + n : MORE;
        break;
      }
      case RES_CHUNKED:
        end = this.#chunked.scan(buf, from);
        break;
      default:
        return MORE;
    }
    if (end >= 0 && end < buf.length) this.#reuse = false;
    return end;
  }

  #pauseUpstream(): void {
    const up = this.#up;
    if (!up || this.#upPaused) return;
    this.#upPaused = true;
    up.socket.pause();
  }

  /** Called by the Upstream: the process ended its side. */
  onUpstreamEnd(up: Upstream): void {
    if (up !== this.#up) return;
    if (this.#res === RES_CLOSE) this.#finishAnswer();
    else this.#upstreamFailed(hangUp());
  }

  /** Called by the Upstream. */
  onUpstreamClose(up: Upstream, e: Error | undefined): void {
    if (up !== this.#up) return;
    if (this.#res === RES_CLOSE && !e) this.#finishAnswer();
    else this.#upstreamFailed(e ?? hangUp());
  }

  /** The exchange with the process failed: retry a refused connection, else 502 or cut the client. */
  #upstreamFailed(e: Error): void {
    const up = this.#up;
    const connected = up?.connected ?? false;
    this.#dropUpstream();
    const rev = this.#rev as Revision;
    if (!connected && refusedBeforeSending(e) && this.#status === 0) {
      this.#refused();
      return;
    }
    if (this.#staleKeepAlive(e)) {
      // The process closed a kept-alive connection as we reused it (its idle timeout raced our request), the
      // race every keep-alive client has: nothing says the process is unwell, and an idempotent request with
      // no body can be sent again, once, on a new connection (RFC 9110 §9.2.2; nginx's proxy_next_upstream).
      this.#resent = true;
      this.#send(this.#lease as Lease);
      return;
    }
    // A connection that breaks mid-request usually means the process died; stop sending it work until its
    // exit is seen or its probe passes again (as the slow path does).
    if (brokenConnection(e)) this.#lease?.refused();
    if (this.#status !== 0) {
      this.#endRequest();
      this.destroy();
      return;
    }
    const ctx = this.#fp.router.proxy;
    ctx.count('upstream_error');
    ctx.logger.warn({ revision: rev.key, err: e.message }, 'upstream failed');
    this.#answer(502, failedMessage(rev, e));
  }

  /** A pooled connection closed or reset before any byte of the answer, for a request that can be sent again. */
  #staleKeepAlive(e: Error): boolean {
    return (
      brokenConnection(e) &&
      this.#onPooled &&
      !this.#resent &&
      this.#bodiless &&
      this.#status === 0 &&
      this.#res === RES_HEAD &&
      this.#rbuf === null &&
      IDEMPOTENT.has(this.#method)
    );
  }

  /** No byte of the request reached the process: re-queue it, as the slow path does. */
  #refused(): void {
    const lease = this.#lease as Lease;
    this.#lease = null;
    lease.refused();
    lease.release();
    const rev = this.#rev as Revision;
    if (this.#attempt++ < MAX_CONNECT_RETRIES) {
      this.#waitForProcess(rev);
      return;
    }
    this.#fp.router.proxy.count('upstream_error');
    this.#answer(502, refusedMessage(rev, this.#attempt));
  }

  #waitForProcess(rev: Revision): void {
    const q = new AbortController();
    this.#queue = q;
    rev.acquire(q.signal, true).then(
      (lease) => this.#queued(q, lease),
      (e: unknown) => this.#queueFailed(q, e),
    );
  }

  #queued(q: AbortController, lease: Lease): void {
    if (this.#queue !== q) {
      // The request ended while it waited (timeout, client gone).
      lease.release();
      return;
    }
    this.#queue = null;
    this.#send(lease);
    this.#drive();
  }

  #queueFailed(q: AbortController, e: unknown): void {
    if (this.#queue !== q) return;
    this.#queue = null;
    const status = e instanceof UnavailableError ? e.status : 503;
    this.#fp.router.proxy.count(status === 504 ? 'timeout' : 'unavailable');
    this.#answer(status, `${errorMessage(e)}\n`);
  }

  // ---- endings ----

  /** A plain-text answer before any byte of the process's answer was sent (the slow path's `plain`). */
  #answer(status: number, body: string): void {
    if (this.#closed) {
      this.#endRequest();
      return;
    }
    const name = (this.#rev as Revision).spec.name;
    this.#status = status;
    this.#reuse = false;
    this.#socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nKnative-Serving-Revision: ${name}\r\n` +
        `X-Sluice-Revision: ${name}\r\n${this.#closeAfter ? CLOSE_LINES : KEEP_ALIVE_LINES}${body}`,
    );
    this.#finishAnswer();
  }

  /** The answer is complete: pool or drop the upstream connection, account, and go on with the connection. */
  #finishAnswer(): void {
    const up = this.#up;
    this.#up = null;
    if (up) {
      up.owner = null;
      // Reusable only when both messages ended exactly: all of the request went out, all of the answer came.
      if (this.#reuse && this.#reqRemaining === 0 && this.#upHeadWritten) {
        if (this.#upPaused) up.socket.resume();
        up.idleMs = this.#upIdleMs;
        this.#fp.pool.put(up);
      } else up.destroy();
    }
    this.#upPaused = false;
    this.#endRequest();
    if (this.#closeAfter) {
      this.#close(true);
      return;
    }
    // The rest of a body the process did not wait for is read and dropped, as Node's server does.
    if (this.#reqRemaining > 0) {
      this.#discarding = true;
      this.#discardProgress = false;
    }
    this.#unpause(PAUSED_UPSTREAM);
    this.#drive();
  }

  #dropUpstream(): void {
    const up = this.#up;
    this.#up = null;
    this.#upPaused = false;
    up?.destroy();
    this.#unpause(PAUSED_UPSTREAM);
  }

  /** Release the lease and account the request, exactly once. */
  #endRequest(): void {
    if (!this.#active) return;
    this.#active = false;
    const lease = this.#lease;
    this.#lease = null;
    lease?.release();
    const rev = this.#rev as Revision;
    this.#rev = null;
    this.#served++;
    this.#fp.router.end(rev, this.#status, this.#started, this.#method);
    if (!this.#closed) this.#idleTimer.refresh();
  }

  /** The client left (closed, reset, or half-closed) with a request in flight. */
  #clientGone(): void {
    if (!this.#active) return;
    const q = this.#queue;
    if (q) {
      this.#queue = null;
      q.abort(new UnavailableError(503, CLIENT_GONE));
    }
    this.#dropUpstream();
    // A client that left before any answer has no response code to report.
    if (this.#status === 0) this.#fp.router.proxy.count('client_abort');
    this.#endRequest();
  }

  #close(graceful: boolean): void {
    this.#closed = true;
    this.#buf = null;
    if (graceful) this.#socket.end();
    else this.#socket.destroy();
  }
}
