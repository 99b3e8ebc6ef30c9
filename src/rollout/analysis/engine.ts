// Runs one analysis round for many rollouts at once: groups their metrics by template, sends ONE query per
// template (see batch.ts for the rewriting rule), splits the answer per rollout and judges each part.
// Prometheus down or slow is "no data" with a reason (logged once per outage), never a pass or a crash.
import type { Logger } from 'pino';
import { PrometheusError, RolloutErrorCode } from '../errors.js';
import { formatPromDuration, parseDuration } from '../policy/duration.js';
import type { MetricSpec } from '../policy/types.js';
import { planBatch, renderBatch, seriesFor, seriesOfMember, type BatchLabels } from './batch.js';
import { judgeMannWhitney } from './judges/mann-whitney.js';
import { judgeThreshold } from './judges/threshold.js';
import type { PromData, PrometheusClient } from './prometheus.js';
import type { AnalysisRound, MetricResult, NoDataResult } from './result.js';
import {
  BUILTIN_METRICS,
  DEFAULT_MIN_REQUESTS,
  FAMILY_LABEL,
  METRIC_FAMILIES,
  PROBE_NAMESPACE_LABEL,
  builtinQuery,
  familyLabels,
  familyProbeQuery,
  isBuiltin,
  noFamilyMessage,
  requestCountQuery,
  type MetricFamily,
  type MetricFamilySetting,
} from './families.js';
import { renderTemplate } from './template.js';

/** What the machine's `runAnalysis` action asks for, plus a key to find the answer by. */
export interface AnalysisRequest {
  key: string;
  namespace: string;
  service: string;
  revision: string;
  stableRevision: string;
  metrics: MetricSpec[];
  /** What {{interval}} renders to. */
  windowMs: number;
}

export interface AnalysisEngineOptions {
  client: PrometheusClient;
  logger?: Logger;
  /** @deprecated batching labels come from the template's own matchers now; ignored. */
  labels?: BatchLabels;
  /** false: one query per rollout per metric (Flagger's way; for comparison and as an escape hatch). */
  batch?: boolean;
  /** Revisions per batched query; larger sets are split into several queries. */
  maxRevisionsPerQuery?: number;
  /** Queries in flight at once. */
  concurrency?: number;
  /** Knative request metrics for builtins and request counts; `auto` (default) probes each namespace. */
  family?: MetricFamilySetting;
}

interface Member {
  req: AnalysisRequest;
  metric: MetricSpec;
}
interface Group {
  metric: MetricSpec;
  windowMs: number;
  members: Member[];
  /** Builtins: the family their query is written for. */
  family: MetricFamily | undefined;
}
/** A namespace's family: found, none answers (null), or Prometheus could not be asked. */
type Fam = MetricFamily | null | PrometheusError;
/** Legs per joined query: keeps one query's parse and evaluation small. */
const JOINED_LEGS = 100;
/** The label a joined query tags each leg with. */
const LEG_LABEL = 'sluice_leg';
/** How long a detected family is trusted before it is probed again. */
const FAMILY_TTL_MS = 5 * 60_000;

/**
 * A no-data result with its cause, given the requests the revision served in the window. Worked example (window
 * 5s, minRequests 10): 0 → "no requests reached hello-00003 in the last 5s" (noTraffic); 48 → "the query selected no
 * series although hello-00003 served 48 requests in the last 5s: …" (emptyQuery).
 */
