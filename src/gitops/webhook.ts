// `POST /hooks/git`: push webhooks from GitHub and Gitea (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
// the raw body>`) and GitLab (`X-Gitlab-Token: <secret>`). Both are compared in constant time. There is
// deliberately no fall-back to GitHub's SHA-1 `X-Hub-Signature` (Flux still accepts it; we do not). The body
// is capped (1 MiB by default → 413) and read before anything is parsed. A request that is not signed with the
// secret gets 401 and changes nothing; a push to the followed branch triggers a sync (202) and returns at once.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';

export const DEFAULT_MAX_WEBHOOK_BYTES = 1024 * 1024;

export type WebhookProvider = 'github' | 'gitea' | 'gitlab';

export interface PushEvent {
  provider: WebhookProvider;
  /** `refs/heads/main` */
  ref: string;
  /** The pushed commit (`after`), when the payload says. */
  after: string | undefined;
}

export interface WebhookOptions {
  /** The shared secret; without one every request is refused (403): an unsigned hook would let anyone trigger syncs. */
  secret: string | undefined;
  /** Does a push to this ref concern us? (`refs/heads/<branch>`, or the followed tag/ref). */
  watches: (ref: string) => boolean;
  onPush: (e: PushEvent) => void;
  maxBodyBytes?: number;
  log?: Logger;
  /** False after close(): 503. */
  accepting?: () => boolean;
}

/** Reads the webhook secret from `--webhook-secret-file` (trailing newline dropped) or `$SLUICE_WEBHOOK_SECRET`. */
export async function loadWebhookSecret(o: { file?: string; env?: NodeJS.ProcessEnv }): Promise<string | undefined> {
  if (o.file) {
    const s = (await readFile(o.file, 'utf8')).replace(/\r?\n$/, '');
    if (s === '') throw new Error(`the webhook secret file ${o.file} is empty; put the shared secret in it`);
    return s;
  }
  const v = o.env?.SLUICE_WEBHOOK_SECRET;
  return v ? v : undefined;
}

/** `sha256=<64 hex>` over `body` with `secret`, compared in constant time. */
export function verifyHubSignature(body: Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1]!, 'hex');
  const want = createHmac('sha256', secret).update(body).digest();
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * GitLab's token is the secret itself. Both sides are hashed with a keyed HMAC first so the comparison is
 * over equal-length buffers and leaks neither the length nor a prefix of the secret.
 */
export function verifyGitlabToken(header: string | undefined, secret: string): boolean {
  if (header === undefined) return false;
  const key = 'sluice-gitlab-token';
  const a = createHmac('sha256', key).update(header).digest();
  const b = createHmac('sha256', key).update(secret).digest();
  return timingSafeEqual(a, b);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function reply(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

/** Reads at most `max` bytes; undefined when the body is larger (the rest is not read). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (d: Buffer) => {
      if (done) return;
      size += d.length;
      if (size > max) {
        done = true;
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(d);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
  });
}

/** The JSON payload: GitHub may also send `application/x-www-form-urlencoded` with a `payload` field. */
function payloadOf(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString('utf8');
  if (contentType?.startsWith('application/x-www-form-urlencoded')) {
    const p = new URLSearchParams(text).get('payload');
    return p === null ? undefined : JSON.parse(p);
  }
  return JSON.parse(text);
}

/** A request handler for `POST /hooks/git`, to mount on the controller's HTTP server. */
export function createWebhookHandler(o: WebhookOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const max = o.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BYTES;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' }, { Allow: 'POST' });
    if (o.accepting && !o.accepting()) return reply(res, 503, { error: 'the GitOps loop is shutting down' });
    if (!o.secret)
      return reply(res, 403, {
        error: 'webhooks are disabled: start sluice with --webhook-secret-file or $SLUICE_WEBHOOK_SECRET',
      });
    const declared = Number(header(req, 'content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      reply(res, 413, { error: `the body is larger than ${max} bytes` }, { Connection: 'close' });
      req.resume();
      return;
    }
    const body = await readBody(req, max);
    if (body === undefined) {
      reply(res, 413, { error: `the body is larger than ${max} bytes` }, { Connection: 'close' });
      return;
    }
    const hub = header(req, 'x-hub-signature-256');
    const gitlab = header(req, 'x-gitlab-token');
    let provider: WebhookProvider;
    if (hub !== undefined) {
      if (!verifyHubSignature(body, hub, o.secret)) {
        o.log?.warn({ remote: req.socket.remoteAddress }, 'gitops webhook: bad X-Hub-Signature-256; ignored');
        return reply(res, 401, { error: 'X-Hub-Signature-256 does not match the body signed with the webhook secret' });
      }
      provider = header(req, 'x-gitea-event') !== undefined ? 'gitea' : 'github';
    } else if (gitlab !== undefined) {
      if (!verifyGitlabToken(gitlab, o.secret)) {
        o.log?.warn({ remote: req.socket.remoteAddress }, 'gitops webhook: bad X-Gitlab-Token; ignored');
        return reply(res, 401, { error: 'X-Gitlab-Token does not match the webhook secret' });
      }
      provider = 'gitlab';
    } else {
      return reply(res, 401, {
        error:
          'missing X-Hub-Signature-256 (GitHub, Gitea) or X-Gitlab-Token (GitLab); SHA-1 X-Hub-Signature is not accepted',
      });
    }
    const event =
      header(req, 'x-github-event') ??
      header(req, 'x-gitea-event') ??
      header(req, 'x-gogs-event') ??
      header(req, 'x-gitlab-event');
    if (event === 'ping') return reply(res, 200, { ok: true, event: 'ping' });
    if (event !== undefined && event !== 'push' && event !== 'Push Hook')
      return reply(res, 200, {
        ok: true,
        triggered: false,
        reason: `event ${event} ignored; only push events trigger a sync`,
      });
    let payload: unknown;
    try {
      payload = payloadOf(body, header(req, 'content-type'));
    } catch {
      return reply(res, 400, { error: 'the body is not a JSON push event' });
    }
    const p = (typeof payload === 'object' && payload !== null ? payload : {}) as {
      ref?: unknown;
      after?: unknown;
      checkout_sha?: unknown;
    };
    if (typeof p.ref !== 'string') return reply(res, 400, { error: 'the push event has no "ref"' });
    if (!o.watches(p.ref))
      return reply(res, 200, { ok: true, triggered: false, reason: `push to ${p.ref} is not the followed ref` });
    const after =
      typeof p.after === 'string' ? p.after : typeof p.checkout_sha === 'string' ? p.checkout_sha : undefined;
    o.onPush({ provider, ref: p.ref, after });
    o.log?.info({ provider, ref: p.ref, after }, 'gitops webhook: push; syncing');
    return reply(res, 202, { ok: true, triggered: true });
  };
  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      o.log?.error({ err: e instanceof Error ? e.message : String(e) }, 'gitops webhook: failed');
      reply(res, 500, { error: 'internal error' });
    });
  };
}
