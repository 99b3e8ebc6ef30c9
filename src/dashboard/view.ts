// Pure: what the dashboard (and the terminal view) say about a rollout. A Rollout object (plus its Service for
// the Route's actual traffic) and `now` in, plain JSON out: the status sentence with its reason and what happens
// next, the step timeline with countdowns and an ETA, desired vs actual traffic, per-metric series, and which
// actions are possible with the effect each would have. No I/O, no clock of its own.
import type {
  AnalysisRunRecord,
  KnativeTrafficTarget,
  MetricComparison,
  RolloutObject,
  ServiceObject,
} from '../rollout/controller/types.js';
import type { PlanStep } from '../rollout/machine/plan.js';

export type ActionName = 'Promote' | 'Promote full' | 'Pause' | 'Resume' | 'Abort' | 'Retry';
export const ACTION_NAMES: readonly ActionName[] = ['Promote', 'Promote full', 'Pause', 'Resume', 'Abort', 'Retry'];
/** The command each button appends (`sluice rollout <verb>`). */
export const ACTION_COMMAND: Record<
  ActionName,
  { kind: 'promote' | 'abort' | 'pause' | 'resume' | 'retry'; full?: boolean }
> = {
  Promote: { kind: 'promote' },
  'Promote full': { kind: 'promote', full: true },
  Pause: { kind: 'pause' },
  Resume: { kind: 'resume' },
  Abort: { kind: 'abort' },
  Retry: { kind: 'retry' },
};

export interface ActionView {
  name: ActionName;
  /** The action's path segment: promote, promote-full, pause, resume, abort, retry. */
  verb: string;
  enabled: boolean;
  /** Why it is disabled ("Promote unavailable: the rollout has finished"). */
  why?: string;
  /** What it will do, for the confirmation ("traffic to web-00005: 20 % → 100 %; analysis will be skipped"). */
  effect: string;
  /** The CLI command that does the same. */
  cli: string;
}

export type Needs = 'promote' | 'failing' | 'stuck';

export interface FleetRow {
  key: string;
  namespace: string;
  name: string;
  phase: string;
  /** "3/6", or "" before a rollout. */
  step: string;
  canaryWeight: number;
  stableRevision: string;
  canaryRevision: string;
  /** The metric furthest from passing in the last round: "success-rate fail 0.42". */
  worstMetric: string;
  worstStatus: 'pass' | 'fail' | 'noData' | 'error' | '';
  /** RFC 3339 of the last change of phase, step or decision. */
  changedAt: string;
  needs: Needs | null;
  sentence: string;
  resourceVersion: string;
}

export interface StepView {
  index: number;
  label: string;
  state: 'done' | 'current' | 'pending';
  /** For a timed pause or analysis step that is current: when it may end (RFC 3339). */
  endsAt?: string;
}

export interface TrafficView {
  revisionName: string;
  role: string;
  desired: number;
  /** From the Route (Service status.traffic); undefined when the Route does not list it. */
  actual?: number;
  tag?: string;
  url?: string;
}

export interface MetricPoint {
  at: string;
  value?: number;
  status: string;
  verdict: string;
  reason?: string;
  /** A comparing judge: canary and stable side by side for this round. */
  compare?: MetricComparison;
}

export interface MetricView {
  name: string;
  /** Set when a judge compares canary with stable (then points carry `compare`). */
  judge?: 'mannWhitney';
  /** "canary mean 812 · stable mean 640 · ratio 1.27 · p=0.003 · n=60/60", from the latest comparison. */
  compareLine?: string;
  min?: number;
  max?: number;
  query?: string;
  latest?: MetricPoint;
  points: MetricPoint[];
  /** "pass 8 · fail 2 · no data 1". */
  counts: { pass: number; fail: number; noData: number; error: number };
}

export interface RolloutView {
  row: FleetRow;
  sentence: string;
  next: string;
  message: string;
  strategy: string;
  policy: string;
  steps: StepView[];
  /** RFC 3339, or null when a step waits for a human (then `etaText` says so). */
  eta: string | null;
  etaText: string;
  traffic: TrafficView[];
  routerLagging: boolean;
  metrics: MetricView[];
  analysisLine: string;
  timeline: NonNullable<NonNullable<RolloutObject['status']>['timeline']>;
  pastRollouts: NonNullable<NonNullable<RolloutObject['status']>['pastRollouts']>;
  actions: ActionView[];
  deleted?: boolean;
}

