// One HTTP POST with Node's fetch, classified for the retry policy: 2xx ok; 408/425/429/5xx, network errors and
// timeouts retryable; any other status (and redirects, which are not followed) permanent.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AlertError } from './errors.js';
import { parseRetryAfter } from './retry.js';
import { scrub } from './redact.js';

export const USER_AGENT = 'sluice-alerts/0.1';

export interface PostResult {
  status: number;
  body: string;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** The sink's URL, or the typed error an alert reports (the URL itself is never in the message). */
function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new AlertError('AlertConfig', 'url is not a valid URL', { retryable: false });
  }
}

/**
 * POST `body` to `url`. Resolves on 2xx with the (truncated) response text; otherwise rejects with AlertError.
 * Credentials in the URL (`https://user:pass@host`, which fetch refuses) become a basic Authorization header
 * unless one is given; error messages never contain the URL's userinfo or query.
 */
export async function post(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
  signal: AbortSignal,
  now: () => number,
): Promise<PostResult> {
  const target = parseUrl(url);
  const hidden = [url, target.search, decodeURIComponent(target.password), target.password];
  const h: Record<string, string> = { 'user-agent': USER_AGENT, ...headers };
  if (target.username !== '' || target.password !== '') {
    const hasAuth = Object.keys(h).some((k) => k.toLowerCase() === 'authorization');
    if (!hasAuth)
      h['authorization'] =
        `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  let res: Response;
  try {
    res = await fetch(target, { method: 'POST', body, headers: h, signal, redirect: 'manual' });
  } catch (e) {
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      if (reason instanceof AlertError) throw reason;
      const timeout = reason instanceof Error && reason.name === 'TimeoutError';
      throw new AlertError(timeout ? 'AlertTimeout' : 'AlertNetwork', timeout ? 'timed out' : 'aborted', {
        retryable: timeout,
      });
    }
    const cause: unknown = e instanceof Error ? e.cause : undefined;
    const detail = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
    throw new AlertError('AlertNetwork', `request failed: ${scrub(detail, hidden)}`, { retryable: true });
  }
  let text = '';
  try {
    text = (await res.text()).slice(0, 512);
  } catch {
    // the body is only for the error message
  }
  return classify(res.status, text, res.headers.get('retry-after'), hidden, now);
}

/** 2xx → the result; any other status → AlertError, retryable for 408/425/429/5xx. */
function classify(
  status: number,
  text: string,
  retryAfter: string | null,
  hidden: string[],
  now: () => number,
): PostResult {
  if (status >= 200 && status < 300) return { status, body: text };
  const retryable = status >= 500 || RETRYABLE_STATUS.has(status);
  const retryAfterMs = parseRetryAfter(retryAfter, now());
  const o: { retryable: boolean; status: number; retryAfterMs?: number } = { retryable, status };
  if (retryAfterMs !== undefined) o.retryAfterMs = retryAfterMs;
  throw new AlertError(
    'AlertHttpStatus',
    `HTTP ${status}${text ? `: ${scrub(text.replace(/\s+/g, ' ').slice(0, 200), hidden)}` : ''}`,
    o,
  );
}

/**
 * POST `body` to `url` but with `host` as the Host header: how a process outside the cluster network reaches a
 * virtual host behind Sluice's router (`broker-ingress.knative-eventing.svc.cluster.local`). fetch cannot do this
 * (Host is a forbidden header there, silently replaced), so this goes through node:http. Same classification as
 * `post`; redirects are not followed.
 */
export function postWithHost(
  url: string,
  host: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  now: () => number,
): Promise<PostResult> {
  let target: URL;
  try {
    target = parseUrl(url);
  } catch (err) {
    return Promise.reject(err);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    return Promise.reject(new AlertError('AlertConfig', 'url is not an http(s) URL', { retryable: false }));
  const hidden = [url, target.search];
  const payload = Buffer.from(body, 'utf8');
  const h: Record<string, string | number> = {
    'user-agent': USER_AGENT,
    ...headers,
    host,
    'content-length': payload.length,
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve, reject) => {
    const abortError = (): AlertError => {
      const reason: unknown = signal.reason;
      if (reason instanceof AlertError) return reason;
      const timeout = reason instanceof Error && reason.name === 'TimeoutError';
      return new AlertError(timeout ? 'AlertTimeout' : 'AlertNetwork', timeout ? 'timed out' : 'aborted', {
        retryable: timeout,
      });
    };
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const req = send(target, { method: 'POST', headers: h, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        // Only the first 512 bytes are kept (for the error message); the rest is drained.
        if (size < 512) chunks.push(c);
        size += c.length;
      });
      res.on('error', () => reject(abortError()));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, 512);
        const ra = res.headers['retry-after'];
        try {
          resolve(classify(res.statusCode ?? 0, text, typeof ra === 'string' ? ra : null, hidden, now));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    req.on('error', (e) => {
      if (signal.aborted) reject(abortError());
      else reject(new AlertError('AlertNetwork', `request failed: ${scrub(e.message, hidden)}`, { retryable: true }));
    });
    req.end(payload);
  });
}
