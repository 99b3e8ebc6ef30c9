// Pure parts of the dashboard and the Rollout's audit trail: status sentences, actions with their effects and
// reasons for being disabled, login tokens, Origin/Host checks, SSE resume points, timeline and past rollouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionsOf, compareLine, fleetRow, metricsOf, rolloutView, sentenceOf } from '../src/dashboard/view.js';
import { judgeMannWhitney } from '../src/rollout/analysis/judges/mann-whitney.js';
import { analysisRecord } from '../src/rollout/controller/status.js';
import {
  LoginRedeemer,
  csrfMatches,
  loadOrCreateKey,
  mintLoginToken,
  mintSession,
  verifySession,
} from '../src/dashboard/auth.js';
import { checkOrigin, hostAllowed } from '../src/dashboard/security.js';
import { resumePoint } from '../src/dashboard/hub.js';
import { actionsOf as timelineActions, finishedRollout } from '../src/rollout/controller/timeline.js';
import { initialState } from '../src/rollout/machine/machine.js';
import type { RolloutObject, RolloutObjectStatus } from '../src/rollout/controller/types.js';
import type { RolloutState } from '../src/rollout/machine/types.js';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
const STEPS: NonNullable<RolloutObjectStatus['plan']>['steps'] = [
  { kind: 'setWeight', weight: 20 },
  { kind: 'pause', durationMs: null },
  { kind: 'setWeight', weight: 50 },
  { kind: 'analysis', checks: 2, durationMs: 0 },
  { kind: 'setWeight', weight: 80 },
  { kind: 'pause', durationMs: 60_000 },
];
function ro(status: RolloutObjectStatus, state: Partial<RolloutState> = {}): RolloutObject {
  const base = initialState({
    namespace: 'default',
    service: 'web',
    stableRevision: 'web-00004',
    now: NOW - 30_000,
    stableTag: 'stable',
  });
  return {
    metadata: { name: 'web', namespace: 'default', resourceVersion: '7' },
    status: {
      strategy: 'canary',
      stableRevision: 'web-00004',
      canaryRevision: 'web-00005',
      totalSteps: STEPS.length,
      plan: {
        strategy: 'canary',
        steps: STEPS,
        canaryTag: 'canary',
        stableTag: 'stable',
        failureLimit: 2,
        counting: 'consecutive',
        intervalMs: 1000,
      },
      ...status,
      state: { ...base, ...state },
    },
  };
}
const FAILING_RUN = {
  at: new Date(NOW - 1000).toISOString(),
  revision: 'web-00005',
  step: 3,
  verdict: 'fail' as const,
  metrics: [{ metric: 'request-success-rate', status: 'fail', verdict: 'fail' as const, value: 42, min: 99 }],
};

