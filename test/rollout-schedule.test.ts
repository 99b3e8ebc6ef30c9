// Table tests for the controller's analysis clock and status-write coalescing rules (src/rollout/controller/
// schedule.ts), driven by the pure machine with a ManualClock: which rollouts a tick asks for, when the clock ticks
// next, and which decisions may wait to be written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/util/clock.js';
import { step, initialState } from '../src/rollout/machine/index.js';
import type { Observations, RolloutState } from '../src/rollout/machine/index.js';
import type { AnalysisRound, MetricResult } from '../src/rollout/analysis/result.js';
import type { MetricSpec, RolloutPolicySpec } from '../src/rollout/policy/types.js';
import {
  analysisWakeAt,
  dueRequests,
  compareOnDeferred,
  compareStatus,
  isRoutine,
  nextTick,
  routineFlushMs,
  type ClockEntry,
} from '../src/rollout/controller/schedule.js';
import { buildStatus, canonical, sameJson } from '../src/rollout/controller/status.js';
import type { RolloutObjectStatus } from '../src/rollout/controller/types.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0, 300);
const S = 1000;
const metric: MetricSpec = {
  name: 'success-rate',
  query: 'sum(rate(x{revision_name="{{revision}}"}[{{interval}}]))',
  thresholdRange: { min: 0.99 },
};
const policy: RolloutPolicySpec = {
  strategy: { canary: { steps: [{ setWeight: 10 }, { pause: {} }] } },
  analysis: { interval: '1s', window: '4s', failureLimit: 2, metrics: [metric] },
} as RolloutPolicySpec;

function obs(latest: string, round?: AnalysisRound): Observations {
  const o: Observations = {
    policy,
    revisions: { 'web-00001': 'ready', 'web-00002': 'ready' },
    commands: [],
    latestRevision: latest,
  };
  if (round) o.analysis = round;
  return o;
}
function round(at: number, value: number): AnalysisRound {
  const r: MetricResult =
    value >= 0.99
      ? { status: 'pass', metric: 'success-rate', query: 'q', value }
      : { status: 'fail', metric: 'success-rate', query: 'q', value, reason: `${value} is below min 0.99` };
  return { revision: 'web-00002', at, results: [r] };
}
/** A rollout started at T0 and paused at 10 %, its first round due on the grid. */
function started(clock: ManualClock): RolloutState {
  const s0 = initialState({ namespace: 'default', service: 'web', stableRevision: 'web-00001', now: clock.now() });
  return step(s0, obs('web-00002'), clock.now()).state;
}
const entry = (key: string, state: RolloutState, metrics = [metric]): ClockEntry => ({
  key,
  state,
  metrics,
  intervalMs: S,
  windowMs: 4 * S,
});
const status = (s: RolloutState, runs = 0): ReturnType<typeof buildStatus> =>
  buildStatus(s, {
    policy: 'RolloutPolicy default/p',
    analysisRuns: Array.from({ length: runs }, (_, i) => ({
      at: new Date(T0 + i * S).toISOString(),
      revision: 'web-00002',
      step: 1,
      verdict: 'pass' as const,
      metrics: [],
    })),
    pending: [],
    generation: 1,
  });

test('a started rollout is due on the shared grid, and the clock asks for it only from then on', () => {
  const clock = new ManualClock(T0);
  const s = started(clock);
  assert.equal(s.phase, 'Paused');
  assert.equal(s.analysis.dueAt, Date.UTC(2026, 0, 1, 0, 0, 2), 'T0+1 s rounded up to the next second');
  const busy = (): boolean => false;
  const rows: { tick: number; want: string[] }[] = [
    { tick: T0 + 500, want: [] },
    { tick: Date.UTC(2026, 0, 1, 0, 0, 1, 999), want: [] },
    { tick: Date.UTC(2026, 0, 1, 0, 0, 2), want: ['web'] },
    { tick: Date.UTC(2026, 0, 1, 0, 0, 9), want: ['web'] },
  ];
  for (const r of rows)
    assert.deepEqual(
      dueRequests([entry('default/web', s)], r.tick, busy).map((q) => q.service),
      r.want,
      `tick ${r.tick - T0} ms after start`,
    );
  const [req] = dueRequests([entry('default/web', s)], Date.UTC(2026, 0, 1, 0, 0, 2), busy);
  assert.deepEqual(req, {
    key: 'default/web',
    namespace: 'default',
    service: 'web',
    revision: 'web-00002',
    stableRevision: 'web-00001',
    metrics: [metric],
    windowMs: 4 * S,
  });
});

