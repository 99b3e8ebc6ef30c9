// Table tests for the pure rollout machine: one named row per transition, then scenarios driven by a
// ManualClock (an hour-long rollout in milliseconds) and property checks over random inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/util/clock.js';
import { step, initialState, makePlan } from '../src/rollout/machine/index.js';
import type {
  Action,
  EventKind,
  Observations,
  Phase,
  RolloutState,
  StepResult,
  TrafficTarget,
} from '../src/rollout/machine/index.js';
import type { AnalysisRound, MetricResult } from '../src/rollout/analysis/result.js';
import type { MetricSpec, RolloutPolicySpec } from '../src/rollout/policy/types.js';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;
const OLD = 'web-00001';
const NEW = 'web-00002';
const NEWER = 'web-00003';

const successRate: MetricSpec = {
  name: 'success-rate',
  query:
    'sum(rate(revision_request_count{revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}])) / sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}]))',
  thresholdRange: { min: 0.99 },
  onNoData: 'hold',
  noDataTimeout: '3s',
};

function canaryPolicy(over: Partial<RolloutPolicySpec> = {}, metric: Partial<MetricSpec> = {}): RolloutPolicySpec {
  return {
    targetRef: { name: 'web' },
    strategy: {
      canary: {
        steps: [
          { setWeight: 20 },
          { pause: { duration: '5s' } },
          { setWeight: 50 },
          { analysis: { checks: 2 } },
          { pause: {} },
          { setWeight: 80 },
        ],
      },
    },
    analysis: { interval: '1s', failureLimit: 2, metrics: [{ ...successRate, ...metric }] },
    rollback: { to: 'pinned' },
    ...over,
  };
}
const CANARY = canaryPolicy();
const CUMULATIVE = canaryPolicy({
  analysis: { interval: '1s', failureLimit: 2, failureCounting: 'cumulative', metrics: [successRate] },
});
const BG: RolloutPolicySpec = {
  targetRef: { name: 'web' },
  strategy: { blueGreen: { previewTag: 'preview', prePromotionAnalysis: { checks: 1 }, autoPromotionSeconds: 10 } },
  analysis: { interval: '1s', metrics: [successRate] },
};
const BG_MANUAL: RolloutPolicySpec = { ...BG, strategy: { blueGreen: { autoPromotionEnabled: false } } };
const AB: RolloutPolicySpec = {
  targetRef: { name: 'web' },
  strategy: { abTest: { tag: 'beta', match: [{ header: { name: 'x-beta', exact: 'yes' } }], duration: '30s' } },
};
const WINDOW = canaryPolicy({ rollbackWindow: { revisions: 2 } });
const NAMED = canaryPolicy({ rollback: { revisionName: 'web-00000' } });

function obs(policy: RolloutPolicySpec, extra: Partial<Observations> = {}): Observations {
  return { policy, latestRevision: NEW, revisions: { [OLD]: 'ready', [NEW]: 'ready', [NEWER]: 'ready' }, ...extra };
}
const steady = (history: string[] = []): RolloutState =>
  initialState({ namespace: 'default', service: 'web', stableRevision: OLD, now: T0, history });
const after = (s: RolloutState, o: Observations, now: number): RolloutState => step(s, o, now).state;
const pending = (policy = CANARY): RolloutState => after(steady(), obs(policy, { revisions: { [OLD]: 'ready' } }), T0);
/** Started at T0+1s: setWeight 20 applied, in the 5s pause (step 1); first round due at T0+2s. */
const progressing = (policy = CANARY): RolloutState => after(pending(policy), obs(policy), T0 + S);

function result(
  status: 'pass' | 'fail' | 'noData' | 'error',
  metric = 'success-rate',
  extra: Partial<MetricResult> = {},
): MetricResult {
  const query = 'q';
  switch (status) {
    case 'pass':
      return { status, metric, query, value: 0.999, ...extra } as MetricResult;
    case 'fail':
      return { status, metric, query, value: 0.5, reason: 'below min 0.99', ...extra } as MetricResult;
    case 'noData':
      return { status, metric, query, reason: 'empty result', ...extra } as MetricResult;
    case 'error':
      return { status, metric, query, reason: 'parse error', code: 'SLUICE_ERR_PROM_QUERY', ...extra } as MetricResult;
  }
}
const round = (at: number, ...results: MetricResult[]): AnalysisRound => ({ revision: NEW, at, results });
/** Feeds rounds one per second starting at `from`, returns the state after the last. */
function rounds(
  s: RolloutState,
  policy: RolloutPolicySpec,
  from: number,
  kinds: ('pass' | 'fail' | 'noData')[],
): RolloutState {
  kinds.forEach((k, i) => {
    s = after(s, obs(policy, { analysis: round(from + i * S, result(k)) }), from + i * S);
  });
  return s;
}
/** Progressing, at step 3 (analysis {checks: 2}) with weight 50, at T0+6s. */
const atAnalysisStep = (): RolloutState => after(progressing(), obs(CANARY), T0 + 6 * S);
/** Paused at step 4 (pause {}) after two passing rounds. */
const pausedAtStep = (): RolloutState => rounds(atAnalysisStep(), CANARY, T0 + 7 * S, ['pass', 'pass']);

interface Want {
  phase?: Phase;
  canaryWeight?: number;
  currentStep?: number;
  stableRevision?: string;
  canaryRevision?: string;
  /** Action kinds in order. */
  actions?: Action['kind'][];
  events?: EventKind[];
  traffic?: TrafficTarget[];
  wakeAt?: number | null;
  message?: RegExp;
  consecutiveFailures?: number;
  holding?: string[];
  pause?: 'step' | 'user' | null;
  headerRoute?: boolean;
}
interface Case {
  name: string;
  state: () => RolloutState;
  observations: Observations;
  now: number;
  want: Want;
}

