// Who is asking: bearer tokens to users, as kube-apiserver's token authenticators do. Two kinds of token:
// the kubeconfig's admin token (group system:masters: everything is allowed) and ServiceAccount tokens minted
// by the TokenRequest API, which are ES256-signed JWTs with kube-apiserver's claims (iss, sub, aud, exp, nbf,
// kubernetes.io.serviceaccount), bound to the ServiceAccount's uid: deleting the account revokes its tokens.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from './store.js';
import { resourceId } from './store.js';
import { isRecord } from './types.js';
import { serviceAccountUsername, SYSTEM_MASTERS } from './rbac.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** The kubeconfig user of the embedded API server; Knative's creator annotations name it. */
export const ADMIN_USERNAME = 'sluice-admin';
export const SYSTEM_AUTHENTICATED = 'system:authenticated';
/** kube-apiserver's default issuer and API audience (--service-account-issuer). */
export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

export function adminUser(): UserInfo {
  return { username: ADMIN_USERNAME, groups: [SYSTEM_MASTERS, SYSTEM_AUTHENTICATED] };
}

/** The user of a ServiceAccount's tokens, with the groups kube-apiserver gives it. */
export function serviceAccountUser(namespace: string, name: string, uid: string): UserInfo {
  return {
    username: serviceAccountUsername(namespace, name),
    uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, SYSTEM_AUTHENTICATED],
  };
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string } };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Authentication failed; the HTTP layer answers 401 without saying which check failed, as kube-apiserver does. */
export class Unauthenticated extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'Unauthenticated';
  }
}

interface CachedToken {
  user: UserInfo;
  claims: TokenClaims;
}

const MAX_TOKEN_BYTES = 16 * 1024;
const CACHE_SIZE = 1024;

export class Authenticator {
  #adminDigest: Buffer;
  #privateKey: KeyObject;
  #publicKey: KeyObject;
  #keyId: string;
  #store: Store;
  /** Verified ServiceAccount tokens by digest: the signature is checked once, expiry and binding every time. */
  #cache = new Map<string, CachedToken>();

  private constructor(adminToken: string, privateKey: KeyObject, store: Store) {
    this.#adminDigest = digest(adminToken);
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    this.#keyId = createHash('sha256')
      .update(this.#publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64url')
      .slice(0, 43);
    this.#store = store;
  }

  /** Loads (or creates, mode 0600) the ServiceAccount signing key `<data>/sa.key`. */
  static async open(dataDir: string, adminToken: string, store: Store): Promise<Authenticator> {
    const p = join(dataDir, 'sa.key');
    let pem: string;
    try {
      pem = await readFile(p, 'utf8');
    } catch {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await writeFile(p, pem, { mode: 0o600 });
    }
    return new Authenticator(adminToken, createPrivateKey(pem), store);
  }

  /** A signed token for a ServiceAccount (the TokenRequest API). `nowMs` and `expirationSeconds` set exp. */
  mint(
    sa: { namespace: string; name: string; uid: string },
    audiences: string[],
    nowMs: number,
    expirationSeconds: number,
  ): { token: string; claims: TokenClaims } {
    const iat = Math.floor(nowMs / 1000);
    const claims: TokenClaims = {
      iss: API_AUDIENCE,
      sub: serviceAccountUsername(sa.namespace, sa.name),
      aud: audiences.length > 0 ? audiences : [API_AUDIENCE],
      exp: iat + expirationSeconds,
      iat,
      nbf: iat,
      jti: randomUUID(),
      'kubernetes.io': { namespace: sa.namespace, serviceaccount: { name: sa.name, uid: sa.uid } },
    };
    const head = b64(JSON.stringify({ alg: 'ES256', kid: this.#keyId }));
    const body = b64(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), { key: this.#privateKey, dsaEncoding: 'ieee-p1363' });
    return { token: `${head}.${body}.${b64(sig)}`, claims };
  }

  /**
   * The user a `Authorization: Bearer …` header names, or Unauthenticated (missing, malformed, unknown,
   * expired, for another audience, or its ServiceAccount is gone or was re-created).
   */
  authenticate(authorization: string | undefined, nowMs: number): UserInfo {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new Unauthenticated('no bearer token');
    const token = m[1]!;
    if (token.length > MAX_TOKEN_BYTES) throw new Unauthenticated('token too long');
    const d = digest(token);
    // Constant-time whatever the presented token's length: digests are compared.
    if (timingSafeEqual(d, this.#adminDigest)) return adminUser();
    const key = d.toString('base64url');
    let hit = this.#cache.get(key);
    if (!hit) {
      const claims = this.#verify(token);
      const sa = claims['kubernetes.io'];
      hit = { user: serviceAccountUser(sa.namespace, sa.serviceaccount.name, sa.serviceaccount.uid), claims };
      if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, hit);
    }
    const c = hit.claims;
    const now = Math.floor(nowMs / 1000);
    if (now >= c.exp || now < c.nbf) {
      this.#cache.delete(key);
      throw new Unauthenticated('token expired');
    }
    const k = c['kubernetes.io'];
    const sa = this.#store.get(resourceId('', 'serviceaccounts'), k.namespace, k.serviceaccount.name);
    if (!sa || sa.metadata.uid !== k.serviceaccount.uid || sa.metadata.deletionTimestamp)
      throw new Unauthenticated('the token is bound to a ServiceAccount that no longer exists');
    return hit.user;
  }

  #verify(token: string): TokenClaims {
    const parts = token.split('.');
    if (parts.length !== 3) throw new Unauthenticated('not a JWT');
    const [h, p, s] = parts as [string, string, string];
    let header: unknown, claims: unknown;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    } catch {
      throw new Unauthenticated('not a JWT');
    }
    if (!isRecord(header) || header.alg !== 'ES256' || header.kid !== this.#keyId)
      throw new Unauthenticated('not signed by this server');
    const ok = verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key: this.#publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url'),
    );
    if (!ok) throw new Unauthenticated('bad signature');
    if (!isTokenClaims(claims)) throw new Unauthenticated('missing claims');
    if (claims.iss !== API_AUDIENCE || !claims.aud.includes(API_AUDIENCE))
      throw new Unauthenticated('token is not for this API server');
    return claims;
  }
}

function isTokenClaims(v: unknown): v is TokenClaims {
  if (!isRecord(v)) return false;
  const k = v['kubernetes.io'];
  return (
    typeof v.iss === 'string' &&
    typeof v.sub === 'string' &&
    Array.isArray(v.aud) &&
    v.aud.every((x) => typeof x === 'string') &&
    typeof v.exp === 'number' &&
    typeof v.nbf === 'number' &&
    isRecord(k) &&
    typeof k.namespace === 'string' &&
    isRecord(k.serviceaccount) &&
    typeof k.serviceaccount.name === 'string' &&
    typeof k.serviceaccount.uid === 'string'
  );
}