test('the clock skips rollouts being asked or not analysing; next tick is the earliest due', () => {
  const clock = new ManualClock(T0);
  const a = started(clock);
  clock.advance(1500);
  const b = { ...started(clock), service: 'b' };
  const done: RolloutState = { ...a, service: 'c', phase: 'Succeeded' };
  const entries = [entry('default/web', a), entry('default/b', b), entry('default/m', a, []), entry('default/c', done)];
  const tick = Date.UTC(2026, 0, 1, 0, 0, 5);
  assert.deepEqual(
    dueRequests(entries, tick, (k) => k === 'default/web').map((q) => q.key),
    ['default/b', 'default/m'],
    'a policy with analysis and no metrics still gets (empty) rounds, as the machine expects',
  );
  assert.equal(
    nextTick(entries, T0, () => false),
    a.analysis.dueAt,
  );
  assert.equal(
    nextTick(entries, T0, (k) => k === 'default/web' || k === 'default/m'),
    b.analysis.dueAt,
  );
  assert.equal(
    nextTick(entries, tick, () => false),
    tick,
    'overdue: now',
  );
  assert.equal(
    nextTick([entry('default/c', done)], T0, () => false),
    null,
  );
});

test("the analysis wake-up is the machine's: the due time, or one interval after an unanswered request", () => {
  const clock = new ManualClock(T0);
  const s = started(clock);
  assert.equal(analysisWakeAt(s, S), s.analysis.dueAt);
  clock.set(s.analysis.dueAt ?? 0);
  const asked = step(s, obs('web-00002'), clock.now());
  assert.ok(asked.actions.some((x) => x.kind === 'runAnalysis'));
  assert.equal(analysisWakeAt(asked.state, S), clock.now() + S);
  assert.equal(asked.wakeAt, analysisWakeAt(asked.state, S));
  assert.equal(analysisWakeAt({ ...s, phase: 'Succeeded' }, S), null);
});

test('routine decisions (a round recorded, nothing else) may wait; anything else is written at once', () => {
  const clock = new ManualClock(T0);
  const s = started(clock);
  const due = s.analysis.dueAt ?? 0;
  const pass1 = step(s, obs('web-00002', round(due, 1)), due + 50).state;
  const pass2 = step(pass1, obs('web-00002', round(due + S, 1)), due + S + 50).state;
  const fail = step(pass1, obs('web-00002', round(due + S, 0.5)), due + S + 50).state;
  const newer = step(
    pass1,
    {
      ...obs('web-00002'),
      latestRevision: 'web-00003',
      revisions: { 'web-00001': 'ready', 'web-00002': 'ready', 'web-00003': 'ready' },
    },
    due + S,
  ).state;
  const rows: { name: string; stored: RolloutState; next: RolloutState; runs: [number, number]; want: boolean }[] = [
    { name: 'a pass after a pass', stored: pass1, next: pass2, runs: [1, 2], want: true },
    { name: 'the first round (MetricsAvailable=True is not news)', stored: s, next: pass1, runs: [0, 1], want: true },
    { name: 'a failed round (count and message)', stored: pass1, next: fail, runs: [1, 2], want: false },
    { name: 'a new revision supersedes the canary', stored: pass1, next: newer, runs: [1, 1], want: false },
    { name: 'nothing changed', stored: pass1, next: pass1, runs: [1, 1], want: true },
  ];
  for (const r of rows) assert.equal(isRoutine(status(r.stored, r.runs[0]), status(r.next, r.runs[1])), r.want, r.name);
  assert.equal(isRoutine({}, status(pass1)), false, 'no stored state: the first write is never deferred');
  const n = {
    id: 'default/web/web-00002/1/0/started',
    event: 'started' as const,
    namespace: 'default',
    service: 'web',
    revision: 'web-00002',
    stableRevision: 'web-00001',
    step: 0,
    weight: 0,
    message: 'm',
    at: 1,
  };
  const withOutbox = { ...status(pass1, 1), pendingNotifications: [n] };
  assert.equal(isRoutine(withOutbox, status(pass2, 2)), true, 'delivered notifications leave the outbox');
  const missing = {
    ...status(pass2, 2),
    conditions: [{ type: 'MetricsAvailable', status: 'False' as const, reason: 'RequestMetricsMissing' }],
  };
  assert.equal(isRoutine(status(pass1, 1), missing), false, 'MetricsAvailable=False is news');
});

