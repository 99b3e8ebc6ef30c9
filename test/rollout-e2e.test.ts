// Rollouts end to end through `sluice start` as a child process: the embedded API server, the Serving
// reconcilers and router running real revision processes, the local Prometheus it starts (scraping the router's
// queue-proxy metrics every second) and the rollout controller. Services and RolloutPolicies are applied with the
// real kubectl; `sluice rollout promote` is the real CLI. Steady traffic flows through the router (by Host
// header) the whole time. Nothing is mocked; every wait is on a condition (the one fixed window, in the pause
// test, asserts that nothing moves while it lasts). Pre: `npx tsc -p tsconfig.json` built dist/.
//
// Four Services, each with its own policy (1 s interval, 4 s window, success rate >= 0.99):
//   good  canary 20 → analysis → 50 → analysis → 100, a good revision: promoted (Succeeded)
//   bad   the same policy, a revision answering 500: rolled back to the pinned revision (RolledBack)
//   bg    blue/green with previewTag `preview` and pre-promotion analysis (2 checks), then 100 % at once
//   gate  canary 25 → pause {} → 75 → 100: Paused until `sluice rollout promote gate`
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { Informer, KubeClient, R } from '../src/kube/index.js';
import type { RolloutObject, ServiceObject } from '../src/rollout/controller/types.js';
import {
  kubectl,
  removeDir,
  run,
  SLUICE_BIN,
  startSluice,
  tempDir,
  waitFor,
  type SluiceProcess,
} from './support/procs.js';
import { helloService } from './support/manifests.js';

