// Write-once helpers: a status is written only when it differs from the stored one, and a condition whose
// content did not change keeps its stored lastTransitionTime even when the computation passed through an
// intermediate state (e.g. Ready Unknown, then False again), so statuses do not churn resourceVersions.
import type { Condition, Status } from '../types.js';

/** JSON with object keys sorted, so key order never makes two equal objects differ. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .filter((k) => o[k] !== undefined)
          .map((k) => [k, o[k]]),
      );
    }
    return x;
  });
}

export const jsonEqual = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

const sameContent = (a: Condition, b: Condition): boolean =>
  a.type === b.type &&
  a.status === b.status &&
  (a.reason ?? '') === (b.reason ?? '') &&
  (a.message ?? '') === (b.message ?? '') &&
  (a.severity ?? '') === (b.severity ?? '');

/** `next` with each condition's lastTransitionTime taken from `prev` when its content is unchanged. */
export function keepTransitionTimes<S extends Status>(prev: Status | undefined, next: S): S {
  const old = new Map((prev?.conditions ?? []).map((c) => [c.type, c]));
  if (!next.conditions) return next;
  return {
    ...next,
    conditions: next.conditions.map((c) => {
      const o = old.get(c.type);
      if (!o || !sameContent(o, c)) return c;
      const out: Condition = { ...c };
      if (o.lastTransitionTime === undefined) delete out.lastTransitionTime;
      else out.lastTransitionTime = o.lastTransitionTime;
      return out;
    }),
  };
}
