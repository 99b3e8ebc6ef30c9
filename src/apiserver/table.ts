// Server-side `Table` output for `kubectl get`: the Name column, then a CRD's additionalPrinterColumns (or a
// built-in kind's columns), with dates rendered as ages because kubectl prints cells verbatim.
import type { PrinterColumn, ResourceType } from './registry.js';
import type { KObject } from './types.js';
import { evalJsonPath, parseJsonPath } from './jsonpath.js';
import { humanDuration } from './duration.js';

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

const NAME: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
};
export const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

export function cellValue(o: KObject, c: PrinterColumn, now: number): unknown {
  let v: unknown;
  try {
    v = evalJsonPath(o, parseJsonPath(c.jsonPath))[0];
  } catch {
    v = undefined;
  }
  if (v === undefined || v === null) return c.type === 'date' ? '<unknown>' : '';
  if (c.type === 'date' && typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
  }
  if (c.type === 'integer' || c.type === 'number') return typeof v === 'number' ? v : Number(v);
  if (c.type === 'boolean') return Boolean(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function columnsOf(rt: ResourceType, sample: KObject | undefined, now: number): PrinterColumn[] {
  if (rt.printerColumns.length > 0) return rt.printerColumns;
  if (rt.tableCells) return rt.tableCells(sample ?? { apiVersion: '', kind: rt.kind, metadata: {} }, now).columns;
  return [AGE_COLUMN];
}

export function toTable(
  rt: ResourceType,
  objs: KObject[],
  now: number,
  includeObject: string | null,
  meta: { resourceVersion?: string; continue?: string },
): Table {
  const cols = columnsOf(rt, objs[0], now);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: [
      NAME,
      ...cols.map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description ?? '',
        priority: c.priority ?? 0,
      })),
    ],
    rows: objs.map((o) => {
      const cells =
        rt.printerColumns.length === 0 && rt.tableCells
          ? rt.tableCells(o, now).cells
          : cols.map((c) => cellValue(o, c, now));
      const row: TableRow = { cells: [o.metadata.name ?? '', ...cells] };
      if (includeObject === 'Object') row.object = o;
      else if (includeObject !== 'None') {
        row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
      }
      return row;
    }),
  };
}
