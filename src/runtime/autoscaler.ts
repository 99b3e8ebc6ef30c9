// The autoscaler's decision, after Knative's KPA (pkg/autoscaler/scaling/autoscaler.go), as pure functions of
// (spec, state, observation with `now`). The runtime samples the scaling metric (concurrency, or requests per
// second with `autoscaling.knative.dev/metric: rps`), feeds the windows below and applies the decision; nothing
// here reads a clock or sets a timer. As in Knative, the decision is the same for both metrics: only what is
// observed and the target differ.

/** What the KPA scales on (`autoscaling.knative.dev/metric`); Knative's KPA accepts these two. */
export type ScalingMetric = 'concurrency' | 'rps';

export interface AutoscalerSpec {
  metric: ScalingMetric;
  /**
   * Desired average of the metric per replica (Knative's TargetValue: target × utilisation, ≥ 0.01): concurrent
   * requests, or requests per second.
   */
  targetValue: number;
  /** Panic when the panic-window demand reaches this multiple of the ready capacity; Knative default 2 (200%). */
  panicThreshold: number;
  /** Knative `max-scale-up-rate`, default 1000: at most ceil(rate × ready) replicas. */
  maxScaleUpRate: number;
  /** Knative `max-scale-down-rate`, default 2: at least floor(ready / rate) replicas. */
  maxScaleDownRate: number;
  /** Knative `stable-window` (default 60 s), milliseconds. */
  stableWindowMs: number;
  /** Knative `panic-window-percentage` (default 10 %) of the stable window, milliseconds. */
  panicWindowMs: number;
  /** After the stable window has seen no traffic, the last replica stays this long (Knative default 30 s). */
  scaleToZeroGracePeriodMs: number;
  /** `autoscaling.knative.dev/scale-to-zero-pod-retention-period`: minimum idle time before zero. */
  scaleToZeroRetentionMs: number;
  /** `autoscaling.knative.dev/scale-down-delay`: the decision is the maximum over this trailing window. */
  scaleDownDelayMs: number;
  minScale: number;
  /** 0 means unbounded. */
  maxScale: number;
}

export interface AutoscalerState {
  /** When the panic started or was last extended (ms); null when not panicking. */
  panicSince: number | null;
  /** While panicking the replica count never goes down; this is the high-water mark. */
  maxPanicPods: number;
  /** Recent raw decisions, for scale-down delay. Sorted by time. */
  recent: Array<{ at: number; pods: number }>;
}

export interface Observation {
  /** Milliseconds since the epoch. */
  now: number;
  /** Replicas passing readiness. */
  readyPods: number;
  /** Replicas that exist (ready or not). */
  currentPods: number;
  /** The metric over the stable window, for the whole revision: average concurrency (in flight + queued), or rps. */
  stableValue: number;
  /** The metric over the panic window. */
  panicValue: number;
  /** Last time the revision had a request in flight or queued (or became ready), ms. */
  lastActiveAt: number;
}

export interface Decision {
  desiredPods: number;
  panicking: boolean;
  state: AutoscalerState;
  /** Short explanation for logs and status, e.g. `panic: 12 wanted by the panic window`. */
  why: string;
}

const METRIC_WORDS: Record<ScalingMetric, string> = { concurrency: 'average concurrency', rps: 'requests per second' };

export function initialAutoscalerState(): AutoscalerState {
  return { panicSince: null, maxPanicPods: 0, recent: [] };
}

/**
 * One KPA step. Worked example, target 10, stable window 60 s, panic window 6 s, 2 ready replicas:
 * a burst brings the 6 s average to 45 → wants ceil(45/10) = 5, and 5/2 ≥ 2 so panic starts; the result is
 * max(stable wish, 5) = 5 and stays ≥ 5 until a full stable window passes without crossing the threshold.
 */
