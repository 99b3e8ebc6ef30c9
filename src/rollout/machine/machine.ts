// The rollout machine: a pure function from (state, observations, now) to (state, actions, wakeAt).
// It never reads a clock, a socket or a file. The runner persists `state`, then performs `actions`, then
// calls `step` again at `wakeAt` or on any new observation (level-triggered: calling it again with the same
// inputs changes nothing and emits no new notifications).
//
// Order inside one call, chosen so a single call can react fully:
//   1. a new latest revision (start or supersede a rollout)   4. progress through steps (bounded loop)
//   2. user commands, in seq order, each once                  5. emit setTraffic / header route on change
//   3. readiness, then the analysis round (maybe roll back)    6. ask for analysis when due; compute wakeAt
import { cloneJson } from '../../util/clone-json.js';
import { DEFAULTS, makePlan, type Plan, type PlanAnalysis } from './plan.js';
import type { AnalysisRound, MetricResult } from '../analysis/result.js';
import {
  TERMINAL_PHASES,
  type Action,
  type AnalysisState,
  type Command,
  type EventKind,
  type MetricSummary,
  type Observations,
  type Phase,
  type RolloutState,
  type StepResult,
  type TrafficTarget,
} from './types.js';

/** Enough for any policy: each iteration consumes a step or stops. */
const MAX_TRANSITIONS = 1000;
/** How many previously stable revisions are remembered for rollbackWindow. */
const HISTORY_LIMIT = 20;

function emptyAnalysis(): AnalysisState {
  return {
    dueAt: null,
    requestedAt: null,
    lastRoundAt: null,
    consecutiveFailures: 0,
    totalFailures: 0,
    passesInStep: 0,
    noDataSince: {},
    holding: [],
    lastResults: [],
  };
}

/**
 * The state of a Service with nothing to roll out: `stableRevision` serves 100 %. Feed it observations with
 * `latestRevision` set to a new revision to start a rollout.
 */
export function initialState(args: {
  namespace: string;
  service: string;
  stableRevision: string;
  now: number;
  history?: string[];
  stableTag?: string;
}): RolloutState {
  return {
    namespace: args.namespace,
    service: args.service,
    phase: 'Succeeded',
    strategy: 'canary',
    stableRevision: args.stableRevision,
    canaryRevision: args.stableRevision,
    currentStep: 0,
    totalSteps: 0,
    stepStartedAt: args.now,
    canaryWeight: 0,
    traffic: [{ revisionName: args.stableRevision, percent: 100, tag: args.stableTag ?? DEFAULTS.stableTag }],
    headerRoute: false,
    pause: null,
    analysis: emptyAnalysis(),
    startedAt: args.now,
    lastCommandSeq: 0,
    message: `revision ${args.stableRevision} is stable`,
    history: args.history ?? [],
    fastTrack: false,
  };
}

export function isTerminal(phase: Phase): boolean {
  return TERMINAL_PHASES.includes(phase);
}

/** Where traffic goes on rollback or abort. */
export function rollbackTarget(state: RolloutState, plan: Plan): string {
  return plan.rollbackRevision ?? state.stableRevision;
}

/**
 * The whole traffic block a state asks for. Tags ride in the same list (one write to the Route, so the
 * split and the tag URLs never disagree). Pre: 0 ≤ canaryWeight ≤ 100.
 */
export function desiredTraffic(state: RolloutState, plan: Plan): TrafficTarget[] {
  const { stableRevision: stable, canaryRevision: canary } = state;
  switch (state.phase) {
    case 'Promoting':
    case 'Succeeded':
      return [{ revisionName: canary, percent: 100, tag: plan.stableTag }];
    case 'RollingBack':
    case 'RolledBack':
    case 'Aborted': {
      const target = rollbackTarget(state, plan);
      if (target === canary) return [{ revisionName: target, percent: 100, tag: plan.stableTag }];
      // The failed revision keeps its tag at 0 %: its URL stays up for debugging, it takes no traffic.
      return [
        { revisionName: target, percent: 100, tag: plan.stableTag },
        { revisionName: canary, percent: 0, tag: plan.canaryTag },
      ];
    }
    default: {
      if (stable === canary) return [{ revisionName: stable, percent: 100, tag: plan.stableTag }];
      const w = plan.strategy === 'canary' ? Math.max(0, Math.min(100, state.canaryWeight)) : 0;
      return [
        { revisionName: stable, percent: 100 - w, tag: plan.stableTag },
        { revisionName: canary, percent: w, tag: plan.canaryTag },
      ];
    }
  }
}

