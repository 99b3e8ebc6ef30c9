// Per-user access for a dashboard signed in with a Kubernetes bearer token (a ServiceAccount token from
// `kubectl create token`, or any token the API server accepts). The API server decides everything:
// SelfSubjectReview says who the token is, SelfSubjectAccessReview says what it may do (buttons, fleet rows),
// and actions are sent with the user's own token, so RBAC authorizes the write itself. The dashboard never
// widens a user's rights with its own credentials.
//
// The token travels only inside the session cookie, sealed with AES-256-GCM under a key derived from the
// dashboard key (HttpOnly, so page scripts cannot read it either); it is never logged.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeClient } from '../kube/index.js';
import { DashboardError, DashboardErrorCode as C } from './errors.js';

/** Longest bearer token accepted (it must fit, sealed, in a 4 KiB cookie). */
export const BEARER_MAX_CHARS = 2048;
/** How long an access decision is reused (buttons, fleet rows): short, so a revoked role shows quickly. */
export const ACCESS_TTL_MS = 5_000;
const CACHE_MAX = 10_000;
const CLIENTS_MAX = 256;

const SEAL_INFO = 'sluice dashboard bearer token seal v1';

const sealKeys = new WeakMap<Buffer, Buffer>();
function sealKey(key: Buffer): Buffer {
  let k = sealKeys.get(key);
  if (!k) {
    k = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), SEAL_INFO, 32));
    sealKeys.set(key, k);
  }
  return k;
}

/** AES-256-GCM: base64url(iv ‖ tag ‖ ciphertext). */
export function sealToken(key: Buffer, token: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', sealKey(key), iv);
  const body = Buffer.concat([c.update(token, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
}

/** The token of a sealed value; undefined when it was tampered with or sealed under another key. */
export function openToken(key: Buffer, sealed: string): string | undefined {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 29) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', sealKey(key), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** A bearer token as pasted: trimmed, "Bearer " dropped; an error says what is wrong with it. */
export function parseBearer(input: string): string {
  const t = input.trim().replace(/^Bearer\s+/i, '');
  if (!t) throw new DashboardError(C.BadRequest, 400, 'token: paste a bearer token (e.g. from `kubectl create token`)');
  if (t.length > BEARER_MAX_CHARS)
    throw new DashboardError(C.BadRequest, 400, `token: at most ${BEARER_MAX_CHARS} characters`);
  if (!/^[\x21-\x7e]+$/.test(t))
    throw new DashboardError(C.BadRequest, 400, 'token: only printable ASCII without spaces is allowed');
  return t;
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export interface UserInfo {
  username: string;
  groups: string[];
}

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

export interface UserAccessOptions {
  /** The dashboard's own client: only its cluster (server, CA) is used, never its credentials. */
  base: KubeClient;
  now: () => number;
  ttlMs?: number;
}

export class UserAccess {
  readonly #o: UserAccessOptions;
  readonly #clients = new Map<string, KubeClient>();
  readonly #decisions = new Map<string, Cached<boolean>>();
  /** SelfSubjectAccessReviews sent (the benchmark and tests look at it). */
  reviews = 0;

  constructor(o: UserAccessOptions) {
    this.#o = o;
  }

  /** A client that authenticates as the token's user, on the same cluster as the dashboard. */
  clientFor(token: string): KubeClient {
    const id = digest(token);
    let c = this.#clients.get(id);
    if (c) {
      // Most recently used last, so the oldest is dropped first.
      this.#clients.delete(id);
      this.#clients.set(id, c);
      return c;
    }
    const cluster = this.#o.base.config.getCurrentCluster();
    if (!cluster) throw new DashboardError(C.NoServer, 500, 'the dashboard has no Kubernetes cluster configured');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'dashboard-user', token }],
      contexts: [{ name: 'dashboard-user', cluster: cluster.name, user: 'dashboard-user' }],
      currentContext: 'dashboard-user',
    });
    c = new KubeClient(kc, this.#o.base.fieldManager);
    this.#clients.set(id, c);
    if (this.#clients.size > CLIENTS_MAX) this.#clients.delete(this.#clients.keys().next().value ?? '');
    return c;
  }

  /** Who the token is (SelfSubjectReview, as `kubectl auth whoami`). A refused token → Unauthenticated. */
  async whoami(token: string): Promise<UserInfo> {
    try {
      const r = await this.clientFor(token).request<{
        status?: { userInfo?: { username?: string; groups?: string[] } };
      }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      });
      const u = r?.status?.userInfo;
      if (!u?.username)
        throw new DashboardError(C.Unauthenticated, 401, 'the API server did not say who this token is');
      return { username: u.username, groups: u.groups ?? [] };
    } catch (e) {
      throw asAccessError(e, 'sign in');
    }
  }

  /**
   * Whether the token's user may do `a` (SelfSubjectAccessReview, as `kubectl auth can-i`). Decisions are
   * reused for `ttlMs`; concurrent questions share one review.
   */
  can(token: string, a: ResourceAttributes): Promise<boolean> {
    const now = this.#o.now();
    const k = `${digest(token)}|${a.verb}|${a.group}|${a.resource}|${a.namespace ?? ''}|${a.name ?? ''}`;
    const hit = this.#decisions.get(k);
    if (hit && now - hit.at < (this.#o.ttlMs ?? ACCESS_TTL_MS)) return hit.value;
    if (this.#decisions.size >= CACHE_MAX) this.#decisions.clear();
    const value = this.#review(token, a);
    this.#decisions.set(k, { at: now, value });
    // A failed review is not remembered: the next question asks again.
    value.catch(() => this.#decisions.delete(k));
    return value;
  }

  async #review(token: string, a: ResourceAttributes): Promise<boolean> {
    this.reviews++;
    try {
      const r = await this.clientFor(token).request<{ status?: { allowed?: boolean } }>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              verb: a.verb,
              group: a.group,
              resource: a.resource,
              ...(a.namespace ? { namespace: a.namespace } : {}),
              ...(a.name ? { name: a.name } : {}),
            },
          },
        },
      );
      return r?.status?.allowed === true;
    } catch (e) {
      throw asAccessError(e, `check ${a.verb} ${a.resource}`);
    }
  }
}

/** A token is identified in caches by its hash, never by itself. */
function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The API server's 401 → "sign in again"; 403 → Forbidden; anything else as it is. */
export function asAccessError(e: unknown, what: string): unknown {
  if (e instanceof DashboardError) return e;
  if (e instanceof KubeApiError && e.status === 401)
    return new DashboardError(
      C.Unauthenticated,
      401,
      `the API server does not accept your token (${what}): it may have expired; sign in again`,
    );
  if (e instanceof KubeApiError && e.status === 403)
    return new DashboardError(C.Forbidden, 403, `the API server refused to ${what}: ${e.message}`);
  return e;
}
