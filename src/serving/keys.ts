// Label and annotation keys of Knative Serving v1, spelled exactly as Knative writes them.

export const GROUP = 'serving.knative.dev';
export const API_VERSION = 'serving.knative.dev/v1';

export const LABEL_SERVICE = 'serving.knative.dev/service';
export const LABEL_SERVICE_UID = 'serving.knative.dev/serviceUID';
export const LABEL_CONFIGURATION = 'serving.knative.dev/configuration';
export const LABEL_CONFIGURATION_UID = 'serving.knative.dev/configurationUID';
export const LABEL_CONFIGURATION_GENERATION = 'serving.knative.dev/configurationGeneration';
export const LABEL_REVISION = 'serving.knative.dev/revision';
export const LABEL_REVISION_UID = 'serving.knative.dev/revisionUID';
export const LABEL_ROUTE = 'serving.knative.dev/route';
export const LABEL_ROUTING_STATE = 'serving.knative.dev/routingState';

export const ANNOTATION_ROUTES = 'serving.knative.dev/routes';
export const ANNOTATION_ROUTING_STATE_MODIFIED = 'serving.knative.dev/routingStateModified';
export const ANNOTATION_CREATOR = 'serving.knative.dev/creator';
export const ANNOTATION_LAST_MODIFIER = 'serving.knative.dev/lastModifier';
export const ANNOTATION_LAST_PINNED = 'serving.knative.dev/lastPinned';
export const ANNOTATION_NO_GC = 'serving.knative.dev/no-gc';
/** Preferred key first; Knative still honours the camelCase spelling. */
export const ANNOTATION_ROLLOUT_DURATION = [
  'serving.knative.dev/rollout-duration',
  'serving.knative.dev/rolloutDuration',
];
export const ANNOTATION_PROGRESS_DEADLINE = ['serving.knative.dev/progress-deadline'];
export const ANNOTATION_LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export const LABEL_VISIBILITY = 'networking.knative.dev/visibility';
export const VISIBILITY_CLUSTER_LOCAL = 'cluster-local';
/** The Ingress annotation that carries the gradual rollout state as JSON. */
export const ANNOTATION_ROLLOUT = 'networking.internal.knative.dev/rollout';

export const AUTOSCALING_GROUP = 'autoscaling.knative.dev';

export type RoutingState = 'active' | 'pending' | 'reserve' | '';

/**
 * Looks up the first present key of a priority list (Go's kmap.KeyPriority.Get).
 * Returns [key, value, found]; when absent the key is the preferred one.
 */
export function getByPriority(
  m: Record<string, string> | undefined,
  keys: readonly string[],
): [string, string, boolean] {
  for (const k of keys) {
    const v = m?.[k];
    if (v !== undefined) return [k, v, true];
  }
  return [keys[0] ?? '', '', false];
}
