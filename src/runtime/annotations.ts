// Knative's config-autoscaler settings and the per-revision `autoscaling.knative.dev/*` annotations, resolved
// into an AutoscalerSpec. Pure: no clock, no I/O.
import type { AutoscalerSpec, ScalingMetric } from './autoscaler.js';
import { HPA_DEFAULTS, type HpaSpec } from './hpa.js';

/** The config-autoscaler ConfigMap's knobs that the embedded autoscaler honours; durations in ms. */
export interface AutoscalerConfig {
  stableWindowMs: number;
  panicWindowPercentage: number;
  panicThresholdPercentage: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  scaleToZeroGracePeriodMs: number;
  containerConcurrencyTargetDefault: number;
  /** `container-concurrency-target-percentage`: the utilisation applied to a concurrency target. */
  targetUtilizationPercentage: number;
  /** `requests-per-second-target-default`: the rps target of a revision with `metric: rps` and no `target`. */
  rpsTargetDefault: number;
  initialScale: number;
  allowZeroInitialScale: boolean;
  enableScaleToZero: boolean;
  /**
   * Sluice's, not a Knative key: the span over which a process's CPU use is averaged for the HPA class, like
   * metrics-server's resolution (15 s).
   */
  hpaMetricWindowMs: number;
}

/** Knative's defaults, word for word where they exist. */
export const knativeAutoscalerDefaults: AutoscalerConfig = {
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleToZeroGracePeriodMs: 30_000,
  containerConcurrencyTargetDefault: 100,
  targetUtilizationPercentage: 70,
  rpsTargetDefault: 200,
  initialScale: 1,
  allowZeroInitialScale: false,
  enableScaleToZero: true,
  hpaMetricWindowMs: 15_000,
};

/** `autoscaling.knative.dev/class` values: Knative's own autoscaler (default) and a Kubernetes HPA. */
export const KPA_CLASS = 'kpa.autoscaling.knative.dev';
export const HPA_CLASS = 'hpa.autoscaling.knative.dev';

export const ANNOTATION_PREFIX = 'autoscaling.knative.dev/';

/**
 * The utilisation applied to an rps target. Knative's autoscaler config has it as TargetUtilization, fixed at
 * 0.7 (no config-autoscaler key sets it; `container-concurrency-target-percentage` is for concurrency only); the
 * revision's `target-utilization-percentage` annotation still overrides it.
 */
export const RPS_TARGET_UTILIZATION = 0.7;

export interface ResolvedAutoscaling {
  spec: AutoscalerSpec;
  /** Replicas to reach before the revision first becomes Ready (max of initial-scale and min-scale). */
  initialScale: number;
  /** Set with `class: hpa.autoscaling.knative.dev`: the revision scales as the HPA Knative creates would. */
  hpa?: HpaSpec;
  /** Human-readable problems with annotations; the defaults were used for those keys. */
  warnings: string[];
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parse a Go duration (`60s`, `1m30s`, `500ms`, `1.5h`) to milliseconds; undefined when malformed. */
export function parseGoDuration(s: string): number | undefined {
  const text = s.trim();
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0 || !Number.isFinite(total)) return undefined;
  return total;
}

/**
 * Work out the autoscaler's spec for one revision.
 * Pre: `containerConcurrency` ≥ 0 (0 = unlimited).
 */