const tr = (
  stablePct: number,
  canaryPct: number,
  canaryTag = 'canary',
  stable = OLD,
  canary = NEW,
): TrafficTarget[] => [
  { revisionName: stable, percent: stablePct, tag: 'stable' },
  { revisionName: canary, percent: canaryPct, tag: canaryTag },
];

const cases: Case[] = [
  // ---- starting ----
  {
    name: 'steady, a new latest revision, not ready yet → Pending, stable pinned, canary tagged at 0%',
    state: steady,
    observations: obs(CANARY, { revisions: {} }),
    now: T0,
    want: { phase: 'Pending', actions: ['setTraffic'], traffic: tr(100, 0), wakeAt: T0 + 600 * S },
  },
  {
    name: 'steady, latest equals stable → nothing to do',
    state: steady,
    observations: obs(CANARY, { latestRevision: OLD }),
    now: T0,
    want: { phase: 'Succeeded', actions: [], wakeAt: null },
  },
  {
    name: 'Pending, canary not ready → stays Pending until the progress deadline',
    state: pending,
    observations: obs(CANARY, { revisions: { [NEW]: 'notReady' } }),
    now: T0 + 10 * S,
    want: { phase: 'Pending', actions: [], wakeAt: T0 + 600 * S },
  },
  {
    name: 'Pending, canary ready → Progressing, first weight applied, started and step notified',
    state: pending,
    observations: obs(CANARY),
    now: T0 + S,
    want: {
      phase: 'Progressing',
      currentStep: 1,
      canaryWeight: 20,
      actions: ['notify', 'notify', 'setTraffic'],
      events: ['started', 'step'],
      traffic: tr(80, 20),
      wakeAt: T0 + 2 * S,
    },
  },
  {
    name: 'Pending, canary failed → rolled back at once',
    state: pending,
    observations: obs(CANARY, { revisions: { [NEW]: 'failed' } }),
    now: T0 + S,
    want: { phase: 'RolledBack', events: ['rolledBack', 'rolledBack'], message: /failed/ },
  },
  {
    name: 'Pending, progress deadline passed → rolled back',
    state: pending,
    observations: obs(CANARY, { revisions: {} }),
    now: T0 + 600 * S,
    want: { phase: 'RolledBack', message: /progressDeadline/ },
  },
  {
    name: 'Pending, abort → Aborted',
    state: pending,
    observations: obs(CANARY, { revisions: {}, commands: [{ seq: 1, kind: 'abort' }] }),
    now: T0 + S,
    want: { phase: 'Aborted', events: ['aborted'], actions: ['notify'], traffic: tr(100, 0) },
  },
  {
    name: 'Pending, promote is ignored until the canary is ready',
    state: pending,
    observations: obs(CANARY, { revisions: {}, commands: [{ seq: 1, kind: 'promote', full: true }] }),
    now: T0 + S,
    want: { phase: 'Pending', actions: [] },
  },
  {
    name: 'rollbackWindow: a revision stable 1 rollout ago is promoted without analysis',
    state: () => after(steady([NEW]), obs(WINDOW, { revisions: {} }), T0),
    observations: obs(WINDOW),
    now: T0 + S,
    want: {
      phase: 'Succeeded',
      events: ['promoted', 'succeeded'],
      stableRevision: NEW,
      traffic: [{ revisionName: NEW, percent: 100, tag: 'stable' }],
    },
  },
  {
    name: 'rollbackWindow: a revision stable 3 rollouts ago (window 2) goes through the steps',
    state: () => after(steady(['x', 'y', NEW]), obs(WINDOW, { revisions: {} }), T0),
    observations: obs(WINDOW),
    now: T0 + S,
    want: { phase: 'Progressing', canaryWeight: 20 },
  },

  // ---- progressing through steps ----
  {
    name: 'pause 5s not yet elapsed → waits, wakes for the first analysis round',
    state: progressing,
    observations: obs(CANARY),
    now: T0 + 1.5 * S,
    want: { phase: 'Progressing', currentStep: 1, actions: [], wakeAt: T0 + 2 * S },
  },
  {
    name: 'pause 5s elapsed → next setWeight 50, then waits in the analysis step',
    state: progressing,
    observations: obs(CANARY),
    now: T0 + 6 * S,
    want: {
      phase: 'Progressing',
      currentStep: 3,
      canaryWeight: 50,
      events: ['step'],
      actions: ['notify', 'setTraffic', 'runAnalysis'],
      traffic: tr(50, 50),
    },
  },
  {
    name: 'analysis step with one pass of two → stays',
    state: () => rounds(atAnalysisStep(), CANARY, T0 + 7 * S, ['pass']),
    observations: obs(CANARY),
    now: T0 + 7.5 * S,
    want: { phase: 'Progressing', currentStep: 3, actions: [] },
  },
  {
    name: 'analysis step with two passes → advances to pause {} → Paused (step)',
    state: atAnalysisStep,
    observations: obs(CANARY, { analysis: round(T0 + 6 * S, result('pass')) }),
    now: T0 + 6 * S,
    want: { phase: 'Progressing', currentStep: 3 },
  },
  {
    name: 'second passing round completes the analysis step → Paused at pause {}',
    state: () => rounds(atAnalysisStep(), CANARY, T0 + 7 * S, ['pass']),
    observations: obs(CANARY, { analysis: round(T0 + 8 * S, result('pass')) }),
    now: T0 + 8 * S,
    want: { phase: 'Paused', currentStep: 4, pause: 'step', events: ['paused'] },
  },
  {
    name: 'analysis due → runAnalysis asked once',
    state: progressing,
    observations: obs(CANARY),
    now: T0 + 2 * S,
    want: { actions: ['runAnalysis'], wakeAt: T0 + 3 * S },
  },
  {
    name: 'analysis asked and not overdue → not asked again',
    state: () => after(progressing(), obs(CANARY), T0 + 2 * S),
    observations: obs(CANARY),
    now: T0 + 2.5 * S,
    want: { actions: [] },
  },
  {
    name: 'analysis asked, round overdue a whole interval → asked again',
    state: () => after(progressing(), obs(CANARY), T0 + 2 * S),
    observations: obs(CANARY),
    now: T0 + 3 * S,
    want: { actions: ['runAnalysis'] },
  },
  {
    name: 'last step done → Promoting → Succeeded in one call; stable becomes the canary',
    state: () => after(pausedAtStep(), obs(CANARY, { commands: [{ seq: 1, kind: 'promote' }] }), T0 + 9 * S),
    observations: obs(CANARY),
    now: T0 + 9 * S,
    want: { phase: 'Succeeded', stableRevision: NEW, canaryWeight: 100 },
  },
  {
    name: 'promote on pause {} → setWeight 80 → all steps done → Succeeded',
    state: pausedAtStep,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'promote' }] }),
    now: T0 + 9 * S,
    want: {
      phase: 'Succeeded',
      events: ['step', 'promoted', 'succeeded'],
      stableRevision: NEW,
      traffic: [{ revisionName: NEW, percent: 100, tag: 'stable' }],
    },
  },

  // ---- analysis verdicts ----
  {
    name: 'one failed check, failureLimit 2 → stays, says so',
    state: progressing,
    observations: obs(CANARY, { analysis: round(T0 + 2 * S, result('fail')) }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', consecutiveFailures: 1, message: /check failed \(1\/2 consecutive\)/, actions: [] },
  },
  {
    name: 'second consecutive failure → rolled back to pinned within the same step',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['fail']),
    observations: obs(CANARY, { analysis: round(T0 + 3 * S, result('fail')) }),
    now: T0 + 3 * S,
    want: {
      phase: 'RolledBack',
      events: ['analysisFailed', 'rolledBack'],
      actions: ['notify', 'notify', 'setTraffic'],
      traffic: tr(100, 0),
      stableRevision: OLD,
      wakeAt: null,
    },
  },
  {
    name: 'consecutive counting: a pass between failures resets the count',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['fail', 'pass']),
    observations: obs(CANARY, { analysis: round(T0 + 4 * S, result('fail')) }),
    now: T0 + 4 * S,
    want: { phase: 'Progressing', consecutiveFailures: 1 },
  },
  {
    name: 'cumulative counting: a pass between failures does not reset → rolled back',
    state: () => rounds(progressing(CUMULATIVE), CUMULATIVE, T0 + 2 * S, ['fail', 'pass']),
    observations: obs(CUMULATIVE, { analysis: round(T0 + 4 * S, result('fail')) }),
    now: T0 + 4 * S,
    want: { phase: 'RolledBack', message: /2 cumulative failed check/ },
  },
  {
    name: 'no data, hold, first empty round → holding, no failure counted',
    state: progressing,
    observations: obs(CANARY, { analysis: round(T0 + 2 * S, result('noData')) }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', holding: ['success-rate'], consecutiveFailures: 0 },
  },
  {
    name: 'no data, hold: the pause step stays held past its 5s while data is missing',
    state: () =>
      rounds(
        progressing(canaryPolicy({}, { noDataTimeout: '1m' })),
        canaryPolicy({}, { noDataTimeout: '1m' }),
        T0 + 2 * S,
        ['noData', 'noData', 'noData', 'noData', 'noData'],
      ),
    observations: obs(canaryPolicy({}, { noDataTimeout: '1m' })),
    now: T0 + 6.5 * S,
    want: { phase: 'Progressing', currentStep: 1, canaryWeight: 20, holding: ['success-rate'] },
  },
  {
    name: 'no data, hold, data returns → hold ends and the pause completes',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['noData', 'noData']),
    observations: obs(CANARY, { analysis: round(T0 + 6 * S, result('pass')) }),
    now: T0 + 6 * S,
    want: { phase: 'Progressing', holding: [], canaryWeight: 50 },
  },
  {
    name: 'no data, hold, noDataTimeout 3s reached → fails (onNoDataTimeout fail)',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['noData', 'noData', 'noData']),
    observations: obs(CANARY, { analysis: round(T0 + 5 * S, result('noData')) }),
    now: T0 + 5 * S,
    want: { phase: 'Progressing', consecutiveFailures: 1, message: /noDataTimeout 3s/ },
  },
  {
    name: 'no data, hold, the revision served no requests → holding (waits for traffic)',
    state: progressing,
    observations: obs(CANARY, {
      analysis: round(T0 + 2 * S, result('noData', 'success-rate', { cause: 'noTraffic', requests: 0 })),
    }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', holding: ['success-rate'], consecutiveFailures: 0 },
  },
  {
    name: 'no data, hold, served fewer than minRequests (10) → still holding',
    state: progressing,
    observations: obs(CANARY, {
      analysis: round(T0 + 2 * S, result('noData', 'success-rate', { cause: 'noTraffic', requests: 9 })),
    }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', holding: ['success-rate'], consecutiveFailures: 0 },
  },
  {
    name: 'no data, hold, served 48 requests and the query is empty → the hold ends at once: a failed check',
    state: progressing,
    observations: obs(CANARY, {
      analysis: round(
        T0 + 2 * S,
        result('noData', 'success-rate', {
          cause: 'emptyQuery',
          requests: 48,
          reason: 'the query selected no series although web-00002 served 48 requests in the last 1s',
        }),
      ),
    }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', holding: [], consecutiveFailures: 1, message: /served 48 requests/ },
  },
  {
    name: 'no data, hold, minRequests 50 and 48 served → still holding',
    state: () => progressing(canaryPolicy({}, { minRequests: 50 })),
    observations: obs(canaryPolicy({}, { minRequests: 50 }), {
      analysis: round(T0 + 2 * S, result('noData', 'success-rate', { cause: 'noTraffic', requests: 48 })),
    }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', holding: ['success-rate'], consecutiveFailures: 0 },
  },
  {
    name: 'no data, hold, served and empty with onNoDataTimeout pass → passes (reason kept)',
    state: () => progressing(canaryPolicy({}, { onNoDataTimeout: 'pass' })),
    observations: obs(canaryPolicy({}, { onNoDataTimeout: 'pass' }), {
      analysis: round(T0 + 2 * S, result('noData', 'success-rate', { cause: 'emptyQuery', requests: 48 })),
    }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', holding: [], consecutiveFailures: 0 },
  },
  {
    name: 'no data, hold, timeout reached with onNoDataTimeout pass → passes',
    state: () =>
      rounds(
        progressing(canaryPolicy({}, { onNoDataTimeout: 'pass' })),
        canaryPolicy({}, { onNoDataTimeout: 'pass' }),
        T0 + 2 * S,
        ['noData', 'noData', 'noData'],
      ),
    observations: obs(canaryPolicy({}, { onNoDataTimeout: 'pass' }), { analysis: round(T0 + 5 * S, result('noData')) }),
    now: T0 + 5 * S,
    want: { phase: 'Progressing', consecutiveFailures: 0, holding: [] },
  },
  {
    name: 'no data with onNoData fail → a failed check at once',
    state: () => progressing(canaryPolicy({}, { onNoData: 'fail', noDataTimeout: undefined })),
    observations: obs(canaryPolicy({}, { onNoData: 'fail', noDataTimeout: undefined }), {
      analysis: round(T0 + 2 * S, result('noData')),
    }),
    now: T0 + 2 * S,
    want: { consecutiveFailures: 1 },
  },
  {
    name: 'no data with onNoData pass → counts as a pass',
    state: () => progressing(canaryPolicy({}, { onNoData: 'pass', noDataTimeout: undefined })),
    observations: obs(canaryPolicy({}, { onNoData: 'pass', noDataTimeout: undefined }), {
      analysis: round(T0 + 2 * S, result('noData')),
    }),
    now: T0 + 2 * S,
    want: { consecutiveFailures: 0, holding: [] },
  },
  {
    name: 'query error → counts as a failed check',
    state: progressing,
    observations: obs(CANARY, { analysis: round(T0 + 2 * S, result('error')) }),
    now: T0 + 2 * S,
    want: { consecutiveFailures: 1, message: /parse error/ },
  },
  {
    name: 'critical metric fails → rolled back at once despite failureLimit',
    state: progressing,
    observations: obs(CANARY, { analysis: round(T0 + 2 * S, result('fail', 'success-rate', { critical: true })) }),
    now: T0 + 2 * S,
    want: { phase: 'RolledBack', message: /critical/ },
  },
  {
    name: 'a round not newer than the last one is ignored',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['fail']),
    observations: obs(CANARY, { analysis: round(T0 + 2 * S, result('fail')) }),
    now: T0 + 2.5 * S,
    want: { consecutiveFailures: 1, phase: 'Progressing' },
  },
  {
    name: 'a round for another revision is ignored',
    state: progressing,
    observations: obs(CANARY, { analysis: { revision: OLD, at: T0 + 2 * S, results: [result('fail')] } }),
    now: T0 + 2 * S,
    want: { consecutiveFailures: 0 },
  },
  {
    name: 'a metric missing from the round counts as no data (hold)',
    state: progressing,
    observations: obs(CANARY, { analysis: round(T0 + 2 * S) }),
    now: T0 + 2 * S,
    want: { holding: ['success-rate'] },
  },

  // ---- commands ----
  {
    name: 'pause command → Paused (user)',
    state: progressing,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'pause' }] }),
    now: T0 + 2 * S,
    want: { phase: 'Paused', pause: 'user', events: ['paused'] },
  },
  {
    name: 'pause command while Paused → ignored',
    state: pausedAtStep,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'pause' }] }),
    now: T0 + 8.5 * S,
    want: { phase: 'Paused', pause: 'step', actions: [] },
  },
  {
    name: 'resume after a user pause → Progressing, the pause step keeps its remaining time',
    state: () => after(progressing(), obs(CANARY, { commands: [{ seq: 1, kind: 'pause' }] }), T0 + 2 * S),
    observations: obs(CANARY, {
      commands: [
        { seq: 1, kind: 'pause' },
        { seq: 2, kind: 'resume' },
      ],
    }),
    now: T0 + 100 * S,
    want: { phase: 'Progressing', currentStep: 1, wakeAt: T0 + 101 * S },
  },
  {
    name: 'resume on a pause {} step → advances past it',
    state: pausedAtStep,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'resume' }] }),
    now: T0 + 9 * S,
    want: { phase: 'Succeeded', canaryWeight: 100 },
  },
  {
    name: 'promote while Progressing → skips the current step (the 5s pause)',
    state: progressing,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'promote' }] }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', currentStep: 3, canaryWeight: 50 },
  },
  {
    name: 'promote --full while Progressing → Succeeded',
    state: progressing,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'promote', full: true }] }),
    now: T0 + 2 * S,
    want: { phase: 'Succeeded', events: ['promoted', 'succeeded'], stableRevision: NEW },
  },
  {
    name: 'abort while Progressing → Aborted, traffic back to stable',
    state: progressing,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'abort' }] }),
    now: T0 + 2 * S,
    want: { phase: 'Aborted', events: ['aborted'], traffic: tr(100, 0), wakeAt: null },
  },
  {
    name: 'abort while Paused → Aborted',
    state: pausedAtStep,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'abort' }] }),
    now: T0 + 9 * S,
    want: { phase: 'Aborted', traffic: tr(100, 0) },
  },
  {
    name: 'a command already applied (seq ≤ last) is ignored',
    state: () =>
      after(
        progressing(),
        obs(CANARY, {
          commands: [
            { seq: 1, kind: 'pause' },
            { seq: 2, kind: 'resume' },
          ],
        }),
        T0 + 2 * S,
      ),
    observations: obs(CANARY, {
      commands: [
        { seq: 1, kind: 'pause' },
        { seq: 2, kind: 'resume' },
      ],
    }),
    now: T0 + 3 * S,
    want: { phase: 'Progressing' },
  },
  {
    name: 'retry after a rollback → Pending → Progressing again from step 0',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['fail', 'fail']),
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'retry' }] }),
    now: T0 + 10 * S,
    want: {
      phase: 'Progressing',
      currentStep: 1,
      canaryWeight: 20,
      consecutiveFailures: 0,
      events: ['started', 'step'],
    },
  },
  {
    name: 'retry after an abort → starts again',
    state: () => after(progressing(), obs(CANARY, { commands: [{ seq: 1, kind: 'abort' }] }), T0 + 2 * S),
    observations: obs(CANARY, {
      commands: [
        { seq: 1, kind: 'abort' },
        { seq: 2, kind: 'retry' },
      ],
    }),
    now: T0 + 3 * S,
    want: { phase: 'Progressing', canaryWeight: 20 },
  },
  {
    name: 'retry while Progressing → ignored',
    state: progressing,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'retry' }] }),
    now: T0 + 1.5 * S,
    want: { phase: 'Progressing', actions: [] },
  },
  {
    name: 'a user pause does not stop analysis: failures still roll back',
    state: () =>
      rounds(
        after(progressing(), obs(CANARY, { commands: [{ seq: 1, kind: 'pause' }] }), T0 + 1.5 * S),
        CANARY,
        T0 + 2 * S,
        ['fail'],
      ),
    observations: obs(CANARY, { analysis: round(T0 + 3 * S, result('fail')) }),
    now: T0 + 3 * S,
    want: { phase: 'RolledBack' },
  },

  // ---- readiness, revisions, traffic observation ----
  {
    name: 'canary fails while Progressing → rolled back',
    state: progressing,
    observations: obs(CANARY, { revisions: { [NEW]: 'failed' } }),
    now: T0 + 2 * S,
    want: { phase: 'RolledBack', traffic: tr(100, 0) },
  },
  {
    name: 'RolledBack, the failed revision is still latest → stays RolledBack (no retry loop)',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['fail', 'fail']),
    observations: obs(CANARY),
    now: T0 + 60 * S,
    want: { phase: 'RolledBack', actions: [], wakeAt: null },
  },
  {
    name: 'RolledBack, a newer revision appears → a new rollout starts',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['fail', 'fail']),
    observations: obs(CANARY, { latestRevision: NEWER, revisions: {} }),
    now: T0 + 60 * S,
    want: { phase: 'Pending', canaryRevision: NEWER, traffic: tr(100, 0, 'canary', OLD, NEWER) },
  },
  {
    name: 'Progressing, a newer revision supersedes → Pending with the newer one, weight back to 0',
    state: progressing,
    observations: obs(CANARY, { latestRevision: NEWER, revisions: {} }),
    now: T0 + 2 * S,
    want: {
      phase: 'Pending',
      canaryRevision: NEWER,
      canaryWeight: 0,
      traffic: tr(100, 0, 'canary', OLD, NEWER),
      message: /supersedes/,
    },
  },
  {
    name: 'Progressing, the Service goes back to the stable revision → Succeeded, rollout abandoned',
    state: progressing,
    observations: obs(CANARY, { latestRevision: OLD }),
    now: T0 + 2 * S,
    want: { phase: 'Succeeded', events: ['aborted'], traffic: [{ revisionName: OLD, percent: 100, tag: 'stable' }] },
  },
  {
    name: 'observed traffic drifted during Progressing → setTraffic again',
    state: progressing,
    observations: obs(CANARY, { traffic: [{ revisionName: NEW, percent: 100 }] }),
    now: T0 + 1.5 * S,
    want: { actions: ['setTraffic'], traffic: tr(80, 20) },
  },
  {
    name: 'promotion with observed traffic not yet applied → stays Promoting',
    state: progressing,
    observations: obs(CANARY, { commands: [{ seq: 1, kind: 'promote', full: true }], traffic: tr(80, 20) }),
    now: T0 + 2 * S,
    want: { phase: 'Promoting', events: ['promoted'], actions: ['notify', 'setTraffic'] },
  },
  {
    name: 'Promoting, observed traffic matches → Succeeded',
    state: () =>
      after(
        progressing(),
        obs(CANARY, { commands: [{ seq: 1, kind: 'promote', full: true }], traffic: tr(80, 20) }),
        T0 + 2 * S,
      ),
    observations: obs(CANARY, { traffic: [{ revisionName: NEW, percent: 100, tag: 'stable' }] }),
    now: T0 + 3 * S,
    want: { phase: 'Succeeded', events: ['succeeded'] },
  },
  {
    name: 'rollback with observed traffic not yet applied → RollingBack, setTraffic',
    state: () => rounds(progressing(), CANARY, T0 + 2 * S, ['fail']),
    observations: obs(CANARY, { analysis: round(T0 + 3 * S, result('fail')), traffic: tr(80, 20) }),
    now: T0 + 3 * S,
    want: { phase: 'RollingBack', events: ['analysisFailed'], actions: ['notify', 'setTraffic'], wakeAt: null },
  },
  {
    name: 'RollingBack, observed traffic matches → RolledBack',
    state: () =>
      after(
        rounds(progressing(), CANARY, T0 + 2 * S, ['fail']),
        obs(CANARY, { analysis: round(T0 + 3 * S, result('fail')), traffic: tr(80, 20) }),
        T0 + 3 * S,
      ),
    observations: obs(CANARY, { traffic: tr(100, 0) }),
    now: T0 + 4 * S,
    want: { phase: 'RolledBack', events: ['rolledBack'], actions: ['notify'] },
  },
  {
    name: 'rollback {revisionName} → that revision takes 100% and becomes stable',
    state: () => rounds(progressing(NAMED), NAMED, T0 + 2 * S, ['fail']),
    observations: obs(NAMED, { analysis: round(T0 + 3 * S, result('fail')) }),
    now: T0 + 3 * S,
    want: { phase: 'RolledBack', stableRevision: 'web-00000', traffic: tr(100, 0, 'canary', 'web-00000', NEW) },
  },

  // ---- blue/green ----
  {
    name: 'blue/green, ready → Progressing, preview tagged at 0%, no production traffic',
    state: () => pending(BG),
    observations: obs(BG),
    now: T0 + S,
    want: { phase: 'Progressing', canaryWeight: 0, traffic: tr(100, 0, 'preview'), events: ['started'] },
  },
  {
    name: 'blue/green, pre-promotion analysis passed, autoPromotionSeconds not elapsed → waits',
    state: () => progressing(BG),
    observations: obs(BG, { analysis: round(T0 + 2 * S, result('pass')) }),
    now: T0 + 2 * S,
    want: { phase: 'Progressing', currentStep: 1, wakeAt: T0 + 3 * S },
  },
  {
    name: 'blue/green, autoPromotionSeconds elapsed → promoted, Succeeded',
    state: () => rounds(progressing(BG), BG, T0 + 2 * S, ['pass']),
    observations: obs(BG),
    now: T0 + 12 * S,
    want: { phase: 'Succeeded', traffic: [{ revisionName: NEW, percent: 100, tag: 'stable' }] },
  },
  {
    name: 'blue/green, pre-promotion analysis fails → RolledBack, preview keeps its tag at 0%',
    state: () => progressing(BG),
    observations: obs(BG, { analysis: round(T0 + 2 * S, result('fail')) }),
    now: T0 + 2 * S,
    want: { phase: 'RolledBack', traffic: tr(100, 0, 'preview') },
  },
  {
    name: 'blue/green, autoPromotionEnabled false → Paused awaiting promotion',
    state: () => pending(BG_MANUAL),
    observations: obs(BG_MANUAL),
    now: T0 + S,
    want: { phase: 'Paused', pause: 'step', events: ['started', 'paused'], message: /waiting for promotion/ },
  },
  {
    name: 'blue/green, paused, promote → Succeeded',
    state: () => progressing(BG_MANUAL),
    observations: obs(BG_MANUAL, { commands: [{ seq: 1, kind: 'promote' }] }),
    now: T0 + 2 * S,
    want: { phase: 'Succeeded', stableRevision: NEW },
  },

  // ---- A/B ----
  {
    name: 'A/B, ready → Progressing, header route to the tag, 0% weight',
    state: () => pending(AB),
    observations: obs(AB),
    now: T0 + S,
    want: {
      phase: 'Progressing',
      actions: ['notify', 'setHeaderRoute'],
      traffic: tr(100, 0, 'beta'),
      headerRoute: true,
      wakeAt: T0 + 31 * S,
    },
  },
  {
    name: 'A/B, duration elapsed → promoted, header route cleared',
    state: () => progressing(AB),
    observations: obs(AB),
    now: T0 + 31 * S,
    want: { phase: 'Succeeded', actions: ['notify', 'notify', 'setTraffic', 'clearHeaderRoute'], headerRoute: false },
  },
  {
    name: 'A/B, abort → Aborted, header route cleared',
    state: () => progressing(AB),
    observations: obs(AB, { commands: [{ seq: 1, kind: 'abort' }] }),
    now: T0 + 2 * S,
    want: { phase: 'Aborted', actions: ['notify', 'clearHeaderRoute'], headerRoute: false },
  },
];

