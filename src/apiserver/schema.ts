// Structural-schema handling for custom resources, in kube-apiserver's order: prune unknown fields, apply
// defaults, then validate. Validation messages follow k8s.io/apiextensions-apiserver's wording, because
// kubectl prints them as `The Service "x" is invalid: <field>: <message>`.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { SchemaNode } from './registry.js';
import type { StatusCause } from './status.js';
import { isRecord } from './types.js';

const META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
]);

/**
 * Removes fields the schema does not declare (unless it preserves unknown fields) and returns their paths,
 * so `fieldValidation=Strict` can reject them instead.
 */
export function prune(obj: Record<string, unknown>, schema: SchemaNode): string[] {
  const dropped: string[] = [];
  for (const k of Object.keys(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      const m = obj.metadata;
      if (isRecord(m))
        for (const mk of Object.keys(m))
          if (!META_FIELDS.has(mk)) {
            delete m[mk];
            dropped.push(`metadata.${mk}`);
          }
      continue;
    }
    const sub = schema.properties?.[k];
    if (sub) pruneValue(obj[k], sub, k, dropped);
    else if (!schema['x-kubernetes-preserve-unknown-fields']) {
      delete obj[k];
      dropped.push(k);
    }
  }
  return dropped;
}

function pruneValue(v: unknown, s: SchemaNode, path: string, dropped: string[]): void {
  if (Array.isArray(v)) {
    if (s.items) v.forEach((x, i) => pruneValue(x, s.items!, `${path}[${i}]`, dropped));
    return;
  }
  if (!isRecord(v)) return;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  for (const k of Object.keys(v)) {
    if (embedded && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    const sub = s.properties?.[k];
    if (sub) {
      pruneValue(v[k], sub, `${path}.${k}`, dropped);
      continue;
    }
    if (isRecord(s.additionalProperties)) {
      pruneValue(v[k], s.additionalProperties, `${path}.${k}`, dropped);
      continue;
    }
    if (s.additionalProperties === true || s['x-kubernetes-preserve-unknown-fields']) continue;
    delete v[k];
    dropped.push(`${path}.${k}`);
  }
}

/** Fills in `default`s of absent properties, recursively, as the apiserver does on every request. */
export function applyDefaults(v: unknown, s: SchemaNode): void {
  if (Array.isArray(v)) {
    if (s.items) for (const x of v) applyDefaults(x, s.items);
    return;
  }
  if (!isRecord(v)) return;
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    if (v[k] === undefined && sub.default !== undefined) v[k] = structuredClone(sub.default);
    if (v[k] !== undefined) applyDefaults(v[k], sub);
  }
  if (isRecord(s.additionalProperties)) for (const k of Object.keys(v)) applyDefaults(v[k], s.additionalProperties);
}

/** OpenAPI v3 (Kubernetes dialect) to the JSON Schema ajv understands. */
export function toJsonSchema(s: SchemaNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-') || k === 'description' || k === 'format' || k === 'default' || k === 'example')
      continue;
    if (k === 'properties' && isRecord(v)) {
      out.properties = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, toJsonSchema(pv as SchemaNode)]));
    } else if ((k === 'items' || k === 'not') && isRecord(v)) out[k] = toJsonSchema(v as SchemaNode);
    else if (k === 'additionalProperties') out[k] = isRecord(v) ? toJsonSchema(v as SchemaNode) : v;
    else if ((k === 'anyOf' || k === 'oneOf' || k === 'allOf') && Array.isArray(v))
      out[k] = v.map((x) => toJsonSchema(x as SchemaNode));
    else out[k] = v;
  }
  if (s['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (s.exclusiveMinimum === true && typeof s.minimum === 'number') {
    out.exclusiveMinimum = s.minimum;
    delete out.minimum;
  } else if (s.exclusiveMinimum === false) delete out.exclusiveMinimum;
  if (s.exclusiveMaximum === true && typeof s.maximum === 'number') {
    out.exclusiveMaximum = s.maximum;
    delete out.maximum;
  } else if (s.exclusiveMaximum === false) delete out.exclusiveMaximum;
  if (s.nullable && typeof out.type === 'string') out.type = [out.type, 'null'];
  delete out.nullable;
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, verbose: true });
const compiled = new WeakMap<SchemaNode, ValidateFunction>();