function sameTraffic(a: readonly TrafficTarget[], b: readonly TrafficTarget[]): boolean {
  const key = (t: TrafficTarget): string => `${t.revisionName}\u0000${t.tag ?? ''}\u0000${t.percent}`;
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** Working context of one call; collects actions while the state is mutated on a private copy. */
/**
 * Rounds are due on a grid shared by every rollout with the same interval (multiples of it since the epoch), so
 * rollouts started at different moments come due together and one batched query per metric serves them all.
 * Without it each rollout keeps its own phase and, with 500 rollouts, batches shrink to whatever falls inside
 * the controller's coalescing window. Example: interval 1000 ms, a step starting at t=12,340 is first checked
 * at 14,000 (not 13,340); a round answered at 14,050 makes the next one due at 15,000.
 */
export function onGrid(t: number, intervalMs: number): number {
  if (intervalMs <= 0) return t;
  return Math.ceil(t / intervalMs) * intervalMs;
}

class Run {
  readonly actions: Action[] = [];
  constructor(
    readonly s: RolloutState,
    readonly plan: Plan,
    readonly obs: Observations,
    readonly now: number,
  ) {}

  get ref(): { namespace: string; service: string } {
    return { namespace: this.s.namespace, service: this.s.service };
  }

  notify(event: EventKind, message: string): void {
    this.s.message = message;
    this.actions.push({
      kind: 'notify',
      event,
      ...this.ref,
      revision: this.s.canaryRevision,
      stableRevision: this.s.stableRevision,
      step: this.s.currentStep,
      weight: this.s.canaryWeight,
      message,
      at: this.now,
    });
  }

  readiness(rev: string): string {
    return this.obs.revisions?.[rev] ?? 'notReady';
  }

  enterStep(index: number): void {
    this.s.currentStep = index;
    this.s.stepStartedAt = this.now;
    this.s.analysis.passesInStep = 0;
  }

  startAnalysis(): void {
    const a = this.plan.analysis;
    this.s.analysis = emptyAnalysis();
    // The first round waits one interval, so the canary has served one window of traffic.
    if (a && !this.s.fastTrack) this.s.analysis.dueAt = onGrid(this.now + a.intervalMs, a.intervalMs);
  }

  /** A new rollout of `revision` from the current stable revision. */
  begin(revision: string): void {
    const s = this.s;
    s.canaryRevision = revision;
    s.strategy = this.plan.strategy;
    s.totalSteps = this.plan.steps.length;
    s.canaryWeight = 0;
    s.pause = null;
    s.startedAt = this.now;
    s.analysis = emptyAnalysis();
    this.enterStep(0);
    if (revision === s.stableRevision) {
      s.phase = 'Succeeded';
      s.fastTrack = false;
      s.message = `revision ${revision} is already stable; nothing to roll out`;
      return;
    }
    const idx = s.history.indexOf(revision);
    s.fastTrack = idx >= 0 && idx < this.plan.rollbackWindow;
    s.phase = 'Pending';
    s.message = s.fastTrack
      ? `revision ${revision} was stable ${idx + 1} revision(s) ago (rollbackWindow ${this.plan.rollbackWindow}); promoting without analysis once it is ready`
      : `waiting for revision ${revision} to become ready`;
  }

  rollBack(reason: string, event: EventKind): void {
    const s = this.s;
    s.phase = 'RollingBack';
    s.pause = null;
    s.analysis.dueAt = null;
    s.analysis.requestedAt = null;
    this.notify(event, `rolling back to ${rollbackTarget(s, this.plan)}: ${reason}`);
    // RollingBack and RolledBack route 0 % to the canary (desiredTraffic); the event above keeps the weight it failed at.
    s.canaryWeight = 0;
  }

  promote(reason: string): void {
    this.s.phase = 'Promoting';
    // Promoting and Succeeded route 100 % to the canary (desiredTraffic); say so in the status and the events.
    this.s.canaryWeight = 100;
    this.s.pause = null;
    this.s.analysis.dueAt = null;
    this.s.analysis.requestedAt = null;
    this.enterStep(this.plan.steps.length);
    this.notify('promoted', `promoting ${this.s.canaryRevision}: ${reason}`);
  }

  advance(): void {
    this.enterStep(this.s.currentStep + 1);
  }

  // ---- 1. new revisions ----
  observeLatest(): void {
    const latest = this.obs.latestRevision;
    const s = this.s;
    if (latest === undefined || latest === s.canaryRevision) return;
    if (isTerminal(s.phase)) {
      if (s.phase !== 'Succeeded' && latest === s.stableRevision) return; // Git reverted to what already serves
      this.begin(latest);
      return;
    }
    // A newer revision replaces the one in flight: back to stable for the old canary, start over.
    const old = s.canaryRevision;
    this.begin(latest);
    if (s.phase === 'Succeeded')
      this.notify('aborted', `rollout of ${old} abandoned: the Service went back to stable revision ${latest}`);
    else s.message = `revision ${latest} supersedes ${old}; ${s.message}`;
  }

  // ---- 2. commands ----
  applyCommands(): void {
    const cmds = (this.obs.commands ?? []).filter((c) => c.seq > this.s.lastCommandSeq).sort((a, b) => a.seq - b.seq);
    for (const c of cmds) {
      this.applyCommand(c);
      this.s.lastCommandSeq = c.seq;
    }
  }

  applyCommand(c: Command): void {
    const s = this.s;
    const active = s.phase === 'Progressing' || s.phase === 'Paused';
    switch (c.kind) {
      case 'pause':
        if (s.phase === 'Progressing') {
          s.phase = 'Paused';
          s.pause = { reason: 'user', since: this.now };
          this.notify('paused', `paused by user at step ${s.currentStep}`);
        }
        return;
      case 'resume':
        if (s.phase !== 'Paused' || !s.pause) return;
        if (s.pause.reason === 'user') {
          // Keep the time a pause step had left: shift its start by the time spent paused.
          s.stepStartedAt += this.now - s.pause.since;
          s.phase = 'Progressing';
          s.pause = null;
          s.message = `resumed at step ${s.currentStep}`;
        } else {
          s.phase = 'Progressing';
          s.pause = null;
          this.advance();
          s.message = `resumed past pause step ${s.currentStep - 1}`;
        }
        return;
      case 'promote':
        if (!active) return;
        if (c.full) {
          this.promote('full promotion requested by user');
          return;
        }
        s.phase = 'Progressing';
        s.pause = null;
        this.advance();
        s.message = `step ${s.currentStep - 1} skipped by user (promote)`;
        return;
      case 'abort':
        if (isTerminal(s.phase) || s.phase === 'RollingBack') return;
        s.phase = 'Aborted';
        s.pause = null;
        s.analysis.dueAt = null;
        s.analysis.requestedAt = null;
        this.notify('aborted', `aborted by user; traffic back to ${rollbackTarget(s, this.plan)}`);
        s.canaryWeight = 0;
        return;
      case 'retry':
        if (s.phase !== 'Aborted' && s.phase !== 'RolledBack') return;
        if (s.canaryRevision === s.stableRevision) return;
        // The Service moved on (Git reverted or changed again): retrying the old canary would fight it.
        if (this.obs.latestRevision !== undefined && this.obs.latestRevision !== s.canaryRevision) return;
        this.begin(s.canaryRevision);
        s.message = `retrying ${s.canaryRevision}; ${s.message}`;
        return;
    }
  }

  // ---- 3. readiness and analysis ----
  observeReadiness(): void {
    const s = this.s;
    if (s.phase !== 'Pending' && s.phase !== 'Progressing' && s.phase !== 'Paused') return;
    const r = this.readiness(s.canaryRevision);
    if (r === 'failed') {
      this.rollBack(`revision ${s.canaryRevision} failed`, 'rolledBack');
      return;
    }
    if (s.phase !== 'Pending') return;
    if (r === 'ready') {
      if (s.fastTrack) {
        this.promote(`revision was stable recently (rollbackWindow); no analysis`);
        return;
      }
      s.phase = 'Progressing';
      this.enterStep(0);
      this.startAnalysis();
      this.notify(
        'started',
        `rolling out ${s.canaryRevision} over ${s.stableRevision} (${this.plan.strategy}, ${this.plan.steps.length} step(s))`,
      );
    } else if (this.now >= s.startedAt + this.plan.progressDeadlineMs) {
      this.rollBack(
        `revision ${s.canaryRevision} not ready within ${Math.round(this.plan.progressDeadlineMs / 1000)}s (progressDeadline)`,
        'rolledBack',
      );
    }
  }

  observeAnalysis(): void {
    const s = this.s;
    const a = this.plan.analysis;
    const round = this.obs.analysis;
    if (!a || !round) return;
    if (s.phase !== 'Progressing' && s.phase !== 'Paused') return;
    if (round.revision !== s.canaryRevision) return;
    if (s.analysis.lastRoundAt !== null && round.at <= s.analysis.lastRoundAt) return;
    const judged = judgeRound(round, a, s.analysis.noDataSince);
    const st = s.analysis;
    st.lastRoundAt = round.at;
    // Half an interval of slack: a round answered a little after its grid point is still due at the next one.
    st.dueAt = onGrid(round.at + a.intervalMs / 2, a.intervalMs);
    st.requestedAt = null;
    st.noDataSince = judged.noDataSince;
    st.lastResults = judged.summaries;
    st.holding = judged.summaries.filter((m) => m.verdict === 'hold').map((m) => m.metric);
    if (judged.verdict === 'pass') {
      st.consecutiveFailures = 0;
      st.passesInStep += 1;
      return;
    }
    if (judged.verdict === 'hold') {
      // Say why the rollout is not moving: "success-rate: no requests reached web-00002 in the last 5s".
      s.message = `holding for data: ${judged.summaries
        .filter((m) => m.verdict === 'hold')
        .map((m) => `${m.metric}: ${m.reason ?? 'no data'}`)
        .join('; ')}`;
      return;
    }
    st.consecutiveFailures += 1;
    st.totalFailures += 1;
    st.passesInStep = 0;
    const count = a.counting === 'consecutive' ? st.consecutiveFailures : st.totalFailures;
    const failing = judged.summaries
      .filter((m) => m.verdict === 'fail')
      .map(describeSummary)
      .join('; ');
    if (judged.critical) {
      this.rollBack(`critical metric failed: ${failing}`, 'analysisFailed');
    } else if (count >= a.failureLimit) {
      this.rollBack(
        `${count} ${a.counting} failed check(s) (failureLimit ${a.failureLimit}): ${failing}`,
        'analysisFailed',
      );
    } else {
      s.message = `check failed (${count}/${a.failureLimit} ${a.counting}): ${failing}`;
    }
  }

  // ---- 4. progress ----
  progress(): void {
    const s = this.s;
    for (let i = 0; i < MAX_TRANSITIONS && s.phase === 'Progressing'; i++) {
      if (s.currentStep >= this.plan.steps.length) {
        this.promote(`all ${this.plan.steps.length} step(s) done`);
        break;
      }
      const st = this.plan.steps[s.currentStep];
      if (st === undefined) break;
      const holding = s.analysis.holding.length > 0;
      if (st.kind === 'setWeight') {
        s.canaryWeight = st.weight;
        this.notify('step', `step ${s.currentStep}: ${st.weight}% to ${s.canaryRevision}`);
        this.advance();
      } else if (st.kind === 'pause') {
        if (st.durationMs === null) {
          s.phase = 'Paused';
          s.pause = { reason: 'step', since: this.now };
          this.notify(
            'paused',
            this.plan.strategy === 'canary'
              ? `paused at step ${s.currentStep} until promoted`
              : `${s.canaryRevision} is ready on tag ${this.plan.canaryTag}; waiting for promotion`,
          );
          break;
        }
        if (holding || this.now < s.stepStartedAt + st.durationMs) break;
        this.advance();
      } else {
        if (s.analysis.passesInStep < st.checks || this.now < s.stepStartedAt + st.durationMs) break;
        this.advance();
      }
    }
  }

  finishTransitions(): void {
    const s = this.s;
    const applied = this.obs.traffic === undefined || sameTraffic(this.obs.traffic, desiredTraffic(s, this.plan));
    if (s.phase === 'Promoting' && applied) {
      s.phase = 'Succeeded';
      const previous = s.stableRevision;
      pushHistory(s, previous);
      s.stableRevision = s.canaryRevision;
      this.notify('succeeded', `${s.canaryRevision} serves 100% (was ${previous})`);
    } else if (s.phase === 'RollingBack' && applied) {
      const target = rollbackTarget(s, this.plan);
      s.phase = 'RolledBack';
      if (target !== s.stableRevision) {
        pushHistory(s, s.stableRevision);
        s.stableRevision = target;
      }
      this.notify('rolledBack', `${target} serves 100%; ${s.canaryRevision} rolled back (${s.message})`);
    }
  }

  // ---- 5. outputs ----
  emitRouting(): void {
    const s = this.s;
    const want = desiredTraffic(s, this.plan);
    const drift = this.obs.traffic !== undefined && !sameTraffic(this.obs.traffic, want) && !isTerminal(s.phase);
    if (!sameTraffic(s.traffic, want) || drift) {
      s.traffic = want;
      this.actions.push({ kind: 'setTraffic', ...this.ref, traffic: want });
    }
    const hr = this.plan.headerRoute;
    const wantHeader = hr !== null && (s.phase === 'Progressing' || s.phase === 'Paused');
    if (hr && wantHeader && !s.headerRoute) {
      s.headerRoute = true;
      this.actions.push({ kind: 'setHeaderRoute', ...this.ref, tag: hr.tag, match: hr.match });
    } else if (!wantHeader && s.headerRoute) {
      s.headerRoute = false;
      this.actions.push({ kind: 'clearHeaderRoute', ...this.ref, tag: hr?.tag ?? this.plan.canaryTag });
    }
  }

  emitAnalysis(): void {
    const s = this.s;
    const a = this.plan.analysis;
    const st = s.analysis;
    if (!a || (s.phase !== 'Progressing' && s.phase !== 'Paused') || st.dueAt === null) return;
    if (this.now < st.dueAt) return;
    // Asked already: ask again only if the round is overdue by a whole interval (lost by a crashed runner).
    if (st.requestedAt !== null && this.now < st.requestedAt + a.intervalMs) return;
    st.requestedAt = this.now;
    this.actions.push({
      kind: 'runAnalysis',
      ...this.ref,
      revision: s.canaryRevision,
      stableRevision: s.stableRevision,
      metrics: this.obs.policy.analysis?.metrics ?? [],
      intervalMs: a.intervalMs,
      windowMs: a.windowMs,
    });
  }

  wakeAt(): number | null {
    const s = this.s;
    const times: number[] = [];
    if (s.phase === 'Pending') times.push(s.startedAt + this.plan.progressDeadlineMs);
    if (s.phase === 'Progressing') {
      const st = this.plan.steps[s.currentStep];
      if (st?.kind === 'pause' && st.durationMs !== null) times.push(s.stepStartedAt + st.durationMs);
      if (st?.kind === 'analysis' && st.durationMs > 0) times.push(s.stepStartedAt + st.durationMs);
    }
    const a = this.plan.analysis;
    if (a && (s.phase === 'Progressing' || s.phase === 'Paused') && s.analysis.dueAt !== null) {
      times.push(s.analysis.requestedAt === null ? s.analysis.dueAt : s.analysis.requestedAt + a.intervalMs);
    }
    // Only future times: a pause whose time is up but is held by missing data waits for the next round.
    const future = times.filter((t) => t > this.now);
    return future.length > 0 ? Math.min(...future) : null;
  }
}

function pushHistory(s: RolloutState, revision: string): void {
  if (revision === s.canaryRevision) return;
  s.history = [revision, ...s.history.filter((r) => r !== revision)].slice(0, HISTORY_LIMIT);
}

function describeSummary(m: MetricSummary): string {
  return `${m.metric} ${m.status}${m.value !== null ? ` (${m.value})` : ''}${m.reason ? `: ${m.reason}` : ''}`;
}

export interface JudgedRound {
  verdict: 'pass' | 'fail' | 'hold';
  critical: boolean;
  summaries: MetricSummary[];
  noDataSince: Record<string, number>;
}

/**
 * Applies each metric's no-data policy to a round. A metric absent from the round counts as no data.
 * `hold` waits for traffic, not for a query that will stay empty: it lasts until `noDataTimeoutMs` after the first
 * empty round, or ends at once when the round says the revision served at least `minRequests` requests in the
 * window (the query is the problem then, not the traffic); either way `onNoDataTimeout` applies.
 * Worked example (interval 1s, noDataTimeout 3s): empty at t=1,2,3 → hold, hold, hold; t=4 → fail.
 * With minRequests 10: empty at t=1 with 0 requests → hold; t=2 with 48 requests → fail.
 */
export function judgeRound(
  round: AnalysisRound,
  a: PlanAnalysis,
  prevNoDataSince: Record<string, number>,
): JudgedRound {
  const byName = new Map<string, MetricResult>(round.results.map((r) => [r.metric, r]));
  const noDataSince: Record<string, number> = {};
  const summaries: MetricSummary[] = [];
  let critical = false;
  for (const m of a.metrics) {
    const r: MetricResult = byName.get(m.name) ?? {
      status: 'noData',
      metric: m.name,
      query: '',
      reason: 'not measured in this round',
    };
    const value = r.status === 'pass' ? r.value : r.status === 'fail' ? r.value : null;
    let verdict: MetricSummary['verdict'];
    let reason = r.status === 'pass' ? r.reason : r.reason;
    if (r.status === 'pass') verdict = 'pass';
    else if (r.status === 'fail' || r.status === 'error') verdict = 'fail';
    else if (m.onNoData === 'pass') verdict = 'pass';
    else if (m.onNoData === 'fail') verdict = 'fail';
    else {
      const since = prevNoDataSince[m.name] ?? round.at;
      noDataSince[m.name] = since;
      const served = r.status === 'noData' && r.requests !== undefined && r.requests >= m.minRequests;
      if (served) {
        verdict = m.onNoDataTimeout;
      } else if (round.at - since >= m.noDataTimeoutMs) {
        verdict = m.onNoDataTimeout;
        reason = `${r.reason}; no data for ${Math.round((round.at - since) / 1000)}s (noDataTimeout ${Math.round(m.noDataTimeoutMs / 1000)}s)`;
      } else {
        verdict = 'hold';
      }
    }
    if (verdict === 'fail' && r.critical) critical = true;
    const summary: MetricSummary = { metric: m.name, status: r.status, value, verdict };
    if (reason !== undefined) summary.reason = reason;
    if (r.status === 'noData') {
      if (r.cause !== undefined) summary.cause = r.cause;
      if (r.requests !== undefined) summary.requests = r.requests;
    }
    summaries.push(summary);
  }
  const verdict = summaries.some((x) => x.verdict === 'fail')
    ? 'fail'
    : summaries.some((x) => x.verdict === 'hold')
      ? 'hold'
      : 'pass';
  return { verdict, critical, summaries, noDataSince };
}

/**
 * One decision. Pure and deterministic: equal inputs give equal outputs, and feeding the returned state
 * back with the same observations and `now` is a fixpoint (same state, no notifications).
 * Pre: `now` never goes backwards between calls for one rollout.
 */
export function step(state: RolloutState, observations: Observations, now: number): StepResult {
  const plan = makePlan(observations.policy);
  const run = new Run(cloneJson(state), plan, observations, now);
  run.observeLatest();
  run.applyCommands();
  run.observeReadiness();
  run.observeAnalysis();
  run.progress();
  run.finishTransitions();
  run.emitRouting();
  run.emitAnalysis();
  return { state: run.s, actions: run.actions, wakeAt: run.wakeAt() };
}