function project(r: StepResult, want: Want): Want {
  const got: Want = {};
  const s = r.state;
  for (const k of Object.keys(want) as (keyof Want)[]) {
    switch (k) {
      case 'phase':
        got.phase = s.phase;
        break;
      case 'canaryWeight':
        got.canaryWeight = s.canaryWeight;
        break;
      case 'currentStep':
        got.currentStep = s.currentStep;
        break;
      case 'stableRevision':
        got.stableRevision = s.stableRevision;
        break;
      case 'canaryRevision':
        got.canaryRevision = s.canaryRevision;
        break;
      case 'actions':
        got.actions = r.actions.map((a) => a.kind);
        break;
      case 'events':
        got.events = r.actions.flatMap((a) => (a.kind === 'notify' ? [a.event] : []));
        break;
      case 'traffic':
        got.traffic = s.traffic;
        break;
      case 'wakeAt':
        got.wakeAt = r.wakeAt;
        break;
      case 'message':
        got.message = want.message?.test(s.message) ? want.message : new RegExp(`^${s.message}$`);
        break;
      case 'consecutiveFailures':
        got.consecutiveFailures = s.analysis.consecutiveFailures;
        break;
      case 'holding':
        got.holding = s.analysis.holding;
        break;
      case 'pause':
        got.pause = s.pause?.reason ?? null;
        break;
      case 'headerRoute':
        got.headerRoute = s.headerRoute;
        break;
    }
  }
  return got;
}

