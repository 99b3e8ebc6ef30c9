// What Sluice checks in a manifest before it reaches an API server: the CRD's structural schema (unknown
// fields, types) and Knative's own admission (the webhook's messages, word for word). Used by
// `sluice validate` offline and by GitOps before applying, so a bad file is reported at file:line:column.
import { join } from 'node:path';
import type { ExtraCheck } from '../gitops/index.js';
import { readManifests } from '../apiserver/index.js';
import { prune, validateAgainst } from '../apiserver/schema.js';
import type { SchemaNode } from '../apiserver/registry.js';
import { admit } from '../serving/index.js';
import { isRecord } from '../apiserver/types.js';

/** `spec.traffic[1].percent` → ['spec', 'traffic', 1, 'percent'], to place a message in the YAML. */
export function splitPath(p: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const part of p.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

export async function createManifestCheck(crdDir: string): Promise<ExtraCheck> {
  const crds = await readManifests(crdDir);
  const serviceCrd = crds.find((c) => c.metadata.name === 'services.serving.knative.dev');
  const spec = serviceCrd && isRecord(serviceCrd.spec) ? serviceCrd.spec : undefined;
  const versions = spec && Array.isArray(spec.versions) ? spec.versions : [];
  const v1 = versions.find((v): v is Record<string, unknown> => isRecord(v) && v.name === 'v1');
  const schema = v1 && isRecord(v1.schema) ? (v1.schema.openAPIV3Schema as SchemaNode | undefined) : undefined;
  return (kind, object) => {
    if (kind !== 'Service') return [];
    const out: Array<{ path: Array<string | number>; text: string }> = [];
    if (schema) {
      const copy = structuredClone(object);
      for (const field of prune(copy, schema)) out.push({ path: splitPath(field), text: `unknown field "${field}"` });
      for (const c of validateAgainst(copy, schema))
        out.push({ path: splitPath(c.field ?? ''), text: c.field ? `${c.field}: ${c.message}` : c.message });
      if (out.length > 0) return out;
    }
    const r = admit('Service', 'CREATE', object);
    if (r.ok) return [];
    for (const e of r.error.entries()) {
      if (e.level === 'Warning') continue;
      const text = `${e.message}${e.paths.length ? `: ${e.paths.join(', ')}` : ''}${e.details ? `\n${e.details}` : ''}`;
      out.push({ path: splitPath(e.paths[0] ?? ''), text });
    }
    return out;
  };
}

export function defaultCrdDir(root: string): string {
  return join(root, 'deploy', 'crds');
}
