// What the server serves: built-in kinds and every established CRD's versions, looked up by path segments,
// kind, short name or category.
import type { KObject } from './types.js';

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** The subset of OpenAPI v3 schema the server interprets (structural schemas, as CRDs require). */
export interface SchemaNode {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  not?: SchemaNode;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  [k: string]: unknown;
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** True when `status` is a subresource: the main resource ignores status, /status ignores the rest. */
  statusSubresource: boolean;
  /** Built-in kinds accept strategic merge patches (as a merge patch: none of ours has patch-merge keys). */
  builtin: boolean;
  /** Objects without a spec (ConfigMap) carry no generation. */
  hasGeneration: boolean;
  schema?: SchemaNode;
  printerColumns: PrinterColumn[];
  /** Built-in table cells, when the kind has no printer columns. */
  tableCells?: (o: KObject, now: number) => { columns: PrinterColumn[]; cells: unknown[] };
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function groupVersion(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function resourceKey(r: ResourceType): string {
  return `${r.group}/${r.plural}`;
}

export class Registry {
  #types: ResourceType[] = [];
  #listeners = new Set<() => void>();

  add(t: ResourceType): void {
    this.#types = this.#types.filter((x) => !(x.group === t.group && x.version === t.version && x.plural === t.plural));
    this.#types.push(t);
    for (const l of this.#listeners) l();
  }

  removeGroupResource(group: string, plural: string): void {
    this.#types = this.#types.filter((x) => !(x.group === group && x.plural === plural));
    for (const l of this.#listeners) l();
  }

  onChange(l: () => void): void {
    this.#listeners.add(l);
  }

  all(): ResourceType[] {
    return [...this.#types];
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.#types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.#types.find((t) => groupVersion(t) === apiVersion && t.kind === kind);
  }

  /** Group versions in a stable order: core first, then groups alphabetically. */
  groups(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const t of [...this.#types].sort((a, b) => a.group.localeCompare(b.group))) {
      const vs = m.get(t.group) ?? [];
      if (!vs.includes(t.version)) vs.push(t.version);
      m.set(t.group, vs);
    }
    return m;
  }
}
