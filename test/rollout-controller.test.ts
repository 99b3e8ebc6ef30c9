// The rollout controller against a real API server and a real Prometheus scraping a prom-client exporter
// served here. The test plays Knative Serving's part through the API (what its reconcilers would write):
// Revisions with a Ready condition, the Service's latestCreated/latestReadyRevisionName, and a tiny Route
// reconciler that mirrors spec.traffic into status.traffic. Traffic quality per revision is set on purpose so
// analysis passes, fails, or finds no data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Counter, Registry } from 'prom-client';
import { pino } from 'pino';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { Informer, KubeClient, R, type KubeObject } from '../src/kube/index.js';
import { silentLogger } from '../src/observability/logger.js';
import {
  PolicySet,
  startRolloutController,
  type RolloutController,
  type RolloutObject,
  type ServiceObject,
} from '../src/rollout/controller/index.js';
import { METRICS_MISSING_REASON } from '../src/rollout/controller/status.js';
import type { RolloutPolicySpec } from '../src/rollout/policy/types.js';
import { appendCommand, renderRollout } from '../src/cli/rollout.js';
import { systemClock } from '../src/util/clock.js';
import { startPrometheus, type PrometheusHandle } from './support/prometheus.js';
import { ROOT, tempDir, removeDir, waitFor, run, type RunResult } from './support/procs.js';

const LABELS = [
  'namespace_name',
  'service_name',
  'configuration_name',
  'revision_name',
  'response_code',
  'response_code_class',
] as const;
const SUCCESS_RATE =
  'sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}])) / sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}"}[{{interval}}]))';

let api: RunningApiServer;
let dir: string;
let c: KubeClient;
let prom: PrometheusHandle;
let exporter: Server;
let ticker: NodeJS.Timeout;
let ctl: RolloutController;
let route: Informer<ServiceObject>;
/** Per revision: requests per 100 ms tick, good and failing. */
const rates = new Map<string, { ns: string; svc: string; ok: number; err: number }>();
/** Per Service: every distinct spec.traffic seen, as `rev=pct@tag,...`. */
const trafficLog = new Map<string, string[]>();

interface Target {
  revisionName?: string;
  percent?: number;
  tag?: string;
  latestRevision?: boolean;
}
function split(list: Target[] | undefined): string {
  return (list ?? [])
    .map((t) => `${t.revisionName ?? '@latest'}=${t.percent ?? 0}${t.tag ? `@${t.tag}` : ''}`)
    .sort()
    .join(',');
}

before(async () => {
  dir = await tempDir('sluice-rollout-ctl-');
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
    namespaces: ['default', 'crash', 'promdown', 'dark', 'knative-serving'],
  });
  c = KubeClient.fromFile(api.kubeconfigPath, 'test');

  const registry = new Registry();
  const count = new Counter({
    name: 'revision_request_count',
    help: 'requests',
    labelNames: LABELS,
    registers: [registry],
  });
  ticker = setInterval(() => {
    for (const [rev, r] of rates) {
      const base = { namespace_name: r.ns, service_name: r.svc, configuration_name: r.svc, revision_name: rev };
      if (r.ok > 0) count.inc({ ...base, response_code: '200', response_code_class: '2xx' }, r.ok);
      if (r.err > 0) count.inc({ ...base, response_code: '500', response_code_class: '5xx' }, r.err);
    }
  }, 100);
  exporter = createServer((_req, res) => {
    void registry.metrics().then((body) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
    });
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', () => r()));
  const addr = exporter.address();
  prom = await startPrometheus({ targets: [`127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`] });

  // The Route reconciler's part: serve spec.traffic (or 100 % latest ready when it names no revisions).
  route = new Informer<ServiceObject>(c, R.services, {});
  const mirror = (s: ServiceObject): void => {
    const key = `${s.metadata.namespace}/${s.metadata.name}`;
    const seen = trafficLog.get(key) ?? [];
    const now = split(s.spec?.traffic);
    if (s.spec?.traffic && seen.at(-1) !== now) seen.push(now);
    trafficLog.set(key, seen);
    const spec = s.spec?.traffic;
    let want: Target[];
    if (spec && spec.length > 0 && spec.every((t) => t.revisionName))
      want = spec.map((t) => ({
        revisionName: t.revisionName,
        percent: t.percent ?? 0,
        ...(t.tag ? { tag: t.tag } : {}),
        latestRevision: false,
      }));
    else if (s.status?.latestReadyRevisionName)
      want = [{ revisionName: s.status.latestReadyRevisionName, percent: 100, latestRevision: true }];
    else return;
    if (split(s.status?.traffic) === split(want) && s.status?.observedGeneration === s.metadata.generation) return;
    void c
      .patch(
        R.services,
        s.metadata.namespace ?? '',
        s.metadata.name ?? '',
        {
          status: {
            traffic: want,
            observedGeneration: s.metadata.generation,
            conditions: [
              { type: 'RoutesReady', status: 'True' },
              { type: 'Ready', status: 'True' },
            ],
          },
        },
        'merge',
        { subresource: 'status' },
      )
      .catch(() => undefined);
  };
  route.onAdd(mirror).onUpdate(mirror);
  await route.start();

  ctl = startRolloutController({
    client: KubeClient.fromFile(api.kubeconfigPath, 'sluice-rollout'),
    prometheusUrl: prom.url,
    namespace: 'default',
    clock: systemClock,
    log: silentLogger(),
    analysisCoalesceMs: 150,
  });
  await ctl.ready;
});