for (const c of cases) {
  test(`machine: ${c.name}`, () => {
    const before = c.state();
    const frozen = structuredClone(before);
    const r = step(before, c.observations, c.now);
    assert.deepEqual(project(r, c.want), c.want);
    assert.deepEqual(before, frozen, 'step must not mutate its input');
    // Idempotence: the same inputs give the same outputs, and the result is a fixpoint.
    assert.deepEqual(step(before, c.observations, c.now), r);
    const again = step(r.state, c.observations, c.now);
    assert.deepEqual(again.state, r.state, 'feeding the result back with the same inputs changes nothing');
    assert.deepEqual(
      again.actions.filter((a) => a.kind !== 'setTraffic'),
      [],
      'and emits nothing new',
    );
    assertTrafficInvariants(r.state.traffic);
  });
}

function assertTrafficInvariants(traffic: TrafficTarget[]): void {
  assert.equal(
    traffic.reduce((n, t) => n + t.percent, 0),
    100,
    `split sums to 100: ${JSON.stringify(traffic)}`,
  );
  for (const t of traffic)
    assert.ok(
      Number.isInteger(t.percent) && t.percent >= 0 && t.percent <= 100,
      `percent in 0..100: ${JSON.stringify(t)}`,
    );
}

// ---- plans ----
test('plan: stepWeight 20 / maxWeight 50 / interval 1m with analysis → 20, 40, 50, each gated by one pass and 1m', () => {
  const plan = makePlan({
    targetRef: { name: 'web' },
    strategy: { canary: { stepWeight: 20, maxWeight: 50, interval: '1m' } },
    analysis: { interval: '1s', metrics: [successRate] },
  });
  assert.deepEqual(plan.steps, [
    { kind: 'setWeight', weight: 20 },
    { kind: 'analysis', checks: 1, durationMs: 60_000 },
    { kind: 'setWeight', weight: 40 },
    { kind: 'analysis', checks: 1, durationMs: 60_000 },
    { kind: 'setWeight', weight: 50 },
    { kind: 'analysis', checks: 1, durationMs: 60_000 },
  ]);
});
test('plan: stepWeights without analysis → a timed pause after each weight', () => {
  const plan = makePlan({
    targetRef: { name: 'web' },
    strategy: { canary: { stepWeights: [5, 50], interval: '500ms' } },
  });
  assert.deepEqual(plan.steps, [
    { kind: 'setWeight', weight: 5 },
    { kind: 'pause', durationMs: 500 },
    { kind: 'setWeight', weight: 50 },
    { kind: 'pause', durationMs: 500 },
  ]);
});
test('plan: defaults (tags, failureLimit 1, consecutive, hold 5m then fail, deadline 10m)', () => {
  const plan = makePlan({
    targetRef: { name: 'web' },
    strategy: { canary: { steps: [{ setWeight: 10 }] } },
    analysis: { interval: '1s', metrics: [{ name: 'm', query: 'q', thresholdRange: { min: 1 } }] },
  });
  assert.equal(plan.stableTag, 'stable');
  assert.equal(plan.canaryTag, 'canary');
  assert.deepEqual(plan.analysis, {
    intervalMs: 1000,
    windowMs: 1000,
    failureLimit: 1,
    counting: 'consecutive',
    metrics: [{ name: 'm', onNoData: 'hold', minRequests: 10, noDataTimeoutMs: 300_000, onNoDataTimeout: 'fail' }],
  });
  assert.equal(plan.progressDeadlineMs, 600_000);
});

