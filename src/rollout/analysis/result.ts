// What one check of one metric for one rollout found. Never a boolean: "no data" and "could not ask" are
// not "passed", and the machine needs the query and value to explain its decision.
import type { MetricFamily } from './families.js';

export interface MannWhitneyStats {
  /** Mann-Whitney U of canary vs stable, and the two-sided p-value (normal approximation, tie-corrected). */
  u: number;
  pValue: number;
  /** Hodges-Lehmann shift estimate (canary − stable) and its confidence interval at `confidence`. */
  estimate: number;
  lower: number;
  upper: number;
  confidence: number;
  /** Effect sizes: mean ratio canary/stable, and CLES = P(canary > stable). */
  meanRatio: number;
  cles: number;
  canaryCount: number;
  stableCount: number;
  /** The samples' means, so a view can show canary and stable side by side. */
  canaryMean: number;
  stableMean: number;
}

interface Base {
  metric: string;
  /** The PromQL actually sent (the batched form when batched). */
  query: string;
  /** For the statistical judge: the comparison behind the verdict. */
  stats?: MannWhitneyStats;
  /** Kayenta: a critical metric that fails rolls back at once, whatever failureLimit says. */
  critical?: boolean;
  /** For builtins: the Knative request metrics family the query was written for. */
  family?: MetricFamily;
}
export interface PassResult extends Base {
  status: 'pass';
  value: number;
  reason?: string;
}
export interface FailResult extends Base {
  status: 'fail';
  value: number | null;
  reason: string;
}
/**
 * Why a check has no data: `noTraffic` (the revision served fewer than minRequests requests in the window: wait),
 * `emptyQuery` (it served enough and the query is still empty or NaN: the query is the problem), `noMetrics` (no
 * Knative request metrics family answers in the namespace), `unavailable` (Prometheus could not be asked).
 */
export type NoDataCause = 'noTraffic' | 'emptyQuery' | 'noMetrics' | 'unavailable';
export interface NoDataResult extends Base {
  status: 'noData';
  reason: string;
  cause?: NoDataCause;
  /** Requests the revision served in the window, when Sluice could count them (the family's request count). */
  requests?: number;
}
export interface ErrorResult extends Base {
  status: 'error';
  reason: string;
  code: string;
}
export type MetricResult = PassResult | FailResult | NoDataResult | ErrorResult;
export type MetricStatus = MetricResult['status'];

/** One analysis round for one rollout: every metric, measured at `at` (ms since epoch). */
export interface AnalysisRound {
  /** The revision that was measured; a round for another revision is ignored. */
  revision: string;
  at: number;
  results: MetricResult[];
}
