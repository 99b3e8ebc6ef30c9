// Pure rules of the controller's analysis clock and of its status-write coalescing. No I/O, no timers: the
// controller feeds them its cached state and the time.
//
// The clock: every rollout whose analysis round is due (state.analysis.dueAt, on the grid shared by every rollout
// with the same interval) is asked for in ONE batch at that grid point, straight from the controller's latest
// decided state — no reconcile and no status write to ask. The round comes back as the observation of the
// rollout's next decision, and its record goes into that decision's status write.
//
// Coalescing: a decision whose only effect is the bookkeeping of a round (when it ran, its values, the passes
// counted, its history record) is "routine". Routine decisions of one Rollout are written together, at most once
// per `routineFlushMs`; so is taking delivered notifications out of the outbox. Anything else (a step, a weight, a
// failure, a hold's message, a new notification, a command) is written at once, carrying the routine progress with it. A crash loses at most the routine progress since
// the last write: those rounds are asked again, so the rollout is only slower, never wrong.
import type { AnalysisRequest } from '../analysis/engine.js';
import type { MetricSpec } from '../policy/types.js';
import type { RolloutState } from '../machine/types.js';
import type { RolloutObjectStatus } from './types.js';
import { METRICS_CONDITION, sameJson } from './status.js';

/** What the clock knows of one rollout: its latest decided state and what its policy asks to measure. */
export interface ClockEntry {
  key: string;
  state: RolloutState;
  metrics: MetricSpec[];
  intervalMs: number;
  windowMs: number;
}

/** The analysis due time of a state, or null when the clock has nothing to ask for it. */
export function analysisDueAt(state: RolloutState): number | null {
  if (state.phase !== 'Progressing' && state.phase !== 'Paused') return null;
  return state.analysis.dueAt;
}

/** The wake-up the machine asks for on account of analysis (see machine.ts wakeAt), or null. */
export function analysisWakeAt(state: RolloutState, intervalMs: number): number | null {
  const due = analysisDueAt(state);
  if (due === null) return null;
  return state.analysis.requestedAt === null ? due : state.analysis.requestedAt + intervalMs;
}

/**
 * The requests of one clock tick at `tick`: every entry due at or before it, except those whose round is being
 * asked or waits to be observed (`busy`). Example: entries due at 14,000 and 15,000, tick 14,000 → the first only.
 */
export function dueRequests(
  entries: Iterable<ClockEntry>,
  tick: number,
  busy: (key: string) => boolean,
): AnalysisRequest[] {
  const out: AnalysisRequest[] = [];
  for (const e of entries) {
    const due = analysisDueAt(e.state);
    if (due === null || due > tick || busy(e.key)) continue;
    out.push({
      key: e.key,
      namespace: e.state.namespace,
      service: e.state.service,
      revision: e.state.canaryRevision,
      stableRevision: e.state.stableRevision,
      metrics: e.metrics,
      windowMs: e.windowMs,
    });
  }
  return out;
}

/** The earliest due time after `after` among the entries (the clock's next tick), or null. */
export function nextTick(entries: Iterable<ClockEntry>, after: number, busy: (key: string) => boolean): number | null {
  let min: number | null = null;
  for (const e of entries) {
    const due = analysisDueAt(e.state);
    if (due === null || busy(e.key)) continue;
    const t = Math.max(due, after);
    if (min === null || t < min) min = t;
  }
  return min;
}

/**
 * The status without the bookkeeping a passing or holding round changes, without the outbox (a decision adding
 * to it is never routine; delivered entries leave it with the next write, and a crash before that only
 * redelivers them, which sinks de-duplicate), and without a MetricsAvailable=True condition (its False is news).
 */
function nonRoutine(s: RolloutObjectStatus): unknown {
  const { analysisRuns: _runs, pendingNotifications: _outbox, analysis, state, conditions, ...rest } = s;
  void _runs;
  void _outbox;
  const news = conditions?.filter((c) => !(c.type === METRICS_CONDITION && c.status === 'True'));
  const a = analysis ? { ...analysis, lastRoundAt: undefined, lastResults: undefined } : undefined;
  const st = state
    ? {
        ...state,
        analysis: {
          ...state.analysis,
          dueAt: undefined,
          requestedAt: undefined,
          lastRoundAt: undefined,
          passesInStep: undefined,
          lastResults: undefined,
        },
      }
    : undefined;
  return { ...rest, analysis: a, state: st, conditions: news && news.length > 0 ? news : undefined };
}

/**
 * Whether `next` differs from `stored` only in round bookkeeping (so its write may wait). Example: a paused
 * rollout's round passes again → routine; the same round failing (consecutiveFailures 0 → 1, a message) → not.
 */
export function isRoutine(stored: RolloutObjectStatus, next: RolloutObjectStatus): boolean {
  return compareStatus(stored, next) !== 'changed';
}

/** What a round's decision touches: the run history (records are per round: their time says which), the
 * outbox (ids say which), the analysis summary and state, the conditions. */
function routinePart(s: RolloutObjectStatus): unknown {
  return {
    runs: (s.analysisRuns ?? []).map((r) => `${r.at}|${r.revision}|${r.verdict}`),
    outbox: (s.pendingNotifications ?? []).map((n) => n.id),
    analysis: s.analysis,
    state: s.state?.analysis,
    conditions: s.conditions,
  };
}

/**
 * `next` against the stored status: the same, different only in round bookkeeping (`routine`), or `changed`.
 * Compares the non-routine part first (the stored side's parts made once per object), then the small routine
 * part; both by walking the two (sameJson), not by building their canonical texts: at 2,000 rollouts the texts
 * were 13 % of the controller's CPU and much of its garbage.
 */
export function compareStatus(stored: RolloutObjectStatus, next: RolloutObjectStatus): 'same' | 'routine' | 'changed' {
  if (!stored.state || !next.state) return sameJson(next, stored) ? 'same' : 'changed';
  let parts = partsCache.get(stored);
  if (parts === undefined)
    partsCache.set(stored, (parts = { nonRoutine: nonRoutine(stored), routine: routinePart(stored) }));
  if (!sameJson(parts.nonRoutine, nonRoutine(next))) return 'changed';
  return sameJson(parts.routine, routinePart(next)) ? 'same' : 'routine';
}
const partsCache = new WeakMap<object, { nonRoutine: unknown; routine: unknown }>();

/**
 * How long routine progress of one Rollout may wait: spread `writesPerSecond` over the `rollouts` analysing,
 * never less than `minMs`. Example: 10,000 rollouts at 100 writes/s → 100 s; 50 rollouts → 1 s (minMs).
 */
export function routineFlushMs(rollouts: number, writesPerSecond: number, minMs = 1000): number {
  if (writesPerSecond <= 0) return minMs;
  return Math.max(minMs, Math.ceil((rollouts / writesPerSecond) * 1000));
}
