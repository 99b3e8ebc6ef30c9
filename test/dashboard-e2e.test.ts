// The dashboard end to end in a real browser: `sluice start` as a child process (API server, Serving, router
// with real revision processes, local Prometheus, rollout controller), Debian's headless Chromium driven by
// playwright-core, Services and policies applied with the real kubectl. Every wait is on a condition.
//   gate  canary 25 → pause {} → 75 → pause 1s: promoted from the page, with a reason
//   bad   canary with analysis, a revision answering 500 under steady traffic: rolled back, seen live
//   late  governed after the page opened, across a dropped SSE connection, then deleted
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import { KubeClient, R } from '../src/kube/index.js';
import type { RolloutObject } from '../src/rollout/controller/types.js';
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
import { launchChromium, type Browser } from './support/chromium.js';
import { helloService } from './support/manifests.js';

const NS = 'default';
const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
const SUCCESS_RATE = `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or sum(rate(revision_request_count{${SEL}}[{{interval}}])) * 0) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
const FIVE_HUNDRED =
  "require('http').createServer((q, s) => { s.writeHead(500, {'content-type': 'text/plain'}); s.end('boom\\n'); }).listen(process.env.PORT)";

const service = (name: string, target: string, command?: string[]): Record<string, unknown> =>
  helloService(NS, name, target, command);
function policy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'delivery.sluice.dev/v1alpha1',
    kind: 'RolloutPolicy',
    metadata: { name, namespace: NS },
    spec: { targetRef: { name }, rollback: { to: 'pinned' }, progressDeadline: '60s', ...spec },
  };
}
const GATE = policy('gate', {
  strategy: { canary: { steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 75 }, { pause: { duration: '1s' } }] } },
});
const BAD = policy('bad', {
  strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: {} }, { setWeight: 50 }, { analysis: {} }] } },
  analysis: {
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
  },
});
const LATE = policy('late', { strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }] } } });

let dir: string;
let sluice: SluiceProcess;
let client: KubeClient;
let kubeconfig: string;
let browser: Browser;
let page: Page;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
let trafficOn = true;
let traffic: Promise<void> | undefined;

async function apply(...objs: Record<string, unknown>[]): Promise<void> {
  const r = await kubectl(
    kubeconfig,
    join(dir, 'cache'),
    ['apply', '-f', '-'],
    objs.map((o) => JSON.stringify(o)).join('\n'),
  );
  assert.equal(r.code, 0, `kubectl apply: ${r.stderr}`);
}
const rollout = (name: string): Promise<RolloutObject | undefined> =>
  client.tryGet<RolloutObject>(R.rollouts, NS, name);
async function until(
  name: string,
  what: string,
  pred: (r: RolloutObject) => boolean,
  timeoutMs = 40_000,
): Promise<RolloutObject> {
  return waitFor(
    `${name}: ${what}`,
    async () => {
      const r = await rollout(name);
      return r && pred(r) ? r : undefined;
    },
    timeoutMs,
    100,
  );
}
const dashboardCli = (args: string[]): ReturnType<typeof run> =>
  run(process.execPath, [SLUICE_BIN, 'dashboard', ...args]);

/** ~30 requests/s to `bad` through the router, so its metrics have data. */
function steadyTraffic(host: string): Promise<void> {
  const url = new URL(sluice.endpoints.router ?? '');
  const get = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', () => resolve());
      req.setTimeout(5_000, () => req.destroy());
      req.end();
    });
  return (async () => {
    while (trafficOn) {
      await get();
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
}

/** A raw request to the controller port (no browser): status, headers and body. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
  base = sluice.endpoints.controller ?? '',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
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

/** A session cookie for raw requests, from a fresh login URL. */
async function sessionCookie(): Promise<string> {
  const url = (await dashboardCli(['--data', sluice.dataDir])).stdout.trim();
  const r = await raw('GET', url);
  assert.equal(r.status, 303);
  const set = String(r.headers['set-cookie'] ?? '');
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  return set.split(';')[0] ?? '';
}

before(async () => {
  dir = await tempDir('sluice-dashboard-e2e-');
  sluice = await startSluice('start', join(dir, 'data'), ['--no-repo']);
  kubeconfig = join(sluice.dataDir, 'kubeconfig');
  client = KubeClient.fromFile(kubeconfig, 'dashboard-e2e');
  browser = await launchChromium();
  page = await browser.context.newPage();
  await apply(GATE, BAD, service('gate', 'v1'), service('bad', 'v1'));
  for (const n of ['gate', 'bad'])
    await until(
      n,
      'first revision pinned',
      (r) => r.status?.stableRevision === `${n}-00001` && (r.status.traffic?.length ?? 0) > 0,
    );
  traffic = steadyTraffic(`bad.${NS}.svc.cluster.local`);
});

after(async () => {
  trafficOn = false;
  await traffic;
  await browser?.close();
  await sluice?.stop();
  agent.destroy();
  await removeDir(dir);
});

test('the dashboard URL of endpoints.json signs in once; the page without the session cookie is 401', async () => {
  const url = (sluice.endpoints as { dashboard?: string }).dashboard;
  assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/dashboard\/\?token=/);
  assert.match(sluice.output(), /dashboard +http:\/\/127\.0\.0\.1:\d+\/dashboard\/\?token=/, 'sluice start prints it');
  const anon = await raw('GET', '/dashboard/');
  assert.equal(anon.status, 401);
  assert.match(String(anon.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal((await raw('GET', '/dashboard/api/rollouts')).status, 401);

  await page.goto(url ?? '');
  assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar');
  await page.getByRole('link', { name: 'gate', exact: true }).waitFor();
  const row = page.locator('tr[data-key="default/gate"]');
  await row.getByText('Succeeded').or(row.getByText('Pending')).first().waitFor();

  // The token was used: a second browser profile gets the sign-in page, not the dashboard.
  const other = await launchChromium();
  try {
    const p = await other.context.newPage();
    const resp = await p.goto(url ?? '');
    assert.equal(resp?.status(), 401);
    await p.getByText('already used or has expired').waitFor();
    // `sluice dashboard` prints a fresh URL that works.
    const fresh = await dashboardCli(['--data', sluice.dataDir]);
    assert.equal(fresh.code, 0, fresh.stderr);
    await p.goto(fresh.stdout.trim());
    await p.getByRole('link', { name: 'gate', exact: true }).waitFor();
  } finally {
    await other.close();
  }
});

test('a rollout paused at pause: {} shows Promote; confirming it moves the rollout on and the timeline records who and why', async () => {
  await page.goto(`${sluice.endpoints.controller}/dashboard/#/r/default/gate`);
  await apply(service('gate', 'v2'));
  const sentence = page.locator('#sentence');
  await sentence.getByText('Paused at step 2/4 — waiting for promote').waitFor({ timeout: 30_000 });
  const promote = page.getByRole('button', { name: 'Promote', exact: true });
  await promote.waitFor();
  for (const name of ['Promote full', 'Pause', 'Resume', 'Abort', 'Retry'])
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 1, `button ${name}`);
  const resume = page.getByRole('button', { name: 'Resume', exact: true });
  assert.equal(await resume.getAttribute('aria-disabled'), 'true');
  await page.getByText('Resume unavailable: paused at a pause step; use Promote').waitFor();
  await page.getByText('Pause until promoted').waitFor();

  await promote.click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('traffic to gate-00002: 25 % → 75 %').waitFor();
  await dialog.getByLabel('Reason (optional, recorded in the timeline)').fill('smoke tests green');
  await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
  await sentence.getByText('Succeeded — gate-00002 serves 100 %').waitFor({ timeout: 30_000 });
  await page
    .locator('.timeline')
    .getByText(/\(dashboard\): promote/)
    .waitFor();
  await page.locator('.timeline').getByText('reason: smoke tests green').waitFor();
  const ro = await rollout('gate');
  const action = ro?.status?.timeline?.find((e) => e.type === 'action');
  assert.equal(action?.event, 'promote');
  assert.equal(action?.reason, 'smoke tests green');
  assert.match(action?.actor ?? '', /\(dashboard\)$/);
  assert.equal(ro?.status?.pastRollouts?.at(-1)?.outcome, 'Succeeded');
  // Finished: Promote now says why it cannot.
  await page.getByText('Promote unavailable: the rollout is Succeeded').waitFor();
});

