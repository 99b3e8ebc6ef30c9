// A container's environment from ConfigMaps and Secrets, resolved as the kubelet does when it starts a
// container (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables): `envFrom` sources first, in order, with
// their prefix; then `env` in order, where a literal `value` has `$(VAR)` expanded against the variables
// defined so far and a `valueFrom` is looked up. A missing non-optional source or key is the kubelet's
// error, which becomes the container's CreateContainerConfigError. Pure: the caller passes the lookups.

/** What the caller knows of one ConfigMap or Secret: its string data (Secret data already decoded). */
export type SourceLookup = (namespace: string, name: string) => Record<string, string> | undefined;

export interface ConfigSourceLookups {
  configMap: SourceLookup;
  secret: SourceLookup;
}

export interface ResolvedEnvVar {
  name: string;
  value: string;
  /** Depends on a ConfigMap or Secret, directly or by `$(VAR)` (may change without the Revision changing). */
  fromSource: boolean;
}

export type EnvResolution =
  | {
      ok: true;
      env: ResolvedEnvVar[];
      /** envFrom keys skipped as invalid names (the kubelet's event). */ skipped: string[];
    }
  | { ok: false; reason: 'CreateContainerConfigError'; message: string };

export const REASON_CREATE_CONTAINER_CONFIG_ERROR = 'CreateContainerConfigError';

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

// Kubernetes' IsEnvVarName: what envFrom keys must look like once prefixed.
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * `$(VAR)` expansion with Kubernetes' rules (third_party/forked/golang/expansion): `$$` is a literal `$`, an
 * undefined `$(VAR)` stays as written, an unterminated `$(` stays as written.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') out += '$';
    else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) out += '$(';
      else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else out += `$${next ?? ''}`;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

const notFound = (kind: 'configmaps' | 'secrets', name: string): string => `${kind} "${name}" not found`;
const missingKey = (kind: 'ConfigMap' | 'Secret', ns: string, name: string, key: string): string =>
  `couldn't find key ${key} in ${kind} ${ns}/${name}`;

/** Resolve a container's `envFrom` and `env` (stored JSON) in `namespace`. */
export function resolveContainerEnv(
  container: unknown,
  namespace: string,
  lookups: ConfigSourceLookups,
): EnvResolution {
  const c = rec(container);
  const values = new Map<string, ResolvedEnvVar>();
  const skipped: string[] = [];
  const fail = (message: string): EnvResolution => ({
    ok: false,
    reason: REASON_CREATE_CONTAINER_CONFIG_ERROR,
    message,
  });

  for (const raw of Array.isArray(c['envFrom']) ? c['envFrom'] : []) {
    const e = rec(raw);
    const prefix = str(e['prefix']) ?? '';
    const cm = e['configMapRef'] !== undefined ? rec(e['configMapRef']) : undefined;
    const sec = e['secretRef'] !== undefined ? rec(e['secretRef']) : undefined;
    const ref = cm ?? sec;
    if (!ref) continue;
    const name = str(ref['name']) ?? '';
    const data = (cm ? lookups.configMap : lookups.secret)(namespace, name);
    if (!data) {
      if (ref['optional'] === true) continue;
      return fail(notFound(cm ? 'configmaps' : 'secrets', name));
    }
    for (const [k, v] of Object.entries(data)) {
      const key = prefix + k;
      if (!ENV_VAR_NAME.test(key)) {
        skipped.push(key);
        continue;
      }
      values.set(key, { name: key, value: v, fromSource: true });
    }
  }

  for (const raw of Array.isArray(c['env']) ? c['env'] : []) {
    const e = rec(raw);
    const name = str(e['name']);
    if (name === undefined) continue;
    const literal = str(e['value']) ?? '';
    if (literal !== '' || e['valueFrom'] === undefined) {
      let used = false;
      const value = expandVars(literal, (n) => {
        const v = values.get(n);
        if (v?.fromSource) used = true;
        return v?.value;
      });
      values.set(name, { name, value, fromSource: used });
      continue;
    }
    const vf = rec(e['valueFrom']);
    const cmRef = vf['configMapKeyRef'] !== undefined ? rec(vf['configMapKeyRef']) : undefined;
    const secRef = vf['secretKeyRef'] !== undefined ? rec(vf['secretKeyRef']) : undefined;
    const ref = cmRef ?? secRef;
    // fieldRef / resourceFieldRef are not sources of this module; the runtime leaves them unset.
    if (!ref) continue;
    const src = str(ref['name']) ?? '';
    const key = str(ref['key']) ?? '';
    const optional = ref['optional'] === true;
    const data = (cmRef ? lookups.configMap : lookups.secret)(namespace, src);
    if (!data) {
      if (optional) continue;
      return fail(notFound(cmRef ? 'configmaps' : 'secrets', src));
    }
    const v = data[key];
    if (v === undefined) {
      if (optional) continue;
      return fail(missingKey(cmRef ? 'ConfigMap' : 'Secret', namespace, src, key));
    }
    values.set(name, { name, value: v, fromSource: true });
  }
  return { ok: true, env: [...values.values()], skipped };
}

