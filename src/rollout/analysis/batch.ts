// Batching: one query per metric template per interval for ALL active rollouts, instead of Flagger's one
// per metric per canary. Pure text rewriting, no PromQL parser; the rules and their limits:
//
// THE RULE. A template is batchable when every `{{revision}}` (and `{{namespace}}`, `{{service}}`) sits in an
// equality label matcher, `label="{{revision}}"`. Then:
//   1. each such matcher becomes a regex matcher over all rollouts' values: `label=~"{{revision}}"`, which
//      renders as `revision_name=~"web-00002|api-00007|..."` (names regex-escaped, RE2 anchors the match);
//   2. every aggregation keeps those labels: `sum(` → `sum by (revision_name) (`, `sum by (le) (` →
//      `sum by (le, revision_name) (`, postfix `sum(...) by (le)` likewise; so each series of the result
//      belongs to exactly one revision and binary operators between two aggregations match one-to-one on it;
//   3. the result is split back per rollout by the series' labels.
// Worked example, 3 rollouts:
//   sum(rate(revision_request_count{revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}]))
//     / sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}]))
// becomes
//   sum by (revision_name) (rate(revision_request_count{revision_name=~"a-1|b-1|c-1",response_code_class!="5xx"}[1m]))
//     / sum by (revision_name) (rate(revision_request_count{revision_name=~"a-1|b-1|c-1"}[1m]))
// and the three series {revision_name="a-1"}, {…"b-1"}, {…"c-1"} are each rollout's value.
//
// LIMITS (such templates are sent as the per-rollout queries joined with `or`, each tagged by label_replace — still
// one query per interval, see AnalysisEngine#joined — or, when Prometheus refuses that, one query per rollout):
//   - `{{revision}}`/`{{namespace}}`/`{{service}}` anywhere else (label_replace strings, `!=` matchers, regexes);
//   - `{{stableRevision}}` in the template (canary/stable ratios need both revisions in one series);
//   - vector matching modifiers `on(`, `ignoring(`, `group_left`, `group_right`, and functions that drop labels
//     or the vector (`scalar(`, `vector(`, `absent(`, `absent_over_time(`, `label_replace(`, `label_join(`);
//   - `without (...)` that removes a batching label.
// Known approximations: `topk`/`bottomk`/`quantile`/`count_values` become per-revision (which is what a
// per-rollout query meant anyway). Revision names are unique per namespace only; when the template does not
// select `{{namespace}}`, two namespaces with the same revision name would share a series; the engine
// always groups by the namespace label too and splits on it when the series carry it.
import { renderTemplate, scanTemplate, type TemplateVars } from './template.js';

export interface BatchLabels {
  /** Label carrying the revision name (Knative: `revision_name`). */
  revision: string;
  /** Label carrying the namespace (Knative: `namespace_name`). */
  namespace: string;
}
export const KNATIVE_LABELS: BatchLabels = { revision: 'revision_name', namespace: 'namespace_name' };

export type BatchPlan =
  | {
      batchable: true;
      /** The rewritten template, still with placeholders. */
      template: string;
      /** Labels every aggregation keeps, and the result is split on. */
      groupBy: string[];
      /** Which label carries which placeholder. */
      labelOf: Partial<Record<'revision' | 'namespace' | 'service', string>>;
    }
  | { batchable: false; reason: string };

