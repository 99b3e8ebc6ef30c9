// Where sinks get their secrets (HMAC keys, Slack URLs, Alertmanager credentials). Values are returned to the
// sink and never logged; errors name the secret and key, never a value.
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { AlertError } from './errors.js';

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface SecretResolver {
  /** The value of `key` in Secret `name` of `namespace`. Rejects with an AlertError when it does not exist. */
  resolve(namespace: string, ref: SecretKeyRef): Promise<string>;
}

function envName(...parts: string[]): string {
  return ['SLUICE_SECRET', ...parts].map((p) => p.toUpperCase().replace(/[^A-Z0-9]+/g, '_')).join('_');
}

/**
 * Secrets from environment variables: `SLUICE_SECRET_<NAMESPACE>_<NAME>_<KEY>`, falling back to
 * `SLUICE_SECRET_<NAME>_<KEY>`; names upper-cased, every other character run becomes `_`.
 * Secret `hooks`, key `hmac` in namespace `default` → `SLUICE_SECRET_DEFAULT_HOOKS_HMAC` or `SLUICE_SECRET_HOOKS_HMAC`.
 */
export class EnvSecretResolver implements SecretResolver {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  static variableNames(namespace: string, ref: SecretKeyRef): [string, string] {
    return [envName(namespace, ref.name, ref.key), envName(ref.name, ref.key)];
  }

  async resolve(namespace: string, ref: SecretKeyRef): Promise<string> {
    const names = EnvSecretResolver.variableNames(namespace, ref);
    for (const n of names) {
      const v = this.env[n];
      if (v !== undefined && v !== '') return v;
    }
    throw new AlertError(
      'AlertSecretNotFound',
      `secret ${namespace}/${ref.name} key ${ref.key} not found: set ${names[0]} or ${names[1]}`,
      { retryable: true },
    );
  }
}

/** A resolver backed by any function (tests, or a caller with its own store). */
export class FunctionSecretResolver implements SecretResolver {
  constructor(private readonly fn: (namespace: string, ref: SecretKeyRef) => Promise<string | undefined>) {}

  async resolve(namespace: string, ref: SecretKeyRef): Promise<string> {
    const v = await this.fn(namespace, ref);
    if (v === undefined)
      throw new AlertError('AlertSecretNotFound', `secret ${namespace}/${ref.name} key ${ref.key} not found`, {
        retryable: true,
      });
    return v;
  }
}

/** The parts of a core/v1 Secret this module reads. */
export interface SecretLike {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/**
 * A resolver reading core/v1 Secrets through a getter the controller supplies (e.g. a src/kube read or an
 * informer cache), decoding base64 `data` (`stringData` wins, as on the API server). Secrets are cached for
 * `ttlMs` (default 10 s) so a burst of alerts costs one read.
 */
export class KubeSecretResolver implements SecretResolver {
  readonly #cache = new Map<string, { at: number; secret: SecretLike | undefined }>();

  constructor(
    private readonly getSecret: (namespace: string, name: string) => Promise<SecretLike | undefined | null>,
    private readonly opts: { ttlMs?: number; clock?: Clock } = {},
  ) {}

  async resolve(namespace: string, ref: SecretKeyRef): Promise<string> {
    const clock = this.opts.clock ?? systemClock;
    const ttl = this.opts.ttlMs ?? 10_000;
    const ck = `${namespace}/${ref.name}`;
    let hit = this.#cache.get(ck);
    if (!hit || clock.now() - hit.at > ttl) {
      const s = await this.getSecret(namespace, ref.name);
      hit = { at: clock.now(), secret: s ?? undefined };
      this.#cache.set(ck, hit);
    }
    const s = hit.secret;
    if (!s)
      throw new AlertError('AlertSecretNotFound', `secret ${namespace}/${ref.name} not found`, { retryable: true });
    const plain = s.stringData?.[ref.key];
    if (plain !== undefined) return plain;
    const b64 = s.data?.[ref.key];
    if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
    throw new AlertError('AlertSecretNotFound', `secret ${namespace}/${ref.name} has no key ${ref.key}`, {
      retryable: true,
    });
  }
}
