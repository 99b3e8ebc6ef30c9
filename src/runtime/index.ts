// runtime/: the embedded data plane. Revision processes (spawn, readiness, restart with back-off, scale to and
// from zero), the image → command table, one HTTP router (hosts, tags, exact weighted split, activation,
// timeouts) and per-revision Knative metrics. The Serving reconcilers drive it through `Runtime`.
export { Runtime, type RuntimeOptions, type RuntimeEvents } from './runtime.js';
export {
  ImageTable,
  builtinImageEntries,
  parseImageRef,
  samplesDir,
  type ImageEntry,
  type ImageRef,
  type ResolvedCommand,
} from './image-table.js';
export {
  decide,
  initialAutoscalerState,
  ConcurrencyAverager,
  ConcurrencyWindow,
  type AutoscalerSpec,
  type AutoscalerState,
  type Observation,
  type Decision,
} from './autoscaler.js';
export {
  resolveAutoscaling,
  knativeAutoscalerDefaults,
  parseGoDuration,
  type AutoscalerConfig,
} from './annotations.js';
export {
  Router,
  routeHosts,
  normaliseHost,
  renderHostTemplate,
  REVISION_HEADER,
  SLUICE_REVISION_HEADER,
  TAG_HEADER,
  type RoutePick,
} from './router.js';
export { RuntimeMetrics, KNATIVE_LATENCY_BUCKETS_MS, type RevisionLabels } from './metrics.js';
export { SmoothWeightedRoundRobin } from './weighted-split.js';
export { revisionSpecFromKnative } from './from-knative.js';
export { RuntimeError, type RuntimeErrorCode } from './errors.js';
export type * from './types.js';