const AGGREGATORS = [
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'stddev',
  'stdvar',
  'group',
  'quantile',
  'topk',
  'bottomk',
  'count_values',
  'limitk',
  'limit_ratio',
];
const BLOCKERS: { re: RegExp; name: string }[] = [
  { re: /\bon\s*\(/, name: 'on(...)' },
  { re: /\bignoring\s*\(/, name: 'ignoring(...)' },
  { re: /\bgroup_(left|right)\b/, name: 'group_left/group_right' },
  { re: /\bscalar\s*\(/, name: 'scalar()' },
  { re: /\bvector\s*\(/, name: 'vector()' },
  { re: /\babsent(_over_time)?\s*\(/, name: 'absent()' },
  { re: /\blabel_(replace|join)\s*\(/, name: 'label_replace/label_join' },
];

/** Blanks out string literals and `{...}` selectors so keyword scans do not look inside them. */
function mask(text: string): string {
  let out = '';
  let quote: string | null = null;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === '\\') {
        out += '  ';
        i++;
        continue;
      }
      if (ch === quote) quote = null;
      out += ' ';
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      quote = ch;
      out += ' ';
      continue;
    }
    if (ch === '{') depth++;
    if (depth > 0) {
      if (ch === '}') depth--;
      out += ' ';
      continue;
    }
    out += ch;
  }
  return out;
}

function matchParen(masked: string, open: number): number {
  let depth = 0;
  for (let i = open; i < masked.length; i++) {
    if (masked[i] === '(') depth++;
    else if (masked[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && /\s/.test(s[i] as string)) i++;
  return i;
}

interface Edit {
  at: number;
  end: number;
  text: string;
}

/** Rewrites `template` for batching, or says why it cannot be. */
export function planBatch(template: string, labels: BatchLabels = KNATIVE_LABELS): BatchPlan {
  const scan = scanTemplate(template);
  if (scan.problems.length > 0) return { batchable: false, reason: scan.problems[0]?.detail ?? 'bad template' };
  if (!scan.refs.some((r) => r.name === 'revision'))
    return { batchable: false, reason: 'the template does not select a revision with {{revision}}' };
  if (scan.refs.some((r) => r.name === 'stableRevision'))
    return { batchable: false, reason: 'the template uses {{stableRevision}}; a series cannot belong to one rollout' };
  const masked = mask(template);
  for (const b of BLOCKERS)
    if (b.re.test(masked))
      return { batchable: false, reason: `the template uses ${b.name}, which changes how series match` };

  // 1. Equality matchers on placeholders become regex matchers.
  const labelOf: Partial<Record<'revision' | 'namespace' | 'service', string>> = {};
  const matcher = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"\{\{\s*(revision|namespace|service)\s*\}\}"/g;
  let rewritten = template.replace(matcher, (_whole, label: string, name: 'revision' | 'namespace' | 'service') => {
    labelOf[name] = label;
    return `${label}=~"{{${name}}}"`;
  });
  const left = scanTemplate(rewritten.replace(/[A-Za-z_][A-Za-z0-9_]*=~"\{\{(revision|namespace|service)\}\}"/g, ''));
  const stray = left.refs.find((r) => r.name === 'revision' || r.name === 'namespace' || r.name === 'service');
  if (stray)
    return {
      batchable: false,
      reason: `{{${stray.name}}} is used outside an equality label matcher (label="{{${stray.name}}}")`,
    };
  if (labelOf.revision === undefined) return { batchable: false, reason: 'no label="{{revision}}" matcher' };

  const groupBy = [labelOf.revision, labelOf.namespace ?? labels.namespace];

  // 2. Aggregations keep the batching labels.
  const m2 = mask(rewritten);
  const edits: Edit[] = [];
  const addLabels = (listOpen: number): Edit | { blocked: string } | null => {
    const close = matchParen(m2, listOpen);
    if (close < 0) return { blocked: 'unbalanced parentheses' };
    const inner = rewritten.slice(listOpen + 1, close);
    const have = inner
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    const missing = groupBy.filter((g) => !have.includes(g));
    if (missing.length === 0) return null;
    return { at: listOpen + 1, end: close, text: [...have, ...missing].join(', ') };
  };
  const kw = new RegExp(`(?<![A-Za-z0-9_:])(${AGGREGATORS.join('|')})(?![A-Za-z0-9_:])`, 'g');
  for (const m of m2.matchAll(kw)) {
    let i = skipSpace(m2, m.index + m[0].length);
    const modifier = /^(by|without)\b/.exec(m2.slice(i));
    if (modifier) {
      const listOpen = skipSpace(m2, i + modifier[0].length);
      if (m2[listOpen] !== '(')
        return { batchable: false, reason: `cannot read the ${modifier[0]} clause after ${m[0]}` };
      if (modifier[0] === 'without') {
        const close = matchParen(m2, listOpen);
        const inner = rewritten
          .slice(listOpen + 1, close)
          .split(',')
          .map((x) => x.trim());
        if (groupBy.some((g) => inner.includes(g)))
          return { batchable: false, reason: `${m[0]} without (...) removes a batching label` };
        continue;
      }
      const e = addLabels(listOpen);
      if (e && 'blocked' in e) return { batchable: false, reason: e.blocked };
      if (e) edits.push(e);
      continue;
    }
    if (m2[i] !== '(') continue; // a metric or label named like an aggregator
    const close = matchParen(m2, i);
    if (close < 0) return { batchable: false, reason: 'unbalanced parentheses' };
    const after = skipSpace(m2, close + 1);
    const postfix = /^(by|without)\b/.exec(m2.slice(after));
    if (postfix) {
      const listOpen = skipSpace(m2, after + postfix[0].length);
      if (m2[listOpen] !== '(')
        return { batchable: false, reason: `cannot read the ${postfix[0]} clause after ${m[0]}(...)` };
      if (postfix[0] === 'without') {
        const inner = rewritten
          .slice(listOpen + 1, matchParen(m2, listOpen))
          .split(',')
          .map((x) => x.trim());
        if (groupBy.some((g) => inner.includes(g)))
          return { batchable: false, reason: `${m[0]} without (...) removes a batching label` };
        continue;
      }
      const e = addLabels(listOpen);
      if (e && 'blocked' in e) return { batchable: false, reason: e.blocked };
      if (e) edits.push(e);
      continue;
    }
    i = m.index + m[0].length;
    edits.push({ at: i, end: i, text: ` by (${groupBy.join(', ')}) ` });
  }
  edits.sort((a, b) => b.at - a.at);
  for (const e of edits) rewritten = rewritten.slice(0, e.at) + e.text + rewritten.slice(e.end);
  // Drop the double space `sum by (...)  (` would otherwise get.
  rewritten = rewritten.replace(/\) {2,}\(/g, ') (');
  return { batchable: true, template: rewritten, groupBy, labelOf };
}

/** A regex alternation matching exactly these values (RE2 anchors label regexes). */
export function alternation(values: readonly string[]): string {
  const uniq = [...new Set(values)].sort();
  // Inside a PromQL double-quoted string a backslash must itself be escaped.
  return uniq.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\\\${c}`)).join('|');
}

/** Renders a batch plan's template for a set of rollouts. */
export function renderBatch(
  plan: Extract<BatchPlan, { batchable: true }>,
  members: readonly { revision: string; namespace: string; service: string }[],
  interval: string,
): string {
  const vars: TemplateVars = {
    revision: alternation(members.map((m) => m.revision)),
    namespace: alternation(members.map((m) => m.namespace)),
    service: alternation(members.map((m) => m.service)),
    interval,
    stableRevision: '',
  };
  return renderTemplate(plan.template, vars);
}

/**
 * The series of `result` that belong to one revision: its revision label matches, and so does the
 * namespace label when the series carries one.
 */
export function seriesFor<T extends { metric: Record<string, string> }>(
  result: readonly T[],
  revisionLabel: string,
  namespaceLabel: string,
  revision: string,
  namespace: string,
): T[] {
  return result.filter(
    (s) =>
      s.metric[revisionLabel] === revision &&
      (s.metric[namespaceLabel] === undefined || s.metric[namespaceLabel] === namespace),
  );
}