// ---- scenarios on a manual clock ----

/**
 * A runner as the controller will be: step, apply actions to a fake route, answer runAnalysis with
 * `judge(now)`, and sleep until wakeAt by moving the manual clock. Returns the states seen.
 */
function simulate(
  policy: RolloutPolicySpec,
  judge: (now: number) => MetricResult['status'],
  opts: { clock: ManualClock; until: number; commands?: (now: number, s: RolloutState) => Observations['commands'] },
): { states: RolloutState[]; events: EventKind[]; calls: number } {
  const { clock } = opts;
  let s = steady();
  let route: TrafficTarget[] = [{ revisionName: OLD, percent: 100 }];
  let pendingRound: AnalysisRound | undefined;
  const states: RolloutState[] = [];
  const events: EventKind[] = [];
  let calls = 0;
  let commands: Observations['commands'] = [];
  while (clock.now() <= opts.until && calls < 100_000) {
    calls++;
    const more = opts.commands?.(clock.now(), s);
    if (more) commands = more;
    const o: Observations = {
      policy,
      latestRevision: NEW,
      revisions: { [OLD]: 'ready', [NEW]: 'ready' },
      traffic: route,
      commands,
    };
    if (pendingRound) o.analysis = pendingRound;
    const r = step(s, o, clock.now());
    s = r.state;
    states.push(s);
    pendingRound = undefined;
    let immediate = false;
    for (const a of r.actions) {
      if (a.kind === 'setTraffic') {
        route = a.traffic;
        immediate = true;
      }
      if (a.kind === 'notify') events.push(a.event);
      if (a.kind === 'runAnalysis') {
        const status = judge(clock.now());
        pendingRound = {
          revision: a.revision,
          at: clock.now(),
          results: a.metrics.map((m) => result(status as 'pass', m.name)),
        };
        immediate = true;
      }
    }
    if (immediate) continue;
    if (r.wakeAt === null) break;
    clock.set(r.wakeAt);
  }
  return { states, events, calls };
}