after(async () => {
  await ctl?.close();
  route?.stop();
  clearInterval(ticker);
  await prom?.stop();
  await new Promise<void>((r) => (exporter ? exporter.close(() => r()) : r()));
  await api?.close();
  await removeDir(dir);
});

// ---- playing Knative Serving ----
async function createService(ns: string, name: string, labels: Record<string, string> = {}): Promise<void> {
  await c.create(R.services, {
    metadata: { name, namespace: ns, labels },
    spec: { template: { spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go' }] } } },
  });
}

/** A new revision as the Configuration reconciler would make it; `traffic` starts its metrics series. */
async function addRevision(
  ns: string,
  svc: string,
  rev: string,
  o: { ready: true | 'failed'; traffic?: { ok: number; err: number } },
): Promise<void> {
  if (o.traffic) rates.set(rev, { ns, svc, ...o.traffic });
  await c.create(R.revisions, {
    metadata: {
      name: rev,
      namespace: ns,
      labels: { 'serving.knative.dev/service': svc, 'serving.knative.dev/configuration': svc },
    },
    spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go' }] },
  });
  const ready = o.ready === true;
  await c.patch(
    R.revisions,
    ns,
    rev,
    {
      status: {
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', ...(ready ? {} : { reason: 'ExitCode' }) }],
      },
    },
    'merge',
    { subresource: 'status' },
  );
  await c.patch(
    R.services,
    ns,
    svc,
    { status: { latestCreatedRevisionName: rev, ...(ready ? { latestReadyRevisionName: rev } : {}) } },
    'merge',
    { subresource: 'status' },
  );
}

async function createPolicy(ns: string, name: string, spec: RolloutPolicySpec): Promise<void> {
  await c.create(R.rolloutPolicies, {
    metadata: { name, namespace: ns },
    spec: spec as unknown as Record<string, unknown>,
  });
}

const analysis = (
  o: Partial<{ failureLimit: number; noDataTimeout: string; query: string }> = {},
): RolloutPolicySpec['analysis'] => ({
  interval: '1s',
  window: '3s',
  failureLimit: o.failureLimit ?? 2,
  metrics: [
    {
      name: 'success-rate',
      query: o.query ?? SUCCESS_RATE,
      thresholdRange: { min: 0.95 },
      onNoData: 'hold',
      noDataTimeout: o.noDataTimeout ?? '30s',
      onNoDataTimeout: 'fail',
    },
  ],
});

function rollout(ns: string, name: string): Promise<RolloutObject | undefined> {
  return c.tryGet<RolloutObject>(R.rollouts, ns, name);
}
async function until(
  ns: string,
  name: string,
  what: string,
  pred: (r: RolloutObject) => boolean,
  timeoutMs = 20_000,
): Promise<RolloutObject> {
  let last: RolloutObject | undefined;
  try {
    return await waitFor(
      `${ns}/${name}: ${what}`,
      async () => {
        last = await rollout(ns, name);
        return last && pred(last) ? last : undefined;
      },
      timeoutMs,
      50,
    );
  } catch (e) {
    throw new Error(
      `${String(e)}; last status: ${JSON.stringify({ ...last?.status, state: undefined, analysisRuns: last?.status?.analysisRuns?.slice(-1) })}`,
    );
  }
}
async function specSplit(ns: string, name: string): Promise<string> {
  return split((await c.get<ServiceObject>(R.services, ns, name)).spec?.traffic);
}
async function events(ns: string, name: string): Promise<Record<string, number>> {
  const count = async (): Promise<{ out: Record<string, number>; svc: Record<string, number> }> => {
    const list = await c.list<KubeObject & { involvedObject?: { name?: string; kind?: string }; reason?: string }>(
      R.events,
      ns,
    );
    const out: Record<string, number> = {};
    const svc: Record<string, number> = {};
    for (const e of list.items) {
      if (e.involvedObject?.name !== name || !e.reason) continue;
      // Decisions are mirrored on the Service; MetricsAvailable's Warning (RequestMetricsMissing) stays on the Rollout.
      if (e.involvedObject.kind === 'Rollout' && e.reason !== METRICS_MISSING_REASON)
        out[e.reason] = (out[e.reason] ?? 0) + 1;
      if (e.involvedObject.kind === 'Service') svc[e.reason] = (svc[e.reason] ?? 0) + 1;
    }
    return { out, svc };
  };
  // Every decision recorded on the Rollout is recorded on its Knative Service too, right after.
  let last: { out: Record<string, number>; svc: Record<string, number> } | undefined;
  try {
    const { out } = await waitFor(`events of Service ${ns}/${name} match its Rollout's`, async () => {
      last = await count();
      return JSON.stringify(last.svc) === JSON.stringify(last.out) ? last : undefined;
    });
    return out;
  } catch (e) {
    throw new Error(`${String(e)}; Rollout: ${JSON.stringify(last?.out)}, Service: ${JSON.stringify(last?.svc)}`);
  }
}
/** A Service with one ready revision, governed by `spec`, pinned. */
async function governed(ns: string, name: string, spec: Omit<RolloutPolicySpec, 'targetRef'>): Promise<void> {
  await createService(ns, name);
  await addRevision(ns, name, `${name}-00001`, { ready: true, traffic: { ok: 10, err: 0 } });
  await createPolicy(ns, name, { targetRef: { name }, ...spec });
  await until(
    ns,
    name,
    'pinned',
    (r) => r.status?.phase === 'Succeeded' && r.status.stableRevision === `${name}-00001`,
  );
  await waitFor(`${name} spec.traffic pinned`, async () => (await specSplit(ns, name)) === `${name}-00001=100@stable`);
}

test('a governed Service is pinned to its ready revision at 100 %, owned by its Rollout, and re-pinned after an outside edit', async () => {
  await createService('default', 'pin');
  await addRevision('default', 'pin', 'pin-00001', { ready: true, traffic: { ok: 10, err: 0 } });
  await waitFor(
    'Route serving the latest revision',
    async () => split((await c.get<ServiceObject>(R.services, 'default', 'pin')).status?.traffic) === 'pin-00001=100',
  );
  assert.equal(await rollout('default', 'pin'), undefined, 'no policy yet: not governed');

  await createPolicy('default', 'pin', {
    targetRef: { name: 'pin' },
    strategy: { canary: { steps: [{ setWeight: 50 }] } },
  });
  await waitFor('spec.traffic pinned', async () => (await specSplit('default', 'pin')) === 'pin-00001=100@stable');
  const svc = await c.get<ServiceObject>(R.services, 'default', 'pin');
  assert.ok(!svc.spec?.traffic?.some((t) => t.latestRevision), 'a governed Service never routes by latestRevision');
  const ro = await until('default', 'pin', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
  assert.deepEqual(
    ro.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]),
    [['Service', 'pin', svc.metadata.uid, true]],
  );
  assert.equal(ro.status?.stableRevision, 'pin-00001');
  assert.equal(ro.status?.canaryWeight, 0);
  assert.equal(ro.status?.policy, 'RolloutPolicy default/pin');

  // A GitOps apply (or `kn service update --traffic`) puts latestRevision back: the controller restores the pin.
  await c.patch(R.services, 'default', 'pin', { spec: { traffic: [{ latestRevision: true, percent: 100 }] } });
  await waitFor('pinned split restored', async () => (await specSplit('default', 'pin')) === 'pin-00001=100@stable');
});

test('new revisions roll out 20 → 50 → 100 with passing analysis and succeed; concurrent rollouts share one query per tick', async () => {
  const spec = {
    strategy: {
      canary: { steps: [{ setWeight: 20 }, { analysis: {} }, { setWeight: 50 }, { analysis: {} }, { setWeight: 100 }] },
    },
    analysis: analysis(),
  };
  await Promise.all(['good-a', 'good-b'].map((n) => governed('default', n, spec)));
  const t0 = Date.now();
  await Promise.all(
    ['good-a', 'good-b'].map((n) =>
      addRevision('default', n, `${n}-00002`, { ready: true, traffic: { ok: 10, err: 0 } }),
    ),
  );
  for (const n of ['good-a', 'good-b']) {
    const ro = await until(
      'default',
      n,
      'Succeeded on 00002',
      (r) => r.status?.phase === 'Succeeded' && r.status.stableRevision === `${n}-00002`,
    );
    assert.equal(await specSplit('default', n), `${n}-00002=100@stable`);
    const log = trafficLog.get(`default/${n}`) ?? [];
    const i20 = log.indexOf(`${n}-00001=80@stable,${n}-00002=20@canary`);
    const i50 = log.indexOf(`${n}-00001=50@stable,${n}-00002=50@canary`);
    assert.ok(i20 >= 0 && i50 > i20, `20 % then 50 %: ${log.join(' | ')}`);
    assert.equal(log.at(-1), `${n}-00002=100@stable`);
    const last = ro.status?.analysisRuns?.at(-1);
    const m = last?.metrics[0];
    assert.equal(last?.verdict, 'pass');
    assert.equal(m?.metric, 'success-rate');
    assert.equal(m?.min, 0.95);
    assert.ok((m?.value ?? 0) >= 0.95, `value ${m?.value}`);
    await waitFor(
      `${n} outbox drained`,
      async () => ((await rollout('default', n))?.status?.pendingNotifications ?? [1]).length === 0,
    );
    const ev = await events('default', n);
    assert.equal(ev.RolloutStarted, 1);
    assert.equal(ev.RolloutStep, 3);
    assert.equal(ev.RolloutSucceeded, 1);
  }
  assert.ok(Date.now() - t0 < 15_000);
  assert.ok(ctl.stats.maxRequestsPerRun >= 2, `batched: ${JSON.stringify(ctl.stats)}`);
});

test('bad metrics roll back to the pinned revision within seconds, with 100 % on stable', async () => {
  await governed('default', 'bad', {
    strategy: { canary: { steps: [{ setWeight: 50 }, { analysis: { checks: 5 } }, { setWeight: 100 }] } },
    analysis: analysis({ failureLimit: 2 }),
  });
  await addRevision('default', 'bad', 'bad-00002', { ready: true, traffic: { ok: 5, err: 5 } });
  await until('default', 'bad', 'Progressing', (r) => r.status?.phase === 'Progressing');
  const t0 = Date.now();
  const ro = await until('default', 'bad', 'RolledBack', (r) => r.status?.phase === 'RolledBack');
  assert.ok(Date.now() - t0 < 8000, `rolled back after ${Date.now() - t0} ms`);
  assert.equal(await specSplit('default', 'bad'), 'bad-00001=100@stable,bad-00002=0@canary');
  assert.equal(ro.status?.stableRevision, 'bad-00001');
  assert.match(ro.status?.message ?? '', /success-rate/);
  const last = ro.status?.analysisRuns?.at(-1);
  assert.equal(last?.verdict, 'fail');
  assert.ok((last?.metrics[0]?.value ?? 1) < 0.95);
  const ev = await events('default', 'bad');
  assert.equal(ev.AnalysisFailed, 1);
  assert.equal(ev.RolledBack, 1);
});

test('promote, pause, resume, abort, retry and promote --full are each applied once', async () => {
  await governed('default', 'cmd', {
    strategy: {
      canary: {
        steps: [
          { setWeight: 10 },
          { pause: {} },
          { setWeight: 40 },
          { pause: { duration: '1h' } },
          { setWeight: 70 },
          { pause: { duration: '1h' } },
        ],
      },
    },
  });
  await addRevision('default', 'cmd', 'cmd-00002', { ready: true, traffic: { ok: 10, err: 0 } });
  const w = (r: RolloutObject, phase: string, step: number, weight: number): boolean =>
    r.status?.phase === phase && r.status.currentStep === step && r.status.canaryWeight === weight;
  let ro = await until('default', 'cmd', 'Paused at the pause step', (r) => w(r, 'Paused', 1, 10));
  const screen = renderRollout(ro, Date.now());
  assert.match(screen, /Phase: +Paused/);
  assert.match(screen, /Step: +1\/6/);
  assert.match(screen, /cmd-00002 +10% +██░{18}/);

  await appendCommand(c, 'default', 'cmd', 'promote');
  await until('default', 'cmd', 'promoted past the pause', (r) => w(r, 'Progressing', 3, 40));
  await waitFor(
    '40 % served',
    async () => (await specSplit('default', 'cmd')) === 'cmd-00001=60@stable,cmd-00002=40@canary',
  );
  await appendCommand(c, 'default', 'cmd', 'pause');
  await until('default', 'cmd', 'paused by user', (r) => w(r, 'Paused', 3, 40));
  await appendCommand(c, 'default', 'cmd', 'resume');
  await until('default', 'cmd', 'resumed at the same step', (r) => w(r, 'Progressing', 3, 40));
  await appendCommand(c, 'default', 'cmd', 'promote');
  await until('default', 'cmd', 'next step', (r) => w(r, 'Progressing', 5, 70));
  await appendCommand(c, 'default', 'cmd', 'abort');
  ro = await until('default', 'cmd', 'Aborted', (r) => r.status?.phase === 'Aborted');
  await waitFor(
    'traffic back on stable',
    async () => (await specSplit('default', 'cmd')) === 'cmd-00001=100@stable,cmd-00002=0@canary',
  );
  await appendCommand(c, 'default', 'cmd', 'retry');
  await until('default', 'cmd', 'retried from the first step', (r) => w(r, 'Paused', 1, 10));
  const seq = await appendCommand(c, 'default', 'cmd', 'promote', true, 'alice', 'metrics look good');
  ro = await until(
    'default',
    'cmd',
    'Succeeded',
    (r) => r.status?.phase === 'Succeeded' && r.status.stableRevision === 'cmd-00002',
  );
  assert.equal(ro.status?.state?.lastCommandSeq, seq);
  assert.equal(seq, 7);
  // The timeline on the Rollout: every human action in order, with actor and reason, among the decisions.
  const actions = (ro.status?.timeline ?? []).filter((e) => e.type === 'action');
  assert.deepEqual(
    actions.map((e) => e.event),
    ['promote', 'pause', 'resume', 'promote', 'abort', 'retry', 'promote-full'],
  );
  assert.deepEqual(
    { actor: actions.at(-1)?.actor, reason: actions.at(-1)?.reason },
    { actor: 'alice', reason: 'metrics look good' },
  );
  assert.ok(
    (ro.status?.timeline ?? []).some((e) => e.type === 'decision' && e.event === 'aborted'),
    'the abort decision is on the timeline',
  );
  assert.deepEqual(
    (ro.status?.pastRollouts ?? []).map((p) => [p.revision, p.outcome]),
    [
      ['cmd-00002', 'Aborted'],
      ['cmd-00002', 'Succeeded'],
    ],
  );
  assert.deepEqual(ro.status?.plan?.steps, [
    { kind: 'setWeight', weight: 10 },
    { kind: 'pause', durationMs: null },
    { kind: 'setWeight', weight: 40 },
    { kind: 'pause', durationMs: 3_600_000 },
    { kind: 'setWeight', weight: 70 },
    { kind: 'pause', durationMs: 3_600_000 },
  ]);
  await waitFor(
    '100 % on the new revision',
    async () => (await specSplit('default', 'cmd')) === 'cmd-00002=100@stable',
  );
  const ev = await events('default', 'cmd');
  assert.equal(ev.RolloutAborted, 1);
  assert.equal(ev.RolloutStarted, 2, 'the first run and the retry');
  assert.equal(ev.RolloutPaused, 3, 'the pause step twice, the user pause once');
  assert.equal(ev.RolloutSucceeded, 1);
});

test('sluice rollout list|get|promote through the real CLI', async () => {
  const main = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
  const cli = (...args: string[]): Promise<RunResult> =>
    run(process.execPath, [main, 'rollout', ...args, '--kubeconfig', api.kubeconfigPath], { timeoutMs: 90_000 });
  await until('default', 'cmd', 'the commands test finished', (r) => r.status?.phase === 'Succeeded');
  const list = await cli('list');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^NAME +PHASE +STABLE +CANARY +WEIGHT +STEP +AGE$/m);
  assert.match(list.stdout, /^cmd +Succeeded +cmd-00002 /m);
  const get = await cli('get', 'bad');
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /Phase: +RolledBack/);
  assert.match(get.stdout, /bad-00001 +100% +█{20} +stable/);
  assert.match(get.stdout, /success-rate +0\.\d+ +>= 0\.95 +fail +fail/);
  assert.match(get.stdout, /Message: +bad-00001 serves 100%/);
  const json = await cli('get', 'cmd', '-o', 'json');
  assert.equal((JSON.parse(json.stdout) as RolloutObject).status?.phase, 'Succeeded');
  const missing = await cli('promote', 'nope', '--full');
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /rollout "nope" not found in namespace default/);
  const pause = await cli('pause', 'cmd');
  assert.equal(pause.code, 0, pause.stderr);
  assert.match(pause.stdout, /rollout "cmd": pause requested \(command 8\)/);
});

