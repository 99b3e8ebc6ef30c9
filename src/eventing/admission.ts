// The pure entry point for admission of Eventing objects: Knative Eventing's defaulting webhook
// (webhook.eventing.knative.dev) followed by its validation webhook. The API server turns a rejection into a
// 400 whose message is `deniedMessage(error)`, as kubectl shows it for real Knative.
import { FieldError } from '../serving/field-error.js';
import { isRecord } from '../serving/json.js';
import { defaultBroker, type BrokerDefaults, SHIPPED_BROKER_DEFAULTS } from './broker-defaults.js';
import { validateBroker } from './broker-validation.js';
import { DEFAULT_FEATURES, type EventingFeatures } from './delivery.js';
import { defaultSinkBinding, validateSinkBinding } from './sinkbinding.js';
import { defaultTrigger } from './trigger-defaults.js';
import { validateTrigger } from './trigger-validation.js';
import type { Broker, EventingKind, SinkBinding, Trigger } from './types.js';

export const EVENTING_VALIDATION_WEBHOOK = 'validation.webhook.eventing.knative.dev';
export const EVENTING_DEFAULTING_WEBHOOK = 'webhook.eventing.knative.dev';

export interface EventingAdmissionOptions {
  brokerDefaults?: BrokerDefaults;
  features?: EventingFeatures;
}

export type EventingAdmissionResult =
  { ok: true; object: Broker | Trigger | SinkBinding } | { ok: false; error: FieldError; message: string };

export function deniedMessage(error: FieldError): string {
  return `admission webhook "${EVENTING_VALIDATION_WEBHOOK}" denied the request: validation failed: ${error.error()}`;
}

/** Defaulting only (the mutating webhook). */
export function defaultEventing(
  kind: EventingKind,
  object: Broker | Trigger | SinkBinding,
  o: EventingAdmissionOptions = {},
): Broker | Trigger | SinkBinding {
  switch (kind) {
    case 'Broker':
      return defaultBroker(object as Broker, o.brokerDefaults ?? SHIPPED_BROKER_DEFAULTS);
    case 'Trigger':
      return defaultTrigger(object as Trigger);
    case 'SinkBinding':
      return defaultSinkBinding(object as SinkBinding);
  }
}

/** Defaults then validates; `oldObject` is the stored object on UPDATE. */
export function admitEventing(
  kind: EventingKind,
  operation: 'CREATE' | 'UPDATE',
  object: unknown,
  oldObject?: unknown,
  o: EventingAdmissionOptions = {},
): EventingAdmissionResult {
  if (!isRecord(object)) {
    const error = new FieldError({ message: 'object is not a JSON object', paths: [''] });
    return { ok: false, error, message: deniedMessage(error) };
  }
  const old = operation === 'UPDATE' && isRecord(oldObject) ? oldObject : undefined;
  const features = o.features ?? DEFAULT_FEATURES;
  const defaulted = defaultEventing(kind, object as Broker, o);
  let errs: FieldError;
  switch (kind) {
    case 'Broker':
      errs = validateBroker(defaulted as Broker, old as Broker | undefined, {
        ...(o.brokerDefaults ? { defaults: o.brokerDefaults } : {}),
        features,
      });
      break;
    case 'Trigger':
      errs = validateTrigger(defaulted as Trigger, old as Trigger | undefined, features);
      break;
    case 'SinkBinding':
      errs = validateSinkBinding(defaulted as SinkBinding);
      break;
  }
  const error = errs.filter('Error');
  if (!error.isEmpty()) return { ok: false, error, message: deniedMessage(error) };
  return { ok: true, object: defaulted };
}