const HOUR_POLICY: RolloutPolicySpec = {
  targetRef: { name: 'web' },
  strategy: { canary: { stepWeight: 5, interval: '3m' } }, // 20 weights × 3 min = an hour
  analysis: { interval: '1s', failureLimit: 3, metrics: [{ ...successRate, noDataTimeout: '30s' }] },
};

test('scenario: an hour-long canary (5% every 3m, 1s checks) succeeds in milliseconds of wall time', () => {
  const clock = new ManualClock(T0);
  const started = performance.now();
  const { states, events } = simulate(HOUR_POLICY, () => 'pass', { clock, until: T0 + 2 * 3_600_000 });
  const wall = performance.now() - started;
  const last = states.at(-1);
  assert.equal(last?.phase, 'Succeeded');
  assert.equal(last?.stableRevision, NEW);
  assert.ok(clock.now() - T0 >= 60 * 60_000, `simulated at least an hour, got ${(clock.now() - T0) / 60_000} min`);
  assert.ok(wall < 5000, `took ${wall} ms`);
  assert.equal(events.filter((e) => e === 'step').length, 20);
  assert.deepEqual([events[0], events.at(-2), events.at(-1)], ['started', 'promoted', 'succeeded']);
});

test('scenario: the canary turns bad at minute 30 → rolled back to pinned within 3 checks (3 s)', () => {
  const clock = new ManualClock(T0);
  const badFrom = T0 + 30 * 60_000;
  const { states, events } = simulate(HOUR_POLICY, (now) => (now >= badFrom ? 'fail' : 'pass'), {
    clock,
    until: T0 + 2 * 3_600_000,
  });
  const last = states.at(-1);
  assert.equal(last?.phase, 'RolledBack');
  assert.deepEqual(last?.traffic, [
    { revisionName: OLD, percent: 100, tag: 'stable' },
    { revisionName: NEW, percent: 0, tag: 'canary' },
  ]);
  const rolledAt = states.findIndex((s) => s.phase === 'RolledBack');
  assert.ok(rolledAt > 0);
  assert.ok(clock.now() - badFrom <= 3 * S, `rolled back ${clock.now() - badFrom} ms after the canary turned bad`);
  assert.ok(events.includes('analysisFailed'));
});

