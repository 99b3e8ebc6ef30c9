// The subset of Kubernetes JSONPath used by printer columns and field selectors:
// `.a.b`, `.a[0]`, `.a['dotted\.key']`, `.conditions[?(@.type=="Ready")].status`.
import { isRecord } from './types.js';

type Step =
  { kind: 'field'; name: string } | { kind: 'index'; i: number } | { kind: 'filter'; field: string; value: string };

export function parseJsonPath(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '.') {
      i++;
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') name += s[i++];
      if (name) steps.push({ kind: 'field', name });
    } else if (c === '[') {
      const end = findClose(s, i);
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      const filter = /^\?\(@\.([\w.-]+)\s*==\s*["']([^"']*)["']\)$/.exec(inner);
      if (filter) steps.push({ kind: 'filter', field: filter[1]!, value: filter[2]! });
      else if (/^\d+$/.test(inner)) steps.push({ kind: 'index', i: Number(inner) });
      else if (/^['"].*['"]$/.test(inner))
        steps.push({ kind: 'field', name: inner.slice(1, -1).replace(/\\\./g, '.') });
      else throw new Error(`unsupported JSONPath element [${inner}] in ${expr}`);
    } else {
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') name += s[i++];
      if (name && name !== '$' && name !== '@') steps.push({ kind: 'field', name });
    }
  }
  return steps;
}

function findClose(s: string, open: number): number {
  let q: string | undefined;
  for (let i = open + 1; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '\\') i++;
      else if (c === q) q = undefined;
      continue;
    }
    if (c === '"' || c === "'") q = c;
    else if (c === ']') return i;
  }
  throw new Error(`unterminated [ in ${s}`);
}

/** Values the path selects; filters may select several. */
export function evalJsonPath(obj: unknown, steps: Step[]): unknown[] {
  let cur: unknown[] = [obj];
  for (const st of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (st.kind === 'field') {
        if (isRecord(v) && v[st.name] !== undefined) next.push(v[st.name]);
      } else if (st.kind === 'index') {
        if (Array.isArray(v) && v[st.i] !== undefined) next.push(v[st.i]);
      } else if (Array.isArray(v)) {
        for (const x of v) {
          const got = evalJsonPath(x, parseJsonPath(`.${st.field}`))[0];
          if (got !== undefined && String(got) === st.value) next.push(x);
        }
      }
    }
    cur = next;
  }
  return cur;
}