const TERMINAL = new Set(['Succeeded', 'RolledBack', 'Aborted']);

export function keyOf(ro: { metadata: { namespace?: string; name?: string } }): string {
  return `${ro.metadata.namespace ?? 'default'}/${ro.metadata.name ?? ''}`;
}

/** A number as people read it: 0.4213 → "0.4213", 42.1337 → "42.13", 1234.5 → "1234.5". */
export function fmtNum(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : String(Number(v.toPrecision(4)));
}

/** A duration as "45 s", "3 min 5 s", "2 h 10 min". */
export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

function stepLabel(s: PlanStep): string {
  if (s.kind === 'setWeight') return `Set weight ${s.weight} %`;
  if (s.kind === 'pause') return s.durationMs === null ? 'Pause until promoted' : `Pause ${fmtDuration(s.durationMs)}`;
  return `Analysis: ${s.checks} passing check${s.checks === 1 ? '' : 's'}${s.durationMs ? `, at least ${fmtDuration(s.durationMs)}` : ''}`;
}

function threshold(m: { min?: number; max?: number }): string {
  if (m.min !== undefined && m.max !== undefined) return `${fmtNum(m.min)}..${fmtNum(m.max)}`;
  if (m.min !== undefined) return `≥ ${fmtNum(m.min)}`;
  if (m.max !== undefined) return `≤ ${fmtNum(m.max)}`;
  return '';
}

/** "success-rate 0.42 < 0.99", "latency 812 > 500", "success-rate: no data". */
export function describeMetric(m: AnalysisRunRecord['metrics'][number]): string {
  if (m.status === 'noData') return `${m.metric}: no data`;
  if (m.status === 'error') return `${m.metric}: query error${m.reason ? ` (${m.reason})` : ''}`;
  if (m.value === undefined) return `${m.metric} ${m.status}`;
  if (m.status === 'fail') {
    if (m.min !== undefined && m.value < m.min) return `${m.metric} ${fmtNum(m.value)} < ${fmtNum(m.min)}`;
    if (m.max !== undefined && m.value > m.max) return `${m.metric} ${fmtNum(m.value)} > ${fmtNum(m.max)}`;
    return `${m.metric} ${fmtNum(m.value)} failed${m.reason ? ` (${m.reason})` : ''}`;
  }
  const t = threshold(m);
  return `${m.metric} ${fmtNum(m.value)}${t ? ` (${t})` : ''}`;
}

const SEVERITY: Record<string, number> = { fail: 4, error: 3, noData: 2, pass: 1 };

function worst(run: AnalysisRunRecord | undefined): AnalysisRunRecord['metrics'][number] | undefined {
  let w: AnalysisRunRecord['metrics'][number] | undefined;
  for (const m of run?.metrics ?? []) if (!w || (SEVERITY[m.status] ?? 0) > (SEVERITY[w.status] ?? 0)) w = m;
  return w;
}

function stepText(st: NonNullable<RolloutObject['status']>): string {
  if (st.totalSteps === undefined || st.totalSteps === 0) return '';
  return `${Math.min((st.currentStep ?? 0) + (st.currentStep !== undefined && st.currentStep < st.totalSteps ? 1 : 0), st.totalSteps)}/${st.totalSteps}`;
}

/** When the current step began, ms; from the machine's state. */
function stepStartedAt(ro: RolloutObject): number | undefined {
  return ro.status?.state?.stepStartedAt;
}

/** The failing metrics of the last run as "a 0.42 < 0.99; b: no data". */
function failing(run: AnalysisRunRecord | undefined): string {
  return (run?.metrics ?? [])
    .filter((m) => m.verdict === 'fail')
    .map(describeMetric)
    .join('; ');
}

export interface Sentence {
  sentence: string;
  next: string;
  needs: Needs | null;
}

/** How long a rollout may hold for data before the fleet list calls it stuck. */
export const STUCK_AFTER_MS = 60_000;