const NS = 'default';
const host = (svc: string, tag?: string): string => `${tag ? `${tag}-` : ''}${svc}.${NS}.svc.cluster.local`;
// The success rate with `or ... * 0`: a revision that answers only 500s has no non-5xx series at all, so the plain
// `sum(rate(non-5xx)) / sum(rate(all))` is empty ("no data", held until noDataTimeout) instead of 0. Still one
// batched query for every rollout (the rewrite keeps `or`, which matches on revision_name and namespace_name).
const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
const SUCCESS_RATE = `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or sum(rate(revision_request_count{${SEL}}[{{interval}}])) * 0) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
// A revision whose every answer is a 500: any image name, `command` is what runs.
const FIVE_HUNDRED =
  "require('http').createServer((q, s) => { s.writeHead(500, {'content-type': 'text/plain'}); s.end('boom\\n'); }).listen(process.env.PORT)";

// ---------- manifests (a stream of JSON objects on kubectl apply -f -) ----------
const service = (name: string, target: string, command?: string[]): Record<string, unknown> =>
  helloService(NS, name, target, command);
const analysis = {
  interval: '1s',
  window: '4s',
  failureLimit: 2,
  metrics: [
    {
      name: 'success-rate',
      query: SUCCESS_RATE,
      thresholdRange: { min: 0.99 },
      onNoData: 'hold',
      noDataTimeout: '30s',
    },
  ],
};
function policy(name: string, strategy: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'delivery.sluice.dev/v1alpha1',
    kind: 'RolloutPolicy',
    metadata: { name, namespace: NS },
    spec: { targetRef: { name }, strategy, analysis, rollback: { to: 'pinned' }, progressDeadline: '60s' },
  };
}
const CANARY = { canary: { steps: [{ setWeight: 20 }, { analysis: {} }, { setWeight: 50 }, { analysis: {} }] } };
const POLICIES: Record<string, Record<string, unknown>> = {
  good: policy('good', CANARY),
  bad: policy('bad', CANARY),
  bg: policy('bg', { blueGreen: { previewTag: 'preview', prePromotionAnalysis: { checks: 2 } } }),
  gate: policy('gate', {
    canary: { steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 75 }, { pause: { duration: '1s' } }] },
  }),
};

// ---------- the system ----------
let dir: string;
let cache: string;
let sluice: SluiceProcess;
let client: KubeClient;
let kubeconfig: string;
let services: Informer<ServiceObject>;
let rollouts: Informer<RolloutObject>;

async function apply(...objs: Record<string, unknown>[]): Promise<void> {
  const r = await kubectl(kubeconfig, cache, ['apply', '-f', '-'], objs.map((o) => JSON.stringify(o)).join('\n'));
  assert.equal(r.code, 0, `kubectl apply: ${r.stderr}`);
}

interface Target {
  revisionName?: string;
  percent?: number;
  tag?: string;
  latestRevision?: boolean;
}
/** `rev=pct@tag,...`, sorted: one string per traffic block. */
function split(list: readonly Target[] | undefined): string {
  return (list ?? [])
    .map((t) => `${t.revisionName ?? '@latest'}=${t.percent ?? 0}${t.tag ? `@${t.tag}` : ''}`)
    .sort()
    .join(',');
}
/** Per Service: every distinct spec.traffic; per Rollout: every distinct phase@weight of a canary. */
const specLog = new Map<string, string[]>();
const phaseLog = new Map<string, Array<{ at: number; canary: string; phase: string; weight: number }>>();
function record<T>(m: Map<string, T[]>, k: string, v: T, same: (a: T, b: T) => boolean): void {
  const l = m.get(k) ?? [];
  const last = l.at(-1);
  if (last === undefined || !same(last, v)) l.push(v);
  m.set(k, l);
}
const phases = (svc: string, canary: string): string[] =>
  (phaseLog.get(svc) ?? []).filter((p) => p.canary === canary).map((p) => `${p.phase}@${p.weight}`);

function rollout(name: string): RolloutObject | undefined {
  return rollouts.get(NS, name);
}
/** Waits for the Rollout to satisfy `pred`; one of `canary` reaching a phase in `failOn` fails at once. */
async function until(
  name: string,
  what: string,
  pred: (r: RolloutObject) => boolean,
  timeoutMs = 40_000,
  fail?: { canary: string; phases: string[] },
): Promise<RolloutObject> {
  try {
    return await waitFor(
      `${name}: ${what}`,
      () => {
        const ro = rollout(name);
        const st = ro?.status;
        if (fail && st?.canaryRevision === fail.canary && st.phase && fail.phases.includes(st.phase))
          throw new Error(`went ${st.phase}: ${st.message ?? ''}`);
        return ro && pred(ro) ? ro : undefined;
      },
      timeoutMs,
      50,
    );
  } catch (e) {
    const st = rollout(name)?.status;
    throw new Error(
      `${String(e)}; phases ${JSON.stringify(phaseLog.get(name))}; last status ${JSON.stringify({ ...st, state: undefined, analysisRuns: st?.analysisRuns?.slice(-2) })}`,
    );
  }
}
/** What the Route serves for the Service (status.traffic at the current generation). */
function served(name: string): string | undefined {
  const s = services.get(NS, name);
  if (!s?.status || s.status.observedGeneration !== s.metadata.generation) return undefined;
  return split(s.status.traffic);
}

// ---------- traffic ----------
interface Answer {
  at: number;
  host: string;
  status: number;
  revision: string;
}
const answers: Answer[] = [];
let trafficOn = true;
const loops: Promise<void>[] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function get(h: string): Promise<Answer> {
  const url = new URL(sluice.endpoints.router ?? '');
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host: h }, agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          at: Date.now(),
          host: h,
          status: res.statusCode ?? 0,
          revision: String(res.headers['knative-serving-revision'] ?? ''),
        }),
      );
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${h} timed out`)));
    req.end();
  });
}
/** ~30 requests per second to `h` until the end of the file. */
function steadyTraffic(h: string): void {
  loops.push(
    (async () => {
      while (trafficOn) {
        try {
          answers.push(await get(h));
        } catch (e) {
          answers.push({ at: Date.now(), host: h, status: 0, revision: String(e) });
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    })(),
  );
}
const answersFor = (h: string, from: number, to = Infinity): Answer[] =>
  answers.filter((a) => a.host === h && a.at >= from && a.at <= to);

const t0 = Date.now();
const mark = (what: string): void => console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

before(async () => {
  dir = await tempDir('sluice-rollout-e2e-');
  cache = join(dir, 'kubectl-cache');
  sluice = await startSluice('start', join(dir, 'data'), ['--no-repo']);
  kubeconfig = join(sluice.dataDir, 'kubeconfig');
  assert.ok(sluice.endpoints.router, 'endpoints.json names the router');
  const endpoints = sluice.endpoints as { prometheus?: string };
  assert.ok(
    endpoints.prometheus,
    `sluice start runs a local Prometheus (endpoints.json: ${JSON.stringify(sluice.endpoints)}; output: ${sluice.output()})`,
  );
  client = KubeClient.fromFile(kubeconfig, 'rollout-e2e');
  services = new Informer<ServiceObject>(client, R.services, { namespace: NS });
  services
    .onAdd((s) => record(specLog, s.metadata.name ?? '', split(s.spec?.traffic), (a, b) => a === b))
    .onUpdate((s) => record(specLog, s.metadata.name ?? '', split(s.spec?.traffic), (a, b) => a === b));
  rollouts = new Informer<RolloutObject>(client, R.rollouts, { namespace: NS });
  const onRollout = (ro: RolloutObject): void => {
    const st = ro.status;
    if (!st?.phase || !st.canaryRevision) return;
    record(
      phaseLog,
      ro.metadata.name ?? '',
      { at: Date.now(), canary: st.canaryRevision, phase: st.phase, weight: st.canaryWeight ?? 0 },
      (a, b) => a.canary === b.canary && a.phase === b.phase && a.weight === b.weight,
    );
  };
  rollouts.onAdd(onRollout).onUpdate(onRollout);
  await Promise.all([services.start(), rollouts.start()]);
  mark('sluice is up');

  // Every Service's first revision, governed and pinned at 100 %, all at once.
  const names = Object.keys(POLICIES);
  await apply(...names.map((n) => POLICIES[n]!), ...names.map((n) => service(n, 'v1')));
  await Promise.all(
    names.map(async (n) => {
      await until(
        n,
        `pinned on ${n}-00001`,
        (r) => r.status?.phase === 'Succeeded' && r.status.stableRevision === `${n}-00001`,
        60_000,
      );
      await waitFor(`${n}: the Route serves ${n}-00001 at 100 %`, () => served(n) === `${n}-00001=100@stable`, 30_000);
    }),
  );
  for (const n of names) steadyTraffic(host(n));
  // The blue/green preview URL gets its own traffic (404 until the tag exists): pre-promotion analysis needs it.
  steadyTraffic(host('bg', 'preview'));
  await waitFor(
    'every Service answering 200 through the router',
    () => names.every((n) => answers.some((a) => a.host === host(n) && a.status === 200)),
    20_000,
  );
  mark('four Services pinned, traffic flowing');
});

after(async () => {
  trafficOn = false;
  await Promise.all(loops);
  agent.destroy();
  services?.stop();
  rollouts?.stop();
  await sluice?.stop();
  await removeDir(dir);
});

test(
  'canary: a good revision is promoted through 20 % and 50 % to 100 % (Succeeded)',
  { timeout: 60_000 },
  async () => {
    const from = Date.now();
    await apply(service('good', 'v2'));
    const done = await until(
      'good',
      'Succeeded on good-00002',
      (r) => r.status?.phase === 'Succeeded' && r.status.stableRevision === 'good-00002',
      45_000,
      { canary: 'good-00002', phases: ['RolledBack', 'Aborted'] },
    );
    mark(`good-00002: ${phases('good', 'good-00002').join(' → ')}`);
    const p = phases('good', 'good-00002');
    assert.ok(
      p.indexOf('Progressing@20') >= 0 && p.indexOf('Progressing@50') > p.indexOf('Progressing@20'),
      `20 % then 50 %: ${p.join(' → ')}`,
    );
    assert.deepEqual(split(done.status?.traffic), 'good-00002=100@stable');
    const specs = specLog.get('good') ?? [];
    const i20 = specs.indexOf('good-00001=80@stable,good-00002=20@canary');
    const i50 = specs.indexOf('good-00001=50@stable,good-00002=50@canary');
    assert.ok(i20 >= 0 && i50 > i20, `spec.traffic went 80/20 then 50/50: ${specs.join(' | ')}`);
    assert.equal(specs.at(-1), 'good-00002=100@stable');
    // Each weight was held until a passing analysis round, recorded with its value and threshold.
    const runs = (done.status?.analysisRuns ?? []).filter((r) => r.revision === 'good-00002');
    assert.ok(runs.filter((r) => r.verdict === 'pass').length >= 2, `passing rounds: ${JSON.stringify(runs)}`);
    assert.ok(runs.every((r) => r.verdict !== 'fail'));
    const m = runs.find((r) => r.verdict === 'pass')?.metrics[0];
    assert.equal(m?.metric, 'success-rate');
    assert.ok(m?.value !== undefined && m.value >= 0.99 && m.min === 0.99, JSON.stringify(m));
    // The router served the promotion: 100 % good-00002, and both revisions answered while the split was on.
    await waitFor('the Route serves good-00002 at 100 %', () => served('good') === 'good-00002=100@stable', 15_000);
    const routed = await waitFor(
      '5 consecutive answers from good-00002',
      async () => {
        const a = await Promise.all([0, 1, 2, 3, 4].map(() => get(host('good'))));
        return a.every((x) => x.status === 200 && x.revision === 'good-00002') ? a : undefined;
      },
      10_000,
    );
    assert.equal(routed.length, 5);
    const during = answersFor(host('good'), from);
    const firstCanary = during.findIndex((a) => a.revision === 'good-00002');
    assert.ok(firstCanary >= 0, 'good-00002 answered during the rollout');
    assert.ok(
      during.slice(firstCanary).some((a) => a.revision === 'good-00001'),
      'stable and canary both answered while the split was on',
    );
    assert.deepEqual(
      during.filter((a) => a.status !== 200),
      [],
      'every request succeeded',
    );
  },
);

test(
  'canary: a revision answering 500s is rolled back to the pinned revision; the analysis record shows the failing value against its threshold',
  { timeout: 60_000 },
  async () => {
    const from = Date.now();
    await apply(service('bad', 'v2', ['node', '-e', FIVE_HUNDRED]));
    const rb = await until(
      'bad',
      'RolledBack from bad-00002',
      (r) => r.status?.phase === 'RolledBack' && r.status.canaryRevision === 'bad-00002',
      45_000,
      { canary: 'bad-00002', phases: ['Promoting', 'Succeeded', 'Aborted'] },
    );
    const firstBad = answersFor(host('bad'), from).find((a) => a.status === 500);
    const rolledBackAt = (phaseLog.get('bad') ?? []).find(
      (p) => p.canary === 'bad-00002' && p.phase === 'RolledBack',
    )?.at;
    mark(
      `bad-00002: ${phases('bad', 'bad-00002').join(' → ')}; first 500 → RolledBack seen after ${firstBad && rolledBackAt ? rolledBackAt - firstBad.at : '?'} ms`,
    );
    assert.ok(firstBad, 'the bad revision answered 500 while it had traffic');
    assert.equal(rb.status?.stableRevision, 'bad-00001', 'the pinned revision stays stable');
    assert.equal(rb.status?.canaryWeight, 0);
    assert.ok(
      !phases('bad', 'bad-00002').some((p) => p.startsWith('Succeeded') || p.startsWith('Promoting')),
      phases('bad', 'bad-00002').join(' → '),
    );
    // 100 % back on bad-00001 in spec.traffic (the failed revision keeps its tag at 0 % for debugging) ...
    assert.equal(split(rb.status?.traffic), 'bad-00001=100@stable,bad-00002=0@canary');
    assert.equal(split(services.get(NS, 'bad')?.spec?.traffic), 'bad-00001=100@stable,bad-00002=0@canary');
    // ... and in what the router serves.
    await waitFor(
      'the Route serves bad-00001 at 100 %',
      () => served('bad') === 'bad-00001=100@stable,bad-00002=0@canary',
      15_000,
    );
    const after = await Promise.all(Array.from({ length: 20 }, () => get(host('bad'))));
    assert.deepEqual(
      after.map((a) => `${a.status} ${a.revision}`),
      Array.from({ length: 20 }, () => '200 bad-00001'),
    );
    // The analysis records: the failing success rate next to its threshold.
    const failed = (rb.status?.analysisRuns ?? []).filter((r) => r.revision === 'bad-00002' && r.verdict === 'fail');
    assert.ok(
      failed.length >= 2,
      `failureLimit 2: two failed rounds recorded: ${JSON.stringify(rb.status?.analysisRuns)}`,
    );
    for (const r of failed) {
      const m = r.metrics.find((x) => x.metric === 'success-rate');
      assert.ok(m && m.verdict === 'fail' && m.status === 'fail', JSON.stringify(r));
      assert.ok(m.value !== undefined && m.value < 0.99, `the failing value is recorded: ${JSON.stringify(m)}`);
      assert.equal(m.min, 0.99, 'next to its threshold');
    }
    assert.match(rb.status?.message ?? '', /success-rate/);
    // The CLI shows the same: value, threshold, verdict.
    const get2 = await run(process.execPath, [SLUICE_BIN, 'rollout', 'get', 'bad', '--kubeconfig', kubeconfig]);
    assert.equal(get2.code, 0, get2.stderr);
    assert.match(get2.stdout, /Phase:\s+RolledBack/);
    assert.match(get2.stdout, /success-rate\s+\S+\s+>= 0\.99\s+fail\s+fail/);
  },
);

test(
  'blue/green: the new revision answers only on its preview tag URL, pre-promotion analysis runs, then 100 % at once',
  { timeout: 60_000 },
  async () => {
    const from = Date.now();
    await apply(service('bg', 'v2'));
    await until(
      'bg',
      'Progressing on bg-00002 (pre-promotion analysis)',
      (r) => r.status?.canaryRevision === 'bg-00002' && r.status.phase === 'Progressing',
      30_000,
      { canary: 'bg-00002', phases: ['RolledBack', 'Aborted'] },
    );
    // While it is not promoted: the preview URL → bg-00002, the main URL → bg-00001.
    const preview = await waitFor(
      'the preview URL answering from bg-00002',
      async () => {
        const a = await get(host('bg', 'preview'));
        return a.status === 200 && a.revision === 'bg-00002' ? a : undefined;
      },
      20_000,
      100,
    );
    assert.ok(preview);
    const done = await until(
      'bg',
      'Succeeded on bg-00002',
      (r) => r.status?.phase === 'Succeeded' && r.status.stableRevision === 'bg-00002',
      40_000,
      { canary: 'bg-00002', phases: ['RolledBack', 'Aborted'] },
    );
    const promotedAt = (phaseLog.get('bg') ?? []).find(
      (p) => p.canary === 'bg-00002' && (p.phase === 'Promoting' || p.phase === 'Succeeded'),
    )!.at;
    mark(`bg-00002: ${phases('bg', 'bg-00002').join(' → ')}`);
    // Pre-promotion analysis ran on the preview traffic: two passing rounds at weight 0.
    const runs = (done.status?.analysisRuns ?? []).filter((r) => r.revision === 'bg-00002');
    assert.ok(
      runs.filter((r) => r.verdict === 'pass').length >= 2,
      `two passing pre-promotion rounds: ${JSON.stringify(runs)}`,
    );
    assert.ok(
      runs.every((r) => Date.parse(r.at) <= promotedAt),
      'all rounds before promotion',
    );
    // 100 % at once: no intermediate weight in any spec.traffic or Rollout status.
    const specs = specLog.get('bg') ?? [];
    assert.ok(
      specs.includes('bg-00001=100@stable,bg-00002=0@preview'),
      `the new revision first got only its preview tag: ${specs.join(' | ')}`,
    );
    assert.equal(specs.at(-1), 'bg-00002=100@stable');
    const weights = specs.filter((s) => s.includes('bg-00002')).map((s) => /bg-00002=(\d+)/.exec(s)?.[1]);
    assert.deepEqual([...new Set(weights)], ['0', '100'], `0 % then 100 %, nothing between: ${specs.join(' | ')}`);
    assert.deepEqual(
      [...new Set(phases('bg', 'bg-00002').map((p) => p.split('@')[1]))].filter((w) => w !== '0' && w !== '100'),
      [],
    );
    // Before promotion the main URL was served by bg-00001 only (answers completed 300 ms before the Promoting
    // status was seen: the Route only changes after that write); after, by bg-00002.
    const previewAnswers = answersFor(host('bg', 'preview'), from, promotedAt - 300).filter((a) => a.status === 200);
    assert.ok(
      previewAnswers.length > 5 && previewAnswers.every((a) => a.revision === 'bg-00002'),
      `preview URL before promotion: ${JSON.stringify([...new Set(previewAnswers.map((a) => a.revision))])}`,
    );
    const mainBefore = answersFor(host('bg'), from, promotedAt - 300);
    assert.ok(
      mainBefore.length > 5 && mainBefore.every((a) => a.revision === 'bg-00001'),
      `main URL before promotion: ${JSON.stringify([...new Set(mainBefore.map((a) => a.revision))])}`,
    );
    await waitFor('the Route serves bg-00002 at 100 %', () => served('bg') === 'bg-00002=100@stable', 15_000);
    const afterP = await Promise.all(Array.from({ length: 10 }, () => get(host('bg'))));
    assert.deepEqual(
      afterP.map((a) => `${a.status} ${a.revision}`),
      Array.from({ length: 10 }, () => '200 bg-00002'),
    );
  },
);

test(
  'canary: a `pause: {}` step holds the weight until `sluice rollout promote`, then the rollout continues',
  { timeout: 60_000 },
  async () => {
    await apply(service('gate', 'v2'));
    await until(
      'gate',
      'Paused at 25 %',
      (r) => r.status?.phase === 'Paused' && r.status.canaryRevision === 'gate-00002' && r.status.canaryWeight === 25,
      30_000,
      { canary: 'gate-00002', phases: ['RolledBack', 'Aborted'] },
    );
    await waitFor(
      'the Route serves the 75/25 split',
      () => served('gate') === 'gate-00001=75@stable,gate-00002=25@canary',
      15_000,
    );
    // It stays there: for 4 s (four analysis intervals), the phase, the weight and the split do not move.
    const holdUntil = Date.now() + 4000;
    while (Date.now() < holdUntil) {
      const st = rollout('gate')?.status;
      assert.equal(`${st?.phase}@${st?.canaryWeight}`, 'Paused@25', 'the paused step holds');
      assert.equal(split(services.get(NS, 'gate')?.spec?.traffic), 'gate-00001=75@stable,gate-00002=25@canary');
      await new Promise((r) => setTimeout(r, 200));
    }
    const promoted = await run(process.execPath, [
      SLUICE_BIN,
      'rollout',
      'promote',
      'gate',
      '-n',
      NS,
      '--kubeconfig',
      kubeconfig,
    ]);
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(promoted.stdout, /rollout "gate": promote requested/);
    const done = await until(
      'gate',
      'Succeeded on gate-00002',
      (r) => r.status?.phase === 'Succeeded' && r.status.stableRevision === 'gate-00002',
      30_000,
      { canary: 'gate-00002', phases: ['RolledBack', 'Aborted'] },
    );
    const p = phases('gate', 'gate-00002');
    mark(`gate-00002: ${p.join(' → ')}`);
    assert.ok(
      p.indexOf('Paused@25') >= 0 && p.indexOf('Progressing@75') > p.indexOf('Paused@25'),
      `paused at 25 %, then 75 %: ${p.join(' → ')}`,
    );
    assert.equal(split(done.status?.traffic), 'gate-00002=100@stable');
    const specs = specLog.get('gate') ?? [];
    assert.ok(
      specs.indexOf('gate-00001=25@stable,gate-00002=75@canary') >
        specs.indexOf('gate-00001=75@stable,gate-00002=25@canary'),
      specs.join(' | '),
    );
    await waitFor('the Route serves gate-00002 at 100 %', () => served('gate') === 'gate-00002=100@stable', 15_000);
  },
);

test("the controller's /metrics counts what happened above: queries, rounds, phases, weights, durations, reconciles", async () => {
  const url = sluice.endpoints.controller;
  assert.ok(url, 'endpoints.json names the controller');
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(
      line,
      `${series} is exported:\n${text
        .split('\n')
        .filter((l) => l.startsWith('sluice_'))
        .join('\n')}`,
    );
    return Number(line.slice(series.length + 1));
  };
  // Four rollouts ran above, each judged in several rounds; batching sends fewer queries than rounds × metrics
  // only when rounds coincide, so the floor is one query per round.
  const rounds = value('sluice_analysis_rounds_total');
  assert.ok(rounds >= 2 + 2 + 2, `rounds: ${rounds}`);
  assert.ok(value('sluice_analysis_queries_total') >= 1, 'queries were sent');
  // Every Rollout is in one phase; by now good, bg and gate Succeeded and bad RolledBack.
  assert.ok(value('sluice_rollouts{phase="Succeeded"}') >= 3);
  assert.equal(value('sluice_rollouts{phase="RolledBack"}'), 1);
  assert.equal(value('sluice_rollouts{phase="Progressing"}'), 0);
  assert.equal(value('sluice_rollout_canary_weight{namespace="default",service="bad"}'), 0);
  // Durations by result: three promotions, one rollback, each between a second and a minute.
  assert.ok(value('sluice_rollout_duration_seconds_count{result="succeeded"}') >= 3);
  assert.equal(value('sluice_rollout_duration_seconds_count{result="rolled_back"}'), 1);
  assert.equal(value('sluice_rollout_duration_seconds_bucket{le="1",result="rolled_back"}'), 0);
  assert.equal(value('sluice_rollout_duration_seconds_bucket{le="60",result="rolled_back"}'), 1);
  assert.equal(value('sluice_rollout_duration_seconds_count{result="aborted"}'), 0);
  // Reconciles, controller-runtime style.
  const ok =
    value('sluice_controller_reconcile_total{controller="rollout",result="success"}') +
    value('sluice_controller_reconcile_total{controller="rollout",result="requeue_after"}');
  assert.ok(ok >= rounds, `reconciles: ${ok}, rounds ${rounds}`);
  assert.ok(value('sluice_controller_reconcile_time_seconds_count{controller="rollout"}') >= ok);
});
