// The policy schema is the CRD's openAPIV3Schema, read from deploy/crds/delivery.sluice.dev.yaml, so the
// cluster, `sluice validate` and the controller check one and the same thing.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Ajv, type ValidateFunction } from 'ajv';
import { PolicyError, RolloutErrorCode } from '../errors.js';

export const CRD_FILE = join('deploy', 'crds', 'delivery.sluice.dev.yaml');

export type JsonSchema = { [key: string]: unknown };

/**
 * Finds deploy/crds/delivery.sluice.dev.yaml by walking up from this module, which works from src/ (ts
 * loaders), dist/src/ and any `--outDir`. Pre: the package was installed with its deploy/ folder.
 */
export function findCrdFile(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, CRD_FILE);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new PolicyError(
    RolloutErrorCode.PolicySchemaMissing,
    '',
    `cannot find ${CRD_FILE} above ${from}; reinstall sluice with its deploy/ folder`,
  );
}

function isObject(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The openAPIV3Schema of one kind (`RolloutPolicy`, `Rollout`) in the CRD file. */
export function loadCrdSchema(kind: string, file: string = findCrdFile()): JsonSchema {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyError(RolloutErrorCode.PolicySchemaMissing, '', `cannot read ${file}`, { cause: e, file });
  }
  for (const doc of parseAllDocuments(text)) {
    if (!('toJS' in doc)) continue;
    const crd: unknown = doc.toJS();
    if (!isObject(crd) || !isObject(crd.spec) || !isObject(crd.spec.names) || crd.spec.names.kind !== kind) continue;
    const versions = crd.spec.versions;
    if (!Array.isArray(versions)) continue;
    for (const v of versions) {
      if (isObject(v) && v.name === 'v1alpha1' && isObject(v.schema) && isObject(v.schema.openAPIV3Schema)) {
        return v.schema.openAPIV3Schema;
      }
    }
  }
  throw new PolicyError(RolloutErrorCode.PolicySchemaMissing, '', `${file} has no v1alpha1 schema for kind ${kind}`, {
    file,
  });
}

/**
 * Turns the structural schema into what ajv should enforce. Kubernetes prunes unknown fields where the
 * schema lists `properties`; we report them instead (like `kubectl apply --validate=strict`), because a
 * silently dropped `failurelimit` typo is a rollout nobody guards. `metadata` stays open (ObjectMeta).
 */
export function strictify(schema: JsonSchema, path: string[] = []): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties' && isObject(v)) {
      const props: JsonSchema = {};
      for (const [pk, pv] of Object.entries(v)) props[pk] = isObject(pv) ? strictify(pv, [...path, pk]) : pv;
      out[k] = props;
    } else if ((k === 'items' || k === 'additionalProperties') && isObject(v)) {
      out[k] = strictify(v, [...path, k]);
    } else if ((k === 'oneOf' || k === 'anyOf' || k === 'allOf') && Array.isArray(v)) {
      out[k] = v.map((b: unknown) => (isObject(b) ? strictify(b, path) : b));
    } else {
      out[k] = v;
    }
  }
  const open = schema['x-kubernetes-preserve-unknown-fields'] === true || (path.length === 1 && path[0] === 'metadata');
  if (isObject(schema.properties) && schema.additionalProperties === undefined && !open)
    out.additionalProperties = false;
  return out;
}

let cached: ValidateFunction | undefined;

/** An ajv validator for RolloutPolicy objects, compiled once per process. */
export function policyValidator(file?: string): ValidateFunction {
  if (cached && file === undefined) return cached;
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
  const fn = ajv.compile(strictify(loadCrdSchema('RolloutPolicy', file)));
  if (file === undefined) cached = fn;
  return fn;
}
