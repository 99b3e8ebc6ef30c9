// Knative's request metrics come in three shapes ("families"), and Sluice's builtin checks are written for each.
// Pure: PromQL text out, nothing sent. Facts and sources: ../shared/reference/knative-metrics.md.
//
//   knative-opencensus        Knative ≤ 1.18 queue-proxy (and the embedded router by default):
//                             revision_request_count / revision_request_latencies_bucket (ms), labels
//                             namespace_name, revision_name, response_code_class.
//   knative-otel              Knative ≥ 1.19.1, OTLP into Prometheus with promoted resource attributes:
//                             http_server_request_duration_seconds_{count,bucket} (s), http_response_status_code,
//                             k8s_namespace_name, kn_revision_name, k8s_container_name="queue-proxy" (which also
//                             keeps the activator's series, labelled with kn_revision_name too, out).
//   knative-otel-target-info  Knative ≥ 1.19.1 pulled (or OTLP without promotion): the same series, but the
//                             revision is only on target_info, joined on (job, instance).
//
// Every query is written batched: regex matchers over all revisions asked for, aggregated `by` the family's
// namespace and revision labels, so one query serves every rollout and the answer is split per revision.
// Results per revision:
//   - a number whenever the revision served requests in the window. The ratio's numerator is guarded with
//     `or <denominator> * 0` (the batch-safe form of `or on() vector(0)`: it matches per revision), so a revision
//     answering only 5xx has a success rate of 0, not an empty result;
//   - empty (no data) when it served none: the denominator is filtered with `> 0`, so 0/0 never becomes NaN.
import { alternation } from './batch.js';

export const METRIC_FAMILIES = ['knative-opencensus', 'knative-otel', 'knative-otel-target-info'] as const;
export type MetricFamily = (typeof METRIC_FAMILIES)[number];
export type MetricFamilySetting = MetricFamily | 'auto';
export const METRIC_FAMILY_SETTINGS: readonly MetricFamilySetting[] = ['auto', ...METRIC_FAMILIES];

export const BUILTIN_METRICS = [
  'request-success-rate',
  'request-duration',
  'request-error-rate',
  'request-rate',
] as const;
export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];
/** Flagger's default percentile for request-duration. */
export const DEFAULT_PERCENTILE = 99;
/** Requests a revision must have served in the window before an empty query is a problem, not a wait. */
export const DEFAULT_MIN_REQUESTS = 10;

export function isBuiltin(name: string): name is BuiltinMetric {
  return (BUILTIN_METRICS as readonly string[]).includes(name);
}
export function isMetricFamily(name: string): name is MetricFamily {
  return (METRIC_FAMILIES as readonly string[]).includes(name);
}

/** What each builtin measures, for help texts and `sluice analysis run`. */
export const BUILTIN_UNITS: Record<BuiltinMetric, string> = {
  'request-success-rate': '%',
  'request-duration': 'ms',
  'request-error-rate': '%',
  'request-rate': 'req/s',
};

interface FamilyShape {
  /** Labels carrying namespace and revision on the aggregated result. */
  namespaceLabel: string;
  revisionLabel: string;
  count: string;
  bucket: string;
  /** Multiplier from the histogram's unit to milliseconds. */
  toMs: number;
  errors: string;
  nonErrors: string;
  /** Matchers every series of the family needs (the queue-proxy container). */
  scope: string[];
  /** The revision is only on target_info: join on (job, instance). */
  targetInfo: boolean;
}

const SHAPES: Record<MetricFamily, FamilyShape> = {
  'knative-opencensus': {
    namespaceLabel: 'namespace_name',
    revisionLabel: 'revision_name',
    count: 'revision_request_count',
    bucket: 'revision_request_latencies_bucket',
    toMs: 1,
    errors: 'response_code_class="5xx"',
    nonErrors: 'response_code_class!="5xx"',
    scope: [],
    targetInfo: false,
  },
  'knative-otel': {
    namespaceLabel: 'k8s_namespace_name',
    revisionLabel: 'kn_revision_name',
    count: 'http_server_request_duration_seconds_count',
    bucket: 'http_server_request_duration_seconds_bucket',
    toMs: 1000,
    errors: 'http_response_status_code=~"5.."',
    nonErrors: 'http_response_status_code!~"5.."',
    scope: ['k8s_container_name="queue-proxy"'],
    targetInfo: false,
  },
  'knative-otel-target-info': {
    namespaceLabel: 'k8s_namespace_name',
    revisionLabel: 'kn_revision_name',
    count: 'http_server_request_duration_seconds_count',
    bucket: 'http_server_request_duration_seconds_bucket',
    toMs: 1000,
    errors: 'http_response_status_code=~"5.."',
    nonErrors: 'http_response_status_code!~"5.."',
    scope: [],
    targetInfo: true,
  },
};

export function familyLabels(f: MetricFamily): { namespace: string; revision: string } {
  return { namespace: SHAPES[f].namespaceLabel, revision: SHAPES[f].revisionLabel };
}

/** The revisions a query is for. Names are Kubernetes names (DNS labels), so they need no quoting beyond regex. */
export interface Targets {
  namespaces: readonly string[];
  revisions: readonly string[];
}

function matcher(label: string, values: readonly string[]): string {
  const uniq = [...new Set(values)];
  return uniq.length === 1 ? `${label}="${uniq[0] as string}"` : `${label}=~"${alternation(uniq)}"`;
}

/**
 * `fn(metric{...}[window])` restricted to the targets, as a vector carrying the family's namespace and revision
 * labels (after the target_info join, when the family needs one).
 */
