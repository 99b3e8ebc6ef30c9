// The rollout machine's vocabulary. State is plain JSON (it is persisted in Rollout.status.state); every
// time is milliseconds since the Unix epoch, supplied by the caller.
import type { AbMatch, MetricSpec, RolloutPolicySpec } from '../policy/types.js';
import type { AnalysisRound, MetricStatus, NoDataCause } from '../analysis/result.js';

export type Phase =
  'Pending' | 'Progressing' | 'Paused' | 'Promoting' | 'Succeeded' | 'RollingBack' | 'RolledBack' | 'Aborted';
export const TERMINAL_PHASES: readonly Phase[] = ['Succeeded', 'RolledBack', 'Aborted'];
export type StrategyKind = 'canary' | 'blueGreen' | 'abTest';

/** One entry of a Knative traffic block. A list of them always sums to 100. */
export interface TrafficTarget {
  revisionName: string;
  /** Whole percent, 0..100. */
  percent: number;
  tag?: string;
}

export interface MetricSummary {
  metric: string;
  status: MetricStatus;
  value: number | null;
  reason?: string;
  /** The outcome after the no-data policy: `hold` while a metric waits for data. */
  verdict: 'pass' | 'fail' | 'hold';
  /** For no data: why, and how many requests the revision served in the window (when counted). */
  cause?: NoDataCause;
  requests?: number;
}

export interface AnalysisState {
  /** When the next round is wanted; null while analysis is not running. */
  dueAt: number | null;
  /** When `runAnalysis` was last emitted for `dueAt`; null when not yet asked. */
  requestedAt: number | null;
  /** `at` of the last round consumed; rounds at or before it are ignored (idempotence). */
  lastRoundAt: number | null;
  consecutiveFailures: number;
  totalFailures: number;
  /** Consecutive passing rounds since the current step began (for analysis steps). */
  passesInStep: number;
  /** Per metric: `at` of the first round of the current no-data streak. */
  noDataSince: Record<string, number>;
  /** Metrics that held the last round (no data, waiting). Progress waits while this is not empty. */
  holding: string[];
  lastResults: MetricSummary[];
}

export interface PauseInfo {
  /** `step`: a `pause: {}` step (or blue/green awaiting promotion); `user`: `sluice rollout pause`. */
  reason: 'step' | 'user';
  since: number;
}

export interface RolloutState {
  namespace: string;
  service: string;
  phase: Phase;
  strategy: StrategyKind;
  /** The pinned revision: serves 100 % outside a rollout, and is where a rollback returns. */
  stableRevision: string;
  /** The revision being rolled out (equals stableRevision when nothing is). */
  canaryRevision: string;
  /** Index into the plan's steps; equals totalSteps once all are done. */
  currentStep: number;
  totalSteps: number;
  stepStartedAt: number;
  /** The canary's share of traffic, 0..100. */
  canaryWeight: number;
  /** The desired traffic block last emitted (the whole list). */
  traffic: TrafficTarget[];
  /** Whether the A/B header route was asked for and not yet cleared. */
  headerRoute: boolean;
  pause: PauseInfo | null;
  analysis: AnalysisState;
  startedAt: number;
  /** Commands with seq ≤ this were applied already. */
  lastCommandSeq: number;
  message: string;
  /** Previously stable revisions, most recent first (for rollbackWindow). */
  history: string[];
  /** Started as a fast-track return to a recent stable revision (no analysis). */
  fastTrack: boolean;
}

export type Readiness = 'ready' | 'notReady' | 'failed' | 'missing';

export type CommandKind = 'promote' | 'abort' | 'pause' | 'resume' | 'retry';
export interface Command {
  /** Strictly increasing per Rollout; a command is applied once. */
  seq: number;
  kind: CommandKind;
  /** promote only: skip all remaining steps. */
  full?: boolean;
}

export interface Observations {
  /** The policy as it is now (level-triggered: edits apply from the next step on). */
  policy: RolloutPolicySpec;
  /** The Service's latest created revision. A new one starts (or supersedes) a rollout. */
  latestRevision?: string;
  /** Readiness of revisions by name; at least the canary's. Absent means not known yet (notReady). */
  revisions?: Record<string, Readiness>;
  /** The Route's traffic as observed; when given, Promoting and RollingBack finish once it matches. */
  traffic?: TrafficTarget[];
  commands?: Command[];
  analysis?: AnalysisRound;
}

export type EventKind =
  'started' | 'step' | 'paused' | 'promoted' | 'succeeded' | 'rolledBack' | 'aborted' | 'analysisFailed';

export interface RolloutRef {
  namespace: string;
  service: string;
}

export type Action =
  | ({ kind: 'setTraffic'; traffic: TrafficTarget[] } & RolloutRef)
  | ({ kind: 'setHeaderRoute'; tag: string; match: AbMatch[] } & RolloutRef)
  | ({ kind: 'clearHeaderRoute'; tag: string } & RolloutRef)
  | ({
      kind: 'runAnalysis';
      revision: string;
      stableRevision: string;
      metrics: MetricSpec[];
      /** Interval between rounds and what {{interval}} renders to, in ms. */
      intervalMs: number;
      windowMs: number;
    } & RolloutRef)
  | ({
      kind: 'notify';
      event: EventKind;
      revision: string;
      stableRevision: string;
      step: number;
      weight: number;
      message: string;
      at: number;
    } & RolloutRef);

export interface StepResult {
  state: RolloutState;
  /** In order: the runner persists `state`, then performs these. */
  actions: Action[];
  /** When to call `step` again if nothing else happens; null: only on a new observation. */
  wakeAt: number | null;
}
