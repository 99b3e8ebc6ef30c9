// Knative Eventing's webhooks as API server admission hooks for eventing.knative.dev (Broker, Trigger) and
// sources.knative.dev (SinkBinding). Defaulting reads ConfigMap config-br-defaults and config-features in
// knative-eventing live, as Knative's webhook watches them, through `readConfigMap`.
import { parse as parseYaml } from 'yaml';
import { StatusError, type Admission, type KObject } from '../../apiserver/index.js';
import { admitEventing, defaultEventing, type EventingAdmissionOptions } from '../admission.js';
import { brokerDefaultsFrom, SHIPPED_BROKER_DEFAULTS } from '../broker-defaults.js';
import { featuresFrom } from '../delivery.js';
import {
  CONFIG_BR_DEFAULTS,
  CONFIG_FEATURES,
  DEFAULT_BR_CONFIG_KEY,
  EVENTING_GROUP,
  SOURCES_GROUP,
  SYSTEM_NAMESPACE,
} from '../keys.js';
import type { Broker, EventingKind } from '../types.js';

export type ConfigMapReader = (namespace: string, name: string) => KObject | undefined;

/** Admission options from the knative-eventing ConfigMaps; shipped defaults when absent or unreadable. */
export function eventingAdmissionOptions(read: ConfigMapReader): EventingAdmissionOptions {
  const data = (name: string): Record<string, unknown> | undefined => {
    const d = read(SYSTEM_NAMESPACE, name)?.['data'];
    return d && typeof d === 'object' ? (d as Record<string, unknown>) : undefined;
  };
  let brokerDefaults = SHIPPED_BROKER_DEFAULTS;
  const text = data(CONFIG_BR_DEFAULTS)?.[DEFAULT_BR_CONFIG_KEY];
  if (typeof text === 'string') {
    try {
      brokerDefaults = brokerDefaultsFrom(parseYaml(text));
    } catch {
      // Knative keeps its last good config when the ConfigMap does not parse; the shipped one is ours.
    }
  }
  return { brokerDefaults, features: featuresFrom(data(CONFIG_FEATURES)) };
}

const RESOURCES: ReadonlyArray<[group: string, plural: string, kind: EventingKind]> = [
  [EVENTING_GROUP, 'brokers', 'Broker'],
  [EVENTING_GROUP, 'triggers', 'Trigger'],
  [SOURCES_GROUP, 'sinkbindings', 'SinkBinding'],
];

/**
 * Registers defaulting (mutate) and validation (validate) for the Eventing kinds. A denial is a 400 whose
 * message kubectl prints as `admission webhook "validation.webhook.eventing.knative.dev" denied the request:
 * validation failed: …`. Status writes skip admission, as Knative's webhooks do.
 */
export function registerEventingAdmission(admission: Admission, read: ConfigMapReader): void {
  for (const [group, plural, kind] of RESOURCES) {
    admission.register(group, plural, {
      mutate: (req) =>
        defaultEventing(kind, req.object as Broker, eventingAdmissionOptions(read)) as unknown as KObject,
      validate: (req) => {
        const r = admitEventing(kind, req.operation, req.object, req.oldObject, eventingAdmissionOptions(read));
        if (!r.ok) throw new StatusError(400, 'BadRequest', r.message);
      },
    });
  }
}