interface SentenceCase {
  name: string;
  ro: RolloutObject;
  sentence: string;
  next?: RegExp;
  needs: string | null;
}
const sentences: SentenceCase[] = [
  {
    name: 'paused at a pause step waits for promote and says what promote does',
    ro: ro({ phase: 'Paused', currentStep: 1, canaryWeight: 20 }, { pause: { reason: 'step', since: NOW } }),
    sentence: 'Paused at step 2/6 — waiting for promote',
    next: /Promote moves web-00005 from 20 % to 50 %/,
    needs: 'promote',
  },
  {
    name: 'paused by a user waits for resume',
    ro: ro({ phase: 'Paused', currentStep: 3, canaryWeight: 50 }, { pause: { reason: 'user', since: NOW } }),
    sentence: 'Paused by a user at step 4/6 — waiting for resume',
    needs: 'promote',
  },
  {
    name: 'rolling back names the metric, value, threshold and the checks counted',
    ro: ro({
      phase: 'RollingBack',
      currentStep: 3,
      analysis: { consecutiveFailures: 2, totalFailures: 2, holding: false, lastResults: [] },
      analysisRuns: [FAILING_RUN],
    }),
    sentence: 'Rolling back — request-success-rate 42 < 99 in 2 of 2 checks',
    next: /All traffic returns to web-00004/,
    needs: 'failing',
  },
  {
    name: 'a timed pause counts down to the next weight',
    ro: ro({ phase: 'Progressing', currentStep: 5, canaryWeight: 80 }, { stepStartedAt: NOW - 15_000 }),
    sentence: 'Progressing at step 6/6 — 80 % to web-00005',
    next: /Next: promotion to 100 % in 45 s/,
    needs: null,
  },
  {
    name: 'holding for data longer than a minute is stuck',
    ro: ro(
      {
        phase: 'Progressing',
        currentStep: 3,
        analysis: { consecutiveFailures: 0, totalFailures: 0, holding: true, lastResults: [] },
        analysisRuns: [
          { ...FAILING_RUN, verdict: 'hold', metrics: [{ metric: 'latency', status: 'noData', verdict: 'hold' }] },
        ],
      },
      { stepStartedAt: NOW - 120_000 },
    ),
    sentence: 'Holding at step 4/6 — no data for latency',
    needs: 'stuck',
  },
  {
    name: 'succeeded',
    ro: ro({ phase: 'Succeeded', stableRevision: 'web-00005', currentStep: 6 }),
    sentence: 'Succeeded — web-00005 serves 100 %',
    needs: null,
  },
];
for (const c of sentences)
  test(`sentence: ${c.name}`, () => {
    const s = sentenceOf(c.ro, NOW);
    assert.equal(s.sentence, c.sentence);
    if (c.next) assert.match(s.next, c.next);
    assert.equal(s.needs, c.needs);
    assert.equal(fleetRow(c.ro, NOW).needs, c.needs);
  });

interface ActionCase {
  name: string;
  ro: RolloutObject;
  enabled: string[];
  effect?: [string, RegExp];
  why?: [string, string];
}
const actionCases: ActionCase[] = [
  {
    name: 'paused at a pause step: promote, promote full, abort; resume says to promote',
    ro: ro({ phase: 'Paused', currentStep: 1, canaryWeight: 20 }, { pause: { reason: 'step', since: NOW } }),
    enabled: ['Promote', 'Promote full', 'Abort'],
    effect: ['Promote full', /^traffic to web-00005: 20 % → 100 %; remaining steps and analysis will be skipped$/],
    why: ['Resume', 'Resume unavailable: paused at a pause step; use Promote'],
  },
  {
    name: 'progressing: pause is possible',
    ro: ro({ phase: 'Progressing', currentStep: 2, canaryWeight: 50 }),
    enabled: ['Promote', 'Promote full', 'Pause', 'Abort'],
    effect: ['Abort', /^traffic to web-00005: 50 % → 0 %; web-00004 serves 100 %$/],
  },
  {
    name: 'rolled back: only retry',
    ro: ro({ phase: 'RolledBack' }),
    enabled: ['Retry'],
    why: ['Promote', 'Promote unavailable: the rollout is RolledBack'],
  },
];
for (const c of actionCases)
  test(`actions: ${c.name}`, () => {
    const a = actionsOf(c.ro);
    assert.deepEqual(
      a.map((x) => x.name),
      ['Promote', 'Promote full', 'Pause', 'Resume', 'Abort', 'Retry'],
    );
    assert.deepEqual(
      a.filter((x) => x.enabled).map((x) => x.name),
      c.enabled,
    );
    if (c.effect) assert.match(a.find((x) => x.name === c.effect?.[0])?.effect ?? '', c.effect[1]);
    if (c.why) assert.equal(a.find((x) => x.name === c.why?.[0])?.why, c.why[1]);
  });