/** The ConfigMaps and Secrets a pod spec names (env, envFrom, volumes): which changes concern a Revision. */
export function referencedSources(podSpec: unknown): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const spec = rec(podSpec);
  for (const raw of Array.isArray(spec['containers']) ? spec['containers'] : []) {
    const c = rec(raw);
    for (const f of Array.isArray(c['envFrom']) ? c['envFrom'] : []) {
      const n1 = str(rec(rec(f)['configMapRef'])['name']);
      if (n1) configMaps.add(n1);
      const n2 = str(rec(rec(f)['secretRef'])['name']);
      if (n2) secrets.add(n2);
    }
    for (const e of Array.isArray(c['env']) ? c['env'] : []) {
      const vf = rec(rec(e)['valueFrom']);
      const n1 = str(rec(vf['configMapKeyRef'])['name']);
      if (n1) configMaps.add(n1);
      const n2 = str(rec(vf['secretKeyRef'])['name']);
      if (n2) secrets.add(n2);
    }
  }
  for (const raw of Array.isArray(spec['volumes']) ? spec['volumes'] : []) {
    const v = rec(raw);
    const n1 = str(rec(v['configMap'])['name']);
    if (n1) configMaps.add(n1);
    const n2 = str(rec(v['secret'])['secretName']);
    if (n2) secrets.add(n2);
    for (const p of Array.isArray(rec(v['projected'])['sources'])
      ? (rec(v['projected'])['sources'] as unknown[])
      : []) {
      const n3 = str(rec(rec(p)['configMap'])['name']);
      if (n3) configMaps.add(n3);
      const n4 = str(rec(rec(p)['secret'])['name']);
      if (n4) secrets.add(n4);
    }
  }
  return { configMaps, secrets };
}

/** A Secret's values as strings: `data` is base64 (as stored), `stringData` wins as on write. */
export function secretStrings(secret: unknown): Record<string, string> {
  const s = rec(secret);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec(s['data'])))
    if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(rec(s['stringData']))) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * A Secret's or ConfigMap's payload as bytes, for volumes: the kubelet writes `data`, `binaryData` and a
 * Secret's base64 values as raw bytes, so a keystore or a DER certificate survives; env takes strings instead.
 */
export function payloadBytes(obj: unknown, kind: 'configmap' | 'secret'): Record<string, Uint8Array> {
  const o = rec(obj);
  const out: Record<string, Uint8Array> = {};
  const b64 = kind === 'secret' ? o['data'] : o['binaryData'];
  const text = kind === 'secret' ? o['stringData'] : o['data'];
  for (const [k, v] of Object.entries(rec(b64))) if (typeof v === 'string') out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(rec(text))) if (typeof v === 'string') out[k] = Buffer.from(v, 'utf8');
  return out;
}

/** A ConfigMap's values as strings (`binaryData` decoded). */
export function configMapStrings(cm: unknown): Record<string, string> {
  const m = rec(cm);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec(m['binaryData'])))
    if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(rec(m['data']))) if (typeof v === 'string') out[k] = v;
  return out;
}