/**
 * The status sentence with its reason, and what happens next. Examples:
 *   "Paused at step 2/6 — waiting for promote"            next "Promote moves 10 % → 40 % to web-00005"
 *   "Rolling back — success-rate 0.42 < 0.99 in 2 of 2 checks"
 */
export function sentenceOf(ro: RolloutObject, now: number): Sentence {
  const st = ro.status ?? {};
  const phase = st.phase ?? 'Pending';
  const step = stepText(st);
  const plan = st.plan;
  const last = st.analysisRuns?.at(-1);
  const canary = st.canaryRevision ?? '';
  const stable = st.stableRevision ?? '';
  const a = st.analysis;
  const limit = plan?.failureLimit;
  const checks = (n: number): string => (limit ? ` in ${n} of ${limit} check${limit === 1 ? '' : 's'}` : '');
  switch (phase) {
    case 'Pending':
      return {
        sentence: `Pending — ${st.message ?? 'waiting for a ready revision'}`,
        next: 'Starts when the new revision is ready',
        needs: null,
      };
    case 'Paused': {
      const user = st.state?.pause?.reason === 'user';
      if (user)
        return {
          sentence: `Paused by a user at step ${step} — waiting for resume`,
          next: `Resume continues at ${st.canaryWeight ?? 0} % to ${canary}`,
          needs: 'promote',
        };
      if (st.strategy === 'blueGreen')
        return {
          sentence: `Paused — ${canary} is ready on its preview tag, waiting for promote`,
          next: `Promote moves all traffic from ${stable} to ${canary}`,
          needs: 'promote',
        };
      const nextW = nextWeight(plan?.steps, st.currentStep ?? 0);
      return {
        sentence: `Paused at step ${step} — waiting for promote`,
        next:
          nextW === undefined
            ? `Promote finishes the rollout: ${canary} to 100 %`
            : `Promote moves ${canary} from ${st.canaryWeight ?? 0} % to ${nextW} %`,
        needs: 'promote',
      };
    }
    case 'Progressing': {
      const cur = plan?.steps[st.currentStep ?? 0];
      const holding = a?.holding === true;
      const failNow = (a?.consecutiveFailures ?? 0) > 0;
      const since = stepStartedAt(ro);
      if (holding) {
        const waiting = (last?.metrics ?? []).filter((m) => m.verdict === 'hold').map((m) => m.metric);
        const stuck = since !== undefined && now - since > STUCK_AFTER_MS;
        return {
          sentence: `Holding at step ${step} — no data for ${waiting.join(', ') || 'a metric'}`,
          next: 'Continues when the metrics report data; fails after the no-data timeout',
          needs: stuck ? 'stuck' : null,
        };
      }
      if (failNow) {
        const n = (plan?.counting === 'cumulative' ? a?.totalFailures : a?.consecutiveFailures) ?? 0;
        return {
          sentence: `Failing at step ${step} — ${failing(last) || 'a check failed'}${checks(n)}`,
          next: `One more failed check rolls back to ${stable}`,
          needs: 'failing',
        };
      }
      let next = `Next: ${describeNext(plan?.steps, st.currentStep ?? 0)}`;
      if (cur && cur.kind !== 'setWeight' && cur.durationMs && since !== undefined) {
        const left = since + cur.durationMs - now;
        if (left > 0) next += ` in ${fmtDuration(left)}`;
      }
      return {
        sentence: `Progressing at step ${step} — ${st.canaryWeight ?? 0} % to ${canary}${cur?.kind === 'analysis' ? ', analysing' : ''}`,
        next,
        needs: null,
      };
    }
    case 'Promoting':
      return {
        sentence: `Promoting — moving all traffic to ${canary}`,
        next: `Succeeds once the Route serves ${canary} at 100 %`,
        needs: null,
      };
    case 'RollingBack': {
      const n = (plan?.counting === 'cumulative' ? a?.totalFailures : a?.consecutiveFailures) ?? 0;
      const why = failing(last);
      return {
        sentence: `Rolling back — ${why ? `${why}${checks(n)}` : (st.message ?? '')}`,
        next: `All traffic returns to ${stable}`,
        needs: 'failing',
      };
    }
    case 'RolledBack': {
      const why = failing(last);
      return {
        sentence: `Rolled back — ${stable} serves 100 %${why ? `; ${why}${checks(a?.consecutiveFailures ?? 0)}` : `; ${st.message ?? ''}`}`,
        next: `Nothing happens until a new revision or Retry`,
        needs: 'failing',
      };
    }
    case 'Aborted':
      return {
        sentence: `Aborted — ${stable} serves 100 %; ${st.message ?? ''}`,
        next: `Retry starts ${canary} again from the first step`,
        needs: null,
      };
    case 'Succeeded':
      return {
        sentence: `Succeeded — ${stable} serves 100 %`,
        next: 'A new revision of the Service starts the next rollout',
        needs: null,
      };
    default:
      return { sentence: `${phase} — ${st.message ?? ''}`, next: '', needs: null };
  }
}

