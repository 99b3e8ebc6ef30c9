// Broker defaulting as Knative's webhook does it: spec.config and spec.delivery from config-br-defaults for the
// Broker's class and namespace (each only when absent), KReference namespaces defaulted to the Broker's, and the
// class annotation added only when its key is absent (an empty value is kept, and validation rejects it).
import { isRecord } from '../serving/json.js';
import { BROKER_CLASS_KEY, MT_BROKER_CLASS, SYSTEM_NAMESPACE } from './keys.js';
import type { Broker, DeliverySpec, Destination, KReference } from './types.js';

/** One class's default: a KReference (inline) plus delivery. */
export interface BrokerClassConfig extends KReference {
  delivery?: DeliverySpec;
}

export interface BrokerScopeDefaults extends BrokerClassConfig {
  brokerClass?: string;
  brokerClasses?: Record<string, BrokerClassConfig>;
  disallowDifferentNamespaceConfig?: boolean;
}

/** The `default-br-config` value of ConfigMap config-br-defaults. */
export interface BrokerDefaults {
  clusterDefault?: BrokerScopeDefaults;
  namespaceDefaults?: Record<string, BrokerScopeDefaults>;
}

/** What Knative ships in config-br-defaults. */
export const SHIPPED_BROKER_DEFAULTS: BrokerDefaults = {
  clusterDefault: {
    brokerClass: MT_BROKER_CLASS,
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: 'config-br-default-channel',
    namespace: SYSTEM_NAMESPACE,
    delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' },
  },
};

const hasRef = (c: BrokerClassConfig | undefined): c is BrokerClassConfig =>
  !!c && (c.name !== undefined || c.kind !== undefined || c.apiVersion !== undefined);

/** Defaults.GetBrokerConfig: the config for a namespace and (optional) class; undefined when none applies. */
export function brokerConfigFor(
  d: BrokerDefaults,
  namespace: string,
  brokerClass: string | undefined,
): BrokerClassConfig | undefined {
  const ns = d.namespaceDefaults?.[namespace];
  const cluster = d.clusterDefault;
  if (brokerClass) {
    if (ns) {
      if (ns.brokerClass === brokerClass && hasRef(ns)) return ns;
      const c = ns.brokerClasses?.[brokerClass];
      if (c) return c;
    }
    if (cluster) {
      if (cluster.brokerClass === brokerClass && hasRef(cluster)) return cluster;
      const c = cluster.brokerClasses?.[brokerClass];
      if (c) return c;
    }
    return hasRef(cluster) ? cluster : undefined;
  }
  if (ns) return hasRef(ns) ? ns : undefined;
  return hasRef(cluster) ? cluster : undefined;
}

/** The default class for a namespace: the namespace's, else the cluster's, else MTChannelBasedBroker. */
export function defaultBrokerClass(d: BrokerDefaults, namespace: string): string {
  return d.namespaceDefaults?.[namespace]?.brokerClass ?? d.clusterDefault?.brokerClass ?? MT_BROKER_CLASS;
}

export function defaultDestination(dest: Destination | undefined, namespace: string): Destination | undefined {
  if (!dest?.ref || dest.ref.namespace) return dest;
  return { ...dest, ref: { ...dest.ref, namespace } };
}

export function defaultDeliveryNamespaces(ds: DeliverySpec | undefined, namespace: string): DeliverySpec | undefined {
  if (!ds?.deadLetterSink) return ds;
  return { ...ds, deadLetterSink: defaultDestination(ds.deadLetterSink, namespace) };
}

/** Parses config-br-defaults' `default-br-config` (YAML or JSON, already decoded) leniently. */
export function brokerDefaultsFrom(v: unknown): BrokerDefaults {
  return isRecord(v) ? (v as BrokerDefaults) : SHIPPED_BROKER_DEFAULTS;
}

export function defaultBroker(b: Broker, defaults: BrokerDefaults = SHIPPED_BROKER_DEFAULTS): Broker {
  const namespace = b.metadata?.namespace ?? '';
  const annotations = b.metadata?.annotations ?? {};
  const spec = { ...(b.spec ?? {}) };
  const cls = annotations[BROKER_CLASS_KEY];
  const c = brokerConfigFor(defaults, namespace, cls);
  if (c) {
    if (!spec.config) {
      const ref: KReference = {};
      for (const k of ['apiVersion', 'kind', 'name', 'namespace', 'group'] as const)
        if (c[k] !== undefined) ref[k] = c[k];
      spec.config = ref;
    }
    if (!spec.delivery && c.delivery) {
      const d: DeliverySpec = {};
      const cd = c.delivery;
      if (cd.deadLetterSink !== undefined) d.deadLetterSink = cd.deadLetterSink;
      if (cd.retry !== undefined) d.retry = cd.retry;
      if (cd.backoffPolicy !== undefined) d.backoffPolicy = cd.backoffPolicy;
      if (cd.backoffDelay !== undefined) d.backoffDelay = cd.backoffDelay;
      spec.delivery = d;
    }
  }
  if (spec.config && !spec.config.namespace) spec.config = { ...spec.config, namespace };
  if (spec.delivery) spec.delivery = defaultDeliveryNamespaces(spec.delivery, namespace);
  const meta = { ...(b.metadata ?? {}) };
  if (!(BROKER_CLASS_KEY in annotations)) {
    meta.annotations = { ...annotations, [BROKER_CLASS_KEY]: defaultBrokerClass(defaults, namespace) };
  }
  return { ...b, metadata: meta, spec };
}