test('view: steps with the current one, an ETA that waits for promote, desired vs actual traffic', () => {
  const r = ro({
    phase: 'Progressing',
    currentStep: 0,
    canaryWeight: 20,
    traffic: [
      { revisionName: 'web-00004', percent: 80, tag: 'stable' },
      { revisionName: 'web-00005', percent: 20, tag: 'canary' },
    ],
  });
  const v = rolloutView(
    r,
    {
      metadata: { name: 'web', namespace: 'default' },
      status: {
        traffic: [
          { revisionName: 'web-00004', percent: 100, tag: 'stable', url: 'http://stable-web.default.example.com' },
        ],
      },
    },
    NOW,
  );
  assert.deepEqual(
    v.steps.map((s) => s.state),
    ['current', 'pending', 'pending', 'pending', 'pending', 'pending'],
  );
  assert.equal(v.etaText, 'waits for promote at step 2');
  assert.deepEqual(
    v.traffic.map((t) => [t.revisionName, t.role, t.desired, t.actual]),
    [
      ['web-00004', 'stable', 80, 100],
      ['web-00005', 'canary', 20, 0],
    ],
  );
  assert.equal(v.traffic[0]?.url, 'http://stable-web.default.example.com');
  assert.equal(v.routerLagging, true);
});

test('auth: a login token works once, survives a restart as used, and sessions and CSRF verify', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-auth-'));
  try {
    const key = loadOrCreateKey(dir);
    assert.equal((await stat(join(dir, 'dashboard.key'))).mode & 0o777, 0o600);
    assert.deepEqual(loadOrCreateKey(dir), key, 'the key is kept');
    const token = mintLoginToken(key, 'alice', NOW);
    const r1 = new LoginRedeemer(key, dir, NOW);
    assert.equal(r1.redeem(token, NOW + 1000)?.user, 'alice');
    assert.equal(r1.redeem(token, NOW + 2000), null, 'second use');
    assert.equal(new LoginRedeemer(key, dir, NOW).redeem(token, NOW + 3000), null, 'still used after a restart');
    assert.equal(r1.redeem(mintLoginToken(key, 'bob', NOW, 1000), NOW + 5000), null, 'expired');
    assert.equal(r1.redeem(token.slice(0, -2) + 'xx', NOW), null, 'tampered');
    const s = verifySession(key, mintSession(key, 'alice', NOW), NOW + 1000);
    assert.equal(s?.user, 'alice');
    assert.equal(verifySession(key, mintLoginToken(key, 'alice', NOW), NOW), null, 'a login token is not a session');
    assert.equal(csrfMatches(key, s!, 'nope'), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

interface OriginCase {
  name: string;
  origin: string | undefined;
  host: string;
  ok: boolean;
}
const origins: OriginCase[] = [
  { name: 'same origin', origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080', ok: true },
  { name: 'another site', origin: 'http://evil.example', host: '127.0.0.1:8080', ok: false },
  { name: 'another port', origin: 'http://127.0.0.1:9999', host: '127.0.0.1:8080', ok: false },
  { name: 'no Origin', origin: undefined, host: '127.0.0.1:8080', ok: false },
];
for (const c of origins) test(`origin: ${c.name}`, () => assert.equal(checkOrigin(c.origin, c.host).ok, c.ok));

test('host: loopback binding serves loopback names only (no DNS rebinding)', () => {
  assert.equal(hostAllowed('127.0.0.1:8080', '127.0.0.1'), true);
  assert.equal(hostAllowed('localhost:8080', '127.0.0.1'), true);
  assert.equal(hostAllowed('[::1]:8080', '127.0.0.1'), true);
  assert.equal(hostAllowed('evil.example:8080', '127.0.0.1'), false);
  assert.equal(hostAllowed(undefined, '127.0.0.1'), false);
  assert.equal(hostAllowed('sluice.internal', '0.0.0.0'), true);
});

test('SSE resume point: only ids of this process', () => {
  assert.equal(resumePoint('ab12.41', 'ab12'), 41);
  assert.equal(resumePoint('ffff.41', 'ab12'), null);
  assert.equal(resumePoint('ab12.x', 'ab12'), null);
  assert.equal(resumePoint(undefined, 'ab12'), null);
});

test('timeline: applied commands become actions with actor and reason; a finished rollout is recorded once', () => {
  const before = initialState({
    namespace: 'default',
    service: 'web',
    stableRevision: 'web-00004',
    now: NOW - 60_000,
    stableTag: 'stable',
  });
  const running: RolloutState = {
    ...before,
    phase: 'Paused',
    canaryRevision: 'web-00005',
    startedAt: NOW - 60_000,
    lastCommandSeq: 2,
  };
  const after: RolloutState = {
    ...running,
    phase: 'Succeeded',
    stableRevision: 'web-00005',
    lastCommandSeq: 3,
    message: 'web-00005 serves 100%',
  };
  const entries = timelineActions(
    [
      { seq: 2, kind: 'pause' },
      { seq: 3, kind: 'promote', full: true, by: 'alice', reason: 'hotfix' },
      { seq: 4, kind: 'abort' },
    ],
    2,
    after,
    NOW,
  );
  assert.deepEqual(
    entries.map((e) => [e.event, e.actor, e.reason]),
    [['promote-full', 'alice', 'hotfix']],
  );
  const p = finishedRollout(running, after, undefined, NOW);
  assert.deepEqual(p && [p.revision, p.from, p.outcome, p.durationSeconds], [
    'web-00005',
    'web-00004',
    'Succeeded',
    60,
  ]);
  assert.equal(finishedRollout(after, after, undefined, NOW), null, 'already finished: not recorded again');
});

test('canary vs stable: a Mann-Whitney round records both means; the metric panel shows them side by side', () => {
  const canary = [110, 120, 130, 125, 118, 122, 128, 119];
  const stable = [100, 98, 102, 101, 99, 97, 103, 100];
  const result = judgeMannWhitney('latency', 'q', canary, stable, { direction: 'increase' });
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.equal(result.stats?.canaryMean, mean(canary));
  assert.equal(result.stats?.stableMean, mean(stable));
  const at = NOW - 1000;
  const state = {
    ...initialState({ namespace: 'default', service: 'web', stableRevision: 'web-00004', now: NOW, stableTag: 's' }),
    canaryRevision: 'web-00005',
  };
  state.analysis = {
    ...state.analysis,
    lastRoundAt: at,
    lastResults: [
      { metric: 'latency', status: result.status, value: 1.2, verdict: result.status === 'fail' ? 'fail' : 'pass' },
      { metric: 'success-rate', status: 'pass', value: 0.999, verdict: 'pass' },
    ],
  };
  const rec = analysisRecord(
    {
      revision: 'web-00005',
      at,
      results: [result, { status: 'pass', metric: 'success-rate', query: 'q2', value: 0.999 }],
    },
    state,
    { targetRef: { name: 'web' } } as Parameters<typeof analysisRecord>[2],
  );
  const lat = rec?.metrics.find((m) => m.metric === 'latency');
  assert.equal(lat?.compare?.judge, 'mannWhitney');
  assert.equal(lat?.compare?.canaryMean, mean(canary));
  assert.equal(lat?.compare?.stableMean, mean(stable));
  assert.deepEqual([lat?.compare?.canaryCount, lat?.compare?.stableCount], [8, 8]);
  assert.equal(
    rec?.metrics.find((m) => m.metric === 'success-rate')?.compare,
    undefined,
    'a threshold has no comparison',
  );
  const views = metricsOf(rec ? [rec] : []);
  const v = views.find((m) => m.name === 'latency');
  assert.equal(v?.judge, 'mannWhitney');
  assert.match(v?.compareLine ?? '', /^canary mean 121\.5 · stable mean 100 · ratio 1\.215 · p=[\d.e-]+ · n=8\/8$/);
  assert.equal(views.find((m) => m.name === 'success-rate')?.compareLine, undefined);
  // A stable mean of 0: no infinite ratio in the status (JSON has none).
  const zero = judgeMannWhitney('errors', 'q', [1, 2, 3], [0, 0, 0]);
  assert.equal(zero.stats?.stableMean, 0);
  assert.equal(
    compareLine({ judge: 'mannWhitney', canaryMean: 2, stableMean: 0, canaryCount: 3, stableCount: 3, pValue: 0.04 }),
    'canary mean 2 · stable mean 0 · p=0.04 · n=3/3',
  );
});
