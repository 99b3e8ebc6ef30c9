// POST /hooks/git over real HTTP, against a real bare Git remote and a real API server: signed pushes sync
// at once, anything unsigned or mis-signed changes nothing, bodies are capped, triggers coalesce.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { createLogger, silentLogger } from '../src/observability/logger.js';
import { KubeClient, R } from '../src/kube/index.js';
import {
  startGitOps,
  COMMIT_ANNOTATION,
  Coalescer,
  backoffDelay,
  verifyHubSignature,
  verifyGitlabToken,
  createWebhookHandler,
  type GitOps,
} from '../src/gitops/index.js';
import {
  createTestRemote,
  hubSignature,
  LogCapture,
  pushPayload,
  serviceYaml,
  type TestRemote,
} from '../src/gitops/testing.js';
import { ROOT, tempDir, removeDir, waitFor } from './support/procs.js';

const SECRET = 'wh-secret-3f9a1c';
let api: RunningApiServer;
let dir: string;
let client: KubeClient;
let remote: TestRemote;
let gitops: GitOps;
let server: Server;
let url: string;
const logs = new LogCapture();

before(async () => {
  dir = await tempDir('sluice-gitops-wh-');
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
  });
  client = KubeClient.fromFile(api.kubeconfigPath, 'test');
  remote = await createTestRemote(join(dir, 'git'));
  await remote.commit({ 'apps/web.yaml': serviceYaml('web', 'ghcr.io/example/web:v1'), 'README.md': 'hello\n' });
  gitops = await startGitOps({
    client,
    repo: remote.bare,
    branch: 'main',
    path: 'apps',
    pollCron: false,
    webhookSecret: SECRET,
    workDir: join(dir, 'work'),
    log: createLogger({ destination: logs, level: 'debug' }),
  });
  await gitops.syncNow();
  server = createServer((req, res) => {
    if (req.url === '/hooks/git') return gitops.handler(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/git`;
});

after(async () => {
  await gitops.close();
  await new Promise<void>((r) => server.close(() => r()));
  await api.close();
  await removeDir(dir);
});

async function post(
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function liveWeb(): Promise<{ commit: string | undefined; image: string | undefined }> {
  const s = await client.get(R.services, 'default', 'web');
  const spec = s.spec as { template: { spec: { containers: Array<{ image: string }> } } };
  return { commit: s.metadata.annotations?.[COMMIT_ANNOTATION], image: spec.template.spec.containers[0]?.image };
}

// Polling is off in this file (pollCron: false), so a commit that gets applied was applied by the webhook.
// How fast is measured by `npm run bench` (bench/gitops), not asserted here.
test('a push with a valid X-Hub-Signature-256 webhook is applied (polling is off)', async () => {
  const sha = await remote.commit({ 'apps/web.yaml': serviceYaml('web', 'ghcr.io/example/web:v2') });
  const body = pushPayload('main', sha);
  const r = await post(body, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(body, SECRET) });
  assert.equal(r.status, 202);
  assert.equal(r.json.triggered, true);
  await waitFor('the pushed commit to be applied', async () => (await liveWeb()).commit === sha, 20_000, 10);
  assert.equal((await liveWeb()).image, 'ghcr.io/example/web:v2');
});

test('a bad, missing or SHA-1-only signature gets 401 and nothing is applied; the same push signed right is', async () => {
  const before = await liveWeb();
  const attempted = gitops.status().lastAttemptedCommit;
  const sha = await remote.commit({ 'apps/web.yaml': serviceYaml('web', 'ghcr.io/example/web:v3') });
  const body = pushPayload('main', sha);
  const cases: Array<{ name: string; headers: Record<string, string> }> = [
    { name: 'wrong secret', headers: { 'x-hub-signature-256': hubSignature(body, 'not-the-secret') } },
    { name: 'signature of another body', headers: { 'x-hub-signature-256': hubSignature(body + ' ', SECRET) } },
    { name: 'truncated signature', headers: { 'x-hub-signature-256': hubSignature(body, SECRET).slice(0, 40) } },
    { name: 'no signature', headers: {} },
    { name: 'SHA-1 X-Hub-Signature only', headers: { 'x-hub-signature': 'sha1=' + 'a'.repeat(40) } },
    { name: 'wrong GitLab token', headers: { 'x-gitlab-token': 'nope', 'x-gitlab-event': 'Push Hook' } },
  ];
  for (const c of cases) {
    const r = await post(body, { 'x-github-event': 'push', ...c.headers });
    assert.equal(r.status, 401, c.name);
  }
  // Nothing ran: no sync attempted the new commit, and the Service is as it was.
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(gitops.status().lastAttemptedCommit, attempted);
  assert.deepEqual(await liveWeb(), before);
  assert.ok(logs.lines.some((l) => l.includes('bad X-Hub-Signature-256')));
  assert.ok(!logs.text().includes(SECRET), 'the secret is never logged');
  const ok = await post(body, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(body, SECRET) });
  assert.equal(ok.status, 202);
  await waitFor('v3 applied', async () => (await liveWeb()).commit === sha, 20_000, 10);
});

test('a GitLab push with the right X-Gitlab-Token is applied; Gitea signs like GitHub', async () => {
  const sha = await remote.commit({ 'apps/web.yaml': serviceYaml('web', 'ghcr.io/example/web:v4') });
  const body = JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', checkout_sha: sha });
  const r = await post(body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET });
  assert.equal(r.status, 202);
  await waitFor('v4 applied via GitLab', async () => (await liveWeb()).commit === sha, 20_000, 10);
  const sha5 = await remote.commit({ 'apps/web.yaml': serviceYaml('web', 'ghcr.io/example/web:v5') });
  const gitea = pushPayload('main', sha5);
  const g = await post(gitea, { 'x-gitea-event': 'push', 'x-hub-signature-256': hubSignature(gitea, SECRET) });
  assert.equal(g.status, 202);
  await waitFor('v5 applied via Gitea', async () => (await liveWeb()).commit === sha5, 20_000, 10);
});

test('pings, other branches and other events are acknowledged without a sync; oversized bodies get 413', async () => {
  const ping = JSON.stringify({ zen: 'hi' });
  assert.equal(
    (await post(ping, { 'x-github-event': 'ping', 'x-hub-signature-256': hubSignature(ping, SECRET) })).status,
    200,
  );
  const other = pushPayload('feature', 'f'.repeat(40));
  const o = await post(other, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(other, SECRET) });
  assert.equal(o.status, 200);
  assert.equal(o.json.triggered, false);
  const big = Buffer.alloc(1024 * 1024 + 10, 'a');
  assert.equal(
    (await post(big, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(big, SECRET) })).status,
    413,
  );
  const get = await fetch(url);
  assert.equal(get.status, 405);
});

test('without a webhook secret every hook is refused (403)', async () => {
  const h = createWebhookHandler({
    secret: undefined,
    watches: () => true,
    onPush: () => assert.fail('must not trigger'),
  });
  const s = createServer(h);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const body = pushPayload('main', 'a'.repeat(40));
  const res = await fetch(`http://127.0.0.1:${(s.address() as { port: number }).port}/`, {
    method: 'POST',
    body,
    headers: { 'x-hub-signature-256': hubSignature(body, '') },
  });
  assert.equal(res.status, 403);
  await new Promise<void>((r) => s.close(() => r()));
});

