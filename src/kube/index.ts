// src/kube: the only place that knows @kubernetes/client-node. Typed access, informers that never lose
// events, read-modify-write with conflict retry, and Lease-based leader election.
export { KubeClient } from './client.js';
export type {
  KubeObject,
  ObjectMeta,
  ObjectList,
  ListOptions,
  PatchType,
  WatchEventType,
  WatchHandle,
} from './client.js';
export { KubeApiError, isConflict, isNotFound } from './errors.js';
export { Informer, keyOf } from './informer.js';
export type { InformerOptions } from './informer.js';
export { updateWithRetry, patchWithRetry } from './update-retry.js';
export { LeaderElector, decideLease, microTime } from './leader.js';
export type { LeaseDecision, LeaseSpec } from './leader.js';
export { R, apiVersionOf, pathOf } from './resources.js';
export { KubeEventRecorder, noEvents } from './event-recorder.js';
export type { EventRecorder, EventType, KubeEventRecorderOptions } from './event-recorder.js';
export type { ResourceRef } from './resources.js';
