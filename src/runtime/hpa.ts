// The decision of the Kubernetes HorizontalPodAutoscaler that Knative creates for a revision with
// `autoscaling.knative.dev/class: hpa.autoscaling.knative.dev` (pkg/reconciler/autoscaling/hpa/resources/hpa.go),
// after the HPA controller's replica calculator and its behavior stabilization (k8s.io/kubernetes
// pkg/controller/podautoscaler). Pure: usage samples and `now` come in, a replica count goes out.

/** The HPA class's metrics that run here: CPU utilisation of the request, or average memory use. */
export type HpaMetric = 'cpu' | 'memory';

export interface HpaSpec {
  metric: HpaMetric;
  /** cpu: TargetAverageUtilization, percent of the container's CPU request (Knative: ceil(target)). */
  targetUtilizationPercent: number;
  /** memory: AverageValue per pod in bytes (Knative: target Mi). */
  targetAverageBytes: number;
  /** ≥ 1: the HPA class never scales to zero. */
  minReplicas: number;
  /** 0 means unbounded (Knative: MaxInt32). */
  maxReplicas: number;
  /** behavior.scaleUp.stabilizationWindowSeconds, ms (Kubernetes default 0; Knative: the `window` annotation). */
  scaleUpStabilizationMs: number;
  /** behavior.scaleDown.stabilizationWindowSeconds, ms (Kubernetes default 300 s; Knative: `window`). */
  scaleDownStabilizationMs: number;
  /** The HPA controller's --horizontal-pod-autoscaler-tolerance, default 0.1. */
  tolerance: number;
}

export const HPA_DEFAULTS = {
  /** Kubernetes autoscaling/v2 defaulting: an HPA without metrics scales on 80 % CPU utilisation. */
  cpuUtilizationPercent: 80,
  scaleDownStabilizationMs: 300_000,
  tolerance: 0.1,
  /**
   * Kubernetes' default behavior.scaleUp policies (selectPolicy Max): per 15 s period, +100 % or +4 pods,
   * whichever allows more. The default scale-down policy (100 % per 15 s) never limits, so it is left out.
   */
  scaleUpPeriodMs: 15_000,
  scaleUpPercent: 100,
  scaleUpPods: 4,
} as const;

export interface HpaState {
  /** The raw (pre-stabilisation) recommendations, newest last, kept for the longer of the two windows. */
  recommendations: Array<{ at: number; replicas: number }>;
  /** Changes of the replica count made by this autoscaler within the last scale-up period. */
  events: Array<{ at: number; change: number }>;
}

export interface HpaObservation {
  now: number;
  /** The scale subresource's replicas: the processes that exist. */
  currentReplicas: number;
  /** Per ready process with a metric: CPU in cores (cpu) or resident bytes (memory). */
  usages: number[];
  /**
   * Processes that exist but have no metric yet (starting, not ready, or one sample only). As Kubernetes does
   * with unready pods: counted as using nothing when scaling up, left out when scaling down.
   */
  pendingPods: number;
  /** The container's resources.requests.cpu in cores; undefined when not set (needed for `cpu` only). */
  cpuRequestCores: number | undefined;
}

export interface HpaDecision {
  desiredPods: number;
  state: HpaState;
  /** Current utilisation in percent (cpu) or average bytes (memory); undefined when it could not be computed. */
  current: number | undefined;
  why: string;
}

export function initialHpaState(): HpaState {
  return { recommendations: [], events: [] };
}

/**
 * Kubernetes' replica calculator for one resource metric. Returns undefined when the metric cannot be computed
 * (no process with a sample, or no CPU request: the HPA then reports FailedGetResourceMetric and keeps the count).
 */
export function hpaRecommend(
  spec: HpaSpec,
  obs: HpaObservation,
): { replicas: number; current: number } | { error: string } {
  const n = obs.usages.length;
  if (n === 0) return { error: 'no process has reported a metric yet' };
  const used = obs.usages.reduce((a, b) => a + b, 0);
  let ratio: number;
  let current: number;
  if (spec.metric === 'cpu') {
    if (obs.cpuRequestCores === undefined || obs.cpuRequestCores <= 0)
      return { error: 'missing request for cpu in the serving container (resources.requests.cpu)' };
    // Kubernetes: utilisation = int32(sum(usage) * 100 / sum(requests)), every pod having the same request.
    current = Math.trunc((used * 100) / (obs.cpuRequestCores * n));
    ratio = current / spec.targetUtilizationPercent;
  } else {
    current = used / n;
    ratio = current / spec.targetAverageBytes;
  }
  // Within the tolerance the HPA keeps the current count (not the count with metrics).
  if (Math.abs(1 - ratio) <= spec.tolerance) return { replicas: obs.currentReplicas, current };
  if (ratio <= 1 || obs.pendingPods <= 0) return { replicas: Math.ceil(ratio * n), current };
  // Scaling up with pods still starting: recompute as if they used nothing, so a burst is not counted twice
  // while the replicas it asked for come up; no change if that lands within the tolerance or flips direction.
  const all = n + obs.pendingPods;
  const damped =
    spec.metric === 'cpu'
      ? Math.trunc((current * n) / all) / spec.targetUtilizationPercent
      : (current * n) / all / spec.targetAverageBytes;
  if (Math.abs(1 - damped) <= spec.tolerance || damped < 1) return { replicas: obs.currentReplicas, current };
  return { replicas: Math.ceil(damped * all), current };
}

