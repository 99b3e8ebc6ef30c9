// Pure checks and headers that keep the dashboard's mutations to the signed-in user's own page: a strict CSP
// with frame-ancestors 'none' on every response, a Host allow-list (no DNS rebinding), and for POST an Origin
// that is this very server plus the session's CSRF header (argo-rollouts#4747 is what happens without them).

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every dashboard response. */
export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CSP,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    // The login URL carries a token: never leak it in a Referer.
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/**
 * Whether a request's Host header names this server. Bound to loopback, only loopback names are accepted (a
 * page on evil.example resolving to 127.0.0.1 sends Host: evil.example). Bound elsewhere, any host is accepted,
 * as the address users type is not known; the session cookie and CSRF header still guard every mutation.
 */
export function hostAllowed(hostHeader: string | undefined, listenHost: string): boolean {
  if (!hostHeader || hostHeader.length > 255) return false;
  if (!isLoopback(listenHost)) return true;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader);
  if (!m) return false;
  // The port is not checked: a local port forward (ssh -L, a test proxy) is still this machine.
  return isLoopback((m[1] ?? '').toLowerCase());
}

export type MutationCheck = { ok: true } | { ok: false; status: 403; reason: string };

/**
 * A POST is same-origin when its Origin is `http://<Host>` (browsers always send Origin on POST). A missing
 * Origin is refused too: scripts use the CLI, which acts through the API server with its own credentials.
 */
export function checkOrigin(origin: string | undefined, hostHeader: string | undefined): MutationCheck {
  if (!origin) return { ok: false, status: 403, reason: 'missing Origin header' };
  if (!hostHeader || (origin !== `http://${hostHeader}` && origin !== `https://${hostHeader}`))
    return { ok: false, status: 403, reason: `cross-origin request from ${origin.slice(0, 200)} refused` };
  return { ok: true };
}
