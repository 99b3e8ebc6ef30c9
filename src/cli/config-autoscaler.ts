// Knative's config-autoscaler ConfigMap (namespace knative-serving) for the embedded data plane. Knative reads
// it live; the Runtime takes its AutoscalerConfig once, at construction. So the embedded default builds the
// Runtime with a neutral config (grace period 0, zero initial scale and scale to zero allowed) and expresses
// the cluster's settings per revision, as the `autoscaling.knative.dev/*` annotations Knative itself lets a
// revision override them with — only where the revision did not set its own. A changed ConfigMap requeues
// every Revision, whose updated spec the Runtime applies in place. The grace period, which has no annotation,
// becomes a scale-to-zero-pod-retention-period of (stable window + grace): the Runtime waits
// max(window + grace, retention) idle before zero, which is then Knative's rule exactly.
// `max-scale-up-rate` and `max-scale-down-rate` have no annotation either: they are read when the data plane
// starts and need a restart to change.
import { knativeAutoscalerDefaults, parseGoDuration, type AutoscalerConfig } from '../runtime/index.js';
import type { RevisionSpec } from '../runtime/index.js';
import { CONFIG_AUTOSCALER } from '../serving/reconciler/index.js';
const A = 'autoscaling.knative.dev/';

/** The cluster-wide values, Knative's defaults for absent keys; durations in ms. */
export interface ClusterAutoscaling extends AutoscalerConfig {
  minScale: number;
  maxScale: number;
  scaleDownDelayMs: number;
  scaleToZeroPodRetentionMs: number;
}

export const clusterAutoscalingDefaults: ClusterAutoscaling = {
  ...knativeAutoscalerDefaults,
  minScale: 0,
  maxScale: 0,
  scaleDownDelayMs: 0,
  scaleToZeroPodRetentionMs: 0,
};

/** What the Runtime is built with in embedded mode: every per-revision value comes from annotations. */
export function neutralRuntimeConfig(c: ClusterAutoscaling): Partial<AutoscalerConfig> {
  return {
    scaleToZeroGracePeriodMs: 0,
    allowZeroInitialScale: true,
    enableScaleToZero: true,
    maxScaleUpRate: c.maxScaleUpRate,
    maxScaleDownRate: c.maxScaleDownRate,
  };
}

