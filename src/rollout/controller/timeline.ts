// Pure helpers for the audit trail a Rollout keeps in its own status (not in Events, which expire after an
// hour): the decision timeline (every machine decision and every human command, with time, actor and reason)
// and the bounded history of finished rollouts of the Service.
import { TERMINAL_PHASES, type Command, type Phase, type RolloutState } from '../machine/types.js';
import type { Plan, PlanStep } from '../machine/plan.js';
import type { AnalysisRunRecord, RolloutNotification } from './types.js';

/** Entries a Rollout keeps in `status.timeline` (oldest dropped first). */
export const TIMELINE_LIMIT = 100;
/** Finished rollouts a Rollout keeps in `status.pastRollouts`. */
export const PAST_ROLLOUTS_LIMIT = 20;
/** Who made the machine's own decisions. */
export const CONTROLLER_ACTOR = 'sluice-controller';

export interface TimelineEntry {
  /** RFC 3339. */
  at: string;
  /** `decision`: the controller decided; `action`: a human command was applied. */
  type: 'decision' | 'action';
  /** The machine's event kind (`step`, `paused`, `rolledBack`, …) or the command (`promote`, `abort`, …). */
  event: string;
  actor: string;
  message: string;
  reason?: string;
  revision?: string;
  step?: number;
  weight?: number;
}

export interface PastRollout {
  revision: string;
  /** The stable revision when this rollout began. */
  from: string;
  outcome: Phase;
  /** RFC 3339. */
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  message: string;
  totalFailures: number;
  /** The last analysis round of this revision: the evidence that decided it. */
  lastAnalysis?: AnalysisRunRecord;
}

export type StoredCommand = Command & { by?: string; reason?: string };

/** The machine's decisions of one step, as timeline entries. */
export function decisionsOf(fresh: readonly RolloutNotification[]): TimelineEntry[] {
  return fresh.map((n) => ({
    at: new Date(n.at).toISOString(),
    type: 'decision',
    event: n.event,
    actor: CONTROLLER_ACTOR,
    message: n.message,
    revision: n.revision,
    step: n.step,
    weight: n.weight,
  }));
}

/**
 * The commands this step applied (seq in (before, after]) as timeline entries; `message` is the state's message
 * after the step, which says what the command did (or why it did nothing).
 */
export function actionsOf(
  commands: readonly StoredCommand[],
  beforeSeq: number,
  after: RolloutState,
  now: number,
): TimelineEntry[] {
  return commands
    .filter((c) => c.seq > beforeSeq && c.seq <= after.lastCommandSeq)
    .sort((a, b) => a.seq - b.seq)
    .map((c) => {
      const e: TimelineEntry = {
        at: new Date(now).toISOString(),
        type: 'action',
        event: c.kind === 'promote' && c.full ? 'promote-full' : c.kind,
        actor: c.by || 'unknown',
        message: after.message,
        revision: after.canaryRevision,
        step: after.currentStep,
        weight: after.canaryWeight,
      };
      if (c.reason) e.reason = c.reason;
      return e;
    });
}

/** Appends, keeping the newest `limit`. Human actions come before the decisions they caused. */
export function appendTimeline(
  prev: readonly TimelineEntry[] | undefined,
  entries: readonly TimelineEntry[],
  limit = TIMELINE_LIMIT,
): TimelineEntry[] {
  if (entries.length === 0) return [...(prev ?? [])].slice(-limit);
  return [...(prev ?? []), ...entries].slice(-limit);
}

/**
 * A finished rollout when this step moved the state from a running phase into a terminal one; null otherwise.
 * `from` is the stable revision before the step (a success moves `stableRevision` to the canary).
 */
export function finishedRollout(
  before: RolloutState | undefined,
  after: RolloutState,
  lastRun: AnalysisRunRecord | undefined,
  now: number,
): PastRollout | null {
  if (!before || TERMINAL_PHASES.includes(before.phase) || !TERMINAL_PHASES.includes(after.phase)) return null;
  if (after.canaryRevision === before.stableRevision) return null;
  const p: PastRollout = {
    revision: after.canaryRevision,
    from: before.stableRevision,
    outcome: after.phase,
    startedAt: new Date(after.startedAt).toISOString(),
    finishedAt: new Date(now).toISOString(),
    durationSeconds: Math.max(0, Math.round((now - after.startedAt) / 1000)),
    message: after.message,
    totalFailures: after.analysis.totalFailures,
  };
  if (lastRun && lastRun.revision === after.canaryRevision) p.lastAnalysis = lastRun;
  return p;
}

export function appendPast(
  prev: readonly PastRollout[] | undefined,
  p: PastRollout | null,
  limit = PAST_ROLLOUTS_LIMIT,
): PastRollout[] {
  return [...(prev ?? []), ...(p ? [p] : [])].slice(-limit);
}

/** What a view needs of the plan: the steps (durations in ms; a pause of null waits for promote) and limits. */
export interface PlanSummary {
  strategy: Plan['strategy'];
  steps: PlanStep[];
  canaryTag: string;
  stableTag: string;
  failureLimit?: number;
  counting?: 'consecutive' | 'cumulative';
  intervalMs?: number;
}

const summaries = new WeakMap<Plan, PlanSummary>();

export function planSummary(p: Plan): PlanSummary {
  // One summary per plan object (plans are made once per policy spec): every status of every rollout under the
  // same policy then holds the same object, which costs no memory per Rollout and compares by reference.
  const known = summaries.get(p);
  if (known) return known;
  const s: PlanSummary = { strategy: p.strategy, steps: p.steps, canaryTag: p.canaryTag, stableTag: p.stableTag };
  if (p.analysis) {
    s.failureLimit = p.analysis.failureLimit;
    s.counting = p.analysis.counting;
    s.intervalMs = p.analysis.intervalMs;
  }
  summaries.set(p, s);
  return s;
}
