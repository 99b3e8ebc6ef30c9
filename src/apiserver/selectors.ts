// Label and field selectors, parsed as apimachinery parses them (`a=b,c!=d,e in (f,g),!h`).
import { errors } from './status.js';
import type { KObject } from './types.js';
import { evalJsonPath, parseJsonPath } from './jsonpath.js';

type Req = { key: string; op: 'eq' | 'ne' | 'in' | 'notin' | 'exists' | 'notexists'; values: string[] };

export type Selector = (labels: Record<string, string> | undefined) => boolean;

export function parseLabelSelector(s: string | null): Selector {
  if (!s) return () => true;
  const reqs: Req[] = [];
  for (const part of splitTop(s)) {
    const p = part.trim();
    if (!p) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      reqs.push({
        key: m[1]!,
        op: m[2] as 'in' | 'notin',
        values: m[3]!
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      });
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(p))) {
      reqs.push({ key: m[1]!, op: m[2] === '!=' ? 'ne' : 'eq', values: [m[3]!] });
    } else if ((m = /^!([\w./-]+)$/.exec(p))) reqs.push({ key: m[1]!, op: 'notexists', values: [] });
    else if ((m = /^([\w./-]+)$/.exec(p))) reqs.push({ key: m[1]!, op: 'exists', values: [] });
    else throw errors.badRequest(`unable to parse requirement: found '${p}', expected: label selector syntax`);
  }
  return (labels) =>
    reqs.every((r) => {
      const v = labels?.[r.key];
      switch (r.op) {
        case 'eq':
          return v === r.values[0];
        case 'ne':
          return v !== r.values[0];
        case 'in':
          return v !== undefined && r.values.includes(v);
        case 'notin':
          return v === undefined || !r.values.includes(v);
        case 'exists':
          return v !== undefined;
        case 'notexists':
          return v === undefined;
      }
      return false;
    });
}

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export type ObjectFilter = (o: KObject) => boolean;

/** Field selectors: `metadata.name` and `metadata.namespace` everywhere, more where the kind allows. */
export function parseFieldSelector(s: string | null, allowed: string[]): ObjectFilter {
  if (!s) return () => true;
  const reqs: Array<{ field: string; ne: boolean; value: string }> = [];
  for (const part of s.split(',')) {
    const m = /^\s*([\w.[\]-]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw errors.badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const field = m[1]!;
    if (!['metadata.name', 'metadata.namespace', ...allowed].includes(field)) {
      throw errors.badRequest(`field label not supported: ${field}`);
    }
    reqs.push({ field, ne: m[2] === '!=', value: m[3]! });
  }
  return (o) =>
    reqs.every((r) => {
      const got = evalJsonPath(o, parseJsonPath(`.${r.field}`))[0];
      const v = got === undefined ? '' : String(got);
      return r.ne ? v !== r.value : v === r.value;
    });
}
