// The Route a Service owns (pkg/reconciler/service/resources/route.go).

import { ANNOTATION_LAST_APPLIED, API_VERSION, LABEL_SERVICE } from '../keys.js';
import { configurationName, routeName } from '../names.js';
import type { Route, Service } from '../types.js';
import { controllerRef } from './owner-ref.js';

/** Targets without a revision name follow the Service's own Configuration. */
export function makeRoute(service: Service): Route {
  const meta = service.metadata ?? {};
  const annotations = Object.fromEntries(
    Object.entries(meta.annotations ?? {}).filter(([k]) => k !== ANNOTATION_LAST_APPLIED),
  );
  const traffic = (service.spec?.traffic ?? []).map((t) => {
    const out = { ...t };
    if (!out.revisionName) out.configurationName = configurationName(service);
    return out;
  });
  return {
    apiVersion: API_VERSION,
    kind: 'Route',
    metadata: {
      name: routeName(service),
      namespace: meta.namespace ?? '',
      ownerReferences: [controllerRef('Service', service)],
      annotations,
      labels: { ...(meta.labels ?? {}), [LABEL_SERVICE]: meta.name ?? '' },
    },
    spec: { traffic },
  };
}