function nextWeight(steps: PlanStep[] | undefined, from: number): number | undefined {
  for (const s of (steps ?? []).slice(from + 1)) if (s.kind === 'setWeight') return s.weight;
  return undefined;
}

function describeNext(steps: PlanStep[] | undefined, cur: number): string {
  const w = nextWeight(steps, cur);
  return w === undefined ? 'promotion to 100 %' : `${w} %`;
}

function stepsOf(ro: RolloutObject, now: number): { steps: StepView[]; eta: string | null; etaText: string } {
  const st = ro.status ?? {};
  const plan = st.plan?.steps ?? [];
  const cur = st.currentStep ?? 0;
  const terminal = TERMINAL.has(st.phase ?? '');
  const since = stepStartedAt(ro) ?? now;
  const steps = plan.map((s, i): StepView => {
    const state = terminal
      ? st.phase === 'Succeeded'
        ? 'done'
        : i < cur
          ? 'done'
          : 'pending'
      : i < cur
        ? 'done'
        : i === cur
          ? 'current'
          : 'pending';
    const v: StepView = { index: i, label: stepLabel(s), state };
    if (state === 'current' && s.kind !== 'setWeight' && s.durationMs)
      v.endsAt = new Date(since + s.durationMs).toISOString();
    return v;
  });
  if (terminal || st.phase === 'Pending') return { steps, eta: null, etaText: st.phase === 'Succeeded' ? 'done' : '—' };
  let total = 0;
  for (let i = cur; i < plan.length; i++) {
    const s = plan[i];
    if (!s || s.kind === 'setWeight') continue;
    if (s.kind === 'pause' && s.durationMs === null)
      return { steps, eta: null, etaText: `waits for promote at step ${i + 1}` };
    if (s.kind === 'analysis') total += Math.max(s.durationMs, (s.checks || 1) * (st.plan?.intervalMs ?? 0));
    else total += s.durationMs ?? 0;
    if (i === cur) total -= Math.min(total, now - since);
  }
  const at = now + Math.max(0, total);
  return { steps, eta: new Date(at).toISOString(), etaText: `100 % in about ${fmtDuration(at - now)}` };
}

function roleOf(rev: string, ro: RolloutObject): string {
  const st = ro.status ?? {};
  if (rev === st.stableRevision && rev === st.canaryRevision) return 'stable';
  if (rev === st.stableRevision) return 'stable';
  if (rev === st.canaryRevision) return st.strategy === 'blueGreen' ? 'preview' : 'canary';
  return '';
}

function trafficOf(ro: RolloutObject, svc: ServiceObject | undefined): { traffic: TrafficView[]; lagging: boolean } {
  const desired = ro.status?.traffic ?? [];
  const actual = new Map<string, KnativeTrafficTarget[]>();
  for (const t of svc?.status?.traffic ?? []) {
    const rev = t.revisionName ?? (t.latestRevision ? svc?.status?.latestReadyRevisionName : undefined);
    if (!rev) continue;
    actual.set(rev, [...(actual.get(rev) ?? []), t]);
  }
  const out: TrafficView[] = desired.map((d) => {
    const act = actual.get(d.revisionName);
    const v: TrafficView = { revisionName: d.revisionName, role: roleOf(d.revisionName, ro), desired: d.percent };
    if (svc?.status?.traffic) v.actual = (act ?? []).reduce((n, t) => n + (t.percent ?? 0), 0);
    if (d.tag) v.tag = d.tag;
    const url = (act ?? []).find((t) => t.tag === d.tag && t.url)?.url;
    if (url) v.url = url;
    return v;
  });
  for (const [rev, ts] of actual) {
    if (desired.some((d) => d.revisionName === rev)) continue;
    out.push({
      revisionName: rev,
      role: roleOf(rev, ro),
      desired: 0,
      actual: ts.reduce((n, t) => n + (t.percent ?? 0), 0),
    });
  }
  const lagging =
    svc?.status?.traffic !== undefined && out.some((t) => t.actual !== undefined && t.actual !== t.desired);
  return { traffic: out, lagging };
}

