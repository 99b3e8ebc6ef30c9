// Warnings about PromQL that is valid but wrong in a way users do not see coming, found on Prometheus's own
// syntax tree (@prometheus-io/lezer-promql). Today one: a ratio whose numerator filters series the denominator
// keeps (`sum(rate(x{code!="5xx"}[1m])) / sum(rate(x[1m]))`) selects nothing when no series passes the filter, so
// the ratio is empty, not 0, and a revision answering only 5xx reads as "no data".
import { parser } from '@prometheus-io/lezer-promql';
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];
import { renderForParse } from './promql-syntax.js';

export interface PromqlWarning {
  /** 0-based offset of the numerator in the template. */
  offset: number;
  detail: string;
}

function unwrap(n: SyntaxNode): SyntaxNode {
  let cur = n;
  while (cur.name === 'ParenExpr' && cur.firstChild) cur = cur.firstChild;
  return cur;
}

/** The operator token of a BinaryExpr (Div, Or, Gtr, ...). */
function operator(n: SyntaxNode): string | undefined {
  for (let c = n.firstChild?.nextSibling ?? null; c; c = c.nextSibling) {
    if (!c.type.isError && c.name !== 'MatchingModifierClause' && c.name !== 'BoolModifier') return c.name;
  }
  return undefined;
}

function matchers(n: SyntaxNode, text: string): Set<string> {
  const out = new Set<string>();
  const cursor = n.cursor();
  const end = n.to;
  do {
    if (cursor.from >= end) break;
    if (cursor.name === 'UnquotedLabelMatcher' || cursor.name === 'QuotedLabelMatcher')
      out.add(text.slice(cursor.from, cursor.to).replace(/\s+/g, ''));
  } while (cursor.next());
  return out;
}

/** Ratios in `template` whose numerator has a label filter the denominator lacks and no `or` guard. */
export function unguardedRatios(template: string): PromqlWarning[] {
  const { rendered, toTemplate } = renderForParse(template);
  const tree = parser.parse(rendered);
  const out: PromqlWarning[] = [];
  tree.iterate({
    enter: (ref) => {
      if (ref.name !== 'BinaryExpr') return;
      const node = ref.node;
      if (operator(node) !== 'Div') return;
      const left = node.firstChild;
      const right = node.lastChild;
      if (!left || !right || left === right) return;
      const num = unwrap(left);
      if (num.name === 'BinaryExpr' && operator(num) === 'Or') return;
      if (num.name === 'NumberDurationLiteral' || num.name === 'NumberLiteral') return;
      const denominator = matchers(right, rendered);
      const extra = [...matchers(num, rendered)].filter((m) => !denominator.has(m));
      if (extra.length === 0) return;
      const from = toTemplate[num.from] ?? 0;
      const to = toTemplate[Math.min(num.to, toTemplate.length - 1)] ?? template.length;
      const shown = template.slice(from, to);
      out.push({
        offset: from,
        detail:
          `the numerator ${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown} filters on ${extra.join(', ')} and selects nothing when no series matches ` +
          `(for a success rate: a revision answering only 5xx), so the ratio is empty ("no data"), not 0; guard it: ` +
          `(${shown.length > 40 ? 'numerator' : shown} or on() vector(0)) / denominator, or use a builtin such as request-success-rate`,
      });
    },
  });
  return out;
}