export function explained(
  r: NoDataResult,
  revision: string,
  window: string,
  requests: number,
  spec: MetricSpec | undefined,
): NoDataResult {
  const min = spec?.minRequests ?? DEFAULT_MIN_REQUESTS;
  if (requests <= 0)
    return { ...r, cause: 'noTraffic', requests: 0, reason: `no requests reached ${revision} in the last ${window}` };
  if (requests < min)
    return {
      ...r,
      cause: 'noTraffic',
      requests,
      reason: `only ${requests} request(s) reached ${revision} in the last ${window} (minRequests ${min})`,
    };
  const what = /NaN/.test(r.reason) ? 'the query returned NaN' : 'the query selected no series';
  const hint =
    spec?.query === undefined
      ? ''
      : `: a ratio whose numerator selects no series (say, no non-5xx response) is empty, not 0; guard it, e.g. ` +
        `(sum(rate(revision_request_count{…,response_code_class!="5xx"}[${window}])) or on() vector(0)) / …, ` +
        `or use the builtin request-success-rate`;
  return {
    ...r,
    cause: 'emptyQuery',
    requests,
    reason: `${what} although ${revision} served ${requests} requests in the last ${window}${hint}`,
  };
}

/** Values per revision from a query result: one number (vector/scalar) or samples (matrix). */
type Extracted =
  { kind: 'value'; value: number | undefined; series: number } | { kind: 'samples'; samples: number[]; series: number };

function num(s: string): number {
  // Prometheus sends sample values as strings, including "NaN", "+Inf" and "-Inf"; Number() rejects "+Inf".
  if (s === '+Inf') return Infinity;
  return Number(s);
}

/**
 * Each rollout's own rendered query, kept from one run to the next: it is the same every round of one canary, so
 * it is rendered once instead of every round for every rollout, and every round record of a rollout then holds
 * the same string. Only what the latest run used is kept.
 */
class OwnQueries {
  #prev = new Map<string, Map<string, string>>();
  #cur = new Map<string, Map<string, string>>();

  /** Starts a run: what the last run used stays findable, the rest is dropped. */
  next(): this {
    this.#prev = this.#cur;
    this.#cur = new Map();
    return this;
  }

  get(
    group: string,
    r: { namespace: string; service: string; revision: string; stableRevision: string },
    render: () => string,
  ): string {
    const member = `${r.namespace}\u0000${r.service}\u0000${r.revision}\u0000${r.stableRevision}`;
    let cur = this.#cur.get(group);
    if (!cur) this.#cur.set(group, (cur = new Map()));
    const q = cur.get(member) ?? this.#prev.get(group)?.get(member) ?? render();
    cur.set(member, q);
    return q;
  }
}

export class AnalysisEngine {
  readonly #client: PrometheusClient;
  readonly #log: Logger | undefined;
  readonly #batch: boolean;
  readonly #maxRevisions: number;
  readonly #concurrency: number;
  readonly #family: MetricFamilySetting;
  readonly #familyCache = new Map<string, { family: MetricFamily; at: number }>();
  /** Templates Prometheus refused to join with `or` (they are asked per rollout). */
  readonly #unjoinable = new Set<string>();
  /** Templates whose rewritten (natively batched) query Prometheus refused. */
  readonly #notNative = new Set<string>();
  #down: string | null = null;
  readonly #loggedQueryErrors = new Set<string>();
  readonly #ownQueries = new OwnQueries();

  constructor(opts: AnalysisEngineOptions) {
    this.#client = opts.client;
    this.#log = opts.logger;
    this.#batch = opts.batch ?? true;
    this.#maxRevisions = opts.maxRevisionsPerQuery ?? 500;
    this.#concurrency = Math.max(1, opts.concurrency ?? 4);
    this.#family = opts.family ?? 'auto';
  }