test('a 5xx canary shows the failing metric and the rollback sentence without a reload', async () => {
  await page.goto(`${sluice.endpoints.controller}/dashboard/#/r/default/bad`);
  await page
    .locator('#sentence')
    .getByText(/Succeeded|Pending/)
    .waitFor();
  const loadedAt = await page.evaluate<number>('window.sluiceLoadedAt');
  await apply(service('bad', 'v2', ['node', '-e', FIVE_HUNDRED]));
  const t = Date.now();
  await page
    .locator('#sentence')
    .getByText(/Roll(ed|ing) back — .*success-rate 0 < 0\.99/)
    .waitFor({ timeout: 45_000 });
  const seenAfter = Date.now() - t;
  await page
    .locator('.metric')
    .getByText(/latest 0 — fail/)
    .waitFor();
  await page.locator('.metric pre code').getByText('revision_request_count').first().waitFor();
  assert.equal(await page.evaluate<number>('window.sluiceLoadedAt'), loadedAt, 'no reload');
  await page.locator('#sentence').getByText('Rolled back — bad-00001 serves 100 %').waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Retry', exact: true }).waitFor();
  console.log(`# rollback sentence on the page ${seenAfter} ms after the bad revision was applied`);
});

/** A TCP proxy to the controller whose connections the test can drop; it notes each request head. */
function dropProxy(target: URL): Promise<{ server: Server; url: string; drop(): void; heads: string[] }> {
  const sockets = new Set<Socket>();
  const heads: string[] = [];
  const server = createServer((c) => {
    const up = connect(Number(target.port), target.hostname);
    sockets.add(c).add(up);
    c.on('data', (d: Buffer) => heads.push(d.toString('latin1').split('\r\n\r\n')[0] ?? ''));
    c.pipe(up).pipe(c);
    const gone = (): void => {
      c.destroy();
      up.destroy();
      sockets.delete(c);
      sockets.delete(up);
    };
    c.on('error', gone).on('close', gone);
    up.on('error', gone).on('close', gone);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        server,
        url: `http://127.0.0.1:${port}`,
        heads,
        drop: () => {
          for (const s of sockets) s.destroy();
        },
      });
    }),
  );
}

