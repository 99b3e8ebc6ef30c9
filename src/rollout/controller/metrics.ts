// The rollout controller's own Prometheus series, as Flagger (flagger_canary_*) and Argo Rollouts (rollout_info,
// controller reconcile histograms) export theirs, on the brain's `/metrics`. Counters and histograms are updated
// where the work happens; the per-rollout gauges are computed at scrape time from the controller's Rollout
// cache, so they cost nothing between scrapes and never report a rollout the cache no longer has.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Phase } from '../machine/types.js';

/** Every phase a Rollout can report; each is exported (0 when none), so a dashboard has no gaps. */
export const ROLLOUT_PHASES: readonly Phase[] = [
  'Pending',
  'Progressing',
  'Paused',
  'Promoting',
  'Succeeded',
  'RollingBack',
  'RolledBack',
  'Aborted',
];

/** How a rollout ended, for `sluice_rollout_duration_seconds{result}`. */
export type RolloutResult = 'succeeded' | 'rolled_back' | 'aborted';

/** controller-runtime's result labels: success, error (retried with back-off), requeue_after (a timer is set). */
export type ReconcileResult = 'success' | 'error' | 'requeue_after';

/** What the gauges are computed from: the Rollouts the controller's cache holds now. */
export interface RolloutGaugeSource {
  (): Iterable<{ namespace: string; service: string; phase: string | undefined; canaryWeight: number | undefined }>;
}

/** Rollout durations run from seconds (tests, short canaries) to hours (long bakes). */
const DURATION_BUCKETS_S = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400];
/** A reconcile is a few API calls: milliseconds, seconds when the API server is slow. */
const RECONCILE_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CONTROLLER = 'rollout';

export class ControllerMetrics {
  readonly analysisQueries: Counter<string>;
  readonly analysisRounds: Counter<string>;
  readonly rollouts: Gauge<'phase'>;
  readonly canaryWeight: Gauge<'namespace' | 'service'>;
  readonly rolloutDuration: Histogram<'result'>;
  readonly reconciles: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  /** Shared with the gauges' collect(), which run with the gauge as `this`. */
  readonly #feed: { source: RolloutGaugeSource | undefined } = { source: undefined };

  constructor(registry: Registry) {
    const registers = [registry];
    const feed = this.#feed;
    this.analysisQueries = new Counter({
      name: 'sluice_analysis_queries_total',
      help: 'PromQL queries the analysis sent to Prometheus (one per metric template per batch when batching works)',
      registers,
    });
    this.analysisRounds = new Counter({
      name: 'sluice_analysis_rounds_total',
      help: 'Analysis rounds judged: one per rollout per round',
      registers,
    });
    this.rollouts = new Gauge({
      name: 'sluice_rollouts',
      help: 'Rollouts by phase (Succeeded, RolledBack and Aborted are the last outcome of an idle Service)',
      labelNames: ['phase'],
      registers,
      collect() {
        this.reset();
        // Only while the controller runs (it leads): a standby reports nothing rather than zeros.
        if (!feed.source) return;
        const counts = new Map<string, number>(ROLLOUT_PHASES.map((p) => [p, 0]));
        for (const r of feed.source()) if (r.phase) counts.set(r.phase, (counts.get(r.phase) ?? 0) + 1);
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
    this.canaryWeight = new Gauge({
      name: 'sluice_rollout_canary_weight',
      help: "The canary revision's share of traffic, percent (0 when no rollout is in progress)",
      labelNames: ['namespace', 'service'],
      registers,
      collect() {
        this.reset();
        for (const r of feed.source?.() ?? [])
          this.set({ namespace: r.namespace, service: r.service }, r.canaryWeight ?? 0);
      },
    });
    this.rolloutDuration = new Histogram({
      name: 'sluice_rollout_duration_seconds',
      help: 'Time from the start of a rollout to its end, by result',
      labelNames: ['result'],
      buckets: DURATION_BUCKETS_S,
      registers,
    });
    this.reconciles = new Counter({
      name: 'sluice_controller_reconcile_total',
      help: 'Reconciles by controller and result (success, error, requeue_after)',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'sluice_controller_reconcile_errors_total',
      help: 'Reconciles that failed and will be retried with back-off',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'sluice_controller_reconcile_time_seconds',
      help: 'Time per reconcile',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS_S,
      registers,
    });
    for (const result of ['success', 'error', 'requeue_after'] as const)
      this.reconciles.inc({ controller: CONTROLLER, result }, 0);
    this.reconcileErrors.inc({ controller: CONTROLLER }, 0);
    for (const result of ['succeeded', 'rolled_back', 'aborted'] as const) this.rolloutDuration.zero({ result });
  }

  /** The running controller's cache; undefined while it does not run (not leading). */
  setSource(source: RolloutGaugeSource | undefined): void {
    this.#feed.source = source;
  }

  reconciled(result: ReconcileResult, seconds: number): void {
    this.reconciles.inc({ controller: CONTROLLER, result });
    if (result === 'error') this.reconcileErrors.inc({ controller: CONTROLLER });
    this.reconcileTime.observe({ controller: CONTROLLER }, seconds);
  }

  /** A rollout reached a terminal phase `seconds` after it started. */
  rolloutEnded(phase: Phase, seconds: number): void {
    const result: RolloutResult | undefined =
      phase === 'Succeeded'
        ? 'succeeded'
        : phase === 'RolledBack'
          ? 'rolled_back'
          : phase === 'Aborted'
            ? 'aborted'
            : undefined;
    if (result) this.rolloutDuration.observe({ result }, Math.max(0, seconds));
  }
}
