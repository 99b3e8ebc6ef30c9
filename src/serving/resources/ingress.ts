// The Ingress a Route owns (pkg/reconciler/route/resources/ingress.go MakeIngress): one rule per traffic
// name ("" and each tag) with its hosts, visibility and splits, the Route's labels and annotations plus the
// ingress class and the serialized gradual rollout. The embedded data plane is programmed from the same
// IngressProgram; the object is what makes that programming, and the rollout, durable and visible.

import { ANNOTATION_LAST_APPLIED, ANNOTATION_ROLLOUT, LABEL_ROUTE } from '../keys.js';
import type { IngressProgram } from '../route-reconcile.js';
import type { Condition, ObjectMeta, Route } from '../types.js';
import { controllerRef } from './owner-ref.js';

export const INGRESS_API_VERSION = 'networking.internal.knative.dev/v1alpha1';
export const ANNOTATION_INGRESS_CLASS = 'networking.knative.dev/ingress.class';
/** The embedded router is the ingress implementation in `sluice start`. */
export const EMBEDDED_INGRESS_CLASS = 'sluice.ingress.networking.knative.dev';
export const LABEL_ROUTE_NAMESPACE = 'serving.knative.dev/routeNamespace';

export interface IngressBackendSplit {
  serviceNamespace: string;
  serviceName: string;
  servicePort: number;
  percent: number;
  appendHeaders: Record<string, string>;
}

export interface IngressRule {
  hosts: string[];
  visibility: string;
  http: { paths: { splits: IngressBackendSplit[]; appendHeaders?: Record<string, string> }[] };
}

export interface Ingress {
  apiVersion: string;
  kind: 'Ingress';
  metadata: ObjectMeta;
  spec: { rules: IngressRule[]; httpOption: string };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/** Rules sorted by traffic name so the object is stable across reconciles. */
export function makeIngress(
  route: Route,
  program: Pick<IngressProgram, 'splits' | 'hosts' | 'visibility' | 'rolloutAnnotation'>,
): Ingress {
  const meta = route.metadata ?? {};
  const ns = meta.namespace ?? '';
  const annotations: Record<string, string> = Object.fromEntries(
    Object.entries(meta.annotations ?? {}).filter(([k]) => k !== ANNOTATION_LAST_APPLIED),
  );
  annotations[ANNOTATION_INGRESS_CLASS] = EMBEDDED_INGRESS_CLASS;
  annotations[ANNOTATION_ROLLOUT] = program.rolloutAnnotation.value;
  const names = [...program.splits.keys()].sort();
  const rules: IngressRule[] = names.map((name) => {
    const hosts = Object.entries(program.hosts)
      .filter(([, n]) => n === name)
      .map(([h]) => h)
      .sort();
    const splits = (program.splits.get(name) ?? []).map((s) => ({
      serviceNamespace: ns,
      serviceName: s.revisionName,
      servicePort: 80,
      percent: s.percent,
      appendHeaders: { 'Knative-Serving-Revision': s.revisionName, 'Knative-Serving-Namespace': ns },
    }));
    const path: IngressRule['http']['paths'][number] = { splits };
    if (name !== '') path.appendHeaders = { 'Knative-Serving-Tag': name };
    return { hosts, visibility: program.visibility.get(name) ?? 'ExternalIP', http: { paths: [path] } };
  });
  return {
    apiVersion: INGRESS_API_VERSION,
    kind: 'Ingress',
    metadata: {
      name: meta.name ?? '',
      namespace: ns,
      labels: { ...(meta.labels ?? {}), [LABEL_ROUTE]: meta.name ?? '', [LABEL_ROUTE_NAMESPACE]: ns },
      annotations,
      ownerReferences: [{ ...controllerRef('Route', route) }],
    },
    spec: { rules, httpOption: 'Enabled' },
  };
}

/** The embedded router applies a programming synchronously, so a written Ingress is ready at once. */
export function readyIngressStatus(generation: number, nowIso: string): NonNullable<Ingress['status']> {
  const c = (type: string): Condition => ({ type, status: 'True', lastTransitionTime: nowIso });
  return { observedGeneration: generation, conditions: [c('LoadBalancerReady'), c('NetworkConfigured'), c('Ready')] };
}
