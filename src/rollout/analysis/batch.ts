// Batching: one query per metric template per interval for ALL active rollouts, instead of Flagger's one per metric
// per canary. The template is rewritten on Prometheus's own syntax tree (@prometheus-io/lezer-promql), so the rule
// does not depend on how the query is spelt.
//
// THE RULE. Every `{{revision}}` (and `{{namespace}}`, `{{service}}`) must sit in an equality matcher,
// `label="{{revision}}"`, and every selector that has one binds the same labels (G, the batching labels). Then:
//   1. each such matcher becomes a regex over all rollouts' values: `revision_name=~"web-00002|api-00007"`;
//   2. every aggregation over series that belong to a rollout keeps G (`sum(` → `sum by (revision_name) (`,
//      `by (le)` → `by (le, revision_name)`, G is taken out of `without (...)`);
//   3. vector matching between two per-rollout operands also matches on G (`on()` → `on(revision_name)`, G is
//      taken out of `ignoring(...)`), so rollouts never meet;
//   4. an operand that is the same for every rollout (`vector(0)`, `sum(up)`) is copied once per rollout, tagged
//      with G, when the operator pairs it one-to-one or with `or` (`or on() vector(0)` → `or on(revision_name)
//      ({{members}} + on() group_left () (vector(0)))`, where {{members}} renders as one zero series per rollout);
//   5. a `group_left` join whose "one" side is per-rollout (`… * on(job, instance) group_left(kn_revision_name)
//      target_info{kn_revision_name="{{revision}}"}`) copies G from it.
// Each series of the result then carries G with one rollout's values, and the rollout's series are exactly what
// its own query returns (plus the G labels). Worked example, 3 rollouts:
//   (sum(rate(c{revision_name="{{revision}}",code!="5xx"}[1m])) or on() vector(0)) / (sum(rate(c{revision_name="{{revision}}"}[1m])) > 0)
// becomes
//   (sum by (revision_name) (rate(c{revision_name=~"a-1|b-1|c-1",code!="5xx"}[1m])) or on(revision_name)
//     (<a zero series for a-1, b-1, c-1> + on() group_left () (vector(0)))) / (sum by (revision_name) (rate(c{revision_name=~"a-1|b-1|c-1"}[1m])) > 0)
//
// What is not rewritten (planBatch says why; the engine then joins the rollouts' own queries with `or`, each tagged
// by label_replace — still one query per interval, see AnalysisEngine#joined): a placeholder anywhere but an equality
// matcher, `{{stableRevision}}`, selectors binding different labels, `scalar()`/`absent()` of per-rollout series,
// label_replace onto a batching label, a constant operand with labels that would have to be copied, and matching
// that would pair series differently once G is added (checked on the labels each side is known to carry).
import { parser } from '@prometheus-io/lezer-promql';
import { renderForParse } from '../policy/promql-syntax.js';
import { renderTemplate, scanTemplate, type TemplateVars } from './template.js';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];
type Placeholder = 'revision' | 'namespace' | 'service';

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
      /** The rewritten template, still with placeholders; `{{members}}` is the table of rollouts (renderBatch). */
      template: string;
      /** The batching labels: every series of the result carries them, and the result is split on them. */
      groupBy: string[];
      /** Which label carries which placeholder (the first one bound to it). */
      labelOf: Partial<Record<Placeholder, string>>;
      /** Every batching label and its placeholder. */
      bindings: { label: string; placeholder: Placeholder }[];
    }
  | { batchable: false; reason: string };

/** What an expression is, for batching. `has`: batching labels its per-rollout series already carry. */
type Kind =
  | { k: 'scalar' }
  | { k: 'string' }
  | { k: 'const'; labels: ReadonlySet<string> | null }
  | { k: 'carry'; has: ReadonlySet<string>; unsure: ReadonlySet<string> };

class NotBatchable extends Error {}