test('no data holds the rollout, then fails it after noDataTimeout; PromQL errors are shown on the Rollout', async () => {
  await governed('default', 'quiet', {
    strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: {} }] } },
    analysis: analysis({ failureLimit: 1, noDataTimeout: '3s' }),
  });
  await governed('default', 'typo', {
    strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: {} }] } },
    analysis: analysis({ failureLimit: 1, query: 'sum(rate(revision_request_count{revision_name="{{revision}}"}))' }),
  });
  await addRevision('default', 'quiet', 'quiet-00002', { ready: true }); // no series at all
  await addRevision('default', 'typo', 'typo-00002', { ready: true, traffic: { ok: 10, err: 0 } });

  const held = await until(
    'default',
    'quiet',
    'holding for data',
    (r) => r.status?.phase === 'Progressing' && r.status.analysis?.holding === true,
  );
  const t0 = Date.now();
  assert.equal(held.status?.canaryWeight, 20);
  assert.equal(held.status?.analysis?.lastResults[0]?.status, 'noData');
  const ro = await until(
    'default',
    'quiet',
    'RolledBack after the no-data timeout',
    (r) => r.status?.phase === 'RolledBack',
  );
  assert.ok(Date.now() - t0 >= 1500, `held ${Date.now() - t0} ms`);
  assert.match(ro.status?.message ?? '', /no data for \d+s \(noDataTimeout 3s\)/);
  assert.equal(await specSplit('default', 'quiet'), 'quiet-00001=100@stable,quiet-00002=0@canary');

  const typo = await until('default', 'typo', 'RolledBack on the query error', (r) => r.status?.phase === 'RolledBack');
  const res = typo.status?.analysis?.lastResults[0];
  assert.equal(res?.status, 'error');
  assert.match(res?.reason ?? '', /Prometheus rejected the query/);
  assert.match(typo.status?.message ?? '', /success-rate error/);
  assert.ok(typo.status?.analysisRuns?.at(-1)?.metrics[0]?.query?.includes('revision_request_count'));
});

