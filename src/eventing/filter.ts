// Trigger filters as Knative's broker-filter applies them: the legacy `filter.attributes` (exact match, ""
// meaning "present and non-empty") and the Subscriptions API `filters` dialects (exact, prefix, suffix, all,
// any, not, cesql). A non-empty `filters` replaces `filter`. Results follow Knative's three values — Pass,
// Fail and NoFilter (only Fail drops). CESQL expressions are evaluated by ./cesql.ts, parsed once per distinct
// expression text (filters run per event).
import { CesqlParseError, evaluateCesql, parseCesql, type CesqlExpression } from './cesql.js';
import type { SubscriptionsAPIFilter, TriggerSpec } from './types.js';

export type FilterResult = 'pass' | 'fail' | 'noFilter';

/** The event as filters see it: context attributes and extensions, every value a string. */
export type FilterEvent = Readonly<Record<string, string>>;

/** `schemaurl` is the v0.3 name of `dataschema`; everything else is looked up by its own name. */
export function lookupAttribute(event: FilterEvent, name: string): string | undefined {
  const v = event[name] ?? (name === 'schemaurl' ? event['dataschema'] : undefined);
  return v === undefined || v === '' ? undefined : v;
}

function and(a: FilterResult, b: FilterResult): FilterResult {
  if (a === 'noFilter') return b;
  if (b === 'noFilter') return a;
  return a === 'fail' || b === 'fail' ? 'fail' : 'pass';
}

function or(a: FilterResult, b: FilterResult): FilterResult {
  if (a === 'noFilter') return b;
  if (b === 'noFilter') return a;
  return a === 'pass' || b === 'pass' ? 'pass' : 'fail';
}

function not(r: FilterResult): FilterResult {
  return r === 'pass' ? 'fail' : r === 'fail' ? 'pass' : r;
}

/** Legacy `spec.filter.attributes`; an empty or missing map lets everything through. */
export function attributesFilter(attrs: Record<string, string> | undefined, event: FilterEvent): FilterResult {
  const entries = Object.entries(attrs ?? {});
  if (entries.length === 0) return 'noFilter';
  for (const [k, want] of entries) {
    const got = lookupAttribute(event, k);
    if (got === undefined) return 'fail';
    if (want !== '' && want !== got) return 'fail';
  }
  return 'pass';
}

type Matcher = (got: string, want: string) => boolean;
const MATCHERS: Record<'exact' | 'prefix' | 'suffix', Matcher> = {
  exact: (got, want) => got === want,
  prefix: (got, want) => got.startsWith(want),
  suffix: (got, want) => got.endsWith(want),
};

/** exact/prefix/suffix: every attribute must exist and match; an empty value makes Knative skip the element. */
function attributeDialect(map: Record<string, string>, match: Matcher, event: FilterEvent): FilterResult {
  const entries = Object.entries(map);
  if (entries.length === 0 || entries.some(([k, v]) => k === '' || v === '')) return 'noFilter';
  for (const [k, want] of entries) {
    const got = lookupAttribute(event, k);
    if (got === undefined || !match(got, want)) return 'fail';
  }
  return 'pass';
}

/** `all` semantics over a list (also the meaning of the top-level `filters` list). */
function allOf(list: readonly SubscriptionsAPIFilter[], event: FilterEvent): FilterResult {
  return list.map((f) => subscriptionsApiFilter(f, event)).reduce(and, 'noFilter');
}

function anyOf(list: readonly SubscriptionsAPIFilter[], event: FilterEvent): FilterResult {
  return list.map((f) => subscriptionsApiFilter(f, event)).reduce(or, 'noFilter');
}

/** One `filters[]` element. Elements with several dialects are rejected by the webhook; here the first wins. */
export function subscriptionsApiFilter(f: SubscriptionsAPIFilter | undefined, event: FilterEvent): FilterResult {
  if (!f) return 'noFilter';
  for (const d of ['exact', 'prefix', 'suffix'] as const) {
    const map = f[d];
    if (map && Object.keys(map).length > 0) return attributeDialect(map, MATCHERS[d], event);
  }
  if (f.all && f.all.length > 0) return allOf(f.all, event);
  if (f.any && f.any.length > 0) return anyOf(f.any, event);
  if (f.not) return not(subscriptionsApiFilter(f.not, event));
  if (typeof f.cesql === 'string' && f.cesql !== '') return cesqlFilter(f.cesql, event);
  return 'noFilter';
}

/** The Trigger's filter: a non-empty `filters` wins over `filter.attributes`. */
export function triggerFilter(
  spec: Pick<TriggerSpec, 'filter' | 'filters'> | undefined,
  event: FilterEvent,
): FilterResult {
  if (spec?.filters && spec.filters.length > 0) return allOf(spec.filters, event);
  return attributesFilter(spec?.filter?.attributes, event);
}

// Parsed expressions by their text. Bounded, as Trigger specs come and go: the oldest entry goes first, and
// a hit moves its entry to the back. A parse error is cached too.
const CESQL_CACHE_SIZE = 1024;
const cesqlCache = new Map<string, CesqlExpression | CesqlParseError>();

/** The parsed expression or its parse error, cached by text. */
export function compileCesql(text: string): CesqlExpression | CesqlParseError {
  let parsed = cesqlCache.get(text);
  if (parsed !== undefined) {
    cesqlCache.delete(text);
  } else {
    try {
      parsed = parseCesql(text);
    } catch (e) {
      if (!(e instanceof CesqlParseError)) throw e;
      parsed = e;
    }
    if (cesqlCache.size >= CESQL_CACHE_SIZE) cesqlCache.delete(cesqlCache.keys().next().value ?? '');
  }
  cesqlCache.set(text, parsed);
  return parsed;
}

/**
 * `cesql`: Pass when the expression is TRUE; Fail on FALSE, on any other value and on an evaluation error
 * (Knative's cesql_filter.go). An expression that does not parse (admission refuses it, so only a Trigger that
 * bypassed it) cannot be built, and Knative then leaves the element out of the filter: NoFilter.
 */
function cesqlFilter(text: string, event: FilterEvent): FilterResult {
  const parsed = compileCesql(text);
  if (parsed instanceof CesqlParseError) return 'noFilter';
  return evaluateCesql(parsed, event) ? 'pass' : 'fail';
}