test('a dropped SSE connection resumes with Last-Event-ID, without a reload; a deletion shows', async () => {
  const proxy = await dropProxy(new URL(sluice.endpoints.controller ?? ''));
  try {
    const login = (await dashboardCli(['--data', sluice.dataDir, '--url', proxy.url])).stdout.trim();
    const p = await browser.context.newPage();
    await p.goto(login);
    await p.getByRole('link', { name: 'bad', exact: true }).waitFor();
    await p.locator('#conn').getByText('live').waitFor();
    const loadedAt = await p.evaluate<number>('window.sluiceLoadedAt');
    proxy.drop();
    await p.locator('#conn').getByText('reconnecting…').waitFor();
    await apply(LATE, service('late', 'v1'));
    await p.getByRole('link', { name: 'late', exact: true }).waitFor({ timeout: 30_000 });
    await p.locator('#conn').getByText('live').waitFor();
    assert.ok(
      proxy.heads.some((h) => /^GET \/dashboard\/api\/events/.test(h) && /^last-event-id: \w+\.\d+$/im.test(h)),
      'the reconnect carried Last-Event-ID',
    );
    assert.equal(await p.evaluate<number>('window.sluiceLoadedAt'), loadedAt);
    const del = await kubectl(kubeconfig, join(dir, 'cache'), ['delete', 'ksvc', 'late']);
    assert.equal(del.code, 0, del.stderr);
    await p.locator('tr[data-key="default/late"]').getByText('Deleted').waitFor({ timeout: 30_000 });
    await p.close();
  } finally {
    proxy.server.close();
  }
});

