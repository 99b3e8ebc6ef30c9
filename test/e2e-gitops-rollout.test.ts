// The user's day, end to end: `sluice start` as a child process following a real bare Git remote, a developer
// clone that pushes, signed GitHub push webhooks over real HTTP, steady traffic through the router, the local
// Prometheus judging a canary, signed alert webhooks to a receiver here and a real Alertmanager, and, when a
// broken template is pushed, a rollback plus a revert commit pushed to the remote. Nothing is mocked.
// Every wait is on a condition. Pre: `npx tsc -p tsconfig.json` built dist/ (bin/sluice.js runs dist/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { simpleGit } from 'simple-git';
import { KubeClient, R, type KubeObject } from '../src/kube/index.js';
import { verifyWebhookSignature } from '../src/alerts/index.js';
import { createTestRemote, hubSignature, pushPayload, type TestRemote } from '../src/gitops/testing.js';
import { startAlertmanager, type AlertmanagerHandle } from './support/alertmanager.js';
import {
  kubectl,
  removeDir,
  startSluice,
  tempDir,
  waitFor,
  type SluiceProcess,
  helloServiceYaml,
} from './support/procs.js';

const BRANCH = 'main';
const HOST = 'hello.default.svc.cluster.local';
// Random per run, so a hit in the log can only be a leak.
const WEBHOOK_SECRET = `gh-hook-${randomBytes(12).toString('hex')}`;
const HMAC_KEY = `alert-hmac-${randomBytes(12).toString('hex')}`;

// ---------- the receiver of Sluice's alert webhooks ----------
interface Delivery {
  at: number;
  event: string;
  body: {
    type: string;
    phase: string;
    canaryRevision?: string;
    stableRevision?: string;
    canaryWeight?: number;
    commit?: { sha: string };
    message: string;
  };
  verification: ReturnType<typeof verifyWebhookSignature>;
}
const deliveries: Delivery[] = [];
interface AmNotification {
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}
const amNotifications: AmNotification[] = [];
let receiver: Server;
let receiverUrl: string;

function startReceiver(): Promise<void> {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (req.url === '/hook') {
        const verification = verifyWebhookSignature(
          HMAC_KEY,
          req.headers['x-sluice-timestamp'] as string | undefined,
          raw,
          req.headers['x-sluice-signature-256'] as string | undefined,
          Date.now(),
        );
        deliveries.push({
          at: Date.now(),
          event: String(req.headers['x-sluice-event']),
          body: JSON.parse(raw.toString('utf8')) as Delivery['body'],
          verification,
        });
      } else if (req.url === '/am') {
        amNotifications.push(JSON.parse(raw.toString('utf8')) as AmNotification);
      }
      res.writeHead(204).end();
    });
  });
  return new Promise((r) =>
    receiver.listen(0, '127.0.0.1', () => {
      receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
      r();
    }),
  );
}

// ---------- Git ----------
const helloYaml = helloServiceYaml;

const policyYaml = (alertmanagerUrl: string): string => `apiVersion: delivery.sluice.dev/v1alpha1
kind: RolloutPolicy
metadata:
  name: hello
  namespace: default
spec:
  targetRef: {name: hello}
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {duration: 1s}
        - analysis: {}
        - setWeight: 50
        - pause: {duration: 1s}
        - analysis: {}
  analysis:
    interval: 1s
    window: 5s
    failureLimit: 2
    metrics:
      - name: success-rate
        query: sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}])) / sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}"}[{{interval}}]))
        thresholdRange: {min: 0.99}
        onNoData: hold
        noDataTimeout: 45s
  rollback: {to: pinned, gitRevert: true}
  progressDeadline: 60s
  alerts:
    - {type: webhook, url: "${receiverUrl}/hook", secretRef: {name: hooks, key: hmac}}
    - {type: alertmanager, url: "${alertmanagerUrl}"}
`;

// ---------- the system ----------
let dir: string;
let cache: string;
let remote: TestRemote;
let am: AlertmanagerHandle;
let sluice: SluiceProcess;
let client: KubeClient;
const k = (args: string[]) => kubectl(join(sluice.dataDir, 'kubeconfig'), cache, args);

