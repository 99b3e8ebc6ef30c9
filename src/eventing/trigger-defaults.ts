// Trigger defaulting as Knative's webhook does it: `filter: {}` when absent, subscriber and dead-letter ref
// namespaces defaulted to the Trigger's, and the label eventing.knative.dev/broker=<spec.broker>.
import { defaultDeliveryNamespaces, defaultDestination } from './broker-defaults.js';
import { BROKER_LABEL } from './keys.js';
import type { Trigger } from './types.js';

export function defaultTrigger(t: Trigger): Trigger {
  const namespace = t.metadata?.namespace ?? '';
  const spec = { ...(t.spec ?? {}) };
  if (!spec.filter) spec.filter = {};
  if (spec.subscriber) spec.subscriber = defaultDestination(spec.subscriber, namespace);
  if (spec.delivery) spec.delivery = defaultDeliveryNamespaces(spec.delivery, namespace);
  const meta = { ...(t.metadata ?? {}) };
  if (spec.broker) meta.labels = { ...(meta.labels ?? {}), [BROKER_LABEL]: spec.broker };
  return { ...t, metadata: meta, spec };
}
