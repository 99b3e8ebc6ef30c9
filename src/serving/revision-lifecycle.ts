// Revision status transitions (revision_lifecycle.go). Active is informational (not part of Ready):
// a Revision scaled to zero stays Ready with Active=False.

import { ConditionSet, withConditions } from './conditions.js';
import type { RevisionStatus } from './types.js';

export const REVISION_CONDITIONS = ConditionSet.living('ResourcesAvailable', 'ContainerHealthy');

export const REASON_CONTAINER_MISSING = 'ContainerMissing';
export const REASON_RESOLVING_DIGESTS = 'ResolvingDigests';
export const REASON_DEPLOYING = 'Deploying';
export const REASON_NOT_OWNED = 'NotOwned';
export const REASON_PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';
/** Autoscaler reasons for Active=False when a Revision has no traffic or scaled to zero. */
export const REASON_NO_TRAFFIC = 'NoTraffic';
export const REASON_QUEUED = 'Queued';
export const REASON_ACTIVATING = 'Activating';

type T = RevisionStatus;
const on = (s: T | undefined, now: number, fn: Parameters<typeof withConditions>[3]): T =>
  withConditions(REVISION_CONDITIONS, s, now, fn);

export const initializeRevisionConditions = (s: T | undefined, now: number): T => on(s, now, (m) => m.initialize());
export const markActiveTrue = (s: T | undefined, now: number): T => on(s, now, (m) => m.markTrue('Active'));
export const markActiveFalse = (s: T | undefined, now: number, reason: string, message: string): T =>
  on(s, now, (m) => m.markFalse('Active', reason, message));
export const markActiveUnknown = (s: T | undefined, now: number, reason: string, message: string): T =>
  on(s, now, (m) => m.markUnknown('Active', reason, message));
export const markContainerHealthyTrue = (s: T | undefined, now: number): T =>
  on(s, now, (m) => m.markTrue('ContainerHealthy'));
export const markContainerHealthyFalse = (s: T | undefined, now: number, reason: string, message: string): T =>
  on(s, now, (m) => m.markFalse('ContainerHealthy', reason, message));
export const markContainerHealthyUnknown = (s: T | undefined, now: number, reason: string, message: string): T =>
  on(s, now, (m) => m.markUnknown('ContainerHealthy', reason, message));
export const markResourcesAvailableTrue = (s: T | undefined, now: number): T =>
  on(s, now, (m) => m.markTrue('ResourcesAvailable'));
export const markResourcesAvailableFalse = (s: T | undefined, now: number, reason: string, message: string): T =>
  on(s, now, (m) => m.markFalse('ResourcesAvailable', reason, message));
export const markResourcesAvailableUnknown = (s: T | undefined, now: number, reason: string, message: string): T =>
  on(s, now, (m) => m.markUnknown('ResourcesAvailable', reason, message));

/** `There is an existing Deployment "x" that we do not own.` */
export const resourceNotOwnedMessage = (kind: string, name: string): string =>
  `There is an existing ${kind} ${JSON.stringify(name)} that we do not own.`;
export const exitCodeReason = (code: number): string => `ExitCode${code}`;
export const revisionContainerExitingMessage = (message: string): string => `Container failed with: ${message}`;
export const revisionContainerMissingMessage = (image: string, message: string): string =>
  `Unable to fetch image ${JSON.stringify(image)}: ${message}`;

/**
 * What the embedded data plane observed about a Revision's process(es), standing in for the
 * Deployment and PodAutoscaler that real Knative watches.
 */
export interface RevisionObservation {
  /** Processes are up and pass readiness. */
  ready: boolean;
  /** Set when a container exited or cannot start; makes ContainerHealthy and ResourcesAvailable False. */
  failure?: { reason: string; message: string };
  /** Running instances; 0 means scaled to zero. */
  actualReplicas: number;
  desiredReplicas: number;
  /** True when the Revision carries no traffic (Active=False/NoTraffic when scaled to zero). */
  routed: boolean;
}

/**
 * Recomputes a Revision's conditions from an observation, the way PropagateDeploymentStatus and
 * PropagateAutoscalerStatus combine for a KPA-scaled Revision.
 */
export function propagateRevisionObservation(s: T | undefined, now: number, o: RevisionObservation): T {
  let next: T = { ...(s ?? {}), actualReplicas: o.actualReplicas, desiredReplicas: o.desiredReplicas };
  next = initializeRevisionConditions(next, now);
  if (o.failure) {
    next = markContainerHealthyFalse(next, now, o.failure.reason, o.failure.message);
    next = markResourcesAvailableFalse(next, now, o.failure.reason, o.failure.message);
    return markActiveFalse(next, now, o.failure.reason, o.failure.message);
  }
  if (o.ready) {
    next = markResourcesAvailableTrue(next, now);
    next = markContainerHealthyTrue(next, now);
    return markActiveTrue(next, now);
  }
  const wasReady = next.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (wasReady && o.actualReplicas === 0) {
    // Scaled to zero after having been ready: Ready stays True, only Active reports it.
    return markActiveFalse(next, now, REASON_NO_TRAFFIC, 'The target is not receiving traffic.');
  }
  next = markResourcesAvailableUnknown(next, now, REASON_DEPLOYING, '');
  return markActiveUnknown(next, now, REASON_DEPLOYING, '');
}
