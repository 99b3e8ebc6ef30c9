// Knative Serving's admission webhooks (defaulting, validation) as embedded API server admission hooks. Kept
// apart from the data plane so `sluice apiserver` loads only what admission needs.
import { StatusError, type Admission, type AdmissionRequest, type KObject } from '../apiserver/index.js';
import {
  admit,
  clusterServingConfig,
  defaultConfiguration,
  defaultRevision,
  defaultRoute,
  defaultService,
  GROUP,
  type ClusterServingConfig,
  type DefaultingContext,
  type ServingKind,
} from '../serving/index.js';

/**
 * The user recorded in serving.knative.dev/creator and lastModifier. The embedded API server has one
 * bearer token, so every request is this user (the request's user agent names a program, not a person).
 */
export const EMBEDDED_USERNAME = 'sluice-admin';

const SERVING_RESOURCES: ReadonlyArray<[plural: string, kind: ServingKind]> = [
  ['services', 'Service'],
  ['configurations', 'Configuration'],
  ['revisions', 'Revision'],
  ['routes', 'Route'],
];

/**
 * serving.knative.dev/creator and lastModifier: the authenticated user of the request (the API server's
 * userInfo once it authenticates users), else the embedded API server's single user.
 */
export function requestUsername(req: AdmissionRequest): string {
  const info = (req as AdmissionRequest & { userInfo?: { username?: string } }).userInfo;
  return info?.username || EMBEDDED_USERNAME;
}

function defaulted(kind: ServingKind, req: AdmissionRequest, cfg: ClusterServingConfig): KObject {
  const ctx: DefaultingContext = {
    operation: req.operation,
    username: requestUsername(req),
    defaults: cfg.defaults,
    features: cfg.features,
  };
  const old = req.oldObject as never;
  const o = req.object as never;
  switch (kind) {
    case 'Service':
      return defaultService(o, ctx, old) as unknown as KObject;
    case 'Configuration':
      return defaultConfiguration(o, ctx, old) as unknown as KObject;
    case 'Route':
      return defaultRoute(o, ctx, old) as unknown as KObject;
    case 'Revision':
      return defaultRevision(o, ctx) as unknown as KObject;
  }
}

/**
 * Registers Knative's defaulting (mutate) and validation (validate) webhooks for serving.knative.dev. A
 * denial is a 400 BadRequest whose message is Knative's, so kubectl prints
 * `admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: …`.
 * The API server does not run admission for status writes, as Knative skips them.
 */
export function registerServingAdmission(
  admission: Admission,
  config: () => ClusterServingConfig = () => clusterServingConfig(() => undefined),
): void {
  for (const [plural, kind] of SERVING_RESOURCES) {
    admission.register(GROUP, plural, {
      mutate: (req) => defaulted(kind, req, config()),
      validate: (req) => {
        const r = admit(kind, req.operation, req.object, req.oldObject, {
          username: requestUsername(req),
          ...config(),
        });
        if (!r.ok) throw new StatusError(400, 'BadRequest', r.message);
      },
    });
  }
}