export function validateAgainst(obj: unknown, schema: SchemaNode): StatusCause[] {
  let fn = compiled.get(schema);
  if (!fn) {
    const js = toJsonSchema(schema);
    // metadata is validated by the server itself, not by the CRD's schema.
    if (isRecord(js.properties)) delete js.properties.metadata;
    fn = ajv.compile(js);
    compiled.set(schema, fn);
  }
  if (fn(obj)) return [];
  return dedupe((fn.errors ?? []).map(toCause));
}

function dedupe(cs: StatusCause[]): StatusCause[] {
  const seen = new Set<string>();
  return cs.filter((c) => {
    const k = `${c.field}|${c.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function pointerToPath(ptr: string): string {
  let out = '';
  for (const seg of ptr.split('/').slice(1)) {
    const s = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else out += out ? `.${s}` : s;
  }
  return out;
}

function goType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? 'null');
}

function toCause(e: ErrorObject): StatusCause {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const field = path ? `${path}.${String(p.missingProperty)}` : String(p.missingProperty);
      return { field, reason: 'FieldValueRequired', message: 'Required value' };
    }
    case 'type': {
      const got = goType(e.data);
      return {
        field: path,
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: "${got}": ${path} in body must be of type ${String(p.type).replace(',null', '')}: "${got}"`,
      };
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ');
      return {
        field: path,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${shown(e.data)}: supported values: ${allowed}`,
      };
    }
    case 'minimum':
    case 'exclusiveMinimum':
      return {
        field: path,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${shown(e.data)}: ${path} in body should be greater than ${e.keyword === 'minimum' ? 'or equal to ' : ''}${String(p.limit)}`,
      };
    case 'maximum':
    case 'exclusiveMaximum':
      return {
        field: path,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${shown(e.data)}: ${path} in body should be less than ${e.keyword === 'maximum' ? 'or equal to ' : ''}${String(p.limit)}`,
      };
    case 'pattern':
      return {
        field: path,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${shown(e.data)}: ${path} in body should match '${String(p.pattern)}'`,
      };
    case 'minLength':
      return {
        field: path,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${shown(e.data)}: ${path} in body should be at least ${String(p.limit)} chars long`,
      };
    case 'maxLength':
      return {
        field: path,
        reason: 'FieldValueTooLong',
        message: `Too long: may not be more than ${String(p.limit)} bytes`,
      };
    case 'minItems':
      return {
        field: path,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${Array.isArray(e.data) ? e.data.length : 0}: ${path} in body should have at least ${String(p.limit)} items`,
      };
    case 'maxItems':
      return {
        field: path,
        reason: 'FieldValueTooMany',
        message: `Too many: ${Array.isArray(e.data) ? e.data.length : 0}: must have at most ${String(p.limit)} items`,
      };
    default:
      return {
        field: path,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${shown(e.data)}: ${e.message ?? 'invalid'}`,
      };
  }
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Name validation as apimachinery's ValidateObjectMeta does for the given name rule. */
export function validateName(name: string, rule: 'subdomain' | 'label' | 'path'): StatusCause[] {
  if (rule === 'path') {
    // RBAC names (system:discovery) only need to be a URL path segment (path.IsValidPathSegmentName).
    const why =
      name === '.'
        ? "may not be '.'"
        : name === '..'
          ? "may not be '..'"
          : name.includes('/')
            ? "may not contain '/'"
            : name.includes('%')
              ? "may not contain '%'"
              : '';
    return why ? [{ field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: ${why}` }] : [];
  }
  if (rule === 'label') {
    if (name.length > 63)
      return [{ field: 'metadata.name', message: `Invalid value: "${name}": must be no more than 63 characters` }];
    if (!DNS1123_LABEL.test(name)) {
      return [
        {
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        },
      ];
    }
    return [];
  }
  if (name.length > 253)
    return [{ field: 'metadata.name', message: `Invalid value: "${name}": must be no more than 253 characters` }];
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return [
      {
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      },
    ];
  }
  return [];
}
