// Trigger filters as Knative's broker-filter applies them: the legacy `filter.attributes` (exact match, ""
// meaning "present and non-empty") and the Subscriptions API `filters` dialects (exact, prefix, suffix, all,
// any, not, cesql). A non-empty `filters` replaces `filter`. Results follow Knative's three values — Pass,
// Fail and NoFilter (only Fail drops) — plus NeedsCesql: an expression Sluice cannot evaluate, because no
// maintained CloudEvents SQL library exists for Node.js. A NeedsCesql that decides the outcome is refused,
// never guessed; one that cannot change it (e.g. next to a Fail in `all`) is ignored, as every evaluator would.
import type { SubscriptionsAPIFilter, TriggerSpec } from './types.js';

export type FilterResult = 'pass' | 'fail' | 'noFilter' | 'needsCesql';

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
  if (a === 'fail' || b === 'fail') return 'fail';
  if (a === 'needsCesql' || b === 'needsCesql') return 'needsCesql';
  return 'pass';
}

function or(a: FilterResult, b: FilterResult): FilterResult {
  if (a === 'noFilter') return b;
  if (b === 'noFilter') return a;
  if (a === 'pass' || b === 'pass') return 'pass';
  if (a === 'needsCesql' || b === 'needsCesql') return 'needsCesql';
  return 'fail';
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
  if (typeof f.cesql === 'string' && f.cesql !== '') return 'needsCesql';
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

/** True when a CESQL expression appears anywhere in the Trigger's effective filter. */
export function usesCesql(spec: Pick<TriggerSpec, 'filters'> | undefined): boolean {
  const walk = (f: SubscriptionsAPIFilter | undefined): boolean =>
    !!f &&
    ((typeof f.cesql === 'string' && f.cesql !== '') ||
      (f.all ?? []).some(walk) ||
      (f.any ?? []).some(walk) ||
      walk(f.not));
  return (spec?.filters ?? []).some(walk);
}

export const CESQL_UNSUPPORTED =
  'CESQL filters are not supported by Sluice: there is no maintained CloudEvents SQL library for Node.js to ' +
  'evaluate them; express the filter with exact, prefix, suffix, all, any or not';