export function decide(spec: AutoscalerSpec, state: AutoscalerState, obs: Observation): Decision {
  const now = obs.now;
  const readyCount = Math.max(1, obs.readyPods);
  const maxUp = Math.ceil(spec.maxScaleUpRate * readyCount);
  const maxDown = Math.floor(readyCount / spec.maxScaleDownRate);
  const target = Math.max(0.01, spec.targetValue);
  const dspc = Math.ceil(obs.stableValue / target);
  const dppc = Math.ceil(obs.panicValue / target);
  const desiredStable = Math.min(Math.max(dspc, maxDown), maxUp);
  const desiredPanic = Math.min(Math.max(dppc, maxDown), maxUp);
  const overPanic = dppc / readyCount >= spec.panicThreshold;

  let panicSince = state.panicSince;
  let maxPanicPods = state.maxPanicPods;
  if (overPanic) {
    panicSince = now;
  } else if (panicSince !== null && now - panicSince >= spec.stableWindowMs) {
    // The surge has had a whole stable window to reach the stable average: trust it again.
    panicSince = null;
    maxPanicPods = 0;
  }

  let desired = desiredStable;
  let why = `stable: ${METRIC_WORDS[spec.metric]} ${round(obs.stableValue)} / target ${round(target)}`;
  if (panicSince !== null) {
    desired = Math.max(desired, desiredPanic);
    // No scale-down while panicking: hold the highest count seen in this panic.
    maxPanicPods = Math.max(maxPanicPods, desired);
    desired = maxPanicPods;
    why = `panic: panic-window ${METRIC_WORDS[spec.metric]} ${round(obs.panicValue)} / target ${round(target)} on ${readyCount} ready`;
  }

  let recent = state.recent;
  if (spec.scaleDownDelayMs > 0) {
    recent = [...state.recent.filter((r) => now - r.at < spec.scaleDownDelayMs), { at: now, pods: desired }];
    desired = Math.max(...recent.map((r) => r.pods));
  } else if (recent.length > 0) {
    recent = [];
  }

  if (desired === 0) {
    const idle = now - obs.lastActiveAt;
    const needIdle = Math.max(spec.stableWindowMs + spec.scaleToZeroGracePeriodMs, spec.scaleToZeroRetentionMs);
    if (idle < needIdle && obs.currentPods > 0) {
      desired = 1;
      why = `idle ${Math.round(idle)} ms of ${needIdle} ms before scale to zero`;
    } else if (obs.currentPods > 0) {
      why = `idle ${Math.round(idle)} ms: scale to zero`;
    }
  }

  desired = Math.max(desired, spec.minScale);
  if (spec.maxScale > 0) desired = Math.min(desired, spec.maxScale);
  return { desiredPods: desired, panicking: panicSince !== null, state: { panicSince, maxPanicPods, recent }, why };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Time-weighted average of a step function (the number of requests in flight), read out once per tick.
 * Example: 0 for 500 ms then 4 for 500 ms → take() = 2.
 */
export class ConcurrencyAverager {
  #value = 0;
  #since: number;
  #periodStart: number;
  #area = 0;

  constructor(now: number) {
    this.#since = now;
    this.#periodStart = now;
  }

  get value(): number {
    return this.#value;
  }

  /** Record that concurrency changed to `value` at `now`. */
  set(now: number, value: number): void {
    this.#area += this.#value * Math.max(0, now - this.#since);
    this.#since = now;
    this.#value = value;
  }

  /** Average since the previous take (or construction), and the period it covers; starts a new period. */
  take(now: number): { start: number; end: number; average: number } {
    this.set(now, this.#value);
    const span = now - this.#periodStart;
    // A zero-length period has no area; the instantaneous value is the honest answer.
    const average = span > 0 ? this.#area / span : this.#value;
    const out = { start: this.#periodStart, end: now, average };
    this.#area = 0;
    this.#periodStart = now;
    return out;
  }
}

/**
 * Requests per second between two reads: arrivals are counted as they come and read out once per tick, as a
 * sample for the same windows as concurrency. Example: 15 arrivals over 500 ms → take() average 30.
 */
export class RateCounter {
  #count = 0;
  #periodStart: number;

  constructor(now: number) {
    this.#periodStart = now;
  }

  arrive(): void {
    this.#count++;
  }

  take(now: number): { start: number; end: number; average: number } {
    const span = now - this.#periodStart;
    // No time has passed: nothing can be said about a rate, and the arrivals count toward the next period.
    if (span <= 0) return { start: now, end: now, average: 0 };
    const out = { start: this.#periodStart, end: now, average: (this.#count * 1000) / span };
    this.#count = 0;
    this.#periodStart = now;
    return out;
  }
}

/** Averages of per-tick samples over trailing windows (the stable and the panic window). */
export class ConcurrencyWindow {
  #samples: Array<{ start: number; end: number; average: number }> = [];
  readonly #keepMs: number;

  constructor(keepMs: number) {
    this.#keepMs = keepMs;
  }

  record(sample: { start: number; end: number; average: number }): void {
    this.#samples.push(sample);
    const cutoff = sample.end - this.#keepMs;
    while (this.#samples.length > 0 && (this.#samples[0]?.end ?? Infinity) <= cutoff) this.#samples.shift();
  }

  /** Time-weighted average over [now - windowMs, now], counting only the part covered by samples. */
  average(now: number, windowMs: number): number {
    const from = now - windowMs;
    let area = 0;
    let covered = 0;
    for (const s of this.#samples) {
      const a = Math.max(s.start, from);
      const b = Math.min(s.end, now);
      if (b > a) {
        area += s.average * (b - a);
        covered += b - a;
      } else if (s.end === s.start && s.end > from && s.end <= now) {
        // Instantaneous samples (zero span) still say something when nothing else does.
        if (covered === 0) return s.average;
      }
    }
    return covered > 0 ? area / covered : 0;
  }
}
