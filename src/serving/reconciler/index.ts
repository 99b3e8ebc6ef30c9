// serving/reconciler: level-triggered reconcilers for Service, Configuration, Revision and Route. Each reads
// the informer caches, computes with serving/'s pure functions, and writes once — nothing when nothing
// changed. The data plane (runtime's Runtime) is reached only through the `DataPlane` interface.
export { ServingController, type ServingControllerOptions } from './controller.js';
export type {
  DataPlane,
  DataPlaneRevisionStatus,
  DataPlaneRoute,
  DataPlaneRouteTable,
  DataPlaneTrafficTarget,
} from './data-plane.js';
export {
  WorkQueue,
  retryDelayMs,
  encodeKey,
  decodeKey,
  type ReconcileKey,
  type ReconcileResult,
  type ReconcileFn,
  type WorkQueueOptions,
} from './work-queue.js';
export { ReconcilerError, TerminalError } from './errors.js';
export { reconcileService, ensureChild } from './service-reconciler.js';
export { reconcileConfiguration } from './configuration-reconciler.js';
export { reconcileRevision, routesReferencing, nextRoutingState, type RevisionDeps } from './revision-reconciler.js';
export { reconcileRoute, IngressTable, type RouteDeps } from './route-reconciler.js';
export { revisionStatusFromObservation, stableFailureMessage } from './revision-status.js';
export {
  networkConfigFromData,
  parseSeconds,
  SYSTEM_NAMESPACE,
  CONFIG_DOMAIN,
  CONFIG_NETWORK,
  CONFIG_AUTOSCALER,
} from './network-config.js';
export { dataPlaneRoute, hostAliases } from './route-table.js';
export { keepTransitionTimes, jsonEqual, canonicalJson } from './status-diff.js';
export type { Lister, Listers, KubeWriter, ReconcilerContext } from './context.js';
