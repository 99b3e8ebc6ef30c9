// A tiny evaluator for the Go text/template subset used by config-network's domain-template and
// tag-template: `{{.Field}}`, `{{.Map.key}}`, `{{index .Map "key"}}`, with `{{-`/`-}}` trimming.

export class TemplateError extends Error {}

export type TemplateData = Record<string, string | Record<string, string> | undefined>;

function lookup(expr: string, data: TemplateData, typeName: string, where: string): string {
  const e = expr.trim();
  const idx = /^index\s+\.(\w+)\s+"((?:[^"\\]|\\.)*)"$/.exec(e);
  if (idx) {
    const m = data[idx[1] ?? ''];
    if (typeof m !== 'object') throw new TemplateError(`${where}: error calling index: cannot index ${idx[1]}`);
    return m[JSON.parse(`"${idx[2] ?? ''}"`) as string] ?? '';
  }
  const field = /^\.(\w+)(?:\.([\w-]+))?$/.exec(e);
  if (!field) throw new TemplateError(`${where}: unsupported action {{${e}}}`);
  const name = field[1] ?? '';
  if (!(name in data))
    throw new TemplateError(`${where} at <.${name}>: can't evaluate field ${name} in type ${typeName}`);
  const v = data[name];
  if (field[2] !== undefined) return typeof v === 'object' ? (v[field[2]] ?? '') : '';
  return typeof v === 'string' ? v : '';
}

/** Renders `tmpl`; `name` and `typeName` only shape error messages like Go's. */
export function executeTemplate(tmpl: string, data: TemplateData, name: string, typeName: string): string {
  let out = '';
  let rest = tmpl;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) return out + rest;
    let text = rest.slice(0, open);
    let body = rest.slice(open + 2);
    if (body.startsWith('- ')) {
      text = text.trimEnd();
      body = body.slice(1);
    }
    const close = body.indexOf('}}');
    if (close < 0) throw new TemplateError(`template: ${name}:1: unclosed action`);
    let action = body.slice(0, close);
    let after = body.slice(close + 2);
    if (action.endsWith(' -')) {
      action = action.slice(0, -1);
      after = after.trimStart();
    }
    out +=
      text + lookup(action, data, typeName, `template: ${name}:1:${out.length + text.length + 2}: executing "${name}"`);
    rest = after;
  }
}