test('scenario: Prometheus has no data for the canary → holds, then fails after noDataTimeout, rolls back', () => {
  const clock = new ManualClock(T0);
  const { states } = simulate(HOUR_POLICY, () => 'noData', { clock, until: T0 + 3_600_000 });
  const last = states.at(-1);
  assert.equal(last?.phase, 'RolledBack');
  assert.ok(
    states.some((s) => s.analysis.holding.length > 0),
    'held first',
  );
  assert.ok(
    states.every((s) => s.canaryWeight <= 5),
    'never advanced while holding',
  );
  assert.ok(
    clock.now() - T0 < 40 * S,
    `gave up after noDataTimeout (30s) and 3 failed checks, at ${(clock.now() - T0) / 1000}s`,
  );
});

test('scenario: user pauses at minute 10 and resumes at minute 50 → no weight change while paused, then succeeds', () => {
  const clock = new ManualClock(T0);
  const { states } = simulate(HOUR_POLICY, () => 'pass', {
    clock,
    until: T0 + 3 * 3_600_000,
    commands: (now) =>
      now >= T0 + 50 * 60_000
        ? [
            { seq: 1, kind: 'pause' },
            { seq: 2, kind: 'resume' },
          ]
        : now >= T0 + 10 * 60_000
          ? [{ seq: 1, kind: 'pause' }]
          : [],
  });
  const paused = states.filter((s) => s.phase === 'Paused');
  assert.ok(paused.length > 0);
  assert.equal(new Set(paused.map((s) => s.canaryWeight)).size, 1);
  assert.equal(states.at(-1)?.phase, 'Succeeded');
});

