// Delivery semantics of a DeliverySpec (Trigger or Broker spec.delivery): validation with Knative's messages,
// the back-off before each retry, which responses are retried and which count as failures. Pure: the data
// plane's dispatcher asks these and keeps the timers itself.
import { errDisallowedFields, errInvalidValue, FieldError } from '../serving/field-error.js';
import { validateDestination } from './destination.js';
import { parsePeriodMs } from './iso-period.js';
import type { DeliverySpec } from './types.js';

export interface EventingFeatures {
  /** `delivery-timeout`, enabled by default. */
  deliveryTimeout: boolean;
  /** `delivery-retryafter`, disabled by default. */
  deliveryRetryAfter: boolean;
  /** `cross-namespace-event-links`, disabled by default. */
  crossNamespaceEventLinks: boolean;
}

export const DEFAULT_FEATURES: EventingFeatures = {
  deliveryTimeout: true,
  deliveryRetryAfter: false,
  crossNamespaceEventLinks: false,
};

/** config-features data (`"enabled"`/`"disabled"` per key) over the shipped defaults. */
export function featuresFrom(data: Record<string, unknown> | undefined): EventingFeatures {
  const on = (k: string, dflt: boolean): boolean => {
    const v = data?.[k];
    return v === 'enabled' || v === 'allowed' ? true : v === 'disabled' ? false : dflt;
  };
  return {
    deliveryTimeout: on('delivery-timeout', DEFAULT_FEATURES.deliveryTimeout),
    deliveryRetryAfter: on('delivery-retryafter', DEFAULT_FEATURES.deliveryRetryAfter),
    crossNamespaceEventLinks: on('cross-namespace-event-links', DEFAULT_FEATURES.crossNamespaceEventLinks),
  };
}

/** DeliverySpec.Validate; paths are relative to the spec (the caller adds `spec.delivery`). */
export function validateDelivery(
  ds: DeliverySpec | undefined,
  features: EventingFeatures = DEFAULT_FEATURES,
): FieldError {
  if (ds === undefined || ds === null) return FieldError.none;
  let errs = FieldError.none;
  if (ds.deadLetterSink !== undefined && ds.deadLetterSink !== null) {
    errs = errs.also(validateDestination(ds.deadLetterSink)).viaField('deadLetterSink');
  }
  if (typeof ds.retry === 'number' && ds.retry < 0) errs = errs.also(errInvalidValue(ds.retry, 'retry'));
  if (ds.timeout !== undefined) {
    if (features.deliveryTimeout) {
      const t = parsePeriodMs(String(ds.timeout));
      if (t === undefined || t === 0) errs = errs.also(errInvalidValue(ds.timeout, 'timeout'));
    } else errs = errs.also(errDisallowedFields('timeout'));
  }
  if (ds.backoffPolicy !== undefined && ds.backoffPolicy !== 'exponential' && ds.backoffPolicy !== 'linear') {
    errs = errs.also(errInvalidValue(ds.backoffPolicy, 'backoffPolicy'));
  }
  if (ds.backoffDelay !== undefined && parsePeriodMs(String(ds.backoffDelay)) === undefined) {
    errs = errs.also(errInvalidValue(ds.backoffDelay, 'backoffDelay'));
  }
  if (ds.retryAfterMax !== undefined) {
    if (!features.deliveryRetryAfter) errs = errs.also(errDisallowedFields('retryAfterMax'));
    else if (parsePeriodMs(String(ds.retryAfterMax)) === undefined)
      errs = errs.also(errInvalidValue(ds.retryAfterMax, 'retryAfterMax'));
  }
  if (ds.format !== undefined && ds.format !== 'json' && ds.format !== 'binary') {
    errs = errs.also(errInvalidValue(ds.format, 'format'));
  }
  return errs;
}

/** The most retries after the first attempt: `retry`, 0 when absent. No DeliverySpec: one attempt. */
export const maxRetries = (ds: DeliverySpec | undefined): number =>
  typeof ds?.retry === 'number' && ds.retry > 0 ? Math.floor(ds.retry) : 0;

/**
 * Milliseconds to wait before retry number `attempt` (1 = the second delivery attempt). Knative's dispatcher
 * calls its back-off with go-retryablehttp's loop index i = attempt − 1, so exponential waits d, 2d, 4d … and
 * linear waits 0, d, 2d …; 0 when backoffPolicy or backoffDelay is missing. With `retryAfterMax` set, a 429
 * or 503 carrying Retry-After (seconds) waits max(backoff, min(Retry-After, retryAfterMax)).
 */
export function backoffDelayMs(
  ds: DeliverySpec | undefined,
  attempt: number,
  response: { statusCode?: number; retryAfterSeconds?: number } = {},
): number {
  const i = Math.max(0, attempt - 1);
  const d = ds?.backoffDelay !== undefined ? parsePeriodMs(String(ds.backoffDelay)) : undefined;
  let backoff = 0;
  if (ds?.backoffPolicy !== undefined && d !== undefined) {
    backoff = ds.backoffPolicy === 'linear' ? d * i : ds.backoffPolicy === 'exponential' ? d * 2 ** i : 0;
  }
  const max = ds?.retryAfterMax !== undefined ? parsePeriodMs(String(ds.retryAfterMax)) : undefined;
  const { statusCode, retryAfterSeconds } = response;
  if (max !== undefined && (statusCode === 429 || statusCode === 503) && retryAfterSeconds !== undefined) {
    return Math.max(backoff, Math.min(retryAfterSeconds * 1000, max));
  }
  return backoff;
}

/** Knative's SelectiveRetry: transport errors (-1), 5xx, 404, 408, 409 and 429 are retried. */
export function isRetriable(statusCode: number): boolean {
  return (
    statusCode < 0 ||
    statusCode >= 500 ||
    statusCode === 404 ||
    statusCode === 408 ||
    statusCode === 409 ||
    statusCode === 429
  );
}

/** A delivery failed when the answer was not 2xx (or there was none). */
export function isFailure(statusCode: number): boolean {
  return statusCode < 200 || statusCode >= 300;
}

/** Per-request timeout in ms from `delivery.timeout`, undefined for none. */
export function timeoutMs(ds: DeliverySpec | undefined): number | undefined {
  return ds?.timeout !== undefined ? parsePeriodMs(String(ds.timeout)) : undefined;
}
