// Retry policy as a pure function: attempt number and a random source in, delay out. Timers live in the
// dispatcher. Defaults sit between Flux (4 retries, 2–30 s) and Argo (3 retries, 1–5 s).

export interface RetryPolicy {
  /** Total attempts including the first; 1 disables retries. */
  maxAttempts: number;
  /** Delay after the first failure before jitter, ms. */
  baseMs: number;
  /** Cap on any one delay, ms (also caps a sink's `Retry-After`). */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseMs: 1000, maxMs: 30_000, factor: 2 };

/**
 * How long to wait after failed attempt `attempt` (1-based), or null when no attempt is left.
 * "Equal jitter": half the exponential delay is fixed, half is random, so delays still grow while clients
 * that failed together spread out.
 *   base 1000, factor 2: attempt 1 → 500..1000, attempt 2 → 1000..2000, attempt 3 → 2000..4000 (capped at maxMs).
 * `retryAfterMs` (from the sink) raises the delay to at least that, still capped at maxMs.
 * Pre: 0 ≤ random() < 1.
 */
export function retryDelay(
  attempt: number,
  random: () => number,
  policy: RetryPolicy = DEFAULT_RETRY,
  retryAfterMs?: number,
): number | null {
  if (!Number.isFinite(attempt) || attempt < 1 || attempt >= policy.maxAttempts) return null;
  const exp = Math.min(policy.maxMs, policy.baseMs * Math.pow(policy.factor, attempt - 1));
  const half = exp / 2;
  let d = half + random() * half;
  if (retryAfterMs !== undefined && retryAfterMs > d) d = retryAfterMs;
  return Math.round(Math.min(policy.maxMs, Math.max(0, d)));
}

/** `Retry-After` as seconds or an HTTP date → ms from `now`; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}
