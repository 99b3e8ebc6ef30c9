// The patch formats kube-apiserver accepts: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and
// server-side apply with field ownership recorded in metadata.managedFields.
import fjp from 'fast-json-patch';
import type { KObject, ManagedFieldsEntry, JsonObject } from './types.js';
import { isRecord, jsonEqual } from './types.js';
import { StatusError, errors } from './status.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function jsonPatch(target: KObject, ops: unknown): KObject {
  if (!Array.isArray(ops)) throw errors.badRequest('a JSON patch must be an array of operations');
  try {
    const res = fjp.applyPatch(structuredClone(target), ops as fjp.Operation[], true, false);
    return res.newDocument as KObject;
  } catch (e) {
    const msg = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
    throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${msg}`);
  }
}

// ---- field ownership -------------------------------------------------------------------------------

type Path = string[];

/** Leaf paths of the fields a manager can own: lists are atomic, as for CRDs without list-type markers. */
export function leafPaths(obj: Record<string, unknown>, includeStatus: boolean): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, p: Path): void => {
    if (isRecord(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
    } else out.push(p);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !includeStatus) continue;
    if (k === 'metadata') {
      if (!isRecord(v)) continue;
      for (const mk of ['labels', 'annotations']) {
        const m = v[mk];
        if (isRecord(m))
          for (const lk of Object.keys(m)) {
            if (mk === 'annotations' && lk === 'kubectl.kubernetes.io/last-applied-configuration') continue;
            out.push(['metadata', mk, lk]);
          }
      }
      for (const mk of ['finalizers', 'ownerReferences']) if (v[mk] !== undefined) out.push(['metadata', mk]);
      continue;
    }
    walk(v, [k]);
  }
  return out;
}

export function pathsToFields(paths: Path[]): JsonObject {
  const root: JsonObject = {};
  for (const p of paths) {
    let n = root;
    for (const seg of p) {
      const k = `f:${seg}`;
      if (!isRecord(n[k])) n[k] = {};
      n = n[k] as JsonObject;
    }
  }
  return root;
}

export function fieldsToPaths(f: unknown, prefix: Path = []): Path[] {
  if (!isRecord(f)) return [];
  const keys = Object.keys(f).filter((k) => k.startsWith('f:'));
  if (keys.length === 0) return prefix.length ? [prefix] : [];
  return keys.flatMap((k) => fieldsToPaths(f[k], [...prefix, k.slice(2)]));
}

function get(obj: unknown, p: Path): unknown {
  let v: unknown = obj;
  for (const s of p) {
    if (!isRecord(v)) return undefined;
    v = v[s];
  }
  return v;
}

function del(obj: Record<string, unknown>, p: Path): void {
  const parents: Array<Record<string, unknown>> = [];
  let v: unknown = obj;
  for (const s of p.slice(0, -1)) {
    if (!isRecord(v)) return;
    parents.push(v);
    v = v[s];
  }
  if (!isRecord(v)) return;
  delete v[p[p.length - 1]!];
  // Drop maps emptied by the removal, as SSA does.
  for (let i = p.length - 2; i >= 0; i--) {
    const parent = parents[i]!;
    const child = parent[p[i]!];
    if (isRecord(child) && Object.keys(child).length === 0) delete parent[p[i]!];
    else break;
  }
}

const key = (p: Path): string => JSON.stringify(p);
const covers = (owner: Path, p: Path): boolean => owner.length <= p.length && owner.every((s, i) => s === p[i]);

/**
 * Records that `manager` (by `operation`) now owns `paths`, taking them from anyone else, and returns
 * the new managedFields.
 */
export function transferOwnership(
  entries: ManagedFieldsEntry[],
  manager: string,
  operation: 'Apply' | 'Update',
  apiVersion: string,
  now: string,
  paths: Path[],
  replaceSet: boolean,
  subresource?: string,
): ManagedFieldsEntry[] {
  const want = new Set(paths.map(key));
  const out: ManagedFieldsEntry[] = [];
  let mine: Path[] = [];
  for (const e of entries) {
    const ps = fieldsToPaths(e.fieldsV1);
    if (e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '')) {
      mine = replaceSet ? [] : ps;
      continue;
    }
    const kept = ps.filter((p) => !want.has(key(p)) && !paths.some((q) => covers(q, p) || covers(p, q)));
    if (kept.length > 0) out.push({ ...e, fieldsV1: pathsToFields(kept) });
  }
  const merged = [
    ...mine.filter((p) => !want.has(key(p)) && !paths.some((q) => covers(q, p) || covers(p, q))),
    ...paths,
  ];
  if (merged.length > 0) {
    const entry: ManagedFieldsEntry = {
      manager,
      operation,
      apiVersion,
      time: now,
      fieldsType: 'FieldsV1',
      fieldsV1: pathsToFields(merged),
    };
    if (subresource) entry.subresource = subresource;
    out.push(entry);
  }
  return out;
}

/** Paths whose value differs between two versions of an object (for Update ownership). */
export function changedPaths(oldObj: KObject | undefined, newObj: KObject, includeStatus: boolean): Path[] {
  const np = leafPaths(newObj, includeStatus);
  if (!oldObj) return np;
  return np.filter((p) => !jsonEqual(get(oldObj, p), get(newObj, p)));
}

function deepMerge(live: unknown, applied: unknown): unknown {
  if (isRecord(live) && isRecord(applied)) {
    const out: Record<string, unknown> = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = deepMerge(live[k], v);
    return out;
  }
  return structuredClone(applied);
}

export interface ApplyResult {
  obj: KObject;
  managedFields: ManagedFieldsEntry[];
}

/**
 * Server-side apply of `applied` by `manager` onto `live`. Fields the manager applied before and has now
 * dropped are removed unless another manager also owns them; a field another manager owns with a different
 * value is a conflict unless `force` is set, and then ownership moves.
 */
export function serverSideApply(
  live: KObject | undefined,
  applied: KObject,
  manager: string,
  force: boolean,
  now: string,
  resourceLabel: { group: string; plural: string; name: string; apiVersion: string },
): ApplyResult {
  const entries = live?.metadata.managedFields ?? [];
  const appliedPaths = leafPaths(applied, false);
  if (live && !force) {
    const conflicts: Array<{ manager: string; path: Path }> = [];
    for (const e of entries) {
      if (e.manager === manager && e.operation === 'Apply') continue;
      for (const owned of fieldsToPaths(e.fieldsV1)) {
        for (const p of appliedPaths) {
          if ((covers(owned, p) || covers(p, owned)) && !jsonEqual(get(live, owned), get(applied, owned))) {
            conflicts.push({ manager: e.manager, path: owned });
          }
        }
      }
    }
    const uniq = [...new Map(conflicts.map((c) => [`${c.manager}${key(c.path)}`, c])).values()];
    if (uniq.length > 0) {
      const lines = uniq.map(
        (c) => `conflict with "${c.manager}"${managerOp(entries, c.manager)}: .${c.path.join('.')}`,
      );
      const msg =
        uniq.length === 1
          ? `Apply failed with 1 conflict: ${lines[0]}`
          : `Apply failed with ${uniq.length} conflicts: ${lines.join('\n')}`;
      throw new StatusError(409, 'Conflict', msg, {
        name: resourceLabel.name,
        group: resourceLabel.group,
        kind: resourceLabel.plural,
        causes: uniq.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${c.manager}"${managerOp(entries, c.manager)}`,
          field: `.${c.path.join('.')}`,
        })),
      });
    }
  }
  const base = live ? structuredClone(live) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} };
  const merged = deepMerge(base, { ...applied, metadata: { ...(applied.metadata ?? {}) } }) as KObject;
  // Remove what this manager applied last time and no longer applies, unless someone else owns it.
  const prevMine = entries
    .filter((e) => e.manager === manager && e.operation === 'Apply')
    .flatMap((e) => fieldsToPaths(e.fieldsV1));
  const others = entries
    .filter((e) => !(e.manager === manager && e.operation === 'Apply'))
    .flatMap((e) => fieldsToPaths(e.fieldsV1));
  const nowSet = new Set(appliedPaths.map(key));
  for (const p of prevMine) {
    if (nowSet.has(key(p)) || appliedPaths.some((q) => covers(p, q) || covers(q, p))) continue;
    if (others.some((o) => covers(o, p) || covers(p, o))) continue;
    del(merged, p);
  }
  const managedFields = transferOwnership(entries, manager, 'Apply', resourceLabel.apiVersion, now, appliedPaths, true);
  return { obj: merged, managedFields };
}

function managerOp(entries: ManagedFieldsEntry[], m: string): string {
  const e = entries.find((x) => x.manager === m);
  return e?.operation === 'Update' ? ' using ' + e.apiVersion : '';
}