function perRevision(
  f: MetricFamily,
  fn: 'rate' | 'increase',
  metric: string,
  extra: string[],
  t: Targets,
  window: string,
): string {
  const s = SHAPES[f];
  const ns = matcher(s.namespaceLabel, t.namespaces);
  const rev = matcher(s.revisionLabel, t.revisions);
  if (!s.targetInfo) return `${fn}(${metric}{${[...s.scope, ns, rev, ...extra].join(', ')}}[${window}])`;
  const sel = [...s.scope, ...extra];
  return (
    `${fn}(${metric}${sel.length > 0 ? `{${sel.join(', ')}}` : ''}[${window}])` +
    ` * on (job, instance) group_left (${s.namespaceLabel}, ${s.revisionLabel}) target_info{${ns}, ${rev}}`
  );
}

function sumBy(f: MetricFamily, inner: string, extraBy: string[] = []): string {
  const s = SHAPES[f];
  return `sum by (${[...extraBy, s.namespaceLabel, s.revisionLabel].join(', ')}) (${inner})`;
}

/** Percent of responses matching `part` among all, guarded so that none matching is 0 and no traffic is empty. */
function percentOf(f: MetricFamily, part: string, t: Targets, window: string): string {
  const s = SHAPES[f];
  const all = sumBy(f, perRevision(f, 'rate', s.count, [], t, window));
  const some = sumBy(f, perRevision(f, 'rate', s.count, [part], t, window));
  return `100 * ((${some} or ${all} * 0) / (${all} > 0))`;
}

export interface BuiltinOptions {
  /** request-duration only: 0 < percentile < 100 (default 99). */
  percentile?: number;
}

/** The batched PromQL of a builtin for the targets. Result series carry familyLabels(f). */
export function builtinQuery(
  f: MetricFamily,
  name: BuiltinMetric,
  t: Targets,
  window: string,
  o: BuiltinOptions = {},
): string {
  const s = SHAPES[f];
  switch (name) {
    case 'request-success-rate':
      return percentOf(f, s.nonErrors, t, window);
    case 'request-error-rate':
      return percentOf(f, s.errors, t, window);
    case 'request-rate':
      return `${sumBy(f, perRevision(f, 'rate', s.count, [], t, window))} > 0`;
    case 'request-duration': {
      const q = (o.percentile ?? DEFAULT_PERCENTILE) / 100;
      const hq = `histogram_quantile(${q}, ${sumBy(f, perRevision(f, 'rate', s.bucket, [], t, window), ['le'])})`;
      return s.toMs === 1 ? hq : `${s.toMs} * ${hq}`;
    }
  }
}

/** Requests each target revision served in the window (what tells "no traffic" from "a query that selects nothing"). */
export function requestCountQuery(f: MetricFamily, t: Targets, window: string): string {
  return sumBy(f, perRevision(f, 'increase', SHAPES[f].count, [], t, window));
}

/** The label the family probe writes the answering family into. */
export const FAMILY_LABEL = 'sluice_metrics_family';
/** The namespace label the probe's answers carry, whatever the family. */
export const PROBE_NAMESPACE_LABEL = 'namespace';

/**
 * One query telling, for every namespace, which families have series there: each answering family is one series
 * `{namespace="NS", sluice_metrics_family="knative-otel"}`. The first of METRIC_FAMILIES that answers is used
 * (the order in which Knative generations are tried: OpenCensus, then OTel promoted, then target_info).
 */
export function familyProbeQuery(namespaces: readonly string[]): string {
  const probe = (f: MetricFamily, selector: string): string => {
    const s = SHAPES[f];
    const counted = `count by (${s.namespaceLabel}) (${selector})`;
    const ns = `label_replace(${counted}, "${PROBE_NAMESPACE_LABEL}", "$1", "${s.namespaceLabel}", "(.*)")`;
    return `label_replace(${ns}, "${FAMILY_LABEL}", "${f}", "", "")`;
  };
  const oc = SHAPES['knative-opencensus'];
  const ot = SHAPES['knative-otel'];
  return [
    probe('knative-opencensus', `${oc.count}{${matcher(oc.namespaceLabel, namespaces)}}`),
    probe(
      'knative-otel',
      `${ot.count}{${[...ot.scope, `${ot.revisionLabel}!=""`, matcher(ot.namespaceLabel, namespaces)].join(', ')}}`,
    ),
    probe(
      'knative-otel-target-info',
      `target_info{${ot.revisionLabel}!="", ${matcher(ot.namespaceLabel, namespaces)}}`,
    ),
  ].join(' or ');
}

/** What to tell the user when no family answers in a namespace. */
export function noFamilyMessage(namespace: string): string {
  return (
    `no Knative request metrics for namespace ${namespace} in Prometheus (looked for revision_request_count, ` +
    `http_server_request_duration_seconds_count{k8s_container_name="queue-proxy"} and target_info{kn_revision_name}): ` +
    `either no revision there has served a request yet, or request metrics are off. On Knative ≥ 1.19 they are off ` +
    `by default: set request-metrics-protocol (prometheus, or http/protobuf to Prometheus' OTLP receiver) in the ` +
    `config-observability ConfigMap of knative-serving, and have Prometheus scrape queue-proxy's port 9091 ` +
    `(http-usermetric); or force a family with --metrics-family`
  );
}

/** Levenshtein distance, for "did you mean" on misspelt builtin names. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number;
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length] as number;
}

/** The builtin `name` was probably meant to be, if one is close. */
export function closestBuiltin(name: string): BuiltinMetric | undefined {
  let best: BuiltinMetric | undefined;
  let bestD = Infinity;
  for (const b of BUILTIN_METRICS) {
    const dd = distance(name.toLowerCase(), b);
    if (dd < bestD) {
      bestD = dd;
      best = b;
    }
  }
  return bestD <= 3 ? best : undefined;
}
