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
import { admitEventing } from '../eventing/admission.js';
import type { KObject } from '../apiserver/types.js';

/**
 * `spec.traffic[1].percent` → ['spec', 'traffic', 1, 'percent'] and `spec.filter.attributes[0invalid]` →
 * ['spec', 'filter', 'attributes', '0invalid'] (Knative's map keys), to place a message in the YAML.
 */
export function splitPath(p: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const part of p.split('.')) {
    const m = /^([^[\]]*)((?:\[[^\]]+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[([^\]]+)\]/g)) out.push(/^\d+$/.test(idx[1]!) ? Number(idx[1]) : idx[1]!);
  }
  return out;
}

/** The v1 openAPIV3Schema of the CRD named `name` (e.g. `brokers.eventing.knative.dev`), if the folder has it. */
function v1Schema(crds: readonly KObject[], name: string): SchemaNode | undefined {
  const crd = crds.find((c) => c.metadata.name === name);
  const spec = crd && isRecord(crd.spec) ? crd.spec : undefined;
  const versions = spec && Array.isArray(spec.versions) ? spec.versions : [];
  const v1 = versions.find((v): v is Record<string, unknown> => isRecord(v) && v.name === 'v1');
  return v1 && isRecord(v1.schema) ? (v1.schema.openAPIV3Schema as SchemaNode | undefined) : undefined;
}

type Finding = { path: Array<string | number>; text: string };

/** Unknown fields and type errors against a CRD schema, on a copy (pruning mutates). */
function schemaFindings(object: Record<string, unknown>, schema: SchemaNode | undefined): Finding[] {
  if (!schema) return [];
  const out: Finding[] = [];
  const copy = structuredClone(object);
  for (const field of prune(copy, schema)) out.push({ path: splitPath(field), text: `unknown field "${field}"` });
  for (const c of validateAgainst(copy, schema))
    out.push({ path: splitPath(c.field ?? ''), text: c.field ? `${c.field}: ${c.message}` : c.message });
  return out;
}

export async function createManifestCheck(crdDir: string): Promise<ExtraCheck> {
  const crds = await readManifests(crdDir);
  const schemas: Partial<Record<string, SchemaNode>> = {
    Service: v1Schema(crds, 'services.serving.knative.dev'),
    Broker: v1Schema(crds, 'brokers.eventing.knative.dev'),
    Trigger: v1Schema(crds, 'triggers.eventing.knative.dev'),
    SinkBinding: v1Schema(crds, 'sinkbindings.sources.knative.dev'),
  };
  return (kind, object) => {
    if (kind !== 'Service' && kind !== 'Broker' && kind !== 'Trigger' && kind !== 'SinkBinding') return [];
    const out = schemaFindings(object, schemas[kind]);
    if (out.length > 0) return out;
    if (kind !== 'Service') {
      // Knative Eventing's webhooks, as on CREATE: the message is the one kubectl would print.
      const r = admitEventing(kind, 'CREATE', object);
      if (r.ok) return [];
      // One finding with the webhook's whole message, placed at its first field.
      return [{ path: splitPath(r.error.entries()[0]?.paths[0] ?? ''), text: r.message }];
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
