// The RolloutPolicy spec as TypeScript. Field names are contract 5 of ARCHITECTURE.md: add, never rename.
// Durations are strings (`500ms`, `1s`, `5m`, `1h`, `1m30s`); `parseDuration` turns them into milliseconds.

export const API_VERSION = 'delivery.sluice.dev/v1alpha1';
export const POLICY_KIND = 'RolloutPolicy';

export interface TargetRef {
  name: string;
}
export interface LabelSelector {
  matchLabels: Record<string, string>;
}

export interface PauseStep {
  pause: { duration?: string };
}
export interface SetWeightStep {
  setWeight: number;
}
export interface AnalysisStep {
  analysis: { checks?: number; duration?: string };
}
export type CanaryStep = SetWeightStep | PauseStep | AnalysisStep;

export interface CanaryStrategy {
  steps?: CanaryStep[];
  /** Flagger-style: add `stepWeight` every `interval` up to `maxWeight`, then promote. */
  stepWeight?: number;
  stepWeights?: number[];
  maxWeight?: number;
  interval?: string;
  canaryTag?: string;
  stableTag?: string;
}

export interface BlueGreenStrategy {
  previewTag?: string;
  stableTag?: string;
  prePromotionAnalysis?: { checks?: number; duration?: string };
  /** Default true. When false, the preview waits for `sluice rollout promote`. */
  autoPromotionEnabled?: boolean;
  autoPromotionSeconds?: number;
}

export interface StringMatch {
  name: string;
  exact?: string;
  regex?: string;
}
export type AbMatch = { header: StringMatch } | { cookie: StringMatch };

export interface AbTestStrategy {
  /** The new revision's tag, which matching requests are routed to (default `b`). */
  tag?: string;
  stableTag?: string;
  match: AbMatch[];
  /** How long the experiment runs before promotion; absent: wait for `sluice rollout promote`. */
  duration?: string;
  analysis?: { checks?: number };
}

export interface RolloutStrategy {
  canary?: CanaryStrategy;
  blueGreen?: BlueGreenStrategy;
  abTest?: AbTestStrategy;
}

export type OnNoData = 'hold' | 'fail' | 'pass';

export interface MannWhitneyJudgeSpec {
  type: 'mannWhitney';
  /** Which way is bad: `increase` for latency and errors, `decrease` for success rate. Default `either`. */
  direction?: 'increase' | 'decrease' | 'either';
  /** Confidence level of the interval on the shift (Kayenta: 0.98). */
  confidence?: number;
  /** Shifts smaller than `tolerance` × |Hodges-Lehmann estimate| are ignored (Kayenta's fraction, 0.25). */
  tolerance?: number;
  /** Optional bound on the mean ratio canary/stable (effect size); a significant shift within it passes. */
  maxEffectSize?: number;
  /** A critical metric that fails (or has no data) fails the whole round and rolls back at once. */
  critical?: boolean;
  /** No data for canary or stable is a failure, not "no data" (Kayenta's mustHaveData). */
  mustHaveData?: boolean;
  /** Sample window and resolution of the comparison (a PromQL subquery `[lookback:resolution]`). */
  lookback?: string;
  resolution?: string;
}
export interface ThresholdJudgeSpec {
  type: 'threshold';
}
export type JudgeSpec = ThresholdJudgeSpec | MannWhitneyJudgeSpec;

export interface MetricSpec {
  /** Without `query`, one of the builtins (request-success-rate, request-duration, request-error-rate, request-rate). */
  name: string;
  /** PromQL template; variables: {{service}} {{namespace}} {{revision}} {{stableRevision}} {{interval}}. */
  query?: string;
  /** request-duration only: the latency percentile, 0 < p < 100 (default 99). */
  percentile?: number;
  /**
   * Requests the revision must have served in the window before an empty or NaN result stops being "waiting for
   * traffic" and ends an `onNoData: hold` at once (default 10).
   */
  minRequests?: number;
  thresholdRange?: { min?: number; max?: number };
  onNoData?: OnNoData;
  /** How long `hold` may last before `onNoDataTimeout` applies (default 5m). */
  noDataTimeout?: string;
  onNoDataTimeout?: 'fail' | 'pass';
  judge?: JudgeSpec;
}

export interface AnalysisSpec {
  interval: string;
  /** What {{interval}} renders to (default: interval). */
  window?: string;
  /** Failed checks that trigger the rollback (default 1). */
  failureLimit?: number;
  failureCounting?: 'consecutive' | 'cumulative';
  metrics: MetricSpec[];
}

/** Where a failed rollout goes back to; `gitRevert` also pushes a revert of the failed commit to Git. */
export type RollbackSpec = ({ to: 'pinned' } | { revisionName: string }) & { gitRevert?: boolean };

export type AlertType = 'webhook' | 'slack' | 'alertmanager' | 'cloudevents' | 'broker';
export interface AlertSpec {
  type: AlertType;
  url?: string;
  /** More instances of the same receiver (Alertmanager clusters get every alert on every instance). */
  urls?: string[];
  /** CloudEvents content mode (default binary). */
  mode?: 'binary' | 'structured';
  secretRef?: { name: string; key?: string };
  events?: string[];
  /** type broker: the Knative Broker's name. */
  broker?: string;
  /** type broker: the Broker's namespace (default: the Service's). */
  namespace?: string;
}

export interface RolloutPolicySpec {
  targetRef?: TargetRef;
  selector?: LabelSelector;
  strategy: RolloutStrategy;
  analysis?: AnalysisSpec;
  rollback?: RollbackSpec;
  rollbackWindow?: { revisions: number };
  progressDeadline?: string;
  alerts?: AlertSpec[];
}

export interface RolloutPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof POLICY_KIND;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: RolloutPolicySpec;
}
