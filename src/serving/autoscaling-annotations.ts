// Validation of autoscaling.knative.dev/* annotations on a Revision template, with Knative's messages.

import { parseGoDuration, formatGoDuration } from './go-duration.js';
import { FieldError, errGeneric, errInvalidValue, errOutOfBoundsValue } from './field-error.js';
import { getByPriority } from './keys.js';

const G = 'autoscaling.knative.dev';
export const AUTOSCALING = {
  class: [`${G}/class`],
  minScale: [`${G}/min-scale`, `${G}/minScale`],
  maxScale: [`${G}/max-scale`, `${G}/maxScale`],
  initialScale: [`${G}/initial-scale`, `${G}/initialScale`],
  activationScale: [`${G}/activation-scale`],
  metric: [`${G}/metric`],
  target: [`${G}/target`],
  targetUtilization: [`${G}/target-utilization-percentage`, `${G}/targetUtilizationPercentage`],
  targetBurstCapacity: [`${G}/target-burst-capacity`, `${G}/targetBurstCapacity`],
  panicWindowPercentage: [`${G}/panic-window-percentage`, `${G}/panicWindowPercentage`],
  panicThresholdPercentage: [`${G}/panic-threshold-percentage`, `${G}/panicThresholdPercentage`],
  window: [`${G}/window`],
  scaleDownDelay: [`${G}/scale-down-delay`, `${G}/scaleDownDelay`],
  scaleToZeroPodRetention: [`${G}/scale-to-zero-pod-retention-period`, `${G}/scaleToZeroPodRetentionPeriod`],
  aggregationAlgorithm: [`${G}/metric-aggregation-algorithm`, `${G}/metricAggregationAlgorithm`],
} as const;

export const KPA = 'kpa.autoscaling.knative.dev';
export const HPA = 'hpa.autoscaling.knative.dev';

const MAX_INT32 = 2147483647;
const WINDOW_MIN = 6e9;
const WINDOW_MAX = 3600e9;

/** config-autoscaler values that validation depends on. */
export interface AutoscalerConfig {
  podAutoscalerClass: string;
  maxScaleLimit: number;
  allowZeroInitialScale: boolean;
}

export const AUTOSCALER_DEFAULTS: AutoscalerConfig = {
  podAutoscalerClass: KPA,
  maxScaleLimit: 0,
  allowZeroInitialScale: false,
};