test('a decision built on a deferred routine status is judged as if compared with the stored one', () => {
  const clock = new ManualClock(T0);
  const s = started(clock);
  const due = s.analysis.dueAt ?? 0;
  const pass1 = step(s, obs('web-00002', round(due, 1)), due + 50).state;
  const pass2 = step(pass1, obs('web-00002', round(due + S, 1)), due + S + 50).state;
  const pass3 = step(pass2, obs('web-00002', round(due + 2 * S, 1)), due + 2 * S + 50).state;
  const fail3 = step(pass2, obs('web-00002', round(due + 2 * S, 0.5)), due + 2 * S + 50).state;
  const newer = step(
    pass2,
    {
      ...obs('web-00002'),
      latestRevision: 'web-00003',
      revisions: { 'web-00001': 'ready', 'web-00002': 'ready', 'web-00003': 'ready' },
    },
    due + 2 * S,
  ).state;
  // Stored: pass1 (written). Deferred: pass2 on top of it (routine). Next: built on the deferred status.
  const stored = JSON.parse(JSON.stringify(status(pass1, 1))) as ReturnType<typeof status>;
  const deferred = status(pass2, 2);
  assert.equal(compareStatus(stored, deferred), 'routine', 'the deferred status is routine against the stored one');
  const rows: { name: string; next: RolloutState; runs: number; want: 'routine' | 'changed' }[] = [
    { name: 'another pass', next: pass3, runs: 3, want: 'routine' },
    { name: 'a failed round', next: fail3, runs: 3, want: 'changed' },
    { name: 'a new revision', next: newer, runs: 2, want: 'changed' },
    { name: 'nothing new', next: pass2, runs: 2, want: 'routine' },
  ];
  for (const r of rows) {
    const next = status(r.next, r.runs);
    assert.equal(compareOnDeferred(deferred, next), r.want, r.name);
    assert.equal(compareStatus(stored, next) === 'changed', r.want === 'changed', `${r.name}: against the stored one`);
  }
});

// The definition compareStatus implements in place: reduced copies of both statuses, compared as canonical texts.
function referenceCompare(stored: RolloutObjectStatus, next: RolloutObjectStatus): 'same' | 'routine' | 'changed' {
  if (!stored.state || !next.state) return canonical(next) === canonical(stored) ? 'same' : 'changed';
  const nonRoutine = (s: RolloutObjectStatus): unknown => {
    const { analysisRuns: _r, pendingNotifications: _o, analysis, state, conditions, ...rest } = s;
    void _r;
    void _o;
    const news = conditions?.filter((c) => !(c.type === 'MetricsAvailable' && c.status === 'True'));
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
    return {
      ...rest,
      analysis: analysis ? { ...analysis, lastRoundAt: undefined, lastResults: undefined } : undefined,
      state: st,
      conditions: news && news.length > 0 ? news : undefined,
    };
  };
  const routine = (s: RolloutObjectStatus): unknown => ({
    runs: (s.analysisRuns ?? []).map((r) => `${r.at}|${r.revision}|${r.verdict}`),
    outbox: (s.pendingNotifications ?? []).map((n) => n.id),
    analysis: s.analysis,
    state: s.state?.analysis,
    conditions: s.conditions,
  });
  if (canonical(nonRoutine(stored)) !== canonical(nonRoutine(next))) return 'changed';
  return canonical(routine(stored)) === canonical(routine(next)) ? 'same' : 'routine';
}