interface RolloutStatus {
  phase: string;
  stableRevision: string;
  canaryRevision: string;
  canaryWeight: number;
  currentStep: number;
  message: string;
  traffic?: TrafficTarget[];
}
interface TrafficTarget {
  revisionName?: string;
  percent?: number;
  tag?: string;
  latestRevision?: boolean;
}
interface Ksvc extends KubeObject {
  spec: {
    template: { spec: { containers: Array<{ command?: string[]; env?: Array<{ name: string; value: string }> }> } };
    traffic?: TrafficTarget[];
  };
  status?: {
    conditions?: Array<{ type: string; status: string }>;
    latestCreatedRevisionName?: string;
    traffic?: TrafficTarget[];
    observedGeneration?: number;
  };
}

/** Every Rollout status the watch saw, in order (transient phases such as RolledBack included). */
const seen: Array<{ at: number } & RolloutStatus> = [];
let stopWatch: (() => void) | undefined;
let watching = true;
async function watchRollouts(): Promise<void> {
  let rv: string | undefined;
  const open = async (): Promise<void> => {
    if (!watching) return;
    const h = await client.watch(
      R.rollouts,
      'default',
      { fieldSelector: 'metadata.name=hello', ...(rv ? { resourceVersion: rv } : {}) },
      (type, obj) => {
        if (type === 'BOOKMARK' || type === 'ERROR') return;
        rv = obj.metadata.resourceVersion;
        const st = (obj as { status?: RolloutStatus }).status;
        if (!st?.phase) return;
        const last = seen[seen.length - 1];
        if (
          last &&
          last.phase === st.phase &&
          last.canaryRevision === st.canaryRevision &&
          last.canaryWeight === st.canaryWeight &&
          last.stableRevision === st.stableRevision
        )
          return;
        seen.push({
          at: Date.now(),
          phase: st.phase,
          stableRevision: st.stableRevision,
          canaryRevision: st.canaryRevision,
          canaryWeight: st.canaryWeight,
          currentStep: st.currentStep,
          message: st.message,
        });
      },
      () => {
        if (watching)
          setTimeout(() => {
            void open().catch(() => undefined);
          }, 100);
      },
    );
    stopWatch = h.stop;
  };
  await open();
}
const phases = (canary: string): string[] =>
  seen.filter((s) => s.canaryRevision === canary).map((s) => `${s.phase}@${s.canaryWeight}`);

async function rollout(): Promise<RolloutStatus | undefined> {
  const ro = await client.tryGet(R.rollouts, 'default', 'hello');
  return (ro as { status?: RolloutStatus } | undefined)?.status;
}
const ksvc = async (): Promise<Ksvc> => (await client.get(R.services, 'default', 'hello')) as Ksvc;
/** The percent the Service's spec.traffic gives each revision. */
function split(traffic: TrafficTarget[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of traffic ?? [])
    if (t.revisionName && (t.percent ?? 0) > 0) out[t.revisionName] = (out[t.revisionName] ?? 0) + (t.percent ?? 0);
  return out;
}
const targetOf = (s: Ksvc): string | undefined =>
  s.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'TARGET')?.value;

// ---------- traffic ----------
interface Answer {
  at: number;
  status: number;
  body: string;
  revision: string;
}
const answers: Answer[] = [];
let trafficOn = false;
let trafficLoop: Promise<void> | undefined;

