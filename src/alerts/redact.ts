// Making sink URLs and error texts safe to log. Slack incoming-webhook URLs carry their token in the path, other
// URLs may carry one in userinfo or the query; anything resolved from a Secret is scrubbed from error messages.
import { redactUrl } from '../observability/logger.js';

const MASK = '[REDACTED]';

/** A path segment that may be a credential (Discord/Teams-style `/webhooks/<id>/<token>`): long, or mixed letters and digits. */
function looksLikeToken(seg: string): boolean {
  return seg.length >= 20 || (seg.length >= 8 && /[0-9]/.test(seg) && /[A-Za-z]/.test(seg));
}

/**
 * A URL for log lines: userinfo, every query value and token-looking path segments masked; with `secretPath`
 * (Slack, or a URL that came from a Secret) the whole path.
 * `https://hooks.slack.com/services/T/B/X` → `https://hooks.slack.com/[REDACTED]`;
 * `https://h/api/webhooks/1234/AbCd1234efGh` → `https://h/api/webhooks/1234/[REDACTED]`.
 */
export function redactSinkUrl(url: string, opts: { secretPath?: boolean } = {}): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '[unparsable URL]';
  }
  const userinfo = u.username !== '' || u.password !== '';
  u.username = '';
  u.password = '';
  const keys = [...new Set(u.searchParams.keys())];
  const query = keys.length > 0 ? `?${keys.map((k) => `${encodeURIComponent(k)}=${MASK}`).join('&')}` : '';
  const path =
    u.pathname === '/'
      ? ''
      : opts.secretPath
        ? `/${MASK}`
        : u.pathname
            .split('/')
            .map((seg) => (looksLikeToken(seg) ? MASK : seg))
            .join('/');
  const base = `${u.protocol}//${u.host}${path}${query}`;
  return userinfo ? redactUrl(base.replace('//', `//x@`)) : base;
}

/** Replace every occurrence of each sensitive string (and its URL-encoded form) in `text`. */
export function scrub(text: string, sensitive: readonly string[]): string {
  let out = text;
  for (const s of sensitive) {
    if (s.length < 4) continue;
    const forms = new Set([s, encodeURIComponent(s)]);
    try {
      const u = new URL(s);
      if (u.pathname.length > 4) forms.add(u.pathname);
      if (u.search.length > 4) forms.add(u.search);
      if (u.password.length >= 4) forms.add(u.password);
    } catch {
      // not a URL
    }
    for (const f of forms) out = out.split(f).join(MASK);
  }
  return out;
}