// ---- properties ----

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POLICIES: RolloutPolicySpec[] = [
  CANARY,
  CUMULATIVE,
  BG,
  BG_MANUAL,
  AB,
  WINDOW,
  NAMED,
  HOUR_POLICY,
  canaryPolicy({}, { onNoData: 'pass', noDataTimeout: undefined }),
];

test('property: over 300 random runs, splits sum to 100, never negative, weights monotonic until rollback/abort, step idempotent', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const policy = pick(POLICIES);
    let s = steady(rnd() < 0.3 ? [NEW] : []);
    let now = T0;
    let seq = 0;
    let commands: NonNullable<Observations['commands']> = [];
    let lastWeight = 0;
    let latest = NEW;
    for (let i = 0; i < 80; i++) {
      now += Math.floor(rnd() * 3000);
      if (rnd() < 0.08)
        commands = [
          ...commands,
          { seq: ++seq, kind: pick(['promote', 'abort', 'pause', 'resume', 'retry'] as const), full: rnd() < 0.3 },
        ];
      if (rnd() < 0.02) latest = pick([NEW, NEWER, OLD]);
      const o: Observations = {
        policy,
        latestRevision: latest,
        revisions: {
          [OLD]: 'ready',
          [NEW]: rnd() < 0.97 ? 'ready' : pick(['notReady', 'failed'] as const),
          [NEWER]: 'ready',
        },
        commands,
      };
      if (rnd() < 0.5)
        o.analysis = {
          revision: s.canaryRevision,
          at: now,
          results: [result(pick(['pass', 'pass', 'pass', 'fail', 'noData', 'error'] as const))],
        };
      if (rnd() < 0.3) o.traffic = s.traffic;
      const r = step(s, o, now);
      assert.deepEqual(step(s, o, now), r, `seed ${seed}: deterministic`);
      const again = step(r.state, o, now);
      assert.deepEqual(again.state, r.state, `seed ${seed} call ${i}: fixpoint`);
      assert.equal(
        again.actions.filter((a) => a.kind === 'notify').length,
        0,
        `seed ${seed} call ${i}: no repeated notifications`,
      );
      for (const a of r.actions) if (a.kind === 'setTraffic') assertTrafficInvariants(a.traffic);
      assertTrafficInvariants(r.state.traffic);
      if (r.wakeAt !== null) assert.ok(r.wakeAt > now, `seed ${seed}: wakeAt is in the future`);
      const restarted = r.state.canaryRevision !== s.canaryRevision || r.state.startedAt !== s.startedAt;
      const backwards = ['RollingBack', 'RolledBack', 'Aborted', 'Pending'].includes(r.state.phase) || restarted;
      if (!backwards && r.state.phase !== 'Succeeded') {
        assert.ok(
          r.state.canaryWeight >= lastWeight,
          `seed ${seed} call ${i}: weight went ${lastWeight} → ${r.state.canaryWeight} in ${r.state.phase}`,
        );
      }
      lastWeight = backwards ? 0 : r.state.canaryWeight;
      s = r.state;
    }
  }
});
