// The Eventing resources the reconcilers read and write, named once.
import type { ResourceRef } from '../../kube/index.js';

export const ER = {
  brokers: { group: 'eventing.knative.dev', version: 'v1', plural: 'brokers', kind: 'Broker', namespaced: true },
  triggers: { group: 'eventing.knative.dev', version: 'v1', plural: 'triggers', kind: 'Trigger', namespaced: true },
  sinkBindings: {
    group: 'sources.knative.dev',
    version: 'v1',
    plural: 'sinkbindings',
    kind: 'SinkBinding',
    namespaced: true,
  },
} as const satisfies Record<string, ResourceRef>;
