// Two annotation checks of Knative's RevisionTemplateSpec.Validate (pkg/apis/serving/v1/revision_validation.go):
// knative.dev/networking's ValidateAnnotations (a `networking.knative.dev…` key that is not one of the
// networking annotations is an invalid key name) and validateQueueSidecarResourceAnnotations (queue-proxy's
// resource annotations must be Kubernetes quantities; the deprecated resource-percentage warns and must lie in
// [0.1, 100]). Paths relative to the template's `metadata.annotations`.
import {
  CURRENT_FIELD,
  FieldError,
  errGeneric,
  errInvalidKeyName,
  errInvalidValue,
  errOutOfBoundsValue,
} from './field-error.js';

const NETWORKING = 'networking.knative.dev';
const ALLOWED_NETWORKING = new Set(
  [
    'ingress.class',
    'certificate.class',
    'disableAutoTLS',
    'disable-external-domain-tls',
    'httpOption',
    'ingress-class',
    'certificate-class',
    'disable-auto-tls',
    'http-protocol',
  ].map((k) => `${NETWORKING}/${k}`),
);

const QP = 'queue.sidecar.serving.knative.dev';
/** The deprecated percentage annotation, its current key first (kmap.KeyPriority). */
const RESOURCE_PERCENTAGE = [`${QP}/resource-percentage`, `${QP}/resourcePercentage`];
const RESOURCE_KEYS = [
  'cpu-resource-request',
  'cpu-resource-limit',
  'memory-resource-request',
  'memory-resource-limit',
  'ephemeral-storage-resource-request',
  'ephemeral-storage-resource-limit',
].map((k) => `${QP}/${k}`);

/** resource.ParseQuantity's grammar: a signed decimal, then a binary (Ki…Ei) or decimal (n…E) suffix or an exponent. */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

export function validateNetworkingAnnotations(annotations: Readonly<Record<string, string>> | undefined): FieldError {
  let errs = FieldError.none;
  for (const key of Object.keys(annotations ?? {}))
    if (key.startsWith(NETWORKING) && !ALLOWED_NETWORKING.has(key))
      errs = errs.also(errInvalidKeyName(key, CURRENT_FIELD));
  return errs;
}

export function validateQueueSidecarAnnotations(annotations: Readonly<Record<string, string>> | undefined): FieldError {
  const m = annotations ?? {};
  let errs = FieldError.none;
  const pctKey = RESOURCE_PERCENTAGE.find((k) => m[k] !== undefined);
  if (pctKey !== undefined) {
    const v = m[pctKey] ?? '';
    errs = errGeneric(
      'Queue proxy resource percentage annotation is deprecated. Please use the available annotations to explicitly set resource values per service',
    )
      .viaKey(pctKey)
      .at('Warning');
    // strconv.ParseFloat: a decimal or exponent float (Go also takes hex floats, inf and nan, which the bounds refuse).
    const n = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v.trim()) && v.trim() === v ? Number(v) : NaN;
    if (Number.isNaN(n)) errs = errs.also(errInvalidValue(v, CURRENT_FIELD).viaKey(pctKey));
    else if (n < 0.1 || n > 100) errs = errs.also(errOutOfBoundsValue(n, 0.1, 100, CURRENT_FIELD).viaKey(pctKey));
  }
  for (const key of RESOURCE_KEYS) {
    const v = m[key];
    if (v !== undefined && !QUANTITY.test(v)) errs = errs.also(errInvalidValue(v, CURRENT_FIELD).viaKey(key));
  }
  return errs;
}