const SET_OPS = new Set(['And', 'Or', 'Unless']);
const COMPARISONS = new Set(['Eql', 'Neq', 'Lss', 'Gtr', 'Lte', 'Gte']);
const BINARY_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow', 'Atan2', ...SET_OPS, ...COMPARISONS]);
/** Aggregators that pick series and keep all their labels. */
const SELECTING = new Set(['topk', 'bottomk', 'limitk', 'limit_ratio']);
const BOUND = /^["'`]\{\{\s*(revision|namespace|service)\s*\}\}["'`]$/;

const inter = (a: ReadonlySet<string>, b: Iterable<string>): Set<string> => new Set([...b].filter((x) => a.has(x)));
const minus = (a: ReadonlySet<string>, b: Iterable<string>): Set<string> => {
  const out = new Set(a);
  for (const x of b) out.delete(x);
  return out;
};

class Rewriter {
  readonly edits: { at: number; text: string; end: number; seq: number }[] = [];
  readonly consumed = new Set<number>();
  readonly bindings = new Map<string, Placeholder>();
  constructor(
    readonly template: string,
    readonly rendered: string,
    readonly toTemplate: number[],
  ) {}

  pos(p: number): number {
    return this.toTemplate[Math.min(p, this.toTemplate.length - 1)] ?? this.template.length;
  }
  src(n: SyntaxNode): string {
    return this.template.slice(this.pos(n.from), this.pos(n.to));
  }
  insert(renderedPos: number, text: string): void {
    const at = this.pos(renderedPos);
    this.edits.push({ at, end: at, text, seq: this.edits.length });
  }
  replace(n: SyntaxNode, text: string): void {
    this.edits.push({ at: this.pos(n.from), end: this.pos(n.to), text, seq: this.edits.length });
  }
  get G(): string[] {
    return [...this.bindings.keys()];
  }

  children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }
  labelNames(list: SyntaxNode): string[] {
    return this.children(list).map((c) =>
      c.name === 'QuotedLabelName' ? this.rendered.slice(c.from + 1, c.to - 1) : this.rendered.slice(c.from, c.to),
    );
  }
  /** Rewrites a `(a, b)` label list to add or remove labels. */
  editList(list: SyntaxNode, labels: string[]): void {
    this.replace(list, `(${labels.join(', ')})`);
  }

  /** First pass: the placeholder matchers, which define G. */
  collect(top: SyntaxNode): void {
    const c = top.cursor();
    do {
      if (c.type.isError) throw new NotBatchable('the query does not parse');
      if (c.name !== 'UnquotedLabelMatcher' && c.name !== 'QuotedLabelMatcher') continue;
      const m = this.matcher(c.node);
      if (!m) continue;
      const prev = this.bindings.get(m.label);
      if (prev !== undefined && prev !== m.placeholder)
        throw new NotBatchable(`label ${m.label} is matched against both {{${prev}}} and {{${m.placeholder}}}`);
      this.bindings.set(m.label, m.placeholder);
    } while (c.next());
  }

  matcher(n: SyntaxNode): { label: string; placeholder: Placeholder; op: SyntaxNode; value: SyntaxNode } | null {
    const kids = this.children(n);
    const op = kids.find((k) => k.name === 'MatchOp');
    const value = kids.at(-1);
    const name = kids[0];
    if (!op || !value || !name || value.name !== 'StringLiteral') return null;
    const hit = BOUND.exec(this.src(value));
    if (!hit || op.firstChild?.name !== 'EqlSingle') return null;
    const label =
      name.name === 'QuotedLabelName'
        ? this.rendered.slice(name.from + 1, name.to - 1)
        : this.rendered.slice(name.from, name.to);
    return { label, placeholder: hit[1] as Placeholder, op, value };
  }

  visit(n: SyntaxNode): Kind {
    switch (n.name) {
      case 'PromQL':
      case 'ParenExpr':
      case 'MatrixSelector':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
      case 'SubqueryExpr':
        return this.visit(this.expr(n));
      case 'UnaryExpr':
        return this.visit(this.children(n).at(-1) as SyntaxNode);
      case 'NumberDurationLiteral':
      case 'NumberLiteral':
        return { k: 'scalar' };
      case 'StringLiteral':
        return { k: 'string' };
      case 'VectorSelector':
        return this.selector(n);
      case 'FunctionCall':
        return this.call(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'BinaryExpr':
        return this.binary(n);
      default:
        throw new NotBatchable(`the rewrite does not know ${n.name} expressions`);
    }
  }
  expr(n: SyntaxNode): SyntaxNode {
    const c = n.firstChild;
    if (!c) throw new NotBatchable(`empty ${n.name}`);
    return c;
  }

  selector(n: SyntaxNode): Kind {
    const bound = new Set<string>();
    const list = this.children(n).find((c) => c.name === 'LabelMatchers');
    for (const m of list ? this.children(list) : []) {
      const b = this.matcher(m);
      if (!b) continue;
      bound.add(b.label);
      this.insert(b.op.to, '~');
      this.consumed.add(this.pos(b.value.from));
    }
    if (bound.size === 0) return { k: 'const', labels: null };
    const missing = this.G.filter((g) => !bound.has(g));
    if (missing.length > 0)
      throw new NotBatchable(
        `the selector ${this.src(n)} does not match ${missing.map((g) => `${g}="{{${this.bindings.get(g)}}}"`).join(', ')} like the others`,
      );
    return { k: 'carry', has: new Set(this.G), unsure: new Set() };
  }

  call(n: SyntaxNode): Kind {
    const kids = this.children(n);
    const fn = this.rendered.slice(kids[0]?.from ?? 0, kids[0]?.to ?? 0);
    const body = kids.find((k) => k.name === 'FunctionCallBody');
    const args = body ? this.children(body) : [];
    const kinds = args.map((a) => this.visit(a));
    const vectorAt = kinds.findIndex((k) => k.k === 'carry' || k.k === 'const');
    const v = vectorAt >= 0 ? (kinds[vectorAt] as Kind) : undefined;
    if (kinds.filter((k) => k.k === 'carry' || k.k === 'const').length > 1)
      throw new NotBatchable(`${fn}() with two vector arguments`);
    switch (fn) {
      case 'vector':
        return { k: 'const', labels: new Set() };
      case 'time':
      case 'pi':
        return { k: 'scalar' };
      case 'scalar':
        if (v?.k === 'carry') throw new NotBatchable('the template uses scalar() of per-rollout series');
        return { k: 'scalar' };
      case 'absent':
      case 'absent_over_time':
        if (v?.k === 'carry')
          throw new NotBatchable(`the template uses ${fn}(), one series per query, not per rollout`);
        return { k: 'const', labels: null };
      case 'info':
        throw new NotBatchable('the template uses info()');
      case 'label_replace':
      case 'label_join': {
        const dst = args[1] ? this.rendered.slice(args[1].from + 1, args[1].to - 1) : '';
        if (v?.k === 'carry' && this.bindings.has(dst))
          throw new NotBatchable(`the template uses ${fn}() to write the batching label ${dst}`);
        return v?.k === 'const' ? { k: 'const', labels: null } : (v ?? { k: 'scalar' });
      }
      case 'histogram_quantile':
      case 'histogram_fraction':
        if (v?.k === 'carry') return { k: 'carry', has: minus(v.has, ['le']), unsure: minus(v.unsure, ['le']) };
        return v?.k === 'const' ? { k: 'const', labels: v.labels && minus(v.labels, ['le']) } : { k: 'scalar' };
      default:
        // Every other function works series by series and keeps their labels; without a vector argument (hour(),
        // …) it applies to vector(time()).
        return v ?? { k: 'const', labels: new Set() };
    }
  }

  aggregate(n: SyntaxNode): Kind {
    const kids = this.children(n);
    const op = this.rendered.slice(kids[0]?.from ?? 0, kids[0]?.to ?? 0);
    const mod = kids.find((k) => k.name === 'AggregateModifier');
    const body = kids.find((k) => k.name === 'FunctionCallBody');
    const args = body ? this.children(body) : [];
    const kinds = args.map((a) => this.visit(a));
    const v = kinds.at(-1);
    if (!v || (v.k !== 'carry' && v.k !== 'const')) throw new NotBatchable(`cannot read ${op}(...)`);
    if (kinds.slice(0, -1).some((k) => k.k === 'carry' || k.k === 'const'))
      throw new NotBatchable(`${op}() with a vector parameter`);
    const how = mod?.firstChild?.name; // By | Without | undefined
    const list = mod ? this.children(mod).find((c) => c.name === 'GroupingLabels') : undefined;
    const named = list ? this.labelNames(list) : [];
    const countLabel =
      op === 'count_values' && args[0] ? this.rendered.slice(args[0].from + 1, args[0].to - 1) : undefined;
    if (v.k === 'const') {
      if (SELECTING.has(op)) return v;
      if (how === 'Without' || countLabel !== undefined) return { k: 'const', labels: null };
      return { k: 'const', labels: new Set(named) };
    }
    if (countLabel !== undefined && this.bindings.has(countLabel))
      throw new NotBatchable(`count_values() writes the batching label ${countLabel}`);
    const G = this.G;
    if (how === 'Without' && list) {
      if (G.some((g) => named.includes(g)))
        this.editList(
          list,
          named.filter((x) => !G.includes(x)),
        );
    } else if (how === 'By' && list) {
      const missing = G.filter((g) => !named.includes(g));
      if (missing.length > 0) this.editList(list, [...named, ...missing]);
    } else if (kids[0]) {
      this.insert(kids[0].to, ` by (${G.join(', ')}) `);
    }
    if (SELECTING.has(op)) return v;
    if (how === 'Without') return { k: 'carry', has: minus(v.has, named), unsure: minus(v.unsure, named) };
    return { k: 'carry', has: inter(v.has, named), unsure: inter(v.unsure, named) };
  }

  /** Copies a constant operand once per rollout, tagged with G (rule 4). */
  replicate(n: SyntaxNode, c: Extract<Kind, { k: 'const' }>): Kind {
    if (c.labels === null || c.labels.size > 0)
      throw new NotBatchable(
        `${this.src(n)} is the same for every rollout and has labels; it cannot be paired with each rollout's series`,
      );
    this.insert(n.from, '({{members}} + on() group_left () (');
    this.insert(n.to, '))');
    return { k: 'carry', has: new Set(), unsure: new Set() };
  }

  binary(n: SyntaxNode): Kind {
    const kids = this.children(n);
    const leftN = kids[0] as SyntaxNode;
    const rightN = kids.at(-1) as SyntaxNode;
    const opN = kids.find((k) => BINARY_OPS.has(k.name));
    if (!opN) throw new NotBatchable('cannot read a binary operator');
    const op = opN.name;
    const bool = kids.some((k) => k.name === 'BoolModifier');
    const mod = kids.find((k) => k.name === 'MatchingModifierClause');
    const modKids = mod ? this.children(mod) : [];
    const how = modKids[0]?.name; // On | Ignoring | undefined
    const matchList = modKids[1]?.name === 'GroupingLabels' ? modKids[1] : undefined;
    const matchNames = matchList ? this.labelNames(matchList) : [];
    const groupTok = modKids.find((k) => k.name === 'GroupLeft' || k.name === 'GroupRight');
    const includeList = groupTok?.nextSibling?.name === 'GroupingLabels' ? groupTok.nextSibling : undefined;
    const include = includeList ? this.labelNames(includeList) : [];
    let l = this.visit(leftN);
    let r = this.visit(rightN);
    if (l.k === 'string' || r.k === 'string') throw new NotBatchable('a string in a binary expression');
    if (l.k === 'scalar') return r;
    if (r.k === 'scalar') return l;
    if (l.k === 'const' && r.k === 'const') return { k: 'const', labels: null };
    const G = this.G;
    const isSet = SET_OPS.has(op);
    // Labels whose values decide which series pair up.
    const matched = (g: string): boolean => (how === 'On' ? matchNames.includes(g) : !matchNames.includes(g));
    const sure = (k: Extract<Kind, { k: 'carry' }>, g: string): boolean => k.has.has(g) && !k.unsure.has(g);
    if (l.k === 'carry' && r.k === 'const') {
      const k = l;
      // Filters and many-to-one joins onto a constant "one" side work series by series: nothing to change, as long
      // as the labels matched on are ones the rollout's series already carry.
      const filter = (op === 'And' || op === 'Unless') && G.every((g) => !matched(g) || sure(k, g));
      const manyToOne = groupTok?.name === 'GroupLeft' && how === 'On' && G.every((g) => !matched(g) || sure(k, g));
      if (manyToOne && include.some((x) => G.includes(x)))
        throw new NotBatchable(`group_left copies the batching label from a side that is the same for every rollout`);
      if (filter || manyToOne) return k;
      r = this.replicate(rightN, r);
    } else if (l.k === 'const' && r.k === 'carry') {
      const k = r;
      // A join whose "one" side is per rollout (target_info): copy G from it (rule 5).
      if (groupTok?.name === 'GroupLeft' && how === 'On' && G.every((g) => !matched(g) || sure(k, g))) {
        const missing = G.filter((g) => !include.includes(g) && !matchNames.includes(g));
        if (missing.length > 0) {
          if (includeList) this.editList(includeList, [...include, ...missing]);
          else if (groupTok) this.insert(groupTok.to, ` (${missing.join(', ')})`);
        }
        const has = new Set([...inter(k.has, include), ...G.filter((g) => matchNames.includes(g))]);
        return { k: 'carry', has, unsure: new Set(G.filter((g) => !include.includes(g) && !matchNames.includes(g))) };
      }
      if (groupTok?.name === 'GroupRight' && how === 'On' && G.every((g) => !matched(g) || sure(k, g))) {
        if (include.some((x) => G.includes(x)))
          throw new NotBatchable(
            `group_right copies the batching label from a side that is the same for every rollout`,
          );
        return k;
      }
      l = this.replicate(leftN, l);
    }
    if (l.k !== 'carry' || r.k !== 'carry') throw new NotBatchable('unexpected operand kinds');
    // Both sides per rollout: pairing must not change when G is added to what is matched.
    for (const g of G)
      if (matched(g) && (l.unsure.has(g) || r.unsure.has(g) || l.has.has(g) !== r.has.has(g)))
        throw new NotBatchable(
          `the two sides of ${this.rendered.slice(opN.from, opN.to)} would pair differently once grouped by ${g}`,
        );
    if (op === 'Or' && G.some((g) => l.has.has(g) !== r.has.has(g)))
      throw new NotBatchable('the two sides of `or` carry different batching labels');
    if (how === 'On' && matchList) {
      const missing = G.filter((g) => !matchNames.includes(g));
      if (missing.length > 0) this.editList(matchList, [...matchNames, ...missing]);
    } else if (how === 'Ignoring' && matchList && G.some((g) => matchNames.includes(g))) {
      this.editList(
        matchList,
        matchNames.filter((x) => !G.includes(x)),
      );
    }
    if (isSet || (COMPARISONS.has(op) && !bool) || groupTok?.name === 'GroupLeft') return l;
    if (groupTok?.name === 'GroupRight') return r;
    if (how === 'On') return { k: 'carry', has: inter(l.has, matchNames), unsure: inter(l.unsure, matchNames) };
    return { k: 'carry', has: minus(l.has, matchNames), unsure: minus(l.unsure, matchNames) };
  }

  apply(): string {
    let out = this.template;
    const sorted = [...this.edits].sort((a, b) => b.at - a.at || b.seq - a.seq);
    for (const e of sorted) out = out.slice(0, e.at) + e.text + out.slice(e.end);
    return out;
  }
}

/** Rewrites `template` for batching, or says why it cannot be. */
export function planBatch(template: string): BatchPlan {
  const scan = scanTemplate(template);
  if (scan.problems.length > 0) return { batchable: false, reason: scan.problems[0]?.detail ?? 'bad template' };
  if (!scan.refs.some((r) => r.name === 'revision'))
    return { batchable: false, reason: 'the template does not select a revision with {{revision}}' };
  if (scan.refs.some((r) => r.name === 'stableRevision'))
    return { batchable: false, reason: 'the template uses {{stableRevision}}; a series cannot belong to one rollout' };
  const { rendered, toTemplate } = renderForParse(template);
  const rw = new Rewriter(template, rendered, toTemplate);
  try {
    const top = parser.parse(rendered).topNode;
    rw.collect(top);
    // Batching labels in a fixed order (revision, namespace, service), whatever order the matchers are written in.
    const order: Placeholder[] = ['revision', 'namespace', 'service'];
    const sorted = [...rw.bindings].sort((x, y) => order.indexOf(x[1]) - order.indexOf(y[1]));
    rw.bindings.clear();
    for (const [label, placeholder] of sorted) rw.bindings.set(label, placeholder);
    if (![...rw.bindings.values()].includes('revision')) throw new NotBatchable('no label="{{revision}}" matcher');
    const kind = rw.visit(top);
    const stray = scan.refs.find((r) => r.name !== 'interval' && !rw.consumed.has(r.start - 1));
    if (stray)
      throw new NotBatchable(`{{${stray.name}}} is used outside an equality label matcher (label="{{${stray.name}}}")`);
    if (kind.k !== 'carry') throw new NotBatchable('the result does not tell rollouts apart');
  } catch (e) {
    if (e instanceof NotBatchable) return { batchable: false, reason: e.message };
    throw e;
  }
  const bindings = [...rw.bindings].map(([label, placeholder]) => ({ label, placeholder }));
  const labelOf: Partial<Record<Placeholder, string>> = {};
  for (const b of bindings) labelOf[b.placeholder] ??= b.label;
  return { batchable: true, template: rw.apply(), groupBy: bindings.map((b) => b.label), labelOf, bindings };
}

/** A regex alternation matching exactly these values (RE2 anchors label regexes). */
export function alternation(values: readonly string[]): string {
  const uniq = [...new Set(values)].sort();
  // Inside a PromQL double-quoted string a backslash must itself be escaped.
  return uniq.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\\\${c}`)).join('|');
}

export interface BatchMember {
  revision: string;
  namespace: string;
  service: string;
}

const quote = (s: string): string => JSON.stringify(s);

/** One zero series per rollout, labelled with its batching labels: what a constant operand is paired through. */
function membersTable(plan: Extract<BatchPlan, { batchable: true }>, members: readonly BatchMember[]): string {
  const rows = new Set<string>();
  for (const m of members) {
    let row = 'vector(0)';
    for (const b of plan.bindings) row = `label_replace(${row}, ${quote(b.label)}, ${quote(m[b.placeholder])}, "", "")`;
    rows.add(row);
  }
  return `(${[...rows].join(' or ')})`;
}

/** Renders a batch plan's template for a set of rollouts. */
export function renderBatch(
  plan: Extract<BatchPlan, { batchable: true }>,
  members: readonly BatchMember[],
  interval: string,
): string {
  const vars: TemplateVars = {
    revision: alternation(members.map((m) => m.revision)),
    namespace: alternation(members.map((m) => m.namespace)),
    service: alternation(members.map((m) => m.service)),
    interval,
    stableRevision: '',
  };
  const withTable = plan.template.includes('{{members}}')
    ? plan.template.split('{{members}}').join(membersTable(plan, members))
    : plan.template;
  return renderTemplate(withTable, vars);
}

/** The series of a batched result that belong to one member: every batching label has its value. */
export function seriesOfMember<T extends { metric: Record<string, string> }>(
  result: readonly T[],
  plan: Extract<BatchPlan, { batchable: true }>,
  member: BatchMember,
): T[] {
  // Indexed once per answer (a batch of 5,000 rollouts filtered per member was 25 million comparisons a round).
  // A series with a binding label missing never matches, as `===` with a member's string never holds.
  let cached = memberIndexes.get(result);
  if (!cached || cached.plan !== plan) {
    const index = new Map<string, unknown[]>();
    for (const s of result) {
      const values = plan.bindings.map((b) => s.metric[b.label]);
      if (values.some((v) => v === undefined)) continue;
      const k = JSON.stringify(values);
      const list = index.get(k);
      if (list) list.push(s);
      else index.set(k, [s]);
    }
    memberIndexes.set(result, (cached = { plan, index }));
  }
  return [...((cached.index.get(JSON.stringify(plan.bindings.map((b) => member[b.placeholder]))) ?? []) as T[])];
}
const memberIndexes = new WeakMap<object, { plan: object; index: Map<string, unknown[]> }>();

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
  // Indexed by revision once per answer and label (see seriesOfMember), then filtered by namespace.
  let cached = revisionIndexes.get(result);
  if (!cached || cached.label !== revisionLabel) {
    const index = new Map<string, unknown[]>();
    for (const s of result) {
      const r = s.metric[revisionLabel];
      if (r === undefined) continue;
      const list = index.get(r);
      if (list) list.push(s);
      else index.set(r, [s]);
    }
    revisionIndexes.set(result, (cached = { label: revisionLabel, index }));
  }
  return ((cached.index.get(revision) ?? []) as T[]).filter(
    (s) => s.metric[namespaceLabel] === undefined || s.metric[namespaceLabel] === namespace,
  );
}
const revisionIndexes = new WeakMap<object, { label: string; index: Map<string, unknown[]> }>();