/** Per metric: the points of every stored round (`runs`, oldest first), the threshold and the query. */
export function metricsOf(runs: readonly AnalysisRunRecord[]): MetricView[] {
  const by = new Map<string, MetricView>();
  for (const r of runs) {
    for (const m of r.metrics) {
      let v = by.get(m.metric);
      if (!v) {
        v = { name: m.metric, points: [], counts: { pass: 0, fail: 0, noData: 0, error: 0 } };
        by.set(m.metric, v);
      }
      const p: MetricPoint = { at: r.at, status: m.status, verdict: m.verdict };
      if (m.value !== undefined) p.value = m.value;
      if (m.reason) p.reason = m.reason;
      if (m.compare) {
        p.compare = m.compare;
        v.judge = m.compare.judge;
        v.compareLine = compareLine(m.compare);
      }
      v.points.push(p);
      if (m.status === 'pass' || m.status === 'fail' || m.status === 'noData' || m.status === 'error')
        v.counts[m.status]++;
      if (m.min !== undefined) v.min = m.min;
      if (m.max !== undefined) v.max = m.max;
      if (m.query) v.query = m.query;
      v.latest = p;
    }
  }
  return [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Canary vs stable of one round, as people read it. */
export function compareLine(c: MetricComparison): string {
  return `canary mean ${fmtNum(c.canaryMean)} · stable mean ${fmtNum(c.stableMean)}${c.meanRatio !== undefined ? ` · ratio ${fmtNum(c.meanRatio)}` : ''} · p=${fmtNum(c.pValue)} · n=${c.canaryCount}/${c.stableCount}`;
}

/**
 * The six actions with enabled/why/effect. The machine's rules: promote and pause act on a running rollout,
 * resume on a paused one, abort on a running or paused one, retry on an aborted or rolled-back one.
 */
export function actionsOf(ro: RolloutObject): ActionView[] {
  const st = ro.status ?? {};
  const phase = st.phase ?? 'Pending';
  const canary = st.canaryRevision ?? '';
  const stable = st.stableRevision ?? '';
  const w = st.canaryWeight ?? 0;
  const running = phase === 'Progressing' || phase === 'Paused';
  const name = ro.metadata.name ?? '';
  const ns = ro.metadata.namespace ?? 'default';
  const cli = (verb: string): string => `sluice rollout ${verb} ${name} -n ${ns}`;
  const nextW = nextWeight(st.plan?.steps, st.currentStep ?? 0);
  const finished = (what: string): string =>
    `${what} unavailable: ${phase === 'Pending' ? 'no rollout is in progress' : `the rollout is ${phase}`}`;
  const userPaused = phase === 'Paused' && st.state?.pause?.reason === 'user';
  const hasAnalysis = (st.plan?.steps ?? []).some((s) => s.kind === 'analysis') || st.plan?.failureLimit !== undefined;
  const out: ActionView[] = [
    {
      name: 'Promote',
      verb: 'promote',
      enabled: running,
      effect:
        nextW === undefined
          ? `traffic to ${canary}: ${w} % → 100 %; the rollout finishes`
          : `skips step ${stepText(st)}: traffic to ${canary}: ${w} % → ${nextW} %`,
      cli: cli('promote'),
    },
    {
      name: 'Promote full',
      verb: 'promote-full',
      enabled: running,
      effect: `traffic to ${canary}: ${w} % → 100 %; remaining steps${hasAnalysis ? ' and analysis' : ''} will be skipped`,
      cli: `${cli('promote')} --full`,
    },
    {
      name: 'Pause',
      verb: 'pause',
      enabled: phase === 'Progressing',
      effect: `holds ${canary} at ${w} % until Resume; analysis keeps running`,
      cli: cli('pause'),
    },
    {
      name: 'Resume',
      verb: 'resume',
      enabled: userPaused,
      effect: `continues the rollout of ${canary} from step ${stepText(st)}`,
      cli: cli('resume'),
    },
    {
      name: 'Abort',
      verb: 'abort',
      enabled: running,
      effect: `traffic to ${canary}: ${w} % → 0 %; ${stable} serves 100 %`,
      cli: cli('abort'),
    },
    {
      name: 'Retry',
      verb: 'retry',
      enabled: phase === 'Aborted' || phase === 'RolledBack',
      effect: `starts the rollout of ${canary} again from the first step; ${stable} keeps serving until then`,
      cli: cli('retry'),
    },
  ];
  for (const a of out) {
    if (a.enabled) continue;
    if (a.name === 'Pause') a.why = phase === 'Paused' ? 'Pause unavailable: already paused' : finished('Pause');
    else if (a.name === 'Resume')
      a.why =
        phase === 'Paused'
          ? 'Resume unavailable: paused at a pause step; use Promote'
          : 'Resume unavailable: the rollout is not paused';
    else if (a.name === 'Retry') a.why = `Retry unavailable: only an aborted or rolled-back rollout can be retried`;
    else a.why = finished(a.name);
  }
  return out;
}

/** Last change: the newest timeline entry, else the step start. */
function changedAt(ro: RolloutObject): string {
  const t = ro.status?.timeline?.at(-1)?.at;
  if (t) return t;
  const s = stepStartedAt(ro);
  return s !== undefined ? new Date(s).toISOString() : (ro.metadata.creationTimestamp ?? '');
}

export function fleetRow(ro: RolloutObject, now: number): FleetRow {
  const st = ro.status ?? {};
  const w = worst(st.analysisRuns?.at(-1));
  const s = sentenceOf(ro, now);
  return {
    key: keyOf(ro),
    namespace: ro.metadata.namespace ?? 'default',
    name: ro.metadata.name ?? '',
    phase: st.phase ?? 'Pending',
    step: stepText(st),
    canaryWeight: st.canaryWeight ?? 0,
    stableRevision: st.stableRevision ?? '',
    canaryRevision: st.canaryRevision ?? '',
    worstMetric: w ? describeMetric(w) : '',
    worstStatus: w ? ((w.status as FleetRow['worstStatus']) ?? '') : '',
    changedAt: changedAt(ro),
    needs: s.needs,
    sentence: s.sentence,
    resourceVersion: ro.metadata.resourceVersion ?? '',
  };
}

/**
 * The whole per-rollout view. `runs`: analysis rounds to chart (the stored ones, or a longer history the
 * server kept in memory), oldest first.
 */
export function rolloutView(
  ro: RolloutObject,
  svc: ServiceObject | undefined,
  now: number,
  runs: readonly AnalysisRunRecord[] = ro.status?.analysisRuns ?? [],
): RolloutView {
  const st = ro.status ?? {};
  const s = sentenceOf(ro, now);
  const { steps, eta, etaText } = stepsOf(ro, now);
  const { traffic, lagging } = trafficOf(ro, svc);
  const a = st.analysis;
  const limit = st.plan?.failureLimit;
  return {
    row: fleetRow(ro, now),
    sentence: s.sentence,
    next: s.next,
    message: st.message ?? '',
    strategy: st.strategy ?? '',
    policy: st.policy ?? '',
    steps,
    eta,
    etaText,
    traffic,
    routerLagging: lagging,
    metrics: metricsOf(runs),
    analysisLine: a
      ? `failed checks: ${a.consecutiveFailures} consecutive, ${a.totalFailures} total${limit ? ` (${limit} allowed)` : ''}${a.holding ? '; holding for data' : ''}`
      : '',
    timeline: st.timeline ?? [],
    pastRollouts: st.pastRollouts ?? [],
    actions: actionsOf(ro),
  };
}
