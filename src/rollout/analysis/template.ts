// PromQL templates: `{{name}}` placeholders, nothing else (no logic, no escapes), so a template can be
// checked statically and rewritten for batching (see batch.ts).

export const TEMPLATE_VARIABLES = ['service', 'namespace', 'revision', 'stableRevision', 'interval'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateVars = Record<TemplateVariable, string>;

export interface TemplateRef {
  name: string;
  /** Offsets of `{{` and just past `}}` in the template. */
  start: number;
  end: number;
}
export interface TemplateProblem {
  offset: number;
  detail: string;
}

const REF = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)?\s*\}\}/g;

function isKnown(name: string): name is TemplateVariable {
  return (TEMPLATE_VARIABLES as readonly string[]).includes(name);
}

/** Every placeholder in `template`, and what is wrong with it (unknown names, unclosed braces). */
export function scanTemplate(template: string): { refs: TemplateRef[]; problems: TemplateProblem[] } {
  const refs: TemplateRef[] = [];
  const problems: TemplateProblem[] = [];
  let covered = '';
  let last = 0;
  for (const m of template.matchAll(REF)) {
    const start = m.index;
    const name = m[1] ?? '';
    covered += template.slice(last, start) + ' '.repeat(m[0].length);
    last = start + m[0].length;
    if (!isKnown(name)) {
      problems.push({
        offset: start,
        detail: `unknown template variable "{{${name}}}"; known: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')}`,
      });
      continue;
    }
    refs.push({ name, start, end: start + m[0].length });
  }
  covered += template.slice(last);
  const open = covered.indexOf('{{');
  if (open >= 0)
    problems.push({ offset: open, detail: 'unclosed "{{" in template; placeholders look like {{revision}}' });
  const close = covered.indexOf('}}');
  if (close >= 0 && open < 0) problems.push({ offset: close, detail: 'stray "}}" in template' });
  return { refs, problems };
}

/** Substitutes every known placeholder. Pre: `scanTemplate(template).problems` is empty. */
export function renderTemplate(template: string, vars: TemplateVars): string {
  return template.replace(REF, (whole, name: string | undefined) =>
    name !== undefined && isKnown(name) ? vars[name] : whole,
  );
}

/** Whether `template` uses `{{name}}`. */
export function usesVariable(template: string, name: TemplateVariable): boolean {
  return scanTemplate(template).refs.some((r) => r.name === name);
}
