// The pure entry point for the API server's admission of Serving objects: Knative's defaulting webhook
// followed by its validation webhook. The caller turns a rejection into a Kubernetes Status with
// `deniedMessage(error)` as its message, exactly as kubectl shows it for real Knative.

import { FieldError } from './field-error.js';
import { isRecord } from './json.js';
import {
  defaultConfiguration,
  defaultRevision,
  defaultRoute,
  defaultService,
  type ServingDefaults,
} from './defaults.js';
import { validateService } from './service-validation.js';
import { validateConfiguration } from './configuration-validation.js';
import { validateRoute } from './route-validation.js';
import { validateRevision, type RevisionValidationOptions } from './revision-validation.js';
import { securityWarnings, type PodSpecFeatures } from './pod-spec-validation.js';
import type { AutoscalerConfig } from './autoscaling-annotations.js';
import type { Configuration, Revision, RevisionSpec, Route, Service, ServingKind } from './types.js';

export const VALIDATION_WEBHOOK_NAME = 'validation.webhook.serving.knative.dev';
export const DEFAULTING_WEBHOOK_NAME = 'webhook.serving.knative.dev';

export type AdmissionOperation = 'CREATE' | 'UPDATE';

export interface AdmissionOptions {
  /** The requesting user; recorded in serving.knative.dev/creator and lastModifier. */
  username?: string;
  /** Status writes are not validated (Knative skips spec checks in status updates). */
  subresource?: 'status';
  defaults?: ServingDefaults;
  features?: PodSpecFeatures;
  /** config-autoscaler's keys for annotation validation; Knative's defaults when absent. */
  autoscaler?: AutoscalerConfig;
}

export type AdmissionResult<T = unknown> =
  { ok: true; object: T; warnings: string[] } | { ok: false; error: FieldError; message: string };

/** kubectl's text for a denied request. */
export function deniedMessage(error: FieldError): string {
  return `admission webhook "${VALIDATION_WEBHOOK_NAME}" denied the request: validation failed: ${error.error()}`;
}

export const SERVING_KINDS: readonly ServingKind[] = ['Service', 'Configuration', 'Revision', 'Route'];

export function isServingKind(kind: unknown): kind is ServingKind {
  return typeof kind === 'string' && (SERVING_KINDS as readonly string[]).includes(kind);
}

/**
 * Defaults then validates `object` (a Serving object as parsed JSON). `oldObject` is the stored object on
 * UPDATE. On success `object` is the defaulted object to store; warnings never deny.
 */
export function admit(
  kind: ServingKind,
  operation: AdmissionOperation,
  object: unknown,
  oldObject?: unknown,
  opts: AdmissionOptions = {},
): AdmissionResult {
  if (!isRecord(object)) {
    const error = new FieldError({ message: 'object is not a JSON object', paths: [''] });
    return { ok: false, error, message: deniedMessage(error) };
  }
  const old = operation === 'UPDATE' && isRecord(oldObject) ? oldObject : undefined;
  const dctx = { operation, username: opts.username, defaults: opts.defaults, features: opts.features };
  const vopts: RevisionValidationOptions = {
    defaults: opts.defaults,
    features: opts.features,
    autoscaler: opts.autoscaler,
  };

  let defaulted: Service | Configuration | Route | Revision;
  let errs: FieldError;
  let podSpec: RevisionSpec | undefined;
  switch (kind) {
    case 'Service': {
      const s = defaultService(object as Service, dctx, old as Service | undefined);
      defaulted = s;
      errs = opts.subresource === 'status' ? FieldError.none : validateService(s, old as Service | undefined, vopts);
      podSpec = s.spec?.template?.spec;
      break;
    }
    case 'Configuration': {
      const c = defaultConfiguration(object as Configuration, dctx, old as Configuration | undefined);
      defaulted = c;
      errs =
        opts.subresource === 'status'
          ? FieldError.none
          : validateConfiguration(c, old as Configuration | undefined, vopts);
      podSpec = c.spec?.template?.spec;
      break;
    }
    case 'Route': {
      const r = defaultRoute(object as Route, dctx, old as Route | undefined);
      defaulted = r;
      errs = opts.subresource === 'status' ? FieldError.none : validateRoute(r, old as Route | undefined);
      break;
    }
    case 'Revision': {
      const r = defaultRevision(object as Revision, dctx);
      defaulted = r;
      errs = opts.subresource === 'status' ? FieldError.none : validateRevision(r, old as Revision | undefined, vopts);
      podSpec = operation === 'CREATE' ? r.spec : undefined;
      break;
    }
  }
  const error = errs.filter('Error');
  if (!error.isEmpty()) return { ok: false, error, message: deniedMessage(error) };
  const warningPrefix = kind === 'Revision' ? 'spec' : 'spec.template.spec';
  const warnings =
    podSpec && opts.subresource !== 'status'
      ? errs
          .filter('Warning')
          .also(securityWarnings(podSpec, opts.features).viaField(warningPrefix))
          .entries()
          .map((e) => `${e.message}: ${e.paths.join(', ')}`)
      : [];
  return { ok: true, object: defaulted, warnings };
}