/** Go's strconv.ParseFloat for the decimal forms people write; NaN when not a number. */
export function parseGoFloat(s: string): number {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

/** Go's strconv.ParseInt(s, 10, 32): 'range' when it is an integer that does not fit. */
function parseInt32(s: string): number | 'invalid' | 'range' {
  if (!/^[+-]?\d+$/.test(s)) return 'invalid';
  const n = Number(s);
  if (n > MAX_INT32 || n < -MAX_INT32 - 1) return 'range';
  return n;
}

function getIntGE0(m: Record<string, string>, keys: readonly string[]): [number, FieldError] {
  const [k, v, ok] = getByPriority(m, keys);
  if (!ok) return [0, FieldError.none];
  const i = parseInt32(v);
  if (i === 'range') return [0, errOutOfBoundsValue(v, 0, MAX_INT32, k)];
  if (i === 'invalid') return [0, errInvalidValue(v, k)];
  if (i < 0) return [0, errOutOfBoundsValue(v, 0, MAX_INT32, k)];
  return [i, FieldError.none];
}

function validateMinMaxScale(cfg: AutoscalerConfig, m: Record<string, string>): FieldError {
  const [min, minErr] = getIntGE0(m, AUTOSCALING.minScale);
  const [max, maxErr] = getIntGE0(m, AUTOSCALING.maxScale);
  let errs = minErr.also(maxErr);
  if (max !== 0 && max < min) {
    errs = errs.also(
      new FieldError({
        message: `max-scale=${max} is less than min-scale=${min}`,
        paths: [AUTOSCALING.maxScale[0], AUTOSCALING.minScale[0]],
      }),
    );
  }
  const [maxKey, , hasMax] = getByPriority(m, AUTOSCALING.maxScale);
  if (hasMax && cfg.maxScaleLimit !== 0) {
    if (max > cfg.maxScaleLimit) errs = errs.also(errOutOfBoundsValue(max, 1, cfg.maxScaleLimit, maxKey));
    if (max === 0) {
      errs = errs.also(errGeneric(`max-scale=0 (unlimited), must be less than ${cfg.maxScaleLimit}`, maxKey));
    }
  }
  const [ak, av, hasActivation] = getByPriority(m, AUTOSCALING.activationScale);
  if (hasActivation) {
    const nz = parseInt32(av);
    if (typeof nz !== 'number') errs = errs.also(errInvalidValue(av, ak));
    else if (min > nz) errs = errs.also(errGeneric(`min-scale=${min} is greater than activation-scale=${nz}`, ak));
    else if (max < nz && max !== 0)
      errs = errs.also(errGeneric(`max-scale=${max} is less than activation-scale=${nz}`, ak));
    else if (nz < 2) errs = errs.also(errGeneric(`activation-scale=${nz} must be greater than 1`, ak));
  }
  return errs;
}

function validateFloats(m: Record<string, string>): FieldError {
  let errs = FieldError.none;
  let [k, v, ok] = getByPriority(m, AUTOSCALING.panicWindowPercentage);
  if (ok) {
    const f = parseGoFloat(v);
    if (Number.isNaN(f)) errs = errs.also(errInvalidValue(v, k));
    // Knative replaces (not appends) here; kept so the same input gives the same text.
    else if (f < 1 || f > 100) errs = errOutOfBoundsValue(v, 1, 100, k);
  }
  [k, v, ok] = getByPriority(m, AUTOSCALING.panicThresholdPercentage);
  if (ok) {
    const f = parseGoFloat(v);
    if (Number.isNaN(f)) errs = errs.also(errInvalidValue(v, k));
    else if (f < 110 || f > 1000) errs = errs.also(errOutOfBoundsValue(v, 110, 1000, k));
  }
  [k, v, ok] = getByPriority(m, AUTOSCALING.target);
  if (ok) {
    const f = parseGoFloat(v);
    if (Number.isNaN(f)) errs = errs.also(errInvalidValue(v, k));
    else if (f < 0.01) errs = errs.also(errGeneric(`target ${v} should be at least 0.01`, k));
  }
  [k, v, ok] = getByPriority(m, AUTOSCALING.targetUtilization);
  if (ok) {
    const f = parseGoFloat(v);
    if (Number.isNaN(f)) errs = errs.also(errInvalidValue(v, k));
    else if (f < 1 || f > 100) errs = errs.also(errOutOfBoundsValue(v, 1, 100, k));
  }
  [k, v, ok] = getByPriority(m, AUTOSCALING.targetBurstCapacity);
  if (ok) {
    const f = parseGoFloat(v);
    if (Number.isNaN(f) || (f < 0 && f !== -1)) errs = errs.also(errInvalidValue(v, k));
  }
  return errs;
}

function validateDurations(m: Record<string, string>): FieldError {
  let errs = FieldError.none;
  const [wk, wv, hasWindow] = getByPriority(m, AUTOSCALING.window);
  if (hasWindow) {
    const d = parseGoDuration(wv);
    if (d === undefined) errs = errs.also(errInvalidValue(wv, wk));
    else if (d < WINDOW_MIN || d > WINDOW_MAX) {
      errs = errs.also(errOutOfBoundsValue(wv, formatGoDuration(WINDOW_MIN), formatGoDuration(WINDOW_MAX), wk));
    } else if (d % 1e9 !== 0) errs = errs.also(errGeneric('must be specified with at most second precision', wk));
  }
  const [rk, rv, hasRetention] = getByPriority(m, AUTOSCALING.scaleToZeroPodRetention);
  if (hasRetention) {
    const d = parseGoDuration(rv);
    if (d === undefined) errs = errs.also(errInvalidValue(rv, rk));
    else if (d < 0 || d > WINDOW_MAX) errs = errs.also(errOutOfBoundsValue(rv, '0s', formatGoDuration(WINDOW_MAX), rk));
  }
  const [sk, sv, hasDelay] = getByPriority(m, AUTOSCALING.scaleDownDelay);
  if (hasDelay) {
    const d = parseGoDuration(sv);
    if (d === undefined) errs = errs.also(errInvalidValue(sv, sk));
    else if (d < 0 || d > WINDOW_MAX) errs = errs.also(errOutOfBoundsValue(sv, '0s', formatGoDuration(WINDOW_MAX), sk));
    else if (Math.round(d / 1e9) * 1e9 !== d)
      errs = errs.also(errGeneric('must be specified with at most second precision', sk));
  }
  return errs;
}

function validateClassMetricAlgorithm(cfg: AutoscalerConfig, m: Record<string, string>): FieldError {
  let errs = FieldError.none;
  const [ck, cv, hasClass] = getByPriority(m, AUTOSCALING.class);
  if (hasClass && cv.endsWith('.knative.dev') && cv !== KPA && cv !== HPA) errs = errs.also(errInvalidValue(cv, ck));
  const [, metric, hasMetric] = getByPriority(m, AUTOSCALING.metric);
  if (hasMetric) {
    const cls = hasClass ? cv : cfg.podAutoscalerClass;
    const bad = (cls === KPA && metric !== 'concurrency' && metric !== 'rps') || (cls === HPA && metric === '');
    if (bad) errs = errs.also(errInvalidValue(metric, AUTOSCALING.metric[0]));
  }
  if (cv === KPA) {
    const [ak, av] = getByPriority(m, AUTOSCALING.aggregationAlgorithm);
    if (av !== '' && !['linear', 'weighted-exponential', 'weightedExponential'].includes(av)) {
      errs = errs.also(errInvalidValue(av, ak));
    }
  }
  return errs;
}

function validateInitialScale(cfg: AutoscalerConfig, m: Record<string, string>): FieldError {
  const [k, v, ok] = getByPriority(m, AUTOSCALING.initialScale);
  if (!ok) return FieldError.none;
  if (!/^[+-]?\d+$/.test(v)) return errInvalidValue(v, k);
  const n = Number(v);
  if (n < 0) return errInvalidValue(v, `${k} must be greater than 0`);
  if (!cfg.allowZeroInitialScale && n === 0) return errInvalidValue(v, `${k}=0 not allowed by cluster`);
  return FieldError.none;
}

/** Paths are the annotation keys; callers prefix `metadata.annotations`. */
export function validateAutoscalingAnnotations(
  annotations: Record<string, string> | undefined,
  cfg: AutoscalerConfig = AUTOSCALER_DEFAULTS,
): FieldError {
  const m = annotations ?? {};
  return validateClassMetricAlgorithm(cfg, m)
    .also(validateMinMaxScale(cfg, m))
    .also(validateFloats(m))
    .also(validateDurations(m))
    .also(validateInitialScale(cfg, m));
}
