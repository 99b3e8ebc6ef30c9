// Runs one analysis round for many rollouts at once: groups their metrics by template, sends ONE query per
// template (see batch.ts for the rewriting rule), splits the answer per rollout and judges each part.
// Prometheus down or slow is "no data" with a reason (logged once per outage), never a pass or a crash.
import type { Logger } from 'pino';
import { PrometheusError, RolloutErrorCode } from '../errors.js';
import { formatPromDuration, parseDuration } from '../policy/duration.js';
import type { MetricSpec } from '../policy/types.js';
import { KNATIVE_LABELS, planBatch, renderBatch, seriesFor, type BatchLabels } from './batch.js';
import { judgeMannWhitney } from './judges/mann-whitney.js';
import { judgeThreshold } from './judges/threshold.js';
import type { PromData, PrometheusClient } from './prometheus.js';
import type { AnalysisRound, MetricResult } from './result.js';
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
  labels?: BatchLabels;
  /** false: one query per rollout per metric (Flagger's way; for comparison and as an escape hatch). */
  batch?: boolean;
  /** Revisions per batched query; larger sets are split into several queries. */
  maxRevisionsPerQuery?: number;
  /** Queries in flight at once. */
  concurrency?: number;
}

interface Member {
  req: AnalysisRequest;
  metric: MetricSpec;
}
interface Group {
  metric: MetricSpec;
  windowMs: number;
  members: Member[];
}

/** Values per revision from a query result: one number (vector/scalar) or samples (matrix). */
type Extracted =
  { kind: 'value'; value: number | undefined; series: number } | { kind: 'samples'; samples: number[]; series: number };

function num(s: string): number {
  // Prometheus sends sample values as strings, including "NaN", "+Inf" and "-Inf"; Number() rejects "+Inf".
  if (s === '+Inf') return Infinity;
  return Number(s);
}

export class AnalysisEngine {
  readonly #client: PrometheusClient;
  readonly #log: Logger | undefined;
  readonly #labels: BatchLabels;
  readonly #batch: boolean;
  readonly #maxRevisions: number;
  readonly #concurrency: number;
  #down: string | null = null;
  readonly #loggedQueryErrors = new Set<string>();

  constructor(opts: AnalysisEngineOptions) {
    this.#client = opts.client;
    this.#log = opts.logger;
    this.#labels = opts.labels ?? KNATIVE_LABELS;
    this.#batch = opts.batch ?? true;
    this.#maxRevisions = opts.maxRevisionsPerQuery ?? 500;
    this.#concurrency = Math.max(1, opts.concurrency ?? 4);
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
    const groups = new Map<string, Group>();
    for (const req of requests) {
      for (const metric of req.metrics) {
        const id = JSON.stringify([metric.query, req.windowMs, metric.judge ?? null, metric.thresholdRange ?? null]);
        let g = groups.get(id);
        if (!g) groups.set(id, (g = { metric, windowMs: req.windowMs, members: [] }));
        g.members.push({ req, metric });
      }
    }
    const tasks: (() => Promise<void>)[] = [];
    for (const g of groups.values()) {
      const plan = this.#batch ? planBatch(g.metric.query, this.#labels) : null;
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
            for (const m of chunk) {
              const ns = plan.labelOf.namespace ?? this.#labels.namespace;
              results
                .get(m.req.key)
                ?.push(
                  this.#judge(m, promql, outcome, (rev) =>
                    this.#extract(outcome, (r) =>
                      seriesFor(r, plan.labelOf.revision ?? this.#labels.revision, ns, rev, m.req.namespace),
                    ),
                  ),
                );
            }
          });
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
            const promql = this.#wrap(m.metric, renderTemplate(m.metric.query, vars));
            const outcome = await this.#ask(promql, at, signal);
            let stableOutcome: PromData | PrometheusError = outcome;
            if (this.#isStatistical(m.metric)) {
              stableOutcome = await this.#ask(
                this.#wrap(m.metric, renderTemplate(m.metric.query, { ...vars, revision: m.req.stableRevision })),
                at,
                signal,
              );
            }
            results
              .get(m.req.key)
              ?.push(
                this.#judge(m, promql, outcome, (rev) =>
                  this.#extract(rev === m.req.revision ? outcome : stableOutcome, (r) => [...r]),
                ),
              );
          });
        }
      }
    }
    await this.#pool(tasks);
    const out = new Map<string, AnalysisRound>();
    for (const req of requests) out.set(req.key, { revision: req.revision, at, results: results.get(req.key) ?? [] });
    return out;
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
    return { status: 'noData', metric, query, reason: `Prometheus unavailable: ${e.message}` };
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
