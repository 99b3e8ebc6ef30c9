// The resources Sluice reads and writes, named once so every component agrees on group, version and plural.

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const ref = (group: string, version: string, plural: string, kind: string, namespaced = true): ResourceRef => ({
  group,
  version,
  plural,
  kind,
  namespaced,
});

export const R = {
  namespaces: ref('', 'v1', 'namespaces', 'Namespace', false),
  configMaps: ref('', 'v1', 'configmaps', 'ConfigMap'),
  secrets: ref('', 'v1', 'secrets', 'Secret'),
  events: ref('', 'v1', 'events', 'Event'),
  leases: ref('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  crds: ref('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false),
  services: ref('serving.knative.dev', 'v1', 'services', 'Service'),
  configurations: ref('serving.knative.dev', 'v1', 'configurations', 'Configuration'),
  revisions: ref('serving.knative.dev', 'v1', 'revisions', 'Revision'),
  routes: ref('serving.knative.dev', 'v1', 'routes', 'Route'),
  ingresses: ref('networking.internal.knative.dev', 'v1alpha1', 'ingresses', 'Ingress'),
  rollouts: ref('delivery.sluice.dev', 'v1alpha1', 'rollouts', 'Rollout'),
  rolloutPolicies: ref('delivery.sluice.dev', 'v1alpha1', 'rolloutpolicies', 'RolloutPolicy'),
  brokers: ref('eventing.knative.dev', 'v1', 'brokers', 'Broker'),
  triggers: ref('eventing.knative.dev', 'v1', 'triggers', 'Trigger'),
  sinkBindings: ref('sources.knative.dev', 'v1', 'sinkbindings', 'SinkBinding'),
} as const;

export function apiVersionOf(r: ResourceRef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The REST path of a collection or an object. */
export function pathOf(r: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name ? `/${encodeURIComponent(name)}` : '';
  const s = name && subresource ? `/${subresource}` : '';
  return `${base}${ns}/${r.plural}${n}${s}`;
}
