// A RolloutPolicy as the API holds it (an object, not a file) checked with the same parser as `sluice validate`:
// schema, PromQL syntax and semantic rules. The errors carry field paths only: an API object has no lines, and a
// position in a re-serialised copy would not match the user's file. Used by the API server's admission, the
// cluster's validating webhook and the controller, so all three agree on what is valid.
import { stringify } from 'yaml';
import { PolicyError, type RolloutErrorCode } from '../errors.js';
import { parsePolicies } from './parse.js';
import { API_VERSION, POLICY_KIND, type RolloutPolicySpec } from './types.js';

export interface PolicyObjectLike {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
}

export interface PolicyObjectCheck {
  spec: RolloutPolicySpec | null;
  /** Each with `path` (e.g. `spec.analysis.metrics[0].query`) and `detail`; empty when `spec` is set. */
  errors: PolicyError[];
}

export function checkPolicyObject(obj: PolicyObjectLike): PolicyObjectCheck {
  const meta: Record<string, unknown> = {
    name: obj.metadata.name ?? '',
    namespace: obj.metadata.namespace ?? 'default',
  };
  if (obj.metadata.labels) meta.labels = obj.metadata.labels;
  const text = stringify({ apiVersion: API_VERSION, kind: POLICY_KIND, metadata: meta, spec: obj.spec });
  const r = parsePolicies(text, 'object');
  const p = r.policies[0];
  if (r.errors.length > 0 || !p) {
    const errors = r.errors.map((e) => new PolicyError(e.code as RolloutErrorCode, e.path ?? '', e.detail));
    return { spec: null, errors };
  }
  return { spec: p.policy.spec, errors: [] };
}

/** `spec.x: what; spec.y: what` — one line for a condition message or a log line. */
export function describeProblems(errors: readonly PolicyError[]): string {
  return errors.map((e) => e.message).join('; ');
}