export function resolveAutoscaling(
  annotations: Record<string, string> | undefined,
  containerConcurrency: number,
  config: AutoscalerConfig = knativeAutoscalerDefaults,
): ResolvedAutoscaling {
  const a = annotations ?? {};
  const warnings: string[] = [];
  const get = (...keys: string[]): { key: string; value: string } | undefined => {
    for (const k of keys) {
      const v = a[ANNOTATION_PREFIX + k];
      if (v !== undefined) return { key: ANNOTATION_PREFIX + k, value: v };
    }
    return undefined;
  };
  const num = (min: number, ...keys: string[]): number | undefined => {
    const hit = get(...keys);
    if (!hit) return undefined;
    const n = Number(hit.value);
    if (hit.value.trim() === '' || !Number.isFinite(n) || n < min) {
      warnings.push(`annotation ${hit.key}="${hit.value}" must be a number ≥ ${min}; using the default`);
      return undefined;
    }
    return n;
  };
  const dur = (...keys: string[]): number | undefined => {
    const hit = get(...keys);
    if (!hit) return undefined;
    const ms = parseGoDuration(hit.value);
    if (ms === undefined) {
      warnings.push(`annotation ${hit.key}="${hit.value}" must be a duration like 60s or 1m; using the default`);
      return undefined;
    }
    return ms;
  };

  const classHit = get('class');
  const hpaClass = classHit?.value === HPA_CLASS;
  if (classHit && !hpaClass && classHit.value !== KPA_CLASS)
    warnings.push(
      `annotation ${classHit.key}="${classHit.value}" is not run here (${KPA_CLASS} or ${HPA_CLASS}); using ${KPA_CLASS}`,
    );
  if (hpaClass) return resolveHpa(get, num, dur, warnings, config);

  // Knative's ResolveMetricTarget: the metric's own default total and utilisation; an annotated target
  // replaces the total (for concurrency, capped by containerConcurrency); an annotated utilisation wins.
  const metricHit = get('metric');
  let metric: ScalingMetric = 'concurrency';
  if (metricHit?.value === 'rps') metric = 'rps';
  else if (metricHit && metricHit.value !== 'concurrency')
    warnings.push(
      `annotation ${metricHit.key}="${metricHit.value}" is not run here (concurrency or rps); using concurrency`,
    );
  let total: number;
  let utilisation: number;
  if (metric === 'rps') {
    total = config.rpsTargetDefault;
    utilisation = RPS_TARGET_UTILIZATION;
  } else {
    total = containerConcurrency > 0 ? containerConcurrency : config.containerConcurrencyTargetDefault;
    utilisation = config.targetUtilizationPercentage / 100;
  }
  const annotated = num(0.01, 'target');
  if (annotated !== undefined)
    total =
      metric === 'concurrency' && containerConcurrency > 0 ? Math.min(annotated, containerConcurrency) : annotated;
  const annotatedUtilisation = num(1, 'target-utilization-percentage', 'targetUtilizationPercentage');
  if (annotatedUtilisation !== undefined) utilisation = annotatedUtilisation / 100;
  const stableWindowMs = dur('window') ?? config.stableWindowMs;
  const panicPct = num(1, 'panic-window-percentage', 'panicWindowPercentage') ?? config.panicWindowPercentage;
  const minScaleRaw = Math.floor(num(0, 'min-scale', 'minScale') ?? 0);
  const maxScale = Math.floor(num(0, 'max-scale', 'maxScale') ?? 0);
  const minScale = config.enableScaleToZero ? minScaleRaw : Math.max(1, minScaleRaw);
  let initial = Math.floor(num(0, 'initial-scale', 'initialScale') ?? config.initialScale);
  if (initial === 0 && !config.allowZeroInitialScale) {
    warnings.push(`annotation ${ANNOTATION_PREFIX}initial-scale=0 needs allow-zero-initial-scale; using 1`);
    initial = 1;
  }
  const spec: AutoscalerSpec = {
    metric,
    targetValue: Math.max(0.01, total * utilisation),
    panicThreshold:
      (num(110, 'panic-threshold-percentage', 'panicThresholdPercentage') ?? config.panicThresholdPercentage) / 100,
    maxScaleUpRate: config.maxScaleUpRate,
    maxScaleDownRate: config.maxScaleDownRate,
    stableWindowMs,
    panicWindowMs: Math.max(1, (stableWindowMs * panicPct) / 100),
    scaleToZeroGracePeriodMs: config.scaleToZeroGracePeriodMs,
    scaleToZeroRetentionMs: dur('scale-to-zero-pod-retention-period') ?? 0,
    scaleDownDelayMs: dur('scale-down-delay', 'scaleDownDelay') ?? 0,
    minScale,
    maxScale,
  };
  let initialScale = Math.max(initial, minScale);
  if (maxScale > 0) initialScale = Math.min(initialScale, maxScale);
  return { spec, initialScale, warnings };
}

