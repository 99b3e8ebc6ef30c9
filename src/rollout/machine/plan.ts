// A policy flattened into what the machine walks: a list of steps plus defaults filled in. Every strategy
// becomes steps, so one loop drives canary, blue/green and A/B.
import { parseDuration } from '../policy/duration.js';
import type { AbMatch, CanaryStep, OnNoData, RolloutPolicySpec } from '../policy/types.js';
import type { StrategyKind } from './types.js';

export type PlanStep =
  | { kind: 'setWeight'; weight: number }
  /** durationMs null: wait for promote. */
  | { kind: 'pause'; durationMs: number | null }
  | { kind: 'analysis'; checks: number; durationMs: number };

export interface PlanMetric {
  name: string;
  onNoData: OnNoData;
  /** A hold ends at once when the revision served at least this many requests and the query is still empty. */
  minRequests: number;
  noDataTimeoutMs: number;
  onNoDataTimeout: 'fail' | 'pass';
}

export interface PlanAnalysis {
  intervalMs: number;
  windowMs: number;
  failureLimit: number;
  counting: 'consecutive' | 'cumulative';
  metrics: PlanMetric[];
}

export interface Plan {
  strategy: StrategyKind;
  steps: PlanStep[];
  stableTag: string;
  /** The tag of the new revision: canaryTag, previewTag or the A/B tag. */
  canaryTag: string;
  headerRoute: { tag: string; match: AbMatch[] } | null;
  analysis: PlanAnalysis | null;
  /** null: the pinned stable revision. */
  rollbackRevision: string | null;
  rollbackWindow: number;
  progressDeadlineMs: number;
}

export const DEFAULTS = {
  stableTag: 'stable',
  canaryTag: 'canary',
  previewTag: 'preview',
  abTag: 'b',
  failureLimit: 1,
  minRequests: 10,
  noDataTimeoutMs: 5 * 60_000,
  progressDeadlineMs: 10 * 60_000,
  maxWeight: 100,
} as const;

/** Pre: the spec was validated; an unparsable duration here falls back to 0 rather than throwing. */
function ms(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  return parseDuration(text) ?? fallback;
}

function canarySteps(steps: CanaryStep[]): PlanStep[] {
  return steps.map((s): PlanStep => {
    if ('setWeight' in s) return { kind: 'setWeight', weight: Math.max(0, Math.min(100, Math.round(s.setWeight))) };
    if ('pause' in s)
      return { kind: 'pause', durationMs: s.pause.duration === undefined ? null : ms(s.pause.duration, 0) };
    return { kind: 'analysis', checks: s.analysis.checks ?? 1, durationMs: ms(s.analysis.duration, 0) };
  });
}

/**
 * Flagger's progression as explicit steps. With analysis each weight holds until one passing round and
 * at least `interval` (the same cadence as Flagger's ticker, minus its 10 s floor); without, each holds
 * for `interval`. Example: stepWeight 20, maxWeight 50 → 20, 40, 50 (maxWeight caps the last), then promotion.
 */
function intervalSteps(weights: number[], intervalMs: number, withAnalysis: boolean): PlanStep[] {
  const out: PlanStep[] = [];
  for (const w of weights) {
    out.push({ kind: 'setWeight', weight: w });
    out.push(
      withAnalysis
        ? { kind: 'analysis', checks: 1, durationMs: intervalMs }
        : { kind: 'pause', durationMs: intervalMs },
    );
  }
  return out;
}

const plans = new WeakMap<RolloutPolicySpec, Plan>();

/**
 * The plan of a policy, made once per spec object: every decision of every rollout asks for it (at 2,000 rollouts
 * making it anew was 2 % of the controller's CPU). Specs are not mutated once parsed, and callers only read plans.
 */
export function makePlan(spec: RolloutPolicySpec): Plan {
  let p = plans.get(spec);
  if (p === undefined) plans.set(spec, (p = buildPlan(spec)));
  return p;
}

function buildPlan(spec: RolloutPolicySpec): Plan {
  const a = spec.analysis;
  const analysis: PlanAnalysis | null = a
    ? {
        intervalMs: Math.max(1, ms(a.interval, 60_000)),
        windowMs: Math.max(1, ms(a.window ?? a.interval, 60_000)),
        failureLimit: Math.max(1, a.failureLimit ?? DEFAULTS.failureLimit),
        counting: a.failureCounting ?? 'consecutive',
        metrics: a.metrics.map((m) => ({
          name: m.name,
          onNoData: m.onNoData ?? 'hold',
          minRequests: m.minRequests ?? DEFAULTS.minRequests,
          noDataTimeoutMs: ms(m.noDataTimeout, DEFAULTS.noDataTimeoutMs),
          onNoDataTimeout: m.onNoDataTimeout ?? 'fail',
        })),
      }
    : null;
  const rollbackRevision = spec.rollback && 'revisionName' in spec.rollback ? spec.rollback.revisionName : null;
  const common = {
    analysis,
    rollbackRevision,
    rollbackWindow: spec.rollbackWindow?.revisions ?? 0,
    progressDeadlineMs: ms(spec.progressDeadline, DEFAULTS.progressDeadlineMs),
  };
  const st = spec.strategy;
  if (st.blueGreen) {
    const bg = st.blueGreen;
    const steps: PlanStep[] = [];
    if (bg.prePromotionAnalysis && analysis)
      steps.push({
        kind: 'analysis',
        checks: bg.prePromotionAnalysis.checks ?? 1,
        durationMs: ms(bg.prePromotionAnalysis.duration, 0),
      });
    if (bg.autoPromotionEnabled === false) steps.push({ kind: 'pause', durationMs: null });
    else if (bg.autoPromotionSeconds !== undefined && bg.autoPromotionSeconds > 0)
      steps.push({ kind: 'pause', durationMs: bg.autoPromotionSeconds * 1000 });
    return {
      ...common,
      strategy: 'blueGreen',
      steps,
      stableTag: bg.stableTag ?? DEFAULTS.stableTag,
      canaryTag: bg.previewTag ?? DEFAULTS.previewTag,
      headerRoute: null,
    };
  }
  if (st.abTest) {
    const ab = st.abTest;
    const tag = ab.tag ?? DEFAULTS.abTag;
    const steps: PlanStep[] = [];
    if (ab.analysis && analysis) steps.push({ kind: 'analysis', checks: ab.analysis.checks ?? 1, durationMs: 0 });
    steps.push({ kind: 'pause', durationMs: ab.duration === undefined ? null : ms(ab.duration, 0) });
    return {
      ...common,
      strategy: 'abTest',
      steps,
      stableTag: ab.stableTag ?? DEFAULTS.stableTag,
      canaryTag: tag,
      headerRoute: { tag, match: ab.match },
    };
  }
  const c = st.canary ?? {};
  let steps: PlanStep[];
  if (c.steps) {
    steps = canarySteps(c.steps);
  } else {
    const intervalMs = ms(c.interval, 60_000);
    let weights: number[] = c.stepWeights ?? [];
    if (c.stepWeight !== undefined) {
      const max = c.maxWeight ?? DEFAULTS.maxWeight;
      weights = [];
      for (let w = c.stepWeight; w < max; w += c.stepWeight) weights.push(w);
      weights.push(max);
    }
    steps = intervalSteps(weights, intervalMs, analysis !== null);
  }
  return {
    ...common,
    strategy: 'canary',
    steps,
    stableTag: c.stableTag ?? DEFAULTS.stableTag,
    canaryTag: c.canaryTag ?? DEFAULTS.canaryTag,
    headerRoute: null,
  };
}
