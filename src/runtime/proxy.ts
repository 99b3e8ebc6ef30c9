// One proxied request, from a routed client request to the end of its answer: a process of the revision (at
// once when one has room, else through the revision's queue), the request sent on that process's undici pool,
// the answer relayed as it arrives (headers and the first body chunk in one write), timeoutSeconds, the
// connection-refused retries and the 502/503/504 answers. One object per request is its only allocation of
// note: it is the undici dispatch handler itself, so no closures, promises, listeners or AbortController are
// made on the fast path (a process free, nothing queued).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Logger } from '../observability/logger.js';
import { errorMessage } from '../util/errors.js';
import type { RouterOutcome } from './metrics.js';
import { UnavailableError, type Lease, type Revision } from './revision.js';

export const REVISION_HEADER = 'knative-serving-revision';
export const SLUICE_REVISION_HEADER = 'x-sluice-revision';
/** With `tagHeaderRouting`, names the tag whose revision answers (Knative's `Knative-Serving-Tag`). */
export const TAG_HEADER = 'knative-serving-tag';

/** How often a request is re-queued when its process refused the connection (it died, or is restarting). */
export const MAX_CONNECT_RETRIES = 5;

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus `expect` (answered here). */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

export interface ProxyContext {
  count(outcome: RouterOutcome): void;
  logger: Logger;
}

export const CLIENT_GONE = 'client went away';

export function refusedBeforeSending(e: Error): boolean {
  return (e as NodeJS.ErrnoException).code === 'ECONNREFUSED';
}

/** The connection broke without an answer: the process most likely died. */
export function brokenConnection(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || e.message === 'socket hang up';
}

/** The 502 text once a request's process refused the connection `attempts` times in a row. */
export function refusedMessage(rev: Revision, attempts: number): string {
  return `Revision "${rev.key}" refused the connection ${attempts} times; its process is not listening (see the revision's status and log).\n`;
}

/** The 502 text for an exchange that failed before any byte of the answer was sent. */
export function failedMessage(rev: Revision, e: Error): string {
  const why = brokenConnection(e)
    ? 'the connection closed before a response (did the process exit? see the revision status)'
    : ((e as NodeJS.ErrnoException).code ?? e.message);
  return `Revision "${rev.key}" failed to answer: ${why}.\n`;
}

/** What timeoutSeconds stops an exchange with (504 when no byte of the answer was sent yet). */
export function timeoutError(rev: Revision): UnavailableError {
  return new UnavailableError(
    504,
    `Revision "${rev.key}" did not start answering within ${rev.timeoutMs / 1000} s (timeoutSeconds).`,
  );
}