test('no Knative request metrics in the namespace: the builtin holds, MetricsAvailable is False with what to set, and a Warning event says so', async (t) => {
  // Nothing in namespace `dark` was ever served: no family answers there. A controller of its own watches it.
  const dark = startRolloutController({
    client: KubeClient.fromFile(api.kubeconfigPath, 'sluice-rollout-dark'),
    prometheusUrl: prom.url,
    namespace: 'dark',
    clock: systemClock,
    log: silentLogger(),
    analysisCoalesceMs: 150,
  });
  await dark.ready;
  t.after(() => dark.close());
  await createService('dark', 'blind');
  await addRevision('dark', 'blind', 'blind-00001', { ready: true });
  await createPolicy('dark', 'blind', {
    targetRef: { name: 'blind' },
    strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: {} }] } },
    analysis: { interval: '1s', metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }] },
  });
  await until('dark', 'blind', 'pinned', (r) => r.status?.phase === 'Succeeded');
  await addRevision('dark', 'blind', 'blind-00002', { ready: true });
  const ro = await until('dark', 'blind', 'MetricsAvailable False', (r) =>
    (r.status?.conditions ?? []).some((x) => x.type === 'MetricsAvailable' && x.status === 'False'),
  );
  const cond = ro.status?.conditions?.find((x) => x.type === 'MetricsAvailable');
  assert.equal(cond?.reason, 'RequestMetricsMissing');
  assert.match(
    cond?.message ?? '',
    /no Knative request metrics for namespace dark .*request-metrics-protocol .*config-observability/,
  );
  assert.ok(cond?.lastTransitionTime);
  assert.equal(ro.status?.phase, 'Progressing', 'it holds (onNoData: hold), it does not pass');
  assert.equal(ro.status?.analysis?.holding, true);
  const events = await waitFor('a RequestMetricsMissing event', async () => {
    const list = await c.list<KubeObject & { reason?: string; type?: string; message?: string }>(R.events, 'dark');
    const e = list.items.filter((x) => x.reason === 'RequestMetricsMissing');
    return e.length > 0 ? e : undefined;
  });
  assert.equal(events.length, 1, 'one event per transition, not one per round');
  assert.equal(events[0]?.type, 'Warning');
});