test('mutations: cross-origin POST is 403, a POST without the CSRF header is 403, GET never mutates', async () => {
  const cookie = await sessionCookie();
  const host = new URL(sluice.endpoints.controller ?? '').host;
  const before = (await rollout('gate'))?.spec?.commands?.length ?? 0;
  const cross = await raw('POST', '/dashboard/api/rollouts/default/gate/abort', {
    cookie,
    origin: 'http://evil.example',
    'x-sluice-csrf': 'anything',
  });
  assert.equal(cross.status, 403);
  assert.equal((JSON.parse(cross.body) as { code: string }).code, 'SLUICE_ERR_DASHBOARD_CROSS_ORIGIN');
  const noCsrf = await raw('POST', '/dashboard/api/rollouts/default/gate/abort', { cookie, origin: `http://${host}` });
  assert.equal(noCsrf.status, 403);
  assert.equal((JSON.parse(noCsrf.body) as { code: string }).code, 'SLUICE_ERR_DASHBOARD_CSRF');
  const get = await raw('GET', '/dashboard/api/rollouts/default/gate/abort', { cookie });
  assert.equal(get.status, 405);
  const rebound = await raw('GET', '/dashboard/api/rollouts', { cookie, host: 'evil.example' });
  assert.equal(rebound.status, 403, 'a DNS-rebound Host is refused');
  assert.equal((await rollout('gate'))?.spec?.commands?.length ?? 0, before, 'nothing was appended');
});