/** config-autoscaler's data → settings; malformed values keep the default and produce a warning. */
export function clusterAutoscalingFromData(data: Record<string, string> | undefined): {
  config: ClusterAutoscaling;
  warnings: string[];
} {
  const c: ClusterAutoscaling = { ...clusterAutoscalingDefaults };
  const warnings: string[] = [];
  const d = data ?? {};
  const raw = (key: string): string | undefined => {
    const v = d[key];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const num = (key: string, min: number, set: (n: number) => void): void => {
    const v = raw(key);
    if (v === undefined) return;
    const n = Number(v);
    if (Number.isFinite(n) && n >= min) set(n);
    else warnings.push(`${CONFIG_AUTOSCALER} ${key}="${v}" must be a number ≥ ${min}; using the default`);
  };
  const dur = (key: string, set: (ms: number) => void): void => {
    const v = raw(key);
    if (v === undefined) return;
    const ms = parseGoDuration(v);
    if (ms !== undefined && ms >= 0) set(ms);
    else warnings.push(`${CONFIG_AUTOSCALER} ${key}="${v}" must be a duration like 30s; using the default`);
  };
  const bool = (key: string, set: (b: boolean) => void): void => {
    const v = raw(key);
    if (v === undefined) return;
    if (/^(true|false)$/i.test(v)) set(v.toLowerCase() === 'true');
    else warnings.push(`${CONFIG_AUTOSCALER} ${key}="${v}" must be true or false; using the default`);
  };
  dur('stable-window', (ms) => (c.stableWindowMs = ms));
  num('panic-window-percentage', 1, (n) => (c.panicWindowPercentage = n));
  num('panic-threshold-percentage', 110, (n) => (c.panicThresholdPercentage = n));
  num('max-scale-up-rate', 1.000001, (n) => (c.maxScaleUpRate = n));
  num('max-scale-down-rate', 1.000001, (n) => (c.maxScaleDownRate = n));
  dur('scale-to-zero-grace-period', (ms) => (c.scaleToZeroGracePeriodMs = ms));
  dur('scale-to-zero-pod-retention-period', (ms) => (c.scaleToZeroPodRetentionMs = ms));
  dur('scale-down-delay', (ms) => (c.scaleDownDelayMs = ms));
  num('container-concurrency-target-default', 0.01, (n) => (c.containerConcurrencyTargetDefault = n));
  num('container-concurrency-target-percentage', 1, (n) => (c.targetUtilizationPercentage = n));
  num('requests-per-second-target-default', 0.01, (n) => (c.rpsTargetDefault = n));
  num('initial-scale', 0, (n) => (c.initialScale = Math.floor(n)));
  bool('allow-zero-initial-scale', (b) => (c.allowZeroInitialScale = b));
  bool('enable-scale-to-zero', (b) => (c.enableScaleToZero = b));
  num('min-scale', 0, (n) => (c.minScale = Math.floor(n)));
  num('max-scale', 0, (n) => (c.maxScale = Math.floor(n)));
  if (c.initialScale === 0 && !c.allowZeroInitialScale) {
    warnings.push(`${CONFIG_AUTOSCALER} initial-scale=0 needs allow-zero-initial-scale=true; using 1`);
    c.initialScale = 1;
  }
  return { config: c, warnings };
}

const fmtMs = (ms: number): string => `${Math.round(ms)}ms`;

/**
 * The revision as the Runtime should run it under the cluster's config-autoscaler (see the file comment).
 * Annotations the revision sets itself win, as in Knative. Pure.
 */
export function withClusterAutoscaling(spec: RevisionSpec, c: ClusterAutoscaling): RevisionSpec {
  const own = spec.annotations ?? {};
  const a: Record<string, string> = { ...own };
  const has = (...keys: string[]): string | undefined => {
    for (const k of keys) if (own[A + k] !== undefined) return own[A + k];
    return undefined;
  };
  const fill = (key: string, value: string, ...aliases: string[]): void => {
    if (has(key, ...aliases) === undefined) a[A + key] = value;
  };
  // The HPA class takes its target and windows from the revision's own annotations only (Knative's hpa.go):
  // a filled-in stable-window or concurrency target would become the HPA's window and CPU target.
  const hpaClass = has('class') === 'hpa.autoscaling.knative.dev';
  if (!hpaClass) fill('window', fmtMs(c.stableWindowMs));
  fill('panic-window-percentage', String(c.panicWindowPercentage), 'panicWindowPercentage');
  fill('panic-threshold-percentage', String(c.panicThresholdPercentage), 'panicThresholdPercentage');
  // The metric's own defaults (Knative's ResolveMetricTarget): rps takes requests-per-second-target-default and
  // the fixed 70 % utilisation; concurrency takes containerConcurrency when set, else
  // container-concurrency-target-default, and container-concurrency-target-percentage.
  if (hpaClass) {
    // nothing: no target means the HPA's default, 80 % CPU
  } else if (has('metric') === 'rps') {
    fill('target', String(c.rpsTargetDefault));
  } else {
    fill('target-utilization-percentage', String(c.targetUtilizationPercentage), 'targetUtilizationPercentage');
    const cc = Math.max(0, spec.containerConcurrency ?? 0);
    fill('target', String(cc > 0 ? cc : c.containerConcurrencyTargetDefault));
  }
  fill('scale-down-delay', fmtMs(c.scaleDownDelayMs), 'scaleDownDelay');
  fill('min-scale', String(c.minScale), 'minScale');
  fill('max-scale', String(c.maxScale), 'maxScale');
  fill('initial-scale', String(c.initialScale), 'initialScale');
  if (
    !c.allowZeroInitialScale &&
    Number(has('initial-scale', 'initialScale')) === 0 &&
    has('initial-scale', 'initialScale') !== undefined
  ) {
    a[A + 'initial-scale'] = '1';
    delete a[A + 'initialScale'];
  }
  if (!c.enableScaleToZero) {
    const min = Number(has('min-scale', 'minScale') ?? c.minScale);
    a[A + 'min-scale'] = String(Math.max(1, Number.isFinite(min) ? Math.floor(min) : 0));
    delete a[A + 'minScale'];
  }
  // max(window + grace, retention): the Runtime (grace 0) then waits exactly Knative's idle time.
  const windowMs = parseGoDuration(a[A + 'window'] ?? '') ?? c.stableWindowMs;
  const ownRetention = has('scale-to-zero-pod-retention-period', 'scaleToZeroPodRetentionPeriod');
  const retentionMs =
    (ownRetention !== undefined ? parseGoDuration(ownRetention) : undefined) ?? c.scaleToZeroPodRetentionMs;
  a[A + 'scale-to-zero-pod-retention-period'] = fmtMs(Math.max(retentionMs, windowMs + c.scaleToZeroGracePeriodMs));
  delete a[A + 'scaleToZeroPodRetentionPeriod'];
  return { ...spec, annotations: a };
}