test('Prometheus down is no data, logged once; policies can come from a directory', async () => {
  const lines: string[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _e, cb): void {
        lines.push(chunk.toString());
        cb();
      },
    }),
  );
  const pdir = join(dir, 'policies');
  await mkdir(pdir, { recursive: true });
  await writeFile(
    join(pdir, 'dark.yaml'),
    [
      'apiVersion: delivery.sluice.dev/v1alpha1',
      'kind: RolloutPolicy',
      'metadata: {name: dark, namespace: promdown}',
      'spec:',
      '  selector: {matchLabels: {team: night}}',
      '  strategy: {canary: {steps: [{setWeight: 30}, {analysis: {}}]}}',
      '  analysis:',
      '    interval: 1s',
      '    metrics:',
      `      - {name: success-rate, query: '${SUCCESS_RATE}', thresholdRange: {min: 0.9}, noDataTimeout: 1h}`,
      '',
    ].join('\n'),
  );
  const down = startRolloutController({
    client: KubeClient.fromFile(api.kubeconfigPath, 'sluice-rollout'),
    prometheusUrl: 'http://127.0.0.1:1',
    namespace: 'promdown',
    policiesDir: pdir,
    clock: systemClock,
    log,
  });
  try {
    await down.ready;
    await createService('promdown', 'dark', { team: 'night' });
    await addRevision('promdown', 'dark', 'dark-00001', { ready: true });
    await until(
      'promdown',
      'dark',
      'pinned by the directory policy',
      (r) => r.status?.phase === 'Succeeded' && r.status.policy === 'policies/dark.yaml:1',
    );
    await addRevision('promdown', 'dark', 'dark-00002', { ready: true });
    const ro = await until(
      'promdown',
      'dark',
      'three rounds of no data',
      (r) => (r.status?.analysisRuns?.length ?? 0) >= 3,
    );
    assert.equal(ro.status?.phase, 'Progressing');
    assert.equal(ro.status?.analysis?.holding, true);
    assert.match(ro.status?.analysisRuns?.at(-1)?.metrics[0]?.reason ?? '', /Prometheus unavailable/);
    assert.equal(lines.filter((l) => l.includes('Prometheus unavailable')).length, 1, 'logged once per outage');
  } finally {
    await down.close();
  }
});