/**
 * The HPA Knative's hpa reconciler makes (resources/hpa.go): metric `cpu` (the class's default) as
 * AverageUtilization = ceil(target), `memory` as AverageValue = target Mi; no target → no metric, which
 * Kubernetes defaults to 80 % CPU; `window` → both behaviors' stabilizationWindowSeconds; min-scale ≥ 1.
 */
function resolveHpa(
  get: (...keys: string[]) => { key: string; value: string } | undefined,
  num: (min: number, ...keys: string[]) => number | undefined,
  dur: (...keys: string[]) => number | undefined,
  warnings: string[],
  config: AutoscalerConfig,
): ResolvedAutoscaling {
  const metricHit = get('metric');
  let metric: 'cpu' | 'memory' = 'cpu';
  if (metricHit?.value === 'memory') metric = 'memory';
  else if (metricHit && metricHit.value !== 'cpu')
    warnings.push(
      `annotation ${metricHit.key}="${metricHit.value}" is not run here for the HPA class (cpu or memory); using cpu`,
    );
  const target = num(0.01, 'target');
  let targetUtilizationPercent: number = HPA_DEFAULTS.cpuUtilizationPercent;
  let targetAverageBytes = 0;
  if (metric === 'cpu' && target !== undefined) targetUtilizationPercent = Math.ceil(target);
  if (metric === 'memory') {
    if (target === undefined) {
      warnings.push(
        `annotation ${ANNOTATION_PREFIX}metric=memory needs ${ANNOTATION_PREFIX}target (Mi); using cpu 80%`,
      );
      metric = 'cpu';
    } else targetAverageBytes = Math.trunc(target) * 1024 * 1024;
  }
  const windowMs = dur('window');
  const minScale = Math.max(1, Math.floor(num(0, 'min-scale', 'minScale') ?? 0));
  const maxScale = Math.floor(num(0, 'max-scale', 'maxScale') ?? 0);
  const hpa: HpaSpec = {
    metric,
    targetUtilizationPercent,
    targetAverageBytes,
    minReplicas: minScale,
    maxReplicas: maxScale,
    scaleUpStabilizationMs: windowMs ?? 0,
    scaleDownStabilizationMs: windowMs ?? HPA_DEFAULTS.scaleDownStabilizationMs,
    tolerance: HPA_DEFAULTS.tolerance,
  };
  const stableWindowMs = windowMs ?? config.stableWindowMs;
  // The KPA spec still backs the revision's concurrency bookkeeping; its decision is not used.
  const spec: AutoscalerSpec = {
    metric: 'concurrency',
    targetValue: config.containerConcurrencyTargetDefault,
    panicThreshold: config.panicThresholdPercentage / 100,
    maxScaleUpRate: config.maxScaleUpRate,
    maxScaleDownRate: config.maxScaleDownRate,
    stableWindowMs,
    panicWindowMs: Math.max(1, (stableWindowMs * config.panicWindowPercentage) / 100),
    scaleToZeroGracePeriodMs: config.scaleToZeroGracePeriodMs,
    scaleToZeroRetentionMs: 0,
    scaleDownDelayMs: 0,
    minScale,
    maxScale,
  };
  let initialScale = Math.max(Math.floor(num(1, 'initial-scale', 'initialScale') ?? config.initialScale), minScale, 1);
  if (maxScale > 0) initialScale = Math.min(initialScale, maxScale);
  return { spec, initialScale, hpa, warnings };
}
