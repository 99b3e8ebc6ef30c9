// What the data plane observed → a Revision's status, as Knative's PropagateDeploymentStatus and
// PropagateAutoscalerStatus would set it. Pure; the Revision reconciler writes the result once.
import { markActiveFalse, propagateRevisionObservation, REASON_NO_TRAFFIC } from '../revision-lifecycle.js';
import type { RevisionStatus } from '../types.js';
import type { DataPlaneRevisionStatus } from './data-plane.js';

export const NO_TRAFFIC_MESSAGE = 'The target is not receiving traffic.';

/**
 * The runtime's crash-loop message counts restarts and back-off ("Restart 3 after a 4000 ms back-off");
 * stored as is, every restart would rewrite the status. The count is dropped; the cause and the log file
 * stay, which is what a person needs.
 */
export function stableFailureMessage(message: string): string {
  return message.replace(/Restart \d+ after an? \d+ ms back-off/g, 'Restarting with back-off');
}

export function revisionStatusFromObservation(
  prev: RevisionStatus | undefined,
  nowMs: number,
  o: DataPlaneRevisionStatus,
  generation: number,
): RevisionStatus {
  const counts = { actualReplicas: o.actualReplicas, desiredReplicas: o.desiredReplicas, routed: true };
  let s: RevisionStatus;
  if (o.ready === 'False') {
    s = propagateRevisionObservation(prev, nowMs, {
      ...counts,
      ready: false,
      failure: { reason: o.reason || 'RevisionFailed', message: stableFailureMessage(o.message) },
    });
  } else if (o.ready === 'True') {
    s = propagateRevisionObservation(prev, nowMs, { ...counts, ready: true });
    // Ready but no process: scaled to zero (or never scaled up because nothing routes to it).
    if (!o.active) s = markActiveFalse(s, nowMs, REASON_NO_TRAFFIC, NO_TRAFFIC_MESSAGE);
  } else {
    s = propagateRevisionObservation(prev, nowMs, { ...counts, ready: false });
  }
  return { ...s, observedGeneration: generation };
}