/**
 * One HPA step. Worked example, target 50 %, request 100m, 1 process using 0.2 cores: utilisation 200 %, ratio 4
 * → 4 replicas. When the load stops, each recommendation is 1, but the scale-down window keeps the highest
 * recommendation of the last 300 s (or `window`), so the count drops only once the window has seen no higher one.
 */
export function hpaDecide(spec: HpaSpec, state: HpaState, obs: HpaObservation): HpaDecision {
  const now = obs.now;
  const keepMs = Math.max(spec.scaleUpStabilizationMs, spec.scaleDownStabilizationMs);
  const events = state.events.filter((e) => now - e.at < HPA_DEFAULTS.scaleUpPeriodMs);
  const current = obs.currentReplicas;
  const clamp = (r: number): number => {
    const lo = Math.max(1, spec.minReplicas);
    const withMin = Math.max(lo, r);
    return spec.maxReplicas > 0 ? Math.min(withMin, spec.maxReplicas) : withMin;
  };
  const rec = hpaRecommend(spec, obs);
  if ('error' in rec) {
    // Kubernetes: no valid metric → no rescale, except to bring the count within [min, max].
    return {
      desiredPods: clamp(current),
      state: { recommendations: state.recommendations.filter((r) => now - r.at <= keepMs), events },
      current: undefined,
      why: rec.error,
    };
  }
  const recommendations = [
    ...state.recommendations.filter((r) => now - r.at <= keepMs),
    { at: now, replicas: rec.replicas },
  ];
  // stabilizeRecommendationWithBehaviors: scale up to the lowest recommendation of the up window, down to the
  // highest of the down window; a window of 0 holds only the newest recommendation.
  let up = rec.replicas;
  let down = rec.replicas;
  for (const r of recommendations) {
    if (now - r.at <= spec.scaleUpStabilizationMs) up = Math.min(up, r.replicas);
    if (now - r.at <= spec.scaleDownStabilizationMs) down = Math.max(down, r.replicas);
  }
  let desired = current;
  if (up > current) desired = up;
  else if (down < current) desired = down;
  let limited = '';
  if (desired > current) {
    // convertDesiredReplicasWithBehaviorRate: count from the replicas at the start of the period.
    const start = current - events.reduce((a, e) => a + e.change, 0);
    const limit = Math.max(
      current,
      start + HPA_DEFAULTS.scaleUpPods,
      Math.ceil(start * (1 + HPA_DEFAULTS.scaleUpPercent / 100)),
    );
    if (desired > limit) {
      desired = limit;
      limited = `, limited to ${limit} by the scale-up policy`;
    }
  }
  desired = clamp(desired);
  if (desired !== current) events.push({ at: now, change: desired - current });
  const what =
    spec.metric === 'cpu'
      ? `cpu utilization ${rec.current}% / target ${spec.targetUtilizationPercent}%`
      : `memory ${Math.round(rec.current / 1048576)}Mi / target ${Math.round(spec.targetAverageBytes / 1048576)}Mi`;
  return {
    desiredPods: desired,
    state: { recommendations, events },
    current: rec.current,
    why: `hpa: ${what} on ${obs.usages.length} → recommends ${rec.replicas}${limited}`,
  };
}

const CPU_SUFFIX: Record<string, number> = { '': 1, m: 1e-3, u: 1e-6, n: 1e-9, k: 1e3, M: 1e6, G: 1e9 };

/** A Kubernetes CPU quantity (`100m`, `0.5`, `1`, `2k`, `1e3`) in cores; undefined when malformed or negative. */
export function parseCpuQuantity(q: string): number | undefined {
  const m = /^([+]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(m|u|n|k|M|G)?)$/.exec(q.trim());
  if (!m) return undefined;
  const base = Number(m[1]) * (m[2] ? Math.pow(10, Number(m[2].slice(1))) : 1);
  const v = base * (CPU_SUFFIX[m[3] ?? ''] ?? NaN);
  return Number.isFinite(v) ? v : undefined;
}
