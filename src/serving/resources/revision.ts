// The Revision a Configuration stamps out for its current generation
// (pkg/reconciler/configuration/resources/revision.go).

import { formatTime } from '../conditions.js';
import {
  ANNOTATION_CREATOR,
  ANNOTATION_LAST_MODIFIER,
  ANNOTATION_ROUTES,
  ANNOTATION_ROUTING_STATE_MODIFIED,
  API_VERSION,
  LABEL_CONFIGURATION,
  LABEL_CONFIGURATION_GENERATION,
  LABEL_CONFIGURATION_UID,
  LABEL_ROUTING_STATE,
  LABEL_SERVICE,
  LABEL_SERVICE_UID,
  type RoutingState,
} from '../keys.js';
import { revisionName } from '../names.js';
import type { Configuration, Revision } from '../types.js';
import { controllerRef } from './owner-ref.js';

/** The name the Configuration's current template produces: its own name, or `<config>-<generation>`. */
export function revisionNameFor(configuration: Configuration): string {
  return (
    configuration.spec?.template?.metadata?.name ||
    revisionName(configuration.metadata?.name ?? '', configuration.metadata?.generation ?? 0)
  );
}

/** Labels a Revision inherits from its Configuration; empty values are left out. */
export function revisionLabelsFrom(configuration: Configuration): Record<string, string> {
  const meta = configuration.metadata ?? {};
  const out: Record<string, string> = {};
  const put = (k: string, v: string | undefined): void => {
    if (v) out[k] = v;
  };
  put(LABEL_CONFIGURATION, meta.name);
  put(LABEL_SERVICE, meta.labels?.[LABEL_SERVICE]);
  put(LABEL_CONFIGURATION_GENERATION, String(meta.generation ?? 0));
  put(LABEL_CONFIGURATION_UID, meta.uid);
  put(LABEL_SERVICE_UID, meta.labels?.[LABEL_SERVICE_UID]);
  return out;
}

/**
 * Sets the routing state label and stamps when it changed (RFC 3339, seconds); unchanged state keeps
 * its timestamp. `nowMs` is milliseconds since the epoch.
 */
export function setRoutingState(rev: Revision, state: RoutingState, nowMs: number): Revision {
  const meta = rev.metadata ?? {};
  if (meta.annotations?.[ANNOTATION_ROUTING_STATE_MODIFIED] && meta.labels?.[LABEL_ROUTING_STATE] === state) return rev;
  return {
    ...rev,
    metadata: {
      ...meta,
      labels: { ...(meta.labels ?? {}), [LABEL_ROUTING_STATE]: state },
      annotations: { ...(meta.annotations ?? {}), [ANNOTATION_ROUTING_STATE_MODIFIED]: formatTime(nowMs) },
    },
  };
}

/**
 * Builds the Revision for the Configuration's current generation. It starts `pending`, or `active` when
 * the Configuration is already referenced by a Route (serving.knative.dev/routes).
 */
export function makeRevision(configuration: Configuration, nowMs: number): Revision {
  const template = structuredClone(configuration.spec?.template ?? {});
  const tmeta = template.metadata ?? {};
  let rev: Revision = {
    apiVersion: API_VERSION,
    kind: 'Revision',
    metadata: { ...tmeta, name: revisionNameFor(configuration), namespace: configuration.metadata?.namespace ?? '' },
    spec: template.spec ?? {},
  };
  rev = setRoutingState(rev, 'pending', nowMs);
  const meta = rev.metadata ?? {};
  const labels = { ...(meta.labels ?? {}), ...revisionLabelsFrom(configuration) };
  const annotations = { ...(meta.annotations ?? {}) };
  const cans = configuration.metadata?.annotations ?? {};
  const updater = cans[ANNOTATION_LAST_MODIFIER];
  if (updater !== undefined) annotations[ANNOTATION_CREATOR] = updater;
  rev = { ...rev, metadata: { ...meta, labels, annotations } };
  const routes = cans[ANNOTATION_ROUTES];
  if (routes !== undefined) {
    rev = { ...rev, metadata: { ...rev.metadata, annotations: { ...annotations, [ANNOTATION_ROUTES]: routes } } };
    rev = setRoutingState(rev, 'active', nowMs);
  }
  const finalMeta = rev.metadata ?? {};
  return {
    ...rev,
    metadata: {
      ...finalMeta,
      ownerReferences: [...(finalMeta.ownerReferences ?? []), controllerRef('Configuration', configuration)],
    },
  };
}
