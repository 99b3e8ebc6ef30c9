// rollout/controller: the runner of the pure machine against the Kubernetes API. Governs Knative Services
// matched by RolloutPolicies (API objects and an optional policies/ directory), keeps each rollout's state in
// its Rollout object, writes traffic as one patch of the Service's spec.traffic, batches analysis across all
// rollouts, and reports events through a Notifier. Imports kube/; the pure core does not import this folder.
export {
  startRolloutController,
  type RolloutController,
  type RolloutControllerOptions,
  type RolloutControllerStats,
} from './controller.js';
export { ControllerMetrics, ROLLOUT_PHASES, type RolloutGaugeSource } from './metrics.js';
export { EventNotifier, eventName } from './notifier.js';
export { PolicySet, validateApiPolicy, type GoverningPolicy, type PolicyProblems } from './policies.js';
export {
  revisionReadiness,
  normalizeTraffic,
  sameTargets,
  specTrafficIs,
  pickStable,
  observedTraffic,
  matchesLabels,
} from './observe.js';
export { buildStatus, analysisRecord, appendRun, notificationsOf, canonical, ANALYSIS_HISTORY } from './status.js';
export {
  actionsOf,
  appendPast,
  appendTimeline,
  decisionsOf,
  finishedRollout,
  TIMELINE_LIMIT,
  PAST_ROLLOUTS_LIMIT,
  CONTROLLER_ACTOR,
  type TimelineEntry,
  type PastRollout,
  planSummary,
  type PlanSummary,
} from './timeline.js';
export { appendRolloutCommand, REASON_MAX, type CommandRequest } from './commands.js';
export type * from './types.js';