test('a policy directory keeps the last good policy when a file turns invalid, and says where', async () => {
  const pdir = join(dir, 'policies-unit');
  await mkdir(pdir, { recursive: true });
  const file = (interval: string): string =>
    [
      'apiVersion: delivery.sluice.dev/v1alpha1',
      'kind: RolloutPolicy',
      'metadata: {name: shop}',
      'spec:',
      '  selector: {matchLabels: {app: shop}}',
      '  strategy: {canary: {steps: [{setWeight: 10}]}}',
      '  analysis:',
      `    interval: ${interval}`,
      '    metrics: [{name: m, query: up, thresholdRange: {min: 1}}]',
      '',
    ].join('\n');
  const set = new PolicySet();
  const svc: ServiceObject = { metadata: { name: 'cart', namespace: 'default', labels: { app: 'shop' } } };
  await writeFile(join(pdir, 'shop.yaml'), file('1s'));
  assert.equal(set.loadDir(pdir).changed, true);
  assert.equal(set.match(svc)?.spec.analysis?.interval, '1s');
  await writeFile(join(pdir, 'shop.yaml'), file('soon'));
  const r = set.loadDir(pdir);
  assert.equal(r.changed, false);
  assert.match(r.problems[0]?.errors[0]?.where() ?? '', /^policies\/shop\.yaml:8:\d+: spec\.analysis\.interval/);
  assert.equal(set.match(svc)?.spec.analysis?.interval, '1s', 'last good kept');
  assert.deepEqual(set.loadDir(pdir).problems, [], 'reported once');
  await writeFile(join(pdir, 'shop.yaml'), file('2s'));
  assert.equal(set.loadDir(pdir).changed, true);
  assert.equal(set.match(svc)?.spec.analysis?.interval, '2s');
});

