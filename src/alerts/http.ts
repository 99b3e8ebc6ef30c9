// One HTTP POST with Node's fetch, classified for the retry policy: 2xx ok; 408/425/429/5xx, network errors and
// timeouts retryable; any other status (and redirects, which are not followed) permanent.
import { AlertError } from './errors.js';
import { parseRetryAfter } from './retry.js';
import { scrub } from './redact.js';

export const USER_AGENT = 'sluice-alerts/0.1';

export interface PostResult {
  status: number;
  body: string;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

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
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new AlertError('AlertConfig', 'url is not a valid URL', { retryable: false });
  }
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
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: text };
  const retryable = res.status >= 500 || RETRYABLE_STATUS.has(res.status);
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now());
  const o: { retryable: boolean; status: number; retryAfterMs?: number } = { retryable, status: res.status };
  if (retryAfterMs !== undefined) o.retryAfterMs = retryAfterMs;
  throw new AlertError(
    'AlertHttpStatus',
    `HTTP ${res.status}${text ? `: ${scrub(text.replace(/\s+/g, ' ').slice(0, 200), hidden)}` : ''}`,
    o,
  );
}
