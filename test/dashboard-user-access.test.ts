// The dashboard acting as the signed-in Kubernetes user, against the real embedded API server with RBAC:
// ServiceAccounts with Roles applied by the real kubectl, tokens from `kubectl create token`, the dashboard on a
// real HTTP port. A viewer (get/list/watch on rollouts in team-a) sees team-a only, gets no actions and a
// forged POST is refused by the API server; a deployer (patch) appends a command recorded under its own name.
// The metric panel's canary-vs-stable view in Chromium. Plus the pure parts: the sealed token, bearer parsing, the merge patch that appends a command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { KubeClient, R } from '../src/kube/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { startDashboard, type Dashboard } from '../src/dashboard/index.js';
import { loadOrCreateKey, mintSession, verifySession } from '../src/dashboard/auth.js';
import { openToken, parseBearer, sealToken, BEARER_MAX_CHARS } from '../src/dashboard/user-access.js';
import { nextCommands } from '../src/rollout/controller/commands.js';
import type { RolloutObject } from '../src/rollout/controller/types.js';
import { ROOT, kubectl, removeDir, tempDir } from './support/procs.js';
import { launchChromium } from './support/chromium.js';

let api: RunningApiServer;
let dir: string;
let admin: KubeClient;
let dashboard: Dashboard;
let server: Server;
let base: string;
let skew = 0;
const tokens: Record<string, string> = {};

const RBAC = `apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: viewer, namespace: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rollout-viewer, namespace: team-a}
rules:
  - apiGroups: [delivery.sluice.dev]
    resources: [rollouts]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rollout-deployer, namespace: team-a}
rules:
  - apiGroups: [delivery.sluice.dev]
    resources: [rollouts]
    verbs: [get, list, watch, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rollout-viewer}
subjects: [{kind: ServiceAccount, name: viewer, namespace: team-a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rollout-deployer}
subjects: [{kind: ServiceAccount, name: deployer, namespace: team-a}]
`;

const k = (args: string[], input?: string) => kubectl(api.kubeconfigPath, join(dir, 'cache'), args, input);

async function pausedRollout(ns: string): Promise<void> {
  await admin.create<RolloutObject>(R.rollouts, {
    metadata: { name: 'web', namespace: ns },
    spec: { serviceName: 'web' },
  });
  const cur = await admin.get<RolloutObject>(R.rollouts, ns, 'web');
  cur.status = {
    phase: 'Paused',
    stableRevision: 'web-00001',
    canaryRevision: 'web-00002',
    canaryWeight: 20,
    currentStep: 1,
    totalSteps: 3,
    plan: {
      steps: [
        { kind: 'setWeight', weight: 20 },
        { kind: 'pause', durationMs: null },
        { kind: 'setWeight', weight: 60 },
      ],
    },
  } as RolloutObject['status'];
  await admin.update(R.rollouts, cur, 'status');
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function http(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Res> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const origin = (): string => base;

/** Signs in with a bearer token through the form; returns the cookie and the page's CSRF token. */
async function signIn(token: string): Promise<{ cookie: string; csrf: string }> {
  const r = await http(
    'POST',
    '/dashboard/login',
    { origin: origin(), 'content-type': 'application/x-www-form-urlencoded' },
    new URLSearchParams({ token: `Bearer ${token}` }).toString(),
  );
  assert.equal(r.status, 303, r.body);
  const set = String(r.headers['set-cookie'] ?? '');
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  assert.ok(!set.includes(token), 'the token is not in the cookie in the clear');
  const cookie = set.split(';')[0] ?? '';
  const page = await http('GET', '/dashboard/', { cookie });
  assert.equal(page.status, 200);
  const csrf = /name="sluice-csrf" content="([^"]+)"/.exec(page.body)?.[1] ?? '';
  return { cookie, csrf };
}
const act = (who: { cookie: string; csrf: string }, ns: string, verb: string, reason?: string): Promise<Res> =>
  http(
    'POST',
    `/dashboard/api/rollouts/${ns}/web/${verb}`,
    { cookie: who.cookie, origin: origin(), 'x-sluice-csrf': who.csrf, 'content-type': 'application/json' },
    JSON.stringify(reason ? { reason } : {}),
  );