test('compareStatus (in place) says what comparing reduced copies says, for every pair of a set of statuses', () => {
  const clock = new ManualClock(T0);
  const s = started(clock);
  const due = s.analysis.dueAt ?? 0;
  const pass1 = step(s, obs('web-00002', round(due, 1)), due + 50).state;
  const pass2 = step(pass1, obs('web-00002', round(due + S, 1)), due + S + 50).state;
  const fail = step(pass1, obs('web-00002', round(due + S, 0.5)), due + S + 50).state;
  const held = step(pass1, obs('web-00002', { at: due + S, revision: 'web-00002', results: [] }), due + S + 50).state;
  const base = status(pass1, 1);
  const variants: RolloutObjectStatus[] = [
    {},
    base,
    JSON.parse(JSON.stringify(base)) as RolloutObjectStatus,
    status(pass2, 2),
    status(fail, 2),
    status(held, 2),
    status(s, 0),
    { ...base, message: 'other' },
    { ...base, observedGeneration: 9 },
    { ...base, analysis: undefined },
    { ...base, conditions: [{ type: 'MetricsAvailable', status: 'True', reason: 'RequestMetricsFound' }] },
    { ...base, conditions: [{ type: 'MetricsAvailable', status: 'False', reason: 'RequestMetricsMissing' }] },
    { ...base, conditions: [{ type: 'Other', status: 'True' }] },
    { ...base, state: { ...pass1, analysis: { ...pass1.analysis, dueAt: 1 } } },
    { ...base, state: { ...pass1, analysis: { ...pass1.analysis, consecutiveFailures: 3 } } },
    { ...base, state: { ...pass1, message: 'x' } },
    { ...base, pendingNotifications: [] },
    { ...base, analysisRuns: [] },
    { ...base, timeline: [] },
    { ...base, extra: undefined } as RolloutObjectStatus,
  ];
  for (const [i, a] of variants.entries())
    for (const [j, b] of variants.entries())
      assert.equal(compareStatus(a, b), referenceCompare(a, b), `variants ${i} and ${j}`);
});

test('routine progress of one Rollout waits max(1 s, rollouts / writes per second)', () => {
  const rows: [number, number, number][] = [
    [1, 100, 1000],
    [50, 100, 1000],
    [500, 100, 5000],
    [10_000, 100, 100_000],
    [10_000, 0, 1000],
  ];
  for (const [n, perSecond, want] of rows) assert.equal(routineFlushMs(n, perSecond), want, `${n} at ${perSecond}/s`);
});

test('sameJson says what comparing canonical texts says, without building them', () => {
  const shared = { a: [1, 2, { b: 'x' }] };
  const rows: Array<{ name: string; a: unknown; b: unknown }> = [
    { name: 'key order', a: { x: 1, y: { p: 1, q: 2 } }, b: { y: { q: 2, p: 1 }, x: 1 } },
    { name: 'undefined member is absent', a: { x: 1, y: undefined }, b: { x: 1 } },
    { name: 'undefined in an array is null', a: [1, undefined], b: [1, null] },
    { name: 'NaN and Infinity are null', a: [NaN, Infinity], b: [null, null] },
    { name: 'string vs number', a: { x: '1' }, b: { x: 1 } },
    { name: 'extra key', a: { x: 1 }, b: { x: 1, y: 2 } },
    { name: 'extra key on the left', a: { x: 1, y: 2 }, b: { x: 1 } },
    { name: 'array length', a: [1, 2], b: [1, 2, 3] },
    { name: 'array vs object', a: [], b: {} },
    { name: 'nested difference', a: { s: { t: [{ u: true }] } }, b: { s: { t: [{ u: false }] } } },
    { name: 'shared subtree', a: { s: shared }, b: { s: shared } },
    { name: 'null vs absent member', a: { x: null }, b: {} },
    { name: 'function member is absent', a: { x: 1, f: () => 1 }, b: { x: 1 } },
    { name: 'top-level undefined', a: undefined, b: undefined },
    { name: 'top-level null vs undefined', a: null, b: undefined },
  ];
  for (const r of rows) assert.equal(sameJson(r.a, r.b), canonical(r.a) === canonical(r.b), r.name);
});
