// The policies the controller governs with, from two sources: RolloutPolicy objects in the API and, optionally,
// a `policies/` directory. Both are validated with the same parser as `sluice validate` (schema + semantics,
// errors with file:line:column). A policy that turns invalid keeps its last good version, so a typo pushed to
// Git never leaves a Service ungoverned mid-rollout; the errors are reported once per distinct text.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../../kube/index.js';
import type { PolicyError } from '../errors.js';
import { parsePolicies } from '../policy/parse.js';
import { checkPolicyObject } from '../policy/object.js';
import type { RolloutPolicySpec } from '../policy/types.js';
import { matchesLabels } from './observe.js';
import type { ServiceObject } from './types.js';

export interface GoverningPolicy {
  namespace: string;
  name: string;
  /** `RolloutPolicy default/web` or `policies/web.yaml:3`. */
  source: string;
  spec: RolloutPolicySpec;
  /** metadata.generation of the API object this spec was read from (API policies only). */
  generation?: number;
}

export interface PolicyProblems {
  source: string;
  errors: PolicyError[];
}

/** Validates an API object with the file parser; errors carry field paths (an API object has no lines). */
export function validateApiPolicy(obj: KubeObject): { policy: GoverningPolicy | null; errors: PolicyError[] } {
  const ns = obj.metadata.namespace ?? 'default';
  const name = obj.metadata.name ?? '';
  const { spec, errors } = checkPolicyObject(obj);
  if (!spec) return { policy: null, errors };
  const policy: GoverningPolicy = { namespace: ns, name, source: `RolloutPolicy ${ns}/${name}`, spec };
  if (obj.metadata.generation !== undefined) policy.generation = obj.metadata.generation;
  return { policy, errors: [] };
}

interface FileEntry {
  sig: string;
  policies: GoverningPolicy[];
  errorText: string;
}

export class PolicySet {
  readonly #api = new Map<string, GoverningPolicy>();
  readonly #files = new Map<string, FileEntry>();
  readonly #reported = new Map<string, string>();

  /**
   * Adds or replaces an API policy. Invalid: the last good version (if any) stays in force. `report` holds the
   * errors the first time this exact set is seen (null afterwards, so callers can log once); `errors` always.
   */
  setApi(obj: KubeObject): { errors: PolicyError[]; report: PolicyProblems | null } {
    const { policy, errors } = validateApiPolicy(obj);
    const key = `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name ?? ''}`;
    if (policy) {
      this.#api.set(key, policy);
      this.#reported.delete(`api:${key}`);
      return { errors: [], report: null };
    }
    return { errors, report: this.#once(`api:${key}`, `RolloutPolicy ${key}`, errors) };
  }

  /** The API policy in force under this name (the last good version when the current one is invalid). */
  api(namespace: string, name: string): GoverningPolicy | undefined {
    return this.#api.get(`${namespace}/${name}`);
  }

  deleteApi(namespace: string, name: string): void {
    this.#api.delete(`${namespace}/${name}`);
    this.#reported.delete(`api:${namespace}/${name}`);
  }

  /**
   * Re-reads the files of `dir` whose size or mtime changed. A file with errors keeps its last good policies.
   * Returns whether the effective set changed, and the problems not reported before.
   */
  loadDir(dir: string, displayDir = 'policies'): { changed: boolean; problems: PolicyProblems[] } {
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
        .sort();
    } catch {
      names = [];
    }
    const problems: PolicyProblems[] = [];
    let changed = false;
    for (const gone of [...this.#files.keys()].filter((f) => !names.includes(f))) {
      this.#files.delete(gone);
      changed = true;
    }
    for (const n of names) {
      const path = join(dir, n);
      let sig: string;
      try {
        const st = statSync(path);
        sig = `${st.size}:${st.mtimeMs}`;
      } catch {
        continue;
      }
      const prev = this.#files.get(n);
      if (prev?.sig === sig) continue;
      const file = `${displayDir}/${n}`;
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        continue;
      }
      const r = parsePolicies(text, file);
      if (r.errors.length > 0) {
        // Last good kept: the entry keeps its policies, only the signature moves on (no re-parse every poll).
        this.#files.set(n, {
          sig,
          policies: prev?.policies ?? [],
          errorText: r.errors.map((e) => e.where()).join('\n'),
        });
        const p = this.#once(`file:${n}`, file, r.errors);
        if (p) problems.push(p);
        continue;
      }
      this.#reported.delete(`file:${n}`);
      const policies = r.policies.map((p): GoverningPolicy => ({
        namespace: p.policy.metadata.namespace ?? 'default',
        name: p.policy.metadata.name,
        source: `${p.file}:${p.line}`,
        spec: p.policy.spec,
      }));
      if (JSON.stringify(prev?.policies ?? null) !== JSON.stringify(policies)) changed = true;
      this.#files.set(n, { sig, policies, errorText: '' });
    }
    return { changed, problems };
  }

  /** Every effective policy: API objects win over files with the same namespace/name. */
  all(): GoverningPolicy[] {
    const out = new Map<string, GoverningPolicy>();
    for (const f of [...this.#files.keys()].sort()) {
      for (const p of this.#files.get(f)?.policies ?? []) {
        const k = `${p.namespace}/${p.name}`;
        if (!out.has(k)) out.set(k, p);
      }
    }
    for (const [k, p] of this.#api) out.set(k, p);
    return [...out.values()];
  }

  /**
   * The policy governing a Service: same namespace, `targetRef.name` equal to its name, or `selector`
   * matching its labels. Several: a targetRef beats a selector, then the first by name (deterministic).
   */
  match(svc: ServiceObject): GoverningPolicy | null {
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name ?? '';
    const hits = this.all().filter(
      (p) =>
        p.namespace === ns &&
        (p.spec.targetRef
          ? p.spec.targetRef.name === name
          : p.spec.selector
            ? matchesLabels(svc.metadata.labels, p.spec.selector.matchLabels)
            : false),
    );
    hits.sort((a, b) => Number(!a.spec.targetRef) - Number(!b.spec.targetRef) || a.name.localeCompare(b.name));
    return hits[0] ?? null;
  }

  #once(key: string, source: string, errors: PolicyError[]): PolicyProblems | null {
    const text = errors.map((e) => e.where()).join('\n');
    if (this.#reported.get(key) === text) return null;
    this.#reported.set(key, text);
    return { source, errors };
  }
}