export class ProxiedRequest implements Dispatcher.DispatchHandler {
  #attempt = 0;
  #lease: Lease | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #queue: AbortController | undefined;
  /** Why the exchange must stop (timeout, client gone); applied to whatever is in progress. */
  #abortReason: UnavailableError | undefined;
  #timer: NodeJS.Timeout | undefined;
  #hasBody: boolean;
  #finished = false;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly rev: Revision,
    startedAt: number,
  ) {
    const h = req.headers;
    this.#hasBody =
      h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
    const timeoutMs = rev.timeoutMs;
    this.#timer = setTimeout(() => this.#onTimeout(), Math.max(0, timeoutMs - (performance.now() - startedAt)));
    res.once('close', () => this.#onResponseClose());
  }

  start(): void {
    const lease = this.rev.tryAcquire();
    if (lease) this.#send(lease);
    else this.#waitForProcess();
  }

  #waitForProcess(): void {
    const queue = new AbortController();
    this.#queue = queue;
    if (this.#abortReason) queue.abort(this.#abortReason);
    this.rev.acquire(queue.signal, this.#attempt > 0).then(
      (lease) => {
        this.#queue = undefined;
        this.#send(lease);
      },
      (e: unknown) => {
        this.#queue = undefined;
        this.#done();
        if (this.#abortReason?.message === CLIENT_GONE) {
          this.ctx.count('client_abort');
          return;
        }
        const status = e instanceof UnavailableError ? e.status : 503;
        this.ctx.count(status === 504 ? 'timeout' : 'unavailable');
        this.req.resume();
        plain(this.res, status, `${errorMessage(e)}\n`, this.rev.spec.name);
      },
    );
  }

  #send(lease: Lease): void {
    if (this.#abortReason || this.#finished) {
      lease.release();
      if (!this.#finished) this.#answerAbort();
      return;
    }
    this.#lease = lease;
    this.#controller = undefined;
    const dispatcher = lease.dispatcher;
    if (!dispatcher) {
      // The process was replaced between the lease and now: like a refused connection.
      this.onResponseError(undefined, Object.assign(new Error('process restarting'), { code: 'ECONNREFUSED' }));
      return;
    }
    dispatcher.dispatch(
      {
        path: this.req.url ?? '/',
        method: (this.req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: forwardHeaders(this.req),
        body: this.#hasBody ? this.req : null,
      },
      this,
    );
  }

  // ---- undici's dispatch handler ----
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    this.#controller = controller;
    // 1xx interim answers (100 Continue is answered by our own server) are not relayed.
    if (statusCode < 200) return;
    const out: OutgoingHttpHeaders = {};
    for (const k in headers) {
      const v = headers[k];
      if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
    }
    const name = this.rev.spec.name;
    out[REVISION_HEADER] = name;
    out[SLUICE_REVISION_HEADER] = name;
    this.ctx.count('proxied');
    // Node sends the head with the first body write, so a small answer leaves in one write.
    this.res.writeHead(statusCode, statusMessage ?? '', out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#done();
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, e: Error): void {
    const lease = this.#lease;
    if (!lease) return;
    this.#lease = undefined;
    if (!this.res.headersSent && refusedBeforeSending(e) && !this.#abortReason && !this.#finished) {
      // No byte of the request reached the process: try another (or the same, once it is back).
      lease.refused();
      lease.release();
      if (this.#attempt++ < MAX_CONNECT_RETRIES) {
        this.#waitForProcess();
        return;
      }
      this.#done();
      this.ctx.count('upstream_error');
      this.req.resume();
      plain(this.res, 502, refusedMessage(this.rev, this.#attempt), this.rev.spec.name);
      return;
    }
    // A connection that breaks mid-request usually means the process died; stop sending it work until its
    // exit is seen or its probe passes again, so the next request waits instead of failing too.
    if (brokenConnection(e)) lease.refused();
    lease.release();
    this.#done();
    if (this.res.headersSent) {
      this.res.destroy();
      return;
    }
    if (this.#abortReason) {
      this.#answerAbort();
      return;
    }
    this.ctx.count('upstream_error');
    this.ctx.logger.warn({ revision: this.rev.key, err: e.message }, 'upstream failed');
    plain(this.res, 502, failedMessage(this.rev, e), this.rev.spec.name);
  }

  // ---- endings ----
  #done(): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#timer);
    const lease = this.#lease;
    this.#lease = undefined;
    lease?.release();
  }

  /** Stop whatever is in progress: the queue wait, or the upstream exchange. */
  #abort(reason: UnavailableError): void {
    if (this.#abortReason || this.#finished) return;
    this.#abortReason = reason;
    if (this.#queue) this.#queue.abort(reason);
    else if (this.#controller) this.#controller.abort(reason);
  }

  #onTimeout(): void {
    this.#abort(timeoutError(this.rev));
  }

  #onResponseClose(): void {
    clearTimeout(this.#timer);
    if (!this.res.writableFinished) this.#abort(new UnavailableError(503, CLIENT_GONE));
  }

  /** The answer for an exchange stopped by #abort before any byte of the answer was sent. */
  #answerAbort(): void {
    this.#done();
    const reason = this.#abortReason;
    if (!reason || reason.message === CLIENT_GONE) {
      this.ctx.count('client_abort');
      return;
    }
    this.ctx.count('timeout');
    this.req.resume();
    plain(this.res, reason.status, `${reason.message}\n`, this.rev.spec.name);
  }
}

/** The client's headers minus hop-by-hop ones, plus X-Forwarded-For/-Proto. */
export function forwardHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const h = req.headers;
  for (const k in h) {
    const v = h[k];
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  }
  const remote = req.socket.remoteAddress ?? '';
  const prior = h['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote;
  out['x-forwarded-proto'] = 'http';
  return out;
}

export function plain(res: ServerResponse, status: number, body: string, revision?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (res.destroyed) return;
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
