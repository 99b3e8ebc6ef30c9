// The Git side against real remotes: Git going away keeps the last applied state and says why, retries back
// off and recover; a revert commit reaches the remote; credentials reach git but never a log line or status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { createLogger, silentLogger } from '../src/observability/logger.js';
import { KubeClient, R, type KubeObject } from '../src/kube/index.js';
import { startGitOps, COMMIT_ANNOTATION, STATUS_CONFIGMAP, splitUrlCredentials, scrub } from '../src/gitops/index.js';
import { configMapYaml, createTestRemote, LogCapture, serviceYaml } from '../src/gitops/testing.js';
import { ROOT, tempDir, removeDir, waitFor, freePort } from './support/procs.js';

let api: RunningApiServer;
let dir: string;
let client: KubeClient;

before(async () => {
  dir = await tempDir('sluice-gitops-git-');
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
  });
  client = KubeClient.fromFile(api.kubeconfigPath, 'test');
});

after(async () => {
  await api.close();
  await removeDir(dir);
});

type Svc = KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
const image = async (name: string): Promise<string | undefined> =>
  (await client.tryGet<Svc>(R.services, 'default', name))?.spec.template.spec.containers[0]?.image;
const statusData = async (): Promise<Record<string, string>> =>
  ((await client.get(R.configMaps, 'default', STATUS_CONFIGMAP)).data ?? {}) as Record<string, string>;

test('Git unreachable: the last applied state stays, Ready=False says why, retries back off, then it recovers', async () => {
  const remote = await createTestRemote(join(dir, 'down'));
  const good = await remote.commit({ 'app.yaml': serviceYaml('steady', 'ghcr.io/example/steady:v1') });
  const logs = new LogCapture();
  const gitops = await startGitOps({
    client,
    repo: remote.bare,
    branch: 'main',
    pollCron: '* * * * * *',
    workDir: join(dir, 'work-down'),
    log: createLogger({ destination: logs }),
    backoff: { initialMs: 200, maxMs: 800 },
  });
  try {
    await waitFor('the first sync', async () => (await statusData()).lastAppliedCommit === good, 5000);
    await rename(remote.bare, `${remote.bare}.moved`);
    const r = await gitops.syncNow();
    assert.equal(r.outcome, 'gitFailed');
    assert.match(r.gitError ?? '', /cannot fetch branch main from/);
    const d = await statusData();
    assert.equal(d.ready, 'False');
    assert.equal(d.reason, 'GitOperationFailed');
    assert.match(d.message ?? '', /cannot fetch branch main .*; commit [0-9a-f]{12} stays applied/);
    assert.equal(d.lastAppliedCommit, good);
    assert.equal(await image('steady'), 'ghcr.io/example/steady:v1', 'the last applied state stays');
    // Retries back off: 200 ms, 400 ms, 800 ms, 800 ms ... (the 1 s poll waits its turn meanwhile).
    await waitFor(
      'three backed-off retries',
      () => logs.lines.filter((l) => l.includes('will retry')).length >= 3,
      5000,
    );
    const delays = logs.lines
      .filter((l) => l.includes('will retry'))
      .map((l) => (JSON.parse(l) as { retryInMs: number }).retryInMs);
    assert.deepEqual(delays.slice(0, 3), [200, 400, 800]);
    // Git comes back with a new commit: the next poll or retry picks it up.
    await rename(`${remote.bare}.moved`, remote.bare);
    const next = await remote.commit({ 'app.yaml': serviceYaml('steady', 'ghcr.io/example/steady:v2') });
    await waitFor('recovery', async () => (await statusData()).lastAppliedCommit === next, 5000);
    const after = await statusData();
    assert.equal(after.ready, 'True');
    assert.equal(after.reason, 'Synced');
    assert.equal(await image('steady'), 'ghcr.io/example/steady:v2');
  } finally {
    await gitops.close();
  }
});