test('signature checks: table', () => {
  const body = Buffer.from('{"ref":"refs/heads/main"}');
  const cases: Array<{ name: string; header: string | undefined; want: boolean }> = [
    { name: 'valid', header: hubSignature(body, 's3cret'), want: true },
    {
      name: 'valid, upper-case hex',
      header: 'sha256=' + hubSignature(body, 's3cret').slice(7).toUpperCase(),
      want: true,
    },
    { name: 'other secret', header: hubSignature(body, 'other'), want: false },
    { name: 'sha1 prefix', header: 'sha1=' + hubSignature(body, 's3cret').slice(7), want: false },
    { name: 'not hex', header: 'sha256=' + 'z'.repeat(64), want: false },
    { name: 'short', header: 'sha256=abcd', want: false },
    { name: 'missing', header: undefined, want: false },
  ];
  for (const c of cases) assert.equal(verifyHubSignature(body, c.header, 's3cret'), c.want, c.name);
  assert.equal(verifyGitlabToken('s3cret', 's3cret'), true);
  assert.equal(verifyGitlabToken('s3cre', 's3cret'), false);
  assert.equal(verifyGitlabToken('', 's3cret'), false);
  assert.equal(verifyGitlabToken(undefined, 's3cret'), false);
});

test('triggers coalesce: one run in flight, one queued, every caller sees a run that started after its call', async () => {
  let runs = 0;
  let release!: () => void;
  const c = new Coalescer(async () => {
    runs++;
    await new Promise<void>((r) => (release = r));
    return runs;
  });
  const first = c.trigger();
  const rest = Array.from({ length: 20 }, () => c.trigger());
  release();
  assert.equal(await first, 1);
  await waitFor('the queued run to start', () => runs === 2, 10_000, 5);
  release();
  const results = await Promise.all(rest);
  assert.ok(results.every((r) => r === 2));
  assert.equal(runs, 2);
});

test('backoff doubles and is capped', () => {
  const o = { initialMs: 1000, maxMs: 8000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, o)),
    [1000, 2000, 4000, 8000, 8000, 8000],
  );
});