  /**
   * One round for every request, evaluated at `at` (ms since epoch; also the round's timestamp).
   * Returns a round per request key, with a result for every metric of that request.
   */
  async run(
    requests: readonly AnalysisRequest[],
    at: number,
    signal?: AbortSignal,
  ): Promise<Map<string, AnalysisRound>> {
    const results = new Map<string, MetricResult[]>(requests.map((r) => [r.key, []]));
    const push = (key: string, r: MetricResult): void => void results.get(key)?.push(r);
    // Builtins are written per metric family: find the family of every namespace that uses one (probe, cached).
    const builtinNamespaces = [
      ...new Set(requests.filter((r) => r.metrics.some((m) => m.query === undefined)).map((r) => r.namespace)),
    ];
    const families =
      builtinNamespaces.length > 0 ? await this.#familiesFor(builtinNamespaces, at, signal) : new Map<string, Fam>();
    const groups = new Map<string, Group>();
    for (const req of requests) {
      for (const metric of req.metrics) {
        let id: string;
        let family: MetricFamily | undefined;
        if (metric.query === undefined) {
          if (!isBuiltin(metric.name)) {
            push(req.key, {
              status: 'error',
              metric: metric.name,
              query: '',
              code: RolloutErrorCode.PolicyInvalid,
              reason: `${metric.name} has no query and is not a builtin (${BUILTIN_METRICS.join(', ')})`,
            });
            continue;
          }
          const f = families.get(req.namespace);
          if (f instanceof PrometheusError) {
            push(req.key, this.#failure(metric.name, '', f));
            continue;
          }
          if (f === undefined || f === null) {
            push(req.key, {
              status: 'noData',
              metric: metric.name,
              query: '',
              cause: 'noMetrics',
              reason: noFamilyMessage(req.namespace),
            });
            continue;
          }
          family = f;
          id = JSON.stringify([
            'builtin',
            metric.name,
            f,
            metric.percentile ?? null,
            req.windowMs,
            metric.judge ?? null,
          ]);
        } else {
          id = JSON.stringify([metric.query, req.windowMs, metric.judge ?? null]);
        }
        let g = groups.get(id);
        if (!g) groups.set(id, (g = { metric, windowMs: req.windowMs, members: [], family }));
        g.members.push({ req, metric });
      }
    }
    const tasks: (() => Promise<void>)[] = [];
    const ownQueries = this.#ownQueries.next();
    for (const [id, g] of groups) {
      const query = g.metric.query;
      if (g.family !== undefined && isBuiltin(g.metric.name)) {
        const fam = g.family;
        const name = g.metric.name;
        const labels = familyLabels(fam);
        for (let i = 0; i < g.members.length; i += this.#maxRevisions) {
          const chunk = g.members.slice(i, i + this.#maxRevisions);
          tasks.push(async () => {
            const targets = chunk.flatMap((m) =>
              this.#isStatistical(m.metric) ? [m.req, { ...m.req, revision: m.req.stableRevision }] : [m.req],
            );
            const promql = this.#wrap(
              g.metric,
              builtinQuery(
                fam,
                name,
                { namespaces: targets.map((t) => t.namespace), revisions: targets.map((t) => t.revision) },
                formatPromDuration(g.windowMs),
                g.metric.percentile !== undefined ? { percentile: g.metric.percentile } : {},
              ),
            );
            const outcome = await this.#ask(promql, at, signal);
            for (const m of chunk) {
              const r = this.#judge(m, promql, outcome, (rev) =>
                this.#extract(outcome, (res) =>
                  seriesFor(res, labels.revision, labels.namespace, rev, m.req.namespace),
                ),
              );
              // The rollout's record shows its own query, not the batch (which names every revision in it).
              const own = ownQueries.get(id, m.req, () =>
                this.#wrap(
                  m.metric,
                  builtinQuery(
                    fam,
                    name,
                    { namespaces: [m.req.namespace], revisions: [m.req.revision] },
                    formatPromDuration(g.windowMs),
                    g.metric.percentile !== undefined ? { percentile: g.metric.percentile } : {},
                  ),
                ),
              );
              push(m.req.key, { ...r, query: r.query === promql ? own : r.query, family: fam });
            }
          });
        }
        continue;
      }
      if (query === undefined) continue;
      const plan = this.#batch && !this.#notNative.has(query) ? planBatch(query) : null;
      if (plan && plan.batchable) {
        for (let i = 0; i < g.members.length; i += this.#maxRevisions) {
          const chunk = g.members.slice(i, i + this.#maxRevisions);
          tasks.push(async () => {
            const revisions = chunk.flatMap((m) =>
              this.#isStatistical(m.metric) ? [m, { ...m, req: { ...m.req, revision: m.req.stableRevision } }] : [m],
            );
            const promql = this.#wrap(
              g.metric,
              renderBatch(
                plan,
                revisions.map((m) => m.req),
                formatPromDuration(g.windowMs),
              ),
            );
            const outcome = await this.#ask(promql, at, signal);
            if (outcome instanceof PrometheusError && outcome.code === RolloutErrorCode.PromQuery && chunk.length > 1) {
              // Prometheus refused the rewrite (say, a target_info join where two rollouts share an instance):
              // join the rollouts' own queries instead, from now on.
              this.#notNative.add(query);
              this.#log?.info({ query, reason: outcome.message }, 'batched query refused; joining per-rollout queries');
              for (let j = 0; j < chunk.length; j += JOINED_LEGS)
                await this.#joined(query, g.windowMs, chunk.slice(j, j + JOINED_LEGS), at, signal, push);
              return;
            }
            for (const m of chunk) {
              const r = this.#judge(m, promql, outcome, (rev) =>
                this.#extract(outcome, (res) => seriesOfMember(res, plan, { ...m.req, revision: rev })),
              );
              // The rollout's record shows its own query, not the batch (which grows with every rollout in it).
              const own = ownQueries.get(id, m.req, () =>
                this.#wrap(
                  m.metric,
                  renderTemplate(query, {
                    revision: m.req.revision,
                    stableRevision: m.req.stableRevision,
                    namespace: m.req.namespace,
                    service: m.req.service,
                    interval: formatPromDuration(g.windowMs),
                  }),
                ),
              );
              push(m.req.key, { ...r, query: own });
            }
          });
        }
      } else if (this.#batch && g.members.length > 1 && !this.#unjoinable.has(query)) {
        // Not rewritable (guarded with `or on() vector(0)`, a target_info join, {{stableRevision}}, ...): still one
        // query per interval, the per-rollout queries joined with `or`, each tagged by label_replace with its leg.
        for (let i = 0; i < g.members.length; i += JOINED_LEGS) {
          const chunk = g.members.slice(i, i + JOINED_LEGS);
          tasks.push(() => this.#joined(query, g.windowMs, chunk, at, signal, push));
        }
      } else {
        for (const m of g.members) {
          tasks.push(async () => {
            const vars = {
              revision: m.req.revision,
              stableRevision: m.req.stableRevision,
              namespace: m.req.namespace,
              service: m.req.service,
              interval: formatPromDuration(g.windowMs),
            };
            const promql = this.#wrap(m.metric, renderTemplate(query, vars));
            const outcome = await this.#ask(promql, at, signal);
            let stableOutcome: PromData | PrometheusError = outcome;
            if (this.#isStatistical(m.metric)) {
              stableOutcome = await this.#ask(
                this.#wrap(m.metric, renderTemplate(query, { ...vars, revision: m.req.stableRevision })),
                at,
                signal,
              );
            }
            push(
              m.req.key,
              this.#judge(m, promql, outcome, (rev) =>
                this.#extract(rev === m.req.revision ? outcome : stableOutcome, (r) => [...r]),
              ),
            );
          });
        }
      }
    }
    await this.#pool(tasks);
    await this.#explainNoData(requests, results, at, signal);
    const out = new Map<string, AnalysisRound>();
    for (const req of requests) out.set(req.key, { revision: req.revision, at, results: results.get(req.key) ?? [] });
    return out;
  }

  /**
   * One query for many rollouts of a template that cannot be rewritten: `label_replace((Q1), "sluice_leg", "0", "",
   * "") or label_replace((Q2), "sluice_leg", "1", "", "") or …` (the tag makes every leg's label sets distinct, so
   * `or` keeps them all), split back by the tag. Each rollout's record shows its own rendered query. A template
   * Prometheus refuses to join (one returning a scalar, say) is remembered and asked per rollout from then on.
   */
  async #joined(
    query: string,
    windowMs: number,
    chunk: readonly Member[],
    at: number,
    signal: AbortSignal | undefined,
    push: (key: string, r: MetricResult) => void,
  ): Promise<void> {
    const interval = formatPromDuration(windowMs);
    const render = (m: Member, revision: string): string =>
      renderTemplate(query, {
        revision,
        stableRevision: m.req.stableRevision,
        namespace: m.req.namespace,
        service: m.req.service,
        interval,
      });
    const legs: { m: Member; revision: string }[] = chunk.flatMap((m) =>
      this.#isStatistical(m.metric)
        ? [
            { m, revision: m.req.revision },
            { m, revision: m.req.stableRevision },
          ]
        : [{ m, revision: m.req.revision }],
    );
    const first = chunk[0] as Member;
    const joined = legs.map((l, i) => `label_replace((${render(l.m, l.revision)}), "${LEG_LABEL}", "${i}", "", "")`);
    const promql = this.#wrap(first.metric, joined.join(' or '));
    const outcome = await this.#ask(promql, at, signal);
    if (outcome instanceof PrometheusError && outcome.code === RolloutErrorCode.PromQuery) {
      this.#unjoinable.add(query);
      this.#log?.info({ query }, 'template cannot be joined into one query; asking per rollout');
      for (const m of chunk) {
        const own = this.#wrap(m.metric, render(m, m.req.revision));
        const o1 = await this.#ask(own, at, signal);
        const o2 = this.#isStatistical(m.metric)
          ? await this.#ask(this.#wrap(m.metric, render(m, m.req.stableRevision)), at, signal)
          : o1;
        push(
          m.req.key,
          this.#judge(m, own, o1, (rev) => this.#extract(rev === m.req.revision ? o1 : o2, (r) => [...r])),
        );
      }
      return;
    }
    for (const m of chunk) {
      const own = this.#wrap(m.metric, render(m, m.req.revision));
      // Legs are in member order: the canary's, then (statistical judges) the stable revision's right after it.
      const canaryLeg = legs.findIndex((l) => l.m === m);
      const legOf = (rev: string): string => String(rev === m.req.revision ? canaryLeg : canaryLeg + 1);
      const r = this.#judge(m, promql, outcome, (rev) =>
        this.#extract(outcome, (series) => series.filter((x) => x.metric[LEG_LABEL] === legOf(rev))),
      );
      // The rollout's record shows its own query, not the whole join.
      push(m.req.key, { ...r, query: own });
    }
  }

  /**
   * The metric family of each namespace: the forced one, or what the probe finds (one query for all namespaces not
   * in the cache). A family found is cached for FAMILY_TTL_MS; "none" is asked again next round, since a revision's
   * first request creates the series.
   */
  async #familiesFor(
    namespaces: readonly string[],
    at: number,
    signal: AbortSignal | undefined,
  ): Promise<Map<string, Fam>> {
    const out = new Map<string, Fam>();
    if (this.#family !== 'auto') {
      for (const ns of namespaces) out.set(ns, this.#family);
      return out;
    }
    const need: string[] = [];
    for (const ns of namespaces) {
      const c = this.#familyCache.get(ns);
      if (c && at >= c.at && at - c.at < FAMILY_TTL_MS) out.set(ns, c.family);
      else need.push(ns);
    }
    if (need.length === 0) return out;
    const outcome = await this.#ask(familyProbeQuery(need), at, signal);
    for (const ns of need) {
      if (outcome instanceof PrometheusError) {
        out.set(ns, outcome);
        continue;
      }
      const answering = new Set(
        outcome.resultType === 'vector'
          ? outcome.result.filter((s) => s.metric[PROBE_NAMESPACE_LABEL] === ns).map((s) => s.metric[FAMILY_LABEL])
          : [],
      );
      const found = METRIC_FAMILIES.find((f) => answering.has(f)) ?? null;
      const prev = this.#familyCache.get(ns);
      if (found !== null) {
        this.#familyCache.set(ns, { family: found, at });
        if (prev?.family !== found) this.#log?.info({ namespace: ns, family: found }, 'Knative request metrics found');
      } else this.#familyCache.delete(ns);
      out.set(ns, found);
    }
    return out;
  }

  /** The family detected (or forced) for a namespace, probing when not known. */
  async familyOf(namespace: string, at: number, signal?: AbortSignal): Promise<MetricFamily | null> {
    const f = (await this.#familiesFor([namespace], at, signal)).get(namespace);
    if (f instanceof PrometheusError) throw f;
    return f ?? null;
  }

  /**
   * Says why a check has no data. The family's request count tells "no requests reached the revision" (wait) from
   * "the revision served N requests and the query is still empty" (the query is the problem; the machine ends a
   * hold at once when N ≥ minRequests). One request-count query per family and window, only for rounds that need it.
   */
  async #explainNoData(
    requests: readonly AnalysisRequest[],
    results: Map<string, MetricResult[]>,
    at: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const todo: { req: AnalysisRequest; index: number; r: NoDataResult; spec: MetricSpec | undefined }[] = [];
    for (const req of requests) {
      (results.get(req.key) ?? []).forEach((r, index) => {
        if (r.status === 'noData' && r.cause === undefined)
          todo.push({ req, index, r, spec: req.metrics.find((m) => m.name === r.metric) });
      });
    }
    if (todo.length === 0) return;
    const fams = await this.#familiesFor([...new Set(todo.map((t) => t.req.namespace))], at, signal);
    const byQuery = new Map<string, { family: MetricFamily; windowMs: number; items: typeof todo }>();
    for (const t of todo) {
      const f = fams.get(t.req.namespace);
      if (f === null || f === undefined) {
        this.#replace(results, t.req.key, t.index, {
          ...t.r,
          cause: 'noMetrics',
          reason: `${t.r.reason}; Sluice cannot count ${t.req.revision}'s requests: ${noFamilyMessage(t.req.namespace)}`,
        });
        continue;
      }
      if (f instanceof PrometheusError) continue;
      const id = `${f}|${t.req.windowMs}`;
      let g = byQuery.get(id);
      if (!g) byQuery.set(id, (g = { family: f, windowMs: t.req.windowMs, items: [] }));
      g.items.push(t);
    }
    for (const g of byQuery.values()) {
      const window = formatPromDuration(g.windowMs);
      const promql = requestCountQuery(
        g.family,
        { namespaces: g.items.map((t) => t.req.namespace), revisions: g.items.map((t) => t.req.revision) },
        window,
      );
      const outcome = await this.#ask(promql, at, signal);
      if (outcome instanceof PrometheusError || outcome.resultType !== 'vector') continue;
      const labels = familyLabels(g.family);
      for (const t of g.items) {
        const series = seriesFor(outcome.result, labels.revision, labels.namespace, t.req.revision, t.req.namespace);
        const n = Math.round(series.reduce((a, s) => a + (Number.isFinite(num(s.value[1])) ? num(s.value[1]) : 0), 0));
        this.#replace(results, t.req.key, t.index, explained(t.r, t.req.revision, window, n, t.spec));
      }
    }
  }

  #replace(results: Map<string, MetricResult[]>, key: string, index: number, r: MetricResult): void {
    const list = results.get(key);
    if (list) list[index] = r;
  }

  #isStatistical(m: MetricSpec): boolean {
    return m.judge?.type === 'mannWhitney';
  }

  /** Statistical metrics need samples over time: the instant query becomes a subquery. */
  #wrap(m: MetricSpec, promql: string): string {
    if (m.judge?.type !== 'mannWhitney') return promql;
    const lookback = formatPromDuration(parseDuration(m.judge.lookback ?? '1m') ?? 60_000);
    const resolution = formatPromDuration(parseDuration(m.judge.resolution ?? '1s') ?? 1000);
    return `(${promql})[${lookback}:${resolution}]`;
  }

  async #ask(promql: string, at: number, signal: AbortSignal | undefined): Promise<PromData | PrometheusError> {
    try {
      const data = await this.#client.query(promql, signal ? { time: at, signal } : { time: at });
      if (this.#down !== null) {
        this.#log?.info({ reason: this.#down }, 'Prometheus answers again');
        this.#down = null;
      }
      return data;
    } catch (e) {
      const err =
        e instanceof PrometheusError
          ? e
          : new PrometheusError(RolloutErrorCode.PromUnavailable, e instanceof Error ? e.message : String(e), promql, {
              cause: e,
            });
      if (err.code === RolloutErrorCode.PromQuery) {
        if (!this.#loggedQueryErrors.has(promql)) {
          this.#loggedQueryErrors.add(promql);
          this.#log?.warn({ code: err.code, query: promql }, err.message);
        }
      } else if (this.#down === null) {
        this.#down = err.message;
        this.#log?.warn(
          { code: err.code },
          `Prometheus unavailable, checks report no data until it answers: ${err.message}`,
        );
      }
      return err;
    }
  }

  #extract<T extends { metric: Record<string, string> }>(
    outcome: PromData | PrometheusError,
    pick: (series: readonly T[]) => T[],
  ): Extracted | PrometheusError {
    if (outcome instanceof PrometheusError) return outcome;
    switch (outcome.resultType) {
      case 'scalar':
        return { kind: 'value', value: num(outcome.result[1]), series: 1 };
      case 'string':
        return { kind: 'value', value: undefined, series: 0 };
      case 'vector': {
        const s = pick(outcome.result as unknown as T[]) as unknown as { value: [number, string] }[];
        return {
          kind: 'value',
          value: s.length === 1 ? num((s[0] as { value: [number, string] }).value[1]) : undefined,
          series: s.length,
        };
      }
      case 'matrix': {
        const s = pick(outcome.result as unknown as T[]) as unknown as { values: [number, string][] }[];
        return { kind: 'samples', samples: s.flatMap((x) => x.values.map((v) => num(v[1]))), series: s.length };
      }
    }
  }

  #judge(
    m: Member,
    query: string,
    outcome: PromData | PrometheusError,
    forRevision: (rev: string) => Extracted | PrometheusError,
  ): MetricResult {
    const name = m.metric.name;
    if (outcome instanceof PrometheusError) return this.#failure(name, query, outcome);
    const canary = forRevision(m.req.revision);
    if (canary instanceof PrometheusError) return this.#failure(name, query, canary);
    if (m.metric.judge?.type === 'mannWhitney') {
      const stable = forRevision(m.req.stableRevision);
      if (stable instanceof PrometheusError) return this.#failure(name, query, stable);
      const cs = canary.kind === 'samples' ? canary.samples : canary.value === undefined ? [] : [canary.value];
      const ss = stable.kind === 'samples' ? stable.samples : stable.value === undefined ? [] : [stable.value];
      return judgeMannWhitney(name, query, cs, ss, m.metric.judge);
    }
    if (canary.series > 1) {
      return {
        status: 'error',
        metric: name,
        query,
        code: RolloutErrorCode.AnalysisAmbiguous,
        reason: `${canary.series} series for revision ${m.req.revision}; aggregate the query (e.g. sum(...)) so it returns one value per revision`,
      };
    }
    const value = canary.kind === 'value' ? canary.value : canary.samples.at(-1);
    return judgeThreshold(name, query, value, m.metric.thresholdRange ?? {});
  }

  #failure(metric: string, query: string, e: PrometheusError): MetricResult {
    if (
      e.code === RolloutErrorCode.PromQuery ||
      e.code === RolloutErrorCode.PromBadResponse ||
      e.code === RolloutErrorCode.PromTooLarge
    ) {
      return { status: 'error', metric, query, code: e.code, reason: e.message };
    }
    return { status: 'noData', metric, query, cause: 'unavailable', reason: `Prometheus unavailable: ${e.message}` };
  }

  async #pool(tasks: (() => Promise<void>)[]): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < tasks.length) {
        const t = tasks[next++];
        if (t) await t();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, tasks.length) }, worker));
  }
}