test('--read-only: no action buttons, and actions are refused', async () => {
  const work = join(dir, 'ro-controller');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      SLUICE_BIN,
      'controller',
      '--kubeconfig',
      kubeconfig,
      '--prometheus-url',
      'http://127.0.0.1:9',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--work-dir',
      work,
      '--read-only',
      '--no-repo',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const base = await waitFor(
      'the read-only controller to listen',
      () => /listening on (http:\/\/\S+)/.exec(out)?.[1],
      20_000,
    );
    const login = await dashboardCli(['--data', work, '--url', base]);
    assert.equal(login.code, 0, login.stderr);
    const p = await browser.context.newPage();
    await p.goto(`${login.stdout.trim()}`);
    await p.goto(`${base}/dashboard/#/r/default/bad`);
    await p.getByText('Read-only dashboard: actions are off (--read-only).').waitFor({ timeout: 20_000 });
    for (const name of ['Promote', 'Promote full', 'Pause', 'Resume', 'Abort', 'Retry'])
      assert.equal(await p.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button`);
    const refused = await p.evaluate<{ status: number; body: { code: string } }>(`(async () => {
      const csrf = document.querySelector('meta[name="sluice-csrf"]').content;
      const r = await fetch('/dashboard/api/rollouts/default/bad/retry', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Sluice-CSRF': csrf },
        body: '{}',
      });
      return { status: r.status, body: await r.json() };
    })()`);
    assert.deepEqual([refused.status, refused.body.code], [403, 'SLUICE_ERR_DASHBOARD_READ_ONLY']);
    await p.close();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

const TEAM_RBAC = [
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'watcher', namespace: NS } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: NS } },
  ...[
    ['rollout-watcher', ['get', 'list', 'watch']],
    ['rollout-deployer', ['get', 'list', 'watch', 'patch']],
  ].map(([name, verbs]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace: NS },
    rules: [{ apiGroups: ['delivery.sluice.dev'], resources: ['rollouts'], verbs }],
  })),
  ...['watcher', 'deployer'].map((sa) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `rollout-${sa}`, namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `rollout-${sa}` },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: NS }],
  })),
];

test('RBAC: a read-only ServiceAccount sees no buttons and its forged POST is 403; a deployer promotes as itself', async () => {
  await apply(...TEAM_RBAC);
  const token = async (sa: string): Promise<string> => {
    const t = await kubectl(kubeconfig, join(dir, 'cache'), ['create', 'token', sa, '-n', NS, '--duration=30m']);
    assert.equal(t.code, 0, t.stderr);
    return t.stdout.trim();
  };
  const watcherToken = await token('watcher');
  const deployerToken = await token('deployer');
  await apply(service('gate', 'v3'));
  await until(
    'gate',
    'gate-00003 paused at pause {}',
    (r) => r.status?.canaryRevision === 'gate-00003' && r.status.phase === 'Paused',
  );

  const b = await launchChromium();
  try {
    const p = await b.context.newPage();
    const signIn = async (tok: string): Promise<void> => {
      const resp = await p.goto(`${sluice.endpoints.controller}/dashboard/`);
      assert.equal(resp?.status(), 401);
      await p.getByLabel(/Bearer token/).fill(tok);
      await p.getByRole('button', { name: 'Sign in', exact: true }).click();
      await p
        .locator('#conn')
        .getByText('live')
        .waitFor({ timeout: 10_000 })
        .catch(async (e: unknown) => {
          throw new Error(`not signed in: ${p.url()} ${(await p.content()).slice(0, 1500)}`, { cause: e });
        });
    };

    await signIn(watcherToken);
    await p.locator('#user').getByText(`system:serviceaccount:${NS}:watcher`).waitFor();
    await p.goto(`${sluice.endpoints.controller}/dashboard/#/r/${NS}/gate`);
    await p.locator('#sentence').getByText('Paused at step 2/4 — waiting for promote').waitFor();
    await p.getByText(/may view this rollout but not change it/).waitFor();
    for (const name of ['Promote', 'Promote full', 'Pause', 'Resume', 'Abort', 'Retry'])
      assert.equal(await p.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button for the watcher`);
    const forged = await p.evaluate<{ status: number; body: { code: string; message: string } }>(`(async () => {
      const csrf = document.querySelector('meta[name="sluice-csrf"]').content;
      const r = await fetch('/dashboard/api/rollouts/${NS}/gate/promote', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Sluice-CSRF': csrf },
        body: '{}',
      });
      return { status: r.status, body: await r.json() };
    })()`);
    assert.deepEqual([forged.status, forged.body.code], [403, 'SLUICE_ERR_DASHBOARD_FORBIDDEN']);
    assert.match(forged.body.message, /cannot patch resource "rollouts"/, 'the API server refused it, not the page');
    assert.equal((await rollout('gate'))?.status?.phase, 'Paused');

    await p.getByRole('button', { name: 'Sign out', exact: true }).click();
    await p.getByRole('heading', { name: 'Sign in to the Sluice dashboard' }).waitFor();
    await signIn(deployerToken);
    await p.goto(`${sluice.endpoints.controller}/dashboard/#/r/${NS}/gate`);
    const promote = p.getByRole('button', { name: 'Promote', exact: true });
    await promote.waitFor();
    await promote.click();
    const dialog = p.getByRole('dialog');
    await dialog.getByText('traffic to gate-00003: 25 % → 75 %').waitFor();
    await dialog.getByLabel('Reason (optional, recorded in the timeline)').fill('approved by the deployer');
    await dialog.getByRole('button', { name: 'Promote', exact: true }).click();
    await p.locator('#sentence').getByText('Succeeded — gate-00003 serves 100 %').waitFor({ timeout: 30_000 });
    const actor = `system:serviceaccount:${NS}:deployer (dashboard)`;
    await p.locator('.timeline').getByText(`${actor}: promote`).waitFor();
    const ro = await rollout('gate');
    const action = ro?.status?.timeline?.filter((e) => e.type === 'action').at(-1);
    assert.deepEqual([action?.actor, action?.reason], [actor, 'approved by the deployer']);
  } finally {
    await b.close();
  }
});
