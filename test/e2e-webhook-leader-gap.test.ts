// Issue 12: "a push webhook received by a follower is not lost". Two `sluice controller` replicas with polling
// off (`--poll off`: webhooks are the only trigger), against `sluice apiserver` in its own process, with
// deploy/controller.yaml's ServiceAccount token. A push announced to the follower while the leader lives is
// handed to it; a push announced to the follower in the gap after the leader is killed (the Lease not yet
// expired, no leader reachable) is answered 503 with a sentence saying so — and still applied: the new
// leader's first sync fetches the branch, with no poll and no redelivery. Every wait is on a condition.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { KubeClient, R } from '../src/kube/index.js';
import { configMapYaml, createTestRemote, hubSignature, pushPayload, type TestRemote } from '../src/gitops/testing.js';
import { ROOT, kubectl, removeDir, startSluice, tempDir, waitFor, type SluiceProcess } from './support/procs.js';

const BRANCH = 'main';
const SECRET = `gh-${randomBytes(8).toString('hex')}`;
// Long enough that a webhook sent right after the kill surely falls in the gap, short enough for a test.
const LEASE_SECONDS = 6;

let dir: string;
let api: SluiceProcess;
let client: KubeClient;
let remote: TestRemote;
let saKubeconfig: string;
const controllers: SluiceProcess[] = [];

async function startController(n: number): Promise<SluiceProcess> {
  const d = join(dir, `controller-${n}`);
  return startSluice('controller', d, [
    '--kubeconfig',
    saKubeconfig,
    '--prometheus-url',
    'http://127.0.0.1:9',
    '--repo',
    remote.bare,
    '--path',
    'apps',
    '--poll',
    'off',
    '--webhook-secret-file',
    join(dir, 'webhook-secret'),
    '--namespace',
    'sluice-system',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--work-dir',
    join(d, 'git'),
    '--lease-duration',
    String(LEASE_SECONDS),
    '--log-level',
    'info',
  ]);
}

async function leads(c: SluiceProcess): Promise<boolean> {
  return ((await (await fetch(`${c.endpoints.controller}/`)).json()) as { leader: boolean }).leader;
}

async function postHook(to: SluiceProcess, commit: string): Promise<{ status: number; body: string }> {
  const payload = pushPayload(BRANCH, commit);
  const r = await fetch(`${to.endpoints.controller}/hooks/git`, {
    method: 'POST',
    body: payload,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomBytes(8).toString('hex'),
      'x-hub-signature-256': hubSignature(payload, SECRET),
    },
  });
  return { status: r.status, body: await r.text() };
}

const value = async (): Promise<string | undefined> =>
  ((await client.tryGet(R.configMaps, 'default', 'greeting')) as { data?: Record<string, string> } | undefined)?.data
    ?.say;

before(async () => {
  dir = await tempDir('sluice-leader-gap-');
  const cache = join(dir, 'kubectl-cache');
  api = await startSluice('apiserver', join(dir, 'api'));
  const admin = join(api.dataDir, 'kubeconfig');
  client = KubeClient.fromFile(admin, 'test');
  const ap = await kubectl(admin, cache, ['apply', '-k', join(ROOT, 'deploy')]);
  assert.equal(ap.code, 0, ap.stderr);
  const tok = await kubectl(admin, cache, ['create', 'token', 'sluice', '-n', 'sluice-system', '--duration=1h']);
  assert.equal(tok.code, 0, tok.stderr);
  saKubeconfig = join(dir, 'sa.kubeconfig');
  await writeFile(saKubeconfig, (await readFile(admin, 'utf8')).replace(/token: .*/, `token: ${tok.stdout.trim()}`), {
    mode: 0o600,
  });
  await writeFile(join(dir, 'webhook-secret'), `${SECRET}\n`, { mode: 0o600 });
  remote = await createTestRemote(join(dir, 'git'), BRANCH);
  await remote.commit({ 'apps/greeting.yaml': configMapYaml('greeting', { say: 'one' }) }, 'one');
  controllers.push(await startController(1), await startController(2));
});

after(async () => {
  for (const c of controllers) await c.stop();
  await api?.stop();
  await removeDir(dir);
});

test('--poll off: a push sent to the follower is handed to the leader; one sent in the leadership gap is applied by the new leader', async () => {
  await waitFor('the first commit applied by the leader', async () => (await value()) === 'one', 30_000);
  const [leader, follower] = await waitFor('one leader and one follower', async () => {
    const [a, b] = [controllers[0]!, controllers[1]!];
    const [la, lb] = [await leads(a), await leads(b)];
    return la !== lb ? (la ? [a, b] : [b, a]) : undefined;
  });

  // While the leader lives: the follower forwards, the leader applies.
  const two = await remote.commit({ 'apps/greeting.yaml': configMapYaml('greeting', { say: 'two' }) }, 'two');
  const fwd = await postHook(follower, two);
  assert.equal(fwd.status, 202, fwd.body);
  await waitFor('the forwarded push applied', async () => (await value()) === 'two', 30_000);

  // The gap: the leader is gone, its Lease still holds for up to LEASE_SECONDS. (The commit is pushed first, so
  // the webhook follows the kill at once; without a poll nothing else would find it.)
  const three = await remote.commit({ 'apps/greeting.yaml': configMapYaml('greeting', { say: 'three' }) }, 'three');
  leader.child.kill('SIGKILL');
  await new Promise<void>((r) => (leader.child.exitCode !== null ? r() : leader.child.once('exit', () => r())));
  const gap = await postHook(follower, three);
  assert.equal(gap.status, 503, `in the gap: ${gap.status} ${gap.body}`);
  assert.match(gap.body, /not the leader.*redeliver/);
  assert.equal(await leads(follower), false, 'the follower had not taken over yet when it answered');
  assert.equal(await value(), 'two', 'nothing applied the push yet');

  // The follower takes the Lease; its first sync fetches the branch: the push is applied, no poll, no redelivery.
  await waitFor('the follower to lead', () => leads(follower), (LEASE_SECONDS + 10) * 1000);
  await waitFor('the push of the gap applied by the new leader', async () => (await value()) === 'three', 30_000);
  const st = (await (await fetch(`${follower.endpoints.controller}/`)).json()) as {
    gitops: { lastAppliedCommit?: string } | null;
  };
  assert.equal(st.gitops?.lastAppliedCommit, three);
  assert.doesNotMatch(follower.output(), /forbidden|\b403\b/i, 'no request of the controller was refused');
});
