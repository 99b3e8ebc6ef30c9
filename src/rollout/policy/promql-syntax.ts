// PromQL is parsed when a policy is read (with Prometheus's own Lezer grammar), so a typo in a query is a
// file:line error before any rollout rather than a failed check during one. Templates are rendered with
// placeholders first; offsets are mapped back to the template the user wrote.
import { parser } from '@prometheus-io/lezer-promql';

export interface PromqlSyntaxError {
  /** 0-based offset in the template. */
  offset: number;
  /** The template text around the error. */
  near: string;
}

/** Placeholder values that keep a template valid PromQL wherever its variables may appear. */
const PLACEHOLDER: Record<string, string> = { interval: '1m' };

/** The template with placeholders replaced by parseable values, and a map from rendered offsets back to it. */
export function renderForParse(template: string): { rendered: string; toTemplate: number[] } {
  let rendered = '';
  const toTemplate: number[] = [];
  const re = /\{\{\s*([A-Za-z]+)\s*\}\}/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    for (let i = last; i < m.index; i++) {
      toTemplate.push(i);
      rendered += template[i];
    }
    const value = PLACEHOLDER[m[1]!] ?? 'x';
    for (let k = 0; k < value.length; k++) toTemplate.push(m.index);
    rendered += value;
    last = m.index + m[0].length;
  }
  for (let i = last; i < template.length; i++) {
    toTemplate.push(i);
    rendered += template[i];
  }
  toTemplate.push(template.length);
  return { rendered, toTemplate };
}

export function promqlSyntaxError(template: string): PromqlSyntaxError | undefined {
  const { rendered, toTemplate } = renderForParse(template);
  let at: number | undefined;
  parser.parse(rendered).iterate({
    enter: (n) => {
      if (at === undefined && n.type.isError) at = n.from;
      return at === undefined;
    },
  });
  if (at === undefined) return undefined;
  const offset = toTemplate[Math.min(at, toTemplate.length - 1)] ?? template.length;
  const near = offset >= template.length ? 'the end of the query' : JSON.stringify(template.slice(offset, offset + 20));
  return { offset, near };
}
