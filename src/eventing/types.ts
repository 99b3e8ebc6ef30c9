// Knative Eventing v1 object shapes (eventing.knative.dev/v1 Broker and Trigger, sources.knative.dev/v1
// SinkBinding) as they travel as JSON. Every field is optional because admission sees whatever a user wrote.
import type { Condition, ObjectMeta } from '../serving/types.js';

export type { Condition, ObjectMeta };

/** duckv1.KReference: a reference to an object, namespace defaulted by the webhook. */
export interface KReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  group?: string;
}

/** duckv1.Destination: `ref` and/or `uri` (a `uri` with a `ref` is resolved relative to the ref's address). */
export interface Destination {
  ref?: KReference;
  uri?: string;
  CACerts?: string;
  audience?: string;
}

export type BackoffPolicy = 'linear' | 'exponential';

/** duckv1.DeliverySpec. Durations are ISO-8601 periods (`PT0.2S`). */
export interface DeliverySpec {
  deadLetterSink?: Destination;
  /** Retries after the first attempt. */
  retry?: number;
  timeout?: string;
  backoffPolicy?: string;
  backoffDelay?: string;
  retryAfterMax?: string;
  format?: string;
}

export interface BrokerSpec {
  config?: KReference;
  delivery?: DeliverySpec;
}

export interface Addressable {
  name?: string;
  url?: string;
  CACerts?: string;
  audience?: string;
}

export interface BrokerStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  annotations?: Record<string, string>;
  address?: Addressable;
  addresses?: Addressable[];
  deadLetterSinkUri?: string;
  [k: string]: unknown;
}

export interface Broker {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: BrokerSpec;
  status?: BrokerStatus;
}

/** One element of Trigger `spec.filters`: exactly one dialect. */
export interface SubscriptionsAPIFilter {
  all?: SubscriptionsAPIFilter[];
  any?: SubscriptionsAPIFilter[];
  not?: SubscriptionsAPIFilter;
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  cesql?: string;
}

export interface TriggerSpec {
  broker?: string;
  brokerRef?: KReference;
  filter?: { attributes?: Record<string, string> };
  filters?: SubscriptionsAPIFilter[];
  subscriber?: Destination;
  delivery?: DeliverySpec;
}

export interface TriggerStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  subscriberUri?: string;
  deadLetterSinkUri?: string;
  [k: string]: unknown;
}

export interface Trigger {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: TriggerSpec;
  status?: TriggerStatus;
}

export interface SinkBindingSpec {
  sink?: Destination;
  subject?: KReference & { selector?: Record<string, unknown> };
  ceOverrides?: { extensions?: Record<string, string> };
}

export interface SinkBindingStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  sinkUri?: string;
  [k: string]: unknown;
}

export interface SinkBinding {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: SinkBindingSpec;
  status?: SinkBindingStatus;
}

export type EventingKind = 'Broker' | 'Trigger' | 'SinkBinding';
