// The shapes the controller reads and writes: Knative Service and Revision (only the fields it needs), the
// Rollout object, and the notification a Notifier receives.
import type { KubeObject } from '../../kube/index.js';
import type { AlertSpec, RolloutPolicySpec } from '../policy/types.js';
import type { Command, EventKind, RolloutState, TrafficTarget } from '../machine/types.js';
import type { RolloutStatus } from '../machine/status.js';
import type { PastRollout, PlanSummary, TimelineEntry } from './timeline.js';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** One entry of a Knative traffic block as stored: every field optional (Knative omits `percent: 0`). */
export interface KnativeTrafficTarget {
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  percent?: number;
  tag?: string;
  url?: string;
}

export interface ServiceObject extends KubeObject {
  spec?: { template?: unknown; traffic?: KnativeTrafficTarget[] };
  status?: {
    observedGeneration?: number;
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    traffic?: KnativeTrafficTarget[];
    conditions?: Condition[];
  };
}

export interface RevisionObject extends KubeObject {
  status?: { conditions?: Condition[] };
}

/** One analysis round as shown on the Rollout: values next to the thresholds they were judged against. */
export interface MetricComparison {
  judge: 'mannWhitney';
  canaryMean: number;
  stableMean: number;
  canaryCount: number;
  stableCount: number;
  /** canary mean / stable mean (absent when the stable mean is 0). */
  meanRatio?: number;
  pValue: number;
}

export interface AnalysisRunRecord {
  /** RFC 3339 time of the round. */
  at: string;
  revision: string;
  /** The step the rollout was at when the round was consumed. */
  step: number;
  verdict: 'pass' | 'fail' | 'hold';
  metrics: {
    metric: string;
    status: string;
    verdict: 'pass' | 'fail' | 'hold';
    value?: number;
    min?: number;
    max?: number;
    reason?: string;
    /** The PromQL sent (the batched form when batched). */
    query?: string;
    /** Builtins: the Knative request metrics family the query was written for. */
    family?: string;
    /** No data: requests the revision served in the window, when counted. */
    requests?: number;
    /** A judge that compares canary with stable (Mann-Whitney): both sides of the comparison of this round. */
    compare?: MetricComparison;
  }[];
}

export interface RolloutObjectStatus extends Partial<Omit<RolloutStatus, 'state'>> {
  state?: RolloutState;
  policy?: string;
  analysisRuns?: AnalysisRunRecord[];
  pendingNotifications?: RolloutNotification[];
  observedGeneration?: number;
  /** The policy's steps and limits as the controller walks them (for views). */
  plan?: PlanSummary;
  /** Every decision and human action, newest last (bounded: TIMELINE_LIMIT). */
  timeline?: TimelineEntry[];
  /** Finished rollouts of this Service, newest last (bounded: PAST_ROLLOUTS_LIMIT). */
  pastRollouts?: PastRollout[];
  conditions?: Condition[];
  /** The RolloutPolicy (name, generation, spec) the last decision was made under. */
  governingPolicy?: { name: string; generation?: number; spec: RolloutPolicySpec };
}

/** What the controller writes on a RolloutPolicy. */
export interface PolicyObjectStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface RolloutObject extends KubeObject {
  spec?: {
    serviceName?: string;
    policyRef?: { name: string };
    /** `by`: who asked (the CLI's $USER, the dashboard's signed-in user); `reason`: why, shown in the timeline. */
    commands?: (Command & { by?: string; reason?: string })[];
  };
  status?: RolloutObjectStatus;
}

/** What a Notifier receives: one machine `notify` action plus what a sink needs to route it. */
export interface RolloutNotification {
  /** Stable across restarts and redeliveries; sinks de-duplicate on it. */
  id: string;
  event: EventKind;
  namespace: string;
  service: string;
  revision: string;
  stableRevision: string;
  step: number;
  weight: number;
  message: string;
  /** When the machine decided, ms since the epoch. */
  at: number;
  /** The policy's alert sinks (for the alerts dispatcher; the default notifier ignores them). */
  alerts?: AlertSpec[];
  /** The policy asks for a Git revert of the failed commit after a rollback. */
  gitRevert?: boolean;
}

/**
 * Where rollout events go. Delivery is at least once: a notification is persisted with the state that
 * produced it and redelivered after a crash until `notify` resolves, so implementations de-duplicate on `id`.
 * A rejected promise is retried on the next reconcile of that rollout.
 */
export interface Notifier {
  notify(event: RolloutNotification): Promise<void>;
}

export type { TrafficTarget };
