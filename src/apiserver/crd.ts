// CustomResourceDefinitions become served resources the moment they are stored, as on kube-apiserver.
import { ALL_VERBS, type PrinterColumn, type ResourceType, type SchemaNode } from './registry.js';
import type { KObject } from './types.js';
import { isRecord } from './types.js';
import type { StatusCause } from './status.js';

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: SchemaNode };
  subresources?: { status?: object };
  additionalPrinterColumns?: PrinterColumn[];
}

interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: {
    plural: string;
    singular?: string;
    kind: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: CrdVersion[];
}

export function crdSpec(o: KObject): CrdSpec | undefined {
  return isRecord(o.spec) ? (o.spec as unknown as CrdSpec) : undefined;
}

export function validateCrd(o: KObject): StatusCause[] {
  const s = crdSpec(o);
  const causes: StatusCause[] = [];
  if (!s) return [{ field: 'spec', message: 'Required value' }];
  if (!s.group) causes.push({ field: 'spec.group', message: 'Required value' });
  if (!s.names?.plural) causes.push({ field: 'spec.names.plural', message: 'Required value' });
  if (!s.names?.kind) causes.push({ field: 'spec.names.kind', message: 'Required value' });
  if (s.scope !== 'Namespaced' && s.scope !== 'Cluster')
    causes.push({
      field: 'spec.scope',
      message: `Unsupported value: "${String(s.scope)}": supported values: "Cluster", "Namespaced"`,
    });
  if (!Array.isArray(s.versions) || s.versions.length === 0)
    causes.push({
      field: 'spec.versions',
      message: 'Invalid value: null: must have exactly one version marked as storage version',
    });
  else if (s.versions.filter((v) => v.storage).length !== 1)
    causes.push({
      field: 'spec.versions',
      message: 'Invalid value: must have exactly one version marked as storage version',
    });
  if (s.group && s.names?.plural && o.metadata.name !== `${s.names.plural}.${s.group}`) {
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${o.metadata.name ?? ''}": must be spec.names.plural+"."+spec.group`,
    });
  }
  for (const [i, v] of (s.versions ?? []).entries()) {
    const schema = v.schema?.openAPIV3Schema;
    if (!schema)
      causes.push({
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        message: 'Required value: schemas are required',
      });
    else if (schema.type !== 'object')
      causes.push({
        field: `spec.versions[${i}].schema.openAPIV3Schema.type`,
        message: 'Required value: must not be empty at the root',
      });
  }
  return causes;
}

export function crdToTypes(o: KObject): ResourceType[] {
  const s = crdSpec(o);
  if (!s) return [];
  return s.versions
    .filter((v) => v.served)
    .map((v) => ({
      group: s.group,
      version: v.name,
      kind: s.names.kind,
      listKind: s.names.listKind ?? `${s.names.kind}List`,
      plural: s.names.plural,
      singular: s.names.singular ?? s.names.kind.toLowerCase(),
      namespaced: s.scope === 'Namespaced',
      shortNames: s.names.shortNames ?? [],
      categories: s.names.categories ?? [],
      verbs: ALL_VERBS,
      statusSubresource: v.subresources?.status !== undefined,
      builtin: false,
      hasGeneration: true,
      ...(v.schema?.openAPIV3Schema ? { schema: v.schema.openAPIV3Schema } : {}),
      printerColumns: v.additionalPrinterColumns ?? [],
    }));
}

/** The status kube-apiserver gives an accepted CRD. */
export function crdStatus(o: KObject, now: string): Record<string, unknown> {
  const s = crdSpec(o);
  return {
    acceptedNames: s?.names ?? {},
    storedVersions: (s?.versions ?? []).filter((v) => v.storage).map((v) => v.name),
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        reason: 'NoConflicts',
        message: 'no conflicts found',
        lastTransitionTime: now,
      },
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
        lastTransitionTime: now,
      },
    ],
  };
}