test("revert pushes a revert commit of the failed commit to the remote, and Git's state is applied", async () => {
  const remote = await createTestRemote(join(dir, 'rev'));
  await remote.commit({ 'svc.yaml': serviceYaml('rev', 'ghcr.io/example/rev:v1') }, 'web v1');
  const bad = await remote.commit({ 'svc.yaml': serviceYaml('rev', 'ghcr.io/example/rev:v2') }, 'web v2');
  const gitops = await startGitOps({
    client,
    repo: remote.bare,
    branch: 'main',
    pollCron: false,
    workDir: join(dir, 'work-rev'),
    log: silentLogger(),
  });
  try {
    await gitops.syncNow();
    assert.equal(await image('rev'), 'ghcr.io/example/rev:v2');
    // Someone pushes an unrelated change after the bad one; the revert goes on top of it.
    const later = await remote.commit({ 'cm.yaml': configMapYaml('rev-settings', { a: '1' }) }, 'settings');
    const { commit } = await gitops.revert(bad, { author: { name: 'Rollback Bot', email: 'bot@example.com' } });
    const log = (await simpleGit({ baseDir: remote.bare }).raw(['log', '-3', '--format=%H|%P|%an <%ae>|%s', 'main']))
      .trim()
      .split('\n');
    assert.equal(log.length, 3);
    const [head, parent] = log[0]!.split('|');
    assert.equal(head, commit);
    assert.equal(parent, later);
    assert.match(log[0]!, /\|Rollback Bot <bot@example\.com>\|Revert "web v2"$/);
    const body = await simpleGit({ baseDir: remote.bare }).raw(['log', '-1', '--format=%b', 'main']);
    assert.match(body, new RegExp(`This reverts commit ${bad}`));
    await waitFor(
      'the revert commit applied',
      async () => {
        const s = await client.get<Svc>(R.services, 'default', 'rev');
        return (
          s.metadata.annotations?.[COMMIT_ANNOTATION] === commit &&
          s.spec.template.spec.containers[0]?.image === 'ghcr.io/example/rev:v1'
        );
      },
      5000,
    );
    // The developer's clone sees it too.
    await remote.git.raw(['pull', '-q', 'origin', 'main']);
    assert.match(await readFile(join(remote.work, 'svc.yaml'), 'utf8'), /rev:v1/);
  } finally {
    await gitops.close();
  }
});

test("credentials reach git (GIT_ASKPASS) but never a log line, an error, the status or the clone's config", async () => {
  const TOKEN = 'ghp_FAKEsecretToken0123456789';
  const logs = new LogCapture();
  const log = createLogger({ destination: logs, level: 'debug' });
  // 1. A token in an https URL, to a port where nothing listens.
  const closed = await freePort();
  const a = await startGitOps({
    client,
    repo: `https://sluice-bot:${TOKEN}@127.0.0.1:${closed}/org/app.git`,
    branch: 'main',
    pollCron: false,
    workDir: join(dir, 'work-cred-a'),
    log,
    gitTimeoutMs: 10_000,
  });
  const ra = await a.syncNow();
  await a.close();
  assert.equal(ra.outcome, 'gitFailed');
  assert.match(ra.gitError ?? '', /https:\/\/\[REDACTED\]@127\.0\.0\.1/);
  const cfg = await readFile(join(dir, 'work-cred-a', 'checkout', '.git', 'config'), 'utf8');
  assert.ok(!cfg.includes(TOKEN), 'the token is not written into the clone');
  // 2. A token from the environment, to a server that asks for Basic auth and records what it gets.
  const seen: string[] = [];
  const srv = createServer((req, res) => {
    if (req.headers.authorization) seen.push(req.headers.authorization);
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('denied\n');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const b = await startGitOps({
    client,
    repo: `http://127.0.0.1:${port}/org/app.git`,
    branch: 'main',
    pollCron: false,
    workDir: join(dir, 'work-cred-b'),
    log,
    env: { ...process.env, SLUICE_GIT_USERNAME: 'sluice-bot', SLUICE_GIT_TOKEN: TOKEN },
  });
  const rb = await b.syncNow();
  await b.close();
  await new Promise<void>((r) => srv.close(() => r()));
  assert.equal(rb.outcome, 'gitFailed');
  assert.ok(
    seen.includes(`Basic ${Buffer.from(`sluice-bot:${TOKEN}`).toString('base64')}`),
    'git sent the token it got from GIT_ASKPASS',
  );
  // Nowhere else.
  assert.ok(logs.lines.length > 0);
  for (const l of logs.lines) assert.ok(!l.includes(TOKEN), `a log line leaks the token: ${l}`);
  assert.ok(!(ra.gitError ?? '').includes(TOKEN) && !(rb.gitError ?? '').includes(TOKEN));
  assert.ok(!JSON.stringify(await statusData()).includes(TOKEN));
  assert.ok(
    logs.lines.some((l) => l.includes('https://[REDACTED]@127.0.0.1')),
    'the repository is logged, redacted',
  );
});

test('URL credentials are lifted out and messages scrubbed', () => {
  assert.deepEqual(splitUrlCredentials('https://bot:t%40k@git.example.com/org/app.git'), {
    url: 'https://git.example.com/org/app.git',
    username: 'bot',
    password: 't@k',
  });
  assert.deepEqual(splitUrlCredentials('git@github.com:org/app.git'), { url: 'git@github.com:org/app.git' });
  assert.equal(
    scrub("fatal: unable to access 'https://bot:abc123@h/x.git/': nope; token abc123", ['abc123']),
    "fatal: unable to access 'https://[REDACTED]@h/x.git/': nope; token [REDACTED]",
  );
});
