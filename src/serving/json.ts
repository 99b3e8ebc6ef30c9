// Small helpers for objects that arrived as JSON: structural equality and narrowing from unknown.

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Structural equality where an absent key equals an explicit `undefined`, like Go's
 * equality.Semantic.DeepEqual on decoded structs (it cannot tell them apart either).
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

export const asString = (v: unknown): string => (typeof v === 'string' ? v : '');
export const asNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