const rows = async (cookie: string): Promise<string[]> =>
  (JSON.parse((await http('GET', '/dashboard/api/rollouts', { cookie })).body) as { rows: { key: string }[] }).rows
    .map((r) => r.key)
    .sort();
const accessOf = async (cookie: string, ns: string): Promise<{ patch: boolean; actions: string[]; user: string }> =>
  JSON.parse((await http('GET', `/dashboard/api/access/${ns}/web`, { cookie })).body) as {
    patch: boolean;
    actions: string[];
    user: string;
  };

before(async () => {
  dir = await tempDir('sluice-dash-rbac-');
  api = await startApiServer({
    dataDir: join(dir, 'api'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
  });
  admin = KubeClient.fromFile(api.kubeconfigPath, 'test');
  const r = await k(['apply', '-f', '-'], RBAC);
  assert.equal(r.code, 0, r.stderr);
  for (const sa of ['viewer', 'deployer']) {
    const t = await k(['create', 'token', sa, '-n', 'team-a', '--duration=20m']);
    assert.equal(t.code, 0, t.stderr);
    tokens[sa] = t.stdout.trim();
  }
  await pausedRollout('team-a');
  await pausedRollout('team-b');
  dashboard = startDashboard({
    client: admin.withFieldManager('sluice-dashboard'),
    dataDir: join(dir, 'dash'),
    assetsDir: join(ROOT, 'src', 'dashboard', 'assets'),
    host: '127.0.0.1',
    port: 0,
    readOnly: false,
    now: () => Date.now() + skew,
    log: silentLogger(),
    coalesceMs: 10,
  });
  await dashboard.hub.ready;
  server = createServer((req, res) => {
    if (!dashboard.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await waitRows();
});

async function waitRows(): Promise<void> {
  for (let i = 0; i < 200 && dashboard.hub.rows().length < 2; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(dashboard.hub.rows().length, 2);
}

after(async () => {
  dashboard?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await api?.close();
  await removeDir(dir);
});

test('sealed token: round trip, another key or a flipped bit opens nothing; the session stays under 4 KiB', () => {
  const key = Buffer.alloc(32, 7);
  const token = 'x'.repeat(BEARER_MAX_CHARS);
  const sealed = sealToken(key, token);
  assert.equal(openToken(key, sealed), token);
  assert.notEqual(sealToken(key, token), sealed, 'a fresh IV each time');
  assert.equal(openToken(Buffer.alloc(32, 8), sealed), undefined);
  const raw = Buffer.from(sealed, 'base64url');
  raw[40] = (raw[40] ?? 0) ^ 1;
  assert.equal(openToken(key, raw.toString('base64url')), undefined);
  const cookie = mintSession(key, 'system:serviceaccount:team-a:deployer', 0, sealed);
  assert.ok(cookie.length + 'sluice_session='.length < 4096, `cookie of ${cookie.length} chars`);
  assert.equal(openToken(key, verifySession(key, cookie, 1)?.tok ?? ''), token);
});

const bearers: { name: string; input: string; want?: string; error?: RegExp }[] = [
  { name: 'plain', input: 'abc.def', want: 'abc.def' },
  { name: 'Bearer prefix and spaces', input: '  Bearer abc.def\n', want: 'abc.def' },
  { name: 'empty', input: '  ', error: /paste a bearer token/ },
  { name: 'too long', input: 'a'.repeat(BEARER_MAX_CHARS + 1), error: /at most 2048/ },
  { name: 'inner space', input: 'abc def', error: /printable ASCII/ },
];
for (const c of bearers)
  test(`bearer: ${c.name}`, () => {
    if (c.error) assert.throws(() => parseBearer(c.input), c.error);
    else assert.equal(parseBearer(c.input), c.want);
  });

test('command append is a merge of the whole list: next seq after applied ones, old applied ones trimmed', () => {
  const ro: RolloutObject = {
    metadata: { name: 'web' },
    spec: {
      serviceName: 'web',
      commands: [1, 2, 3, 4, 5, 6, 7, 8].map((seq) => ({ seq, kind: 'promote' as const })),
    },
    status: { state: { lastCommandSeq: 7 } as NonNullable<RolloutObject['status']>['state'] },
  };
  const { seq, commands } = nextCommands(ro, { kind: 'abort', by: 'alice', reason: '  bad  ' });
  assert.equal(seq, 9);
  assert.deepEqual(
    commands.map((c) => c.seq),
    [3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(commands.at(-1), { seq: 9, kind: 'abort', by: 'alice', reason: 'bad' });
});

test('a viewer token signs in as its ServiceAccount, sees only team-a, and gets no actions', async () => {
  const viewer = await signIn(tokens.viewer ?? '');
  const page = await http('GET', '/dashboard/', { cookie: viewer.cookie });
  assert.match(page.body, /signed in as <span id="user">system:serviceaccount:team-a:viewer<\/span>/);
  assert.match(page.body, /name="sluice-auth" content="token"/);
  assert.deepEqual(await rows(viewer.cookie), ['team-a/web']);
  const acc = await accessOf(viewer.cookie, 'team-a');
  assert.deepEqual([acc.patch, acc.actions, acc.user], [false, [], 'system:serviceaccount:team-a:viewer']);
  assert.equal((await http('GET', '/dashboard/api/rollouts/team-b/web', { cookie: viewer.cookie })).status, 403);
  assert.equal((await http('GET', '/dashboard/api/rollouts/team-a/web', { cookie: viewer.cookie })).status, 200);

  // A forged POST (right cookie, Origin and CSRF; no button) reaches the API server, whose RBAC refuses it.
  const forged = await act(viewer, 'team-a', 'promote');
  assert.equal(forged.status, 403, forged.body);
  const body = JSON.parse(forged.body) as { code: string; message: string };
  assert.equal(body.code, 'SLUICE_ERR_DASHBOARD_FORBIDDEN');
  assert.match(body.message, /cannot patch resource "rollouts"/);
  assert.equal((await admin.get<RolloutObject>(R.rollouts, 'team-a', 'web')).spec?.commands, undefined);

  // The fleet stream is filtered too: its snapshot holds team-a only.
  const snap = await new Promise<string>((resolve, reject) => {
    const u = new URL('/dashboard/api/events', base);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, headers: { cookie: viewer.cookie } },
      (res) => {
        let b = '';
        res.on('data', (d: Buffer) => {
          b += d.toString();
          const m = /event: snapshot\ndata: (.*)\n/.exec(b);
          if (m) {
            resolve(m[1] ?? '');
            req.destroy();
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(
    (JSON.parse(snap) as { key: string }[]).map((r) => r.key),
    ['team-a/web'],
  );
});

test('a deployer token promotes as itself; the admin login URL still acts as the local admin', async () => {
  const deployer = await signIn(tokens.deployer ?? '');
  const acc = await accessOf(deployer.cookie, 'team-a');
  assert.equal(acc.patch, true);
  assert.equal(acc.actions.length, 6);
  assert.equal((await accessOf(deployer.cookie, 'team-b')).patch, false);
  const ok = await act(deployer, 'team-a', 'promote', 'canary looks good');
  assert.equal(ok.status, 202, ok.body);
  const cmds = (await admin.get<RolloutObject>(R.rollouts, 'team-a', 'web')).spec?.commands ?? [];
  assert.deepEqual(cmds.at(-1), {
    seq: 1,
    kind: 'promote',
    by: 'system:serviceaccount:team-a:deployer (dashboard)',
    reason: 'canary looks good',
  });
  assert.equal((await act(deployer, 'team-b', 'promote')).status, 403, 'RBAC is per namespace');

  const url = dashboard.loginUrl(base, 'root');
  const redeemed = await http('GET', new URL(url).pathname + new URL(url).search);
  assert.equal(redeemed.status, 303);
  const cookie = String(redeemed.headers['set-cookie'] ?? '').split(';')[0] ?? '';
  assert.deepEqual(await rows(cookie), ['team-a/web', 'team-b/web']);
  assert.equal((await accessOf(cookie, 'team-b')).patch, true);
});

test('a revoked role shows once the short cache expires; logout ends the session; a bad token is refused', async () => {
  const deployer = await signIn(tokens.deployer ?? '');
  assert.equal((await accessOf(deployer.cookie, 'team-a')).patch, true);
  const del = await k(['delete', 'rolebinding', 'deployer', '-n', 'team-a']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await accessOf(deployer.cookie, 'team-a')).patch, true, 'cached for a few seconds');
  skew += 10_000;
  assert.equal((await accessOf(deployer.cookie, 'team-a')).patch, false, 'asked again after the TTL');
  assert.deepEqual(await rows(deployer.cookie), []);

  const out = await http('POST', '/dashboard/logout', {
    cookie: deployer.cookie,
    origin: origin(),
    'x-sluice-csrf': deployer.csrf,
  });
  assert.equal(out.status, 204);
  assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
  assert.equal((await http('GET', '/dashboard/api/rollouts', { cookie: deployer.cookie })).status, 401);

  const bad = await http(
    'POST',
    '/dashboard/login',
    { origin: origin(), 'content-type': 'application/x-www-form-urlencoded' },
    'token=not-a-token',
  );
  assert.equal(bad.status, 401);
  assert.match(bad.body, /does not accept your token/);
  assert.equal(bad.headers['set-cookie'], undefined);
  const cross = await http(
    'POST',
    '/dashboard/login',
    { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    `token=${tokens.viewer}`,
  );
  assert.equal(cross.status, 403, 'login CSRF: a cross-site form cannot sign the browser in');
  assert.match(String(bad.headers['content-security-policy']), /form-action 'self'/);
  assert.ok(loadOrCreateKey(join(dir, 'dash')).length >= 32);
});

test('the metric panel shows canary and stable side by side where a Mann-Whitney judge compared them (Chromium)', async () => {
  const cur = await admin.get<RolloutObject>(R.rollouts, 'team-b', 'web');
  const round = (
    s: number,
    canaryMean: number,
    stableMean: number,
  ): NonNullable<RolloutObject['status']>['analysisRuns'] => [
    {
      at: new Date(Date.now() - s * 1000).toISOString(),
      revision: 'web-00002',
      step: 1,
      verdict: 'pass',
      metrics: [
        {
          metric: 'latency',
          status: 'pass',
          verdict: 'pass',
          value: canaryMean / stableMean,
          compare: {
            judge: 'mannWhitney',
            canaryMean,
            stableMean,
            canaryCount: 60,
            stableCount: 60,
            meanRatio: canaryMean / stableMean,
            pValue: 0.2,
          },
        },
        { metric: 'success-rate', status: 'pass', verdict: 'pass', value: 0.999, min: 0.99 },
      ],
    },
  ];
  cur.status = { ...cur.status, analysisRuns: [...(round(3, 101, 100) ?? []), ...(round(2, 104, 100) ?? [])] };
  await admin.update(R.rollouts, cur, 'status');
  const b = await launchChromium();
  try {
    const p = await b.context.newPage();
    await p.goto(dashboard.loginUrl(base, 'root'));
    await p.goto(`${base}/dashboard/#/r/team-b/web`);
    const panel = p.locator('.metric').filter({ has: p.getByRole('heading', { name: 'latency' }) });
    await panel.getByText('Canary vs stable (Mann-Whitney):').waitFor();
    await panel.getByText('canary mean 104 · stable mean 100 · ratio 1.04 · p=0.2 · n=60/60').waitFor();
    await panel.getByText('Values of latency (table)').click();
    assert.equal(await panel.getByRole('columnheader', { name: 'Stable mean' }).count(), 1);
    assert.equal(await panel.getByRole('cell', { name: '101', exact: true }).count(), 1);
    const other = p.locator('.metric').filter({ has: p.getByRole('heading', { name: 'success-rate' }) });
    assert.equal(await other.getByText('Canary vs stable').count(), 0, 'a threshold metric has no comparison');
  } finally {
    await b.close();
  }
});
