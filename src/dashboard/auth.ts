// Who may see the dashboard. As Jupyter does: a URL with a one-time login token (printed by `sluice start` and
// `sluice dashboard`) is exchanged for an HttpOnly, SameSite=Strict session cookie. Tokens and sessions are
// HMAC-SHA256 signed with a key kept in the data directory (mode 0600), so `sluice dashboard` can mint a token
// without talking to the server, and sessions survive a restart of the controller. A token works once: its
// nonce is recorded (in memory and appended to a file) when it is redeemed.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const KEY_FILE = 'dashboard.key';
const USED_FILE = 'dashboard-used-tokens';
export const COOKIE = 'sluice_session';
/** A login URL is good for this long unless redeemed first. */
export const LOGIN_TTL_MS = 24 * 3600_000;
export const SESSION_TTL_MS = 12 * 3600_000;
/** Longest login token or CSRF header looked at (size limit on input). */
const MAX_TOKEN_CHARS = 1024;
/** Longest session cookie value looked at: a sealed bearer token makes it longer (cookies stop at 4 KiB). */
const MAX_SESSION_CHARS = 4096;

export interface LoginClaims {
  /** One-time nonce. */
  n: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  /** Who minted it (the OS user running `sluice dashboard` / `sluice start`); the actor of actions. */
  user: string;
}

export interface SessionClaims {
  /** Session id. */
  sid: string;
  exp: number;
  user: string;
  /**
   * Signed in with a bearer token: the token sealed with AES-256-GCM (user-access.ts). Such a session acts as
   * that user; without it the session is the local admin's (a one-time login URL).
   */
  tok?: string;
}

/** Reads the key from `<dir>/dashboard.key`, creating it (32 random bytes, mode 0600) when missing. */
export function loadOrCreateKey(dir: string): Buffer {
  const p = join(dir, KEY_FILE);
  if (existsSync(p)) {
    const k = Buffer.from(readFileSync(p, 'utf8').trim(), 'base64url');
    if (k.length >= 32) return k;
  }
  mkdirSync(dirname(p), { recursive: true });
  const k = randomBytes(32);
  writeFileSync(p, k.toString('base64url') + '\n', { mode: 0o600 });
  return k;
}

/** The key if it exists; `sluice dashboard` must not invent one the server does not know. */
export function readKey(dir: string): Buffer | undefined {
  const p = join(dir, KEY_FILE);
  if (!existsSync(p)) return undefined;
  const k = Buffer.from(readFileSync(p, 'utf8').trim(), 'base64url');
  return k.length >= 32 ? k : undefined;
}

function mac(key: Buffer, purpose: string, body: string): string {
  return createHmac('sha256', key).update(`${purpose}\n${body}`).digest('base64url');
}

function sign(key: Buffer, purpose: string, claims: object): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${mac(key, purpose, body)}`;
}

function verify<T>(key: Buffer, purpose: string, token: string, now: number, max = MAX_TOKEN_CHARS): T | null {
  if (token.length > max) return null;
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const body = token.slice(0, dot);
  const got = Buffer.from(token.slice(dot + 1));
  const want = Buffer.from(mac(key, purpose, body));
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { exp?: unknown };
    if (typeof c.exp !== 'number' || c.exp < now) return null;
    return c as T;
  } catch {
    return null;
  }
}

export function mintLoginToken(key: Buffer, user: string, now: number, ttlMs = LOGIN_TTL_MS): string {
  return sign(key, 'login', { n: randomBytes(12).toString('base64url'), exp: now + ttlMs, user } satisfies LoginClaims);
}

export function mintSession(key: Buffer, user: string, now: number, sealedToken?: string): string {
  return sign(key, 'session', {
    sid: randomBytes(12).toString('base64url'),
    exp: now + SESSION_TTL_MS,
    user,
    ...(sealedToken ? { tok: sealedToken } : {}),
  } satisfies SessionClaims);
}

export function verifySession(key: Buffer, value: string, now: number): SessionClaims | null {
  const c = verify<SessionClaims>(key, 'session', value, now, MAX_SESSION_CHARS);
  return c &&
    typeof c.sid === 'string' &&
    typeof c.user === 'string' &&
    (c.tok === undefined || typeof c.tok === 'string')
    ? c
    : null;
}

/** The CSRF token of a session: derived, so nothing is stored; sent by the page in a header on every POST. */
export function csrfOf(key: Buffer, session: SessionClaims): string {
  return mac(key, 'csrf', session.sid);
}

export function csrfMatches(key: Buffer, session: SessionClaims, header: string | undefined): boolean {
  if (!header || header.length > MAX_TOKEN_CHARS) return false;
  const want = Buffer.from(csrfOf(key, session));
  const got = Buffer.from(header);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Redeems login tokens once. Used nonces are kept until their token would have expired anyway. */
export class LoginRedeemer {
  readonly #key: Buffer;
  readonly #file: string;
  readonly #used = new Map<string, number>();

  constructor(key: Buffer, dir: string, now: number) {
    this.#key = key;
    this.#file = join(dir, USED_FILE);
    if (existsSync(this.#file)) {
      for (const line of readFileSync(this.#file, 'utf8').split('\n')) {
        const [n, exp] = line.split(' ');
        if (n && Number(exp) > now) this.#used.set(n, Number(exp));
      }
      // Rewrite without the expired ones, so the file stays small.
      writeFileSync(this.#file, [...this.#used].map(([n, e]) => `${n} ${e}\n`).join(''), { mode: 0o600 });
    }
  }

  /** The claims of a valid, unused token (now marked used); null otherwise. */
  redeem(token: string, now: number): LoginClaims | null {
    const c = verify<LoginClaims>(this.#key, 'login', token, now);
    if (!c || typeof c.n !== 'string' || typeof c.user !== 'string') return null;
    if (this.#used.has(c.n)) return null;
    this.#used.set(c.n, c.exp);
    appendFileSync(this.#file, `${c.n} ${c.exp}\n`, { mode: 0o600 });
    return c;
  }
}