function get(host: string): Promise<Answer> {
  const url = new URL(sluice.endpoints.router ?? '');
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () =>
        resolve({
          at: Date.now(),
          status: res.statusCode ?? 0,
          body,
          revision: String(res.headers['knative-serving-revision'] ?? ''),
        }),
      );
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${host} timed out`)));
    req.end();
  });
}

function startTraffic(): void {
  trafficOn = true;
  trafficLoop = (async () => {
    while (trafficOn) {
      try {
        answers.push(await get(HOST));
      } catch (e) {
        answers.push({ at: Date.now(), status: 0, body: String(e), revision: '' });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
}

async function postHook(
  body: string,
  signature: string | undefined,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': randomBytes(8).toString('hex'),
  };
  if (signature !== undefined) headers['x-hub-signature-256'] = signature;
  const res = await fetch(`${sluice.endpoints.controller}/hooks/git`, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function gitopsStatus(): Promise<Record<string, string>> {
  const cm = await client.get(R.configMaps, 'default', 'sluice-gitops-status');
  return (cm as { data?: Record<string, string> }).data ?? {};
}

let firstCommit: string;
let goodCommit: string;
let brokenCommit: string;
const t0 = Date.now();
const mark = (what: string): void => console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

before(async () => {
  dir = await tempDir('sluice-e2e-gitops-');
  cache = join(dir, 'kubectl-cache');
  await startReceiver();
  am = await startAlertmanager({ webhookUrl: `${receiverUrl}/am`, groupWait: '100ms', groupInterval: '500ms' });
  remote = await createTestRemote(join(dir, 'git'), BRANCH);
  firstCommit = await remote.commit(
    {
      'apps/hello.yaml': helloYaml('World'),
      'apps/hello-policy.yaml': policyYaml(am.url),
      'README.md': 'deploy repo\n',
    },
    'hello: first version',
  );
  const secretFile = join(dir, 'webhook-secret');
  await writeFile(secretFile, `${WEBHOOK_SECRET}\n`, { mode: 0o600 });
  sluice = await startSluice('start', join(dir, 'data'), [
    '--repo',
    remote.bare,
    '--path',
    'apps',
    '--poll',
    'off',
    '--webhook-secret-file',
    secretFile,
    '--log-level',
    'debug',
  ]);
  assert.ok(
    sluice.endpoints.router && sluice.endpoints.controller,
    'endpoints.json names the router and the controller',
  );
  client = KubeClient.fromFile(join(sluice.dataDir, 'kubeconfig'), 'e2e-test');
  mark('sluice is up');
});

after(async () => {
  watching = false;
  trafficOn = false;
  await trafficLoop;
  stopWatch?.();
  await sluice?.stop();
  await am?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  await removeDir(dir);
});

test(
  'GitOps rollout end to end: sync, signed webhook, canary 20→50→100, broken push rolled back and reverted in Git',
  { timeout: 120_000 },
  async () => {
    // ---- the alert HMAC key, as a user would create it ----
    const sec = await k(['create', 'secret', 'generic', 'hooks', `--from-literal=hmac=${HMAC_KEY}`]);
    assert.equal(sec.code, 0, sec.stderr);
    await watchRollouts();

    // ---- 1. the first commit is applied: hello Ready, pinned on hello-00001 ----
    const pinned = await waitFor(
      'ksvc hello Ready and pinned on hello-00001 with Rollout Succeeded',
      async () => {
        const s = await ksvc().catch(() => undefined);
        const ro = await rollout();
        const ready = s?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        return ready &&
          ro?.phase === 'Succeeded' &&
          JSON.stringify(split(s?.spec.traffic)) === JSON.stringify({ 'hello-00001': 100 })
          ? { s, ro }
          : undefined;
      },
      40_000,
      100,
    );
    mark('pinned on hello-00001');
    assert.equal(pinned.ro.stableRevision, 'hello-00001');
    assert.ok(
      pinned.s.spec.traffic?.every((t) => !t.latestRevision),
      `a governed Service names revisions, never latestRevision: ${JSON.stringify(pinned.s.spec.traffic)}`,
    );
    assert.equal(pinned.s.metadata.annotations?.['delivery.sluice.dev/git-commit'], firstCommit);
    const kget = await k(['get', 'ksvc', 'hello', '-o', 'jsonpath={.status.latestReadyRevisionName}']);
    assert.equal(kget.stdout, 'hello-00001', kget.stderr);
    assert.equal((await get(HOST)).body, 'Hello World!\n');
    startTraffic();

    // ---- 2. push TARGET=Second; a mis-signed webhook changes nothing ----
    goodCommit = await remote.commit({ 'apps/hello.yaml': helloYaml('Second') }, 'hello: say Second');
    const payload = pushPayload(BRANCH, goodCommit);
    const bad = await postHook(payload, hubSignature(payload, `${WEBHOOK_SECRET}-wrong`));
    assert.equal(bad.status, 401, JSON.stringify(bad.json));
    const unsigned = await postHook(payload, undefined);
    assert.equal(unsigned.status, 401, JSON.stringify(unsigned.json));
    // A negative: give a (wrongly) triggered sync ample time to have applied, then check nothing moved.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await gitopsStatus()).lastAttemptedCommit, firstCommit, 'a 401 webhook triggers no sync');
    const still = await ksvc();
    assert.equal(targetOf(still), 'World');
    assert.equal(still.status?.latestCreatedRevisionName, 'hello-00001');

    const good = await postHook(payload, hubSignature(payload, WEBHOOK_SECRET));
    assert.equal(good.status, 202, JSON.stringify(good.json));
    assert.equal(good.json.triggered, true);
    mark('signed webhook accepted');

    // ---- 3. the canary walks 20 → 50 → 100 and hello-00002 takes all traffic ----
    const done = await waitFor(
      'Rollout hello Succeeded on hello-00002',
      async () => {
        const ro = await rollout();
        if (ro?.canaryRevision === 'hello-00002' && (ro.phase === 'RolledBack' || ro.phase === 'Aborted'))
          throw new Error(`rollout of hello-00002 failed: ${ro.message}`);
        return ro?.phase === 'Succeeded' && ro.stableRevision === 'hello-00002' ? ro : undefined;
      },
      60_000,
      100,
    );
    const doneAt = Date.now();
    mark(`hello-00002 rolled out: ${phases('hello-00002').join(' → ')}`);
    assert.deepEqual(
      split(done.traffic),
      { 'hello-00002': 100 },
      `Rollout status.traffic: ${JSON.stringify(done.traffic)}`,
    );
    const p2 = phases('hello-00002');
    assert.ok(p2.includes('Progressing@20'), `the rollout went through 20 %: ${p2.join(' → ')}`);
    assert.ok(p2.includes('Progressing@50'), `the rollout went through 50 %: ${p2.join(' → ')}`);
    assert.ok(p2.indexOf('Progressing@20') < p2.indexOf('Progressing@50'), `20 % before 50 %: ${p2.join(' → ')}`);
    assert.ok(
      !p2.some((p) => p.startsWith('RolledBack') || p.startsWith('Aborted') || p.startsWith('RollingBack')),
      p2.join(' → '),
    );
    const afterGood = await waitFor(
      'spec.traffic 100 % on hello-00002',
      async () => {
        const s = await ksvc();
        return JSON.stringify(split(s.spec.traffic)) === JSON.stringify({ 'hello-00002': 100 }) ? s : undefined;
      },
      15_000,
      100,
    );
    assert.equal(targetOf(afterGood), 'Second');
    assert.equal(afterGood.metadata.annotations?.['delivery.sluice.dev/git-commit'], goodCommit);
    for (let i = 0; i < 5; i++) {
      const a = await get(HOST);
      assert.deepEqual([a.status, a.body, a.revision], [200, 'Hello Second!\n', 'hello-00002']);
    }
    // The traffic really was split: after the canary's first answer, the stable revision still answered too.
    const during = answers.filter((a) => a.at < doneAt);
    const firstCanary = during.findIndex((a) => a.revision === 'hello-00002');
    assert.ok(firstCanary >= 0, 'the canary answered during the rollout');
    assert.ok(
      during.slice(firstCanary).some((a) => a.revision === 'hello-00001' && a.body === 'Hello World!\n'),
      'stable and canary both answered while the split was on',
    );
    assert.ok(
      answers.every((a) => (a.revision === 'hello-00001') === (a.body === 'Hello World!\n')),
      'each revision answers with its own template',
    );
    assert.ok(
      answers.every((a) => a.status === 200),
      `every request succeeded: ${JSON.stringify(answers.find((a) => a.status !== 200))}`,
    );

    // Signed alert webhooks: started … succeeded for hello-00002.
    const ok = await waitFor(
      'a signed `succeeded` alert for hello-00002',
      () => deliveries.find((d) => d.event === 'succeeded' && d.body.canaryRevision === 'hello-00002'),
      20_000,
      50,
    );
    const forGood = deliveries.filter((d) => d.body.canaryRevision === 'hello-00002');
    const types = forGood.map((d) => d.event);
    assert.equal(types[0], 'started', `first event is started: ${types.join(', ')}`);
    assert.ok(types.indexOf('succeeded') > 0, types.join(', '));
    assert.ok(!types.includes('rolledBack') && !types.includes('analysisFailed'), types.join(', '));
    for (const d of forGood) {
      assert.deepEqual(d.verification, { ok: true }, `alert ${d.event} is signed with the Secret's key`);
      assert.equal(d.body.type, d.event);
    }
    assert.equal(ok.body.phase, 'Succeeded');
    assert.equal(ok.body.canaryWeight, 100, 'succeeded: the new revision serves 100 %');
    assert.deepEqual(
      forGood.filter((d) => d.event === 'step').map((d) => d.body.canaryWeight),
      [20, 50],
    );
    const kro = await k(['get', 'rollouts', 'hello', '-o', 'jsonpath={.status.phase} {.status.stableRevision}']);
    assert.equal(kro.stdout, 'Succeeded hello-00002', kro.stderr);

    // ---- 4. a broken template: rolled back, alerted, reverted in Git, not retried ----
    const answersBefore = answers.length;
    brokenCommit = await remote.commit(
      { 'apps/hello.yaml': helloYaml('Broken', '          command: ["sh", "-c", "echo broken >&2; exit 1"]\n') },
      'hello: break it',
    );
    const bpayload = pushPayload(BRANCH, brokenCommit);
    const hook2 = await postHook(bpayload, hubSignature(bpayload, WEBHOOK_SECRET));
    assert.equal(hook2.status, 202, JSON.stringify(hook2.json));
    mark('broken commit pushed');

    const rolledBack = await waitFor(
      'a signed `rolledBack` alert for hello-00003',
      () => deliveries.find((d) => d.event === 'rolledBack' && d.body.canaryRevision === 'hello-00003'),
      60_000,
      50,
    );
    mark('rolledBack alert received');
    assert.deepEqual(rolledBack.verification, { ok: true });
    assert.equal(rolledBack.body.stableRevision, 'hello-00002');

    await waitFor(
      'Rollout phase RolledBack for hello-00003',
      () => seen.find((s) => s.phase === 'RolledBack' && s.canaryRevision === 'hello-00003'),
      20_000,
      50,
    );
    const rb = seen.find((s) => s.phase === 'RolledBack' && s.canaryRevision === 'hello-00003')!;
    assert.equal(rb.stableRevision, 'hello-00002');
    assert.equal(rb.canaryWeight, 0);

    // The remote gets a revert of the broken commit on top.
    const bareGit = simpleGit({ baseDir: remote.bare });
    const revert = await waitFor(
      'a Revert commit on the remote branch',
      async () => {
        const log = (await bareGit.raw(['log', '--format=%H%x09%P%x09%s', BRANCH]))
          .trim()
          .split('\n')
          .map((l) => l.split('\t'));
        const top = log[0]!;
        return top[2]?.startsWith('Revert') ? { sha: top[0]!, parent: top[1]!, subject: top[2], all: log } : undefined;
      },
      30_000,
      100,
    );
    mark(`revert pushed: ${revert.subject}`);
    assert.equal(revert.parent, brokenCommit, 'the revert sits directly on the broken commit');
    assert.equal(revert.all.length, 4, `first, good, broken, revert: ${revert.all.map((l) => l[2]).join(' | ')}`);
    const reverted = await bareGit.raw(['show', `${revert.sha}:apps/hello.yaml`]);
    assert.equal(reverted, helloYaml('Second'), 'the revert restores the good template in Git');

    // The revert is synced: the Service's template is the good one again, from the revert commit.
    const back = await waitFor(
      'the revert commit applied to ksvc hello and its revision Ready',
      async () => {
        const st = await gitopsStatus();
        const s = await ksvc();
        return st.lastAppliedCommit === revert.sha &&
          s.metadata.annotations?.['delivery.sluice.dev/git-commit'] === revert.sha &&
          s.status?.observedGeneration === s.metadata.generation &&
          // The Service's generation is observed before its Configuration has made the revision; Knative's
          // ConfigurationsReady turns True only once the latest created revision (of this template) is Ready.
          s.status?.conditions?.find((c) => c.type === 'ConfigurationsReady')?.status === 'True'
          ? s
          : undefined;
      },
      30_000,
      100,
    );
    assert.equal(targetOf(back), 'Second');
    assert.equal(back.spec.template.spec.containers[0]?.command, undefined);
    // Knative makes a revision per template change, so the revert is a new revision with the good template (not
    // the broken one), and the Rollout settles with 100 % on it.
    const latest = back.status!.latestCreatedRevisionName!;
    assert.notEqual(latest, 'hello-00003');
    const latestRev = (await client.get(R.revisions, 'default', latest)) as KubeObject & {
      spec: Ksvc['spec']['template']['spec'];
    };
    assert.deepEqual(latestRev.spec.containers[0]?.env, [{ name: 'TARGET', value: 'Second' }]);
    assert.equal(latestRev.spec.containers[0]?.command, undefined);
    const settled = await waitFor(
      `the Rollout settles on ${latest} at 100 %`,
      async () => {
        const ro = await rollout();
        const s = await ksvc();
        return ro &&
          (ro.phase === 'Succeeded' || ro.phase === 'RolledBack') &&
          ro.stableRevision === latest &&
          JSON.stringify(split(s.spec.traffic)) === JSON.stringify({ [latest]: 100 })
          ? { ro, s }
          : undefined;
      },
      45_000,
      100,
    );
    mark(`settled on ${latest}: ${seen.map((s) => `${s.canaryRevision}:${s.phase}@${s.canaryWeight}`).join(' → ')}`);
    assert.deepEqual(split(settled.ro.traffic), { [latest]: 100 });
    // The broken template is never rolled out again: no other revision runs it, and hello-00003 is not retried.
    const revs = await client.list(R.revisions, 'default');
    const broken = revs.items
      .filter((r) => JSON.stringify((r as { spec?: unknown }).spec).includes('exit 1'))
      .map((r) => r.metadata.name);
    assert.deepEqual(broken, ['hello-00003']);
    assert.ok(
      !seen.some((s) => s.canaryRevision === 'hello-00003' && s.at > rb.at && s.phase !== 'RolledBack'),
      `hello-00003 is not retried: ${phases('hello-00003').join(' → ')}`,
    );
    assert.ok(
      !deliveries.some((d) => d.body.canaryRevision === 'hello-00003' && d.at > rolledBack.at),
      'no alert about hello-00003 after its rollback',
    );
    assert.ok(
      !deliveries.some(
        (d) => d.body.canaryRevision === latest && (d.event === 'rolledBack' || d.event === 'analysisFailed'),
      ),
      `the good template (${latest}) does not fail`,
    );
    const phase4 = answers.slice(answersBefore);
    assert.ok(phase4.length > 10, `traffic kept flowing (${phase4.length} requests)`);
    assert.ok(
      phase4.every((a) => a.status === 200 && a.body === 'Hello Second!\n'),
      `every request during the broken push answered Hello Second!: ${JSON.stringify(phase4.find((a) => a.status !== 200 || a.body !== 'Hello Second!\n'))}`,
    );
    for (let i = 0; i < 3; i++) assert.equal((await get(HOST)).body, 'Hello Second!\n');

    // Alertmanager got the rollback as an alert and notified its own receiver.
    const amFiring = await waitFor(
      'Alertmanager notifies SluiceRolloutRolledBack',
      () =>
        amNotifications.find((n) =>
          n.alerts.some((a) => a.labels.alertname === 'SluiceRolloutRolledBack' && a.labels.service === 'hello'),
        ),
      20_000,
      50,
    );
    assert.ok(amFiring);
    assert.ok(
      deliveries.every((d) => d.verification.ok),
      'every alert webhook was signed with the key from the Secret',
    );

    // A later success of the Service resolves the rollback alert (endsAt), and Alertmanager says so.
    if (settled.ro.phase === 'Succeeded') {
      const resolvedBy = await waitFor(
        `a signed \`succeeded\` alert for ${latest}`,
        () => deliveries.find((d) => d.event === 'succeeded' && d.body.canaryRevision === latest),
        20_000,
        50,
      );
      assert.deepEqual(resolvedBy.verification, { ok: true });
      await waitFor(
        'Alertmanager notifies that SluiceRolloutRolledBack is resolved',
        () =>
          amNotifications.find(
            (n) =>
              n.status === 'resolved' &&
              n.alerts.some((a) => a.labels.alertname === 'SluiceRolloutRolledBack' && a.status === 'resolved'),
          ),
        20_000,
        50,
      );
    }

    // ---- 5. no secret in any line the process wrote ----
    trafficOn = false;
    await trafficLoop;
    const lines = sluice.output().split('\n');
    assert.ok(lines.length > 10, 'the process logged (debug level)');
    assert.ok(
      lines.some((l) => l.includes('bad X-Hub-Signature-256')),
      'the rejected webhook was logged (so the output covers the webhook path)',
    );
    const leaks = lines.filter((l) => l.includes(WEBHOOK_SECRET) || l.includes(HMAC_KEY));
    assert.deepEqual(leaks, [], 'neither the webhook secret nor the HMAC key appears in the output');
    mark(
      `done; ${lines.length} lines of output checked, ${lines.filter((l) => l.includes('"level":20')).length} at debug`,
    );
  },
);