test('a controller killed with SIGKILL mid-rollout is replaced and the rollout continues without duplicate notifications', async () => {
  const child = join(import.meta.dirname, 'support', 'rollout-controller-child.js');
  const launch = (): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [child, api.kubeconfigPath, prom.url, 'crash'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      p.stderr?.on('data', (d: Buffer) => {
        err = (err + d.toString()).slice(-4000);
      });
      p.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve(p);
      });
      p.once('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
    });
  // Every status the Rollout goes through, to check nothing goes backwards across the restart.
  const trace: { phase: string; step: number; canary: string }[] = [];
  const watch = new Informer<RolloutObject>(c, R.rollouts, { namespace: 'crash' });
  const record = (r: RolloutObject): void => {
    const s = r.status;
    if (
      s?.phase &&
      s.canaryRevision &&
      trace.at(-1)?.phase + String(trace.at(-1)?.step) !== s.phase + String(s.currentStep)
    )
      trace.push({ phase: s.phase, step: s.currentStep ?? 0, canary: s.canaryRevision });
  };
  watch.onAdd(record).onUpdate(record);
  await watch.start();
  let a: ChildProcess | undefined;
  let b: ChildProcess | undefined;
  try {
    a = await launch();
    await governed('crash', 'crashy', {
      strategy: {
        canary: {
          steps: [
            { setWeight: 20 },
            { analysis: {} },
            { setWeight: 40 },
            { pause: { duration: '2s' } },
            { setWeight: 60 },
            { analysis: {} },
            { setWeight: 80 },
            { pause: { duration: '1s' } },
          ],
        },
      },
      analysis: analysis(),
    });
    await addRevision('crash', 'crashy', 'crashy-00002', { ready: true, traffic: { ok: 10, err: 0 } });
    const mid = await until(
      'crash',
      'crashy',
      'at the 40 % pause',
      (r) => r.status?.phase === 'Progressing' && (r.status.currentStep ?? 0) >= 3,
    );
    a.kill('SIGKILL');
    await new Promise<void>((r) => (a?.exitCode !== null || a?.signalCode !== null ? r() : a?.once('exit', () => r())));
    const dead = await rollout('crash', 'crashy');
    assert.ok((dead?.status?.currentStep ?? 0) >= (mid.status?.currentStep ?? 0));
    b = await launch();
    const ro = await until(
      'crash',
      'crashy',
      'Succeeded after the restart',
      (r) => r.status?.phase === 'Succeeded' && r.status.stableRevision === 'crashy-00002',
      30_000,
    );
    assert.equal(await specSplit('crash', 'crashy'), 'crashy-00002=100@stable');
    const rollout2 = trace.filter((t) => t.canary === 'crashy-00002');
    for (let i = 1; i < rollout2.length; i++) {
      const [p, q] = [rollout2[i - 1], rollout2[i]];
      assert.ok(p && q && (q.step >= p.step || q.phase === 'Succeeded'), `went backwards: ${JSON.stringify(rollout2)}`);
      assert.notEqual(q?.phase, 'Pending', `restarted from scratch: ${JSON.stringify(rollout2)}`);
    }
    await waitFor(
      'outbox drained',
      async () => ((await rollout('crash', 'crashy'))?.status?.pendingNotifications ?? [1]).length === 0,
    );
    const ev = await events('crash', 'crashy');
    assert.deepEqual(
      ev,
      { RolloutStarted: 1, RolloutStep: 4, RolloutPromoting: 1, RolloutSucceeded: 1 },
      `events ${JSON.stringify(ev)}`,
    );
    assert.ok(ro.status?.analysisRuns?.every((r) => r.revision === 'crashy-00002'));
  } finally {
    watch.stop();
    a?.kill('SIGKILL');
    if (b && b.exitCode === null && b.signalCode === null) {
      const exited = new Promise<void>((r) => b?.once('exit', () => r()));
      b.kill('SIGTERM');
      const killer = setTimeout(() => b?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  }
});
