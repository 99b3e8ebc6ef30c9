// The Configuration a Service owns (pkg/reconciler/service/resources/configuration.go).

import {
  ANNOTATION_LAST_APPLIED,
  ANNOTATION_ROLLOUT_DURATION,
  ANNOTATION_ROUTES,
  API_VERSION,
  LABEL_SERVICE,
  LABEL_SERVICE_UID,
} from '../keys.js';
import { configurationName, routeName } from '../names.js';
import type { Configuration, Service } from '../types.js';
import { controllerRef } from './owner-ref.js';

/**
 * Builds the desired Configuration. `existing` keeps the list of Routes already recorded in the
 * serving.knative.dev/routes annotation. Rollout-duration and kubectl's last-applied annotations are
 * not copied: the former belongs to the Route only.
 */
export function makeConfiguration(service: Service, existing?: Configuration): Configuration {
  const meta = service.metadata ?? {};
  const exclude = new Set([ANNOTATION_LAST_APPLIED, ...ANNOTATION_ROLLOUT_DURATION]);
  const annotations = Object.fromEntries(Object.entries(meta.annotations ?? {}).filter(([k]) => !exclude.has(k)));
  const routes = new Set(
    (existing?.metadata?.annotations?.[ANNOTATION_ROUTES] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
  routes.add(routeName(service));
  annotations[ANNOTATION_ROUTES] = [...routes].sort().join(',');
  const labels: Record<string, string> = {
    ...(meta.labels ?? {}),
    [LABEL_SERVICE]: meta.name ?? '',
    [LABEL_SERVICE_UID]: meta.uid ?? '',
  };
  return {
    apiVersion: API_VERSION,
    kind: 'Configuration',
    metadata: {
      name: configurationName(service),
      namespace: meta.namespace ?? '',
      ownerReferences: [controllerRef('Service', service)],
      labels,
      annotations,
    },
    spec: { template: structuredClone(service.spec?.template ?? {}) },
  };
}
