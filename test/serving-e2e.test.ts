// Knative Serving, embedded, end to end: `sluice start` as a child process, the real kubectl, and HTTP
// through the router. Follows the Knative helloworld tutorial: create, change env, break the container,
// split traffic with tags, get denied by the webhook, delete. Every wait is on a condition.
// Pre: `npx tsc -p tsconfig.json` built dist/ (bin/sluice.js runs dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { sluiceStartFixture, waitFor } from './support/procs.js';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Obj {
  metadata: { name: string; generation?: number; resourceVersion?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    url?: string;
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    traffic?: Array<{ revisionName?: string; percent?: number; latestRevision?: boolean; tag?: string; url?: string }>;
  };
}

const fx = sluiceStartFixture('sluice-serving-e2e-');
const k = (args: string[], input?: string) => fx.kubectl(args, input);

async function getJson(kind: string, name: string): Promise<Obj | undefined> {
  const r = await k(['get', kind, name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as Obj;
}

async function listNames(kind: string): Promise<string[]> {
  const r = await k(['get', kind, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { items: Obj[] }).items.map((o) => o.metadata.name).sort();
}

const cond = (o: Obj | undefined, type: string): Condition | undefined =>
  o?.status?.conditions?.find((c) => c.type === type);

/** Ready=True for the current generation. */
const isReady = (o: Obj | undefined): boolean =>
  cond(o, 'Ready')?.status === 'True' && o?.status?.observedGeneration === o?.metadata.generation;

/** GET / on the router with a Host header (fetch cannot set Host). */
function get(host: string): Promise<{ status: number; body: string; revision: string }> {
  const url = new URL(fx.sluice.endpoints.router ?? '');
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, revision: String(res.headers['knative-serving-revision'] ?? '') }),
      );
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${host} timed out`)));
    req.end();
  });
}

const HOST = 'hello.default.svc.cluster.local';

function service(name: string, container: string, traffic = ''): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  template:
    spec:
      containers:
${container}
${traffic}`;
}

const helloContainer = (target: string): string => `        - image: ghcr.io/knative/helloworld-go
          env:
            - name: TARGET
              value: "${target}"`;

async function apply(yaml: string, file = 'svc.yaml'): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = join(fx.dir, file);
  await writeFile(p, yaml);
  return k(['apply', '-f', p]);
}

test('the helloworld Service becomes Ready with hello-00001 at 100% and the router answers Hello World!', async () => {
  const r = await apply(service('hello', helloContainer('World')));
  assert.equal(r.code, 0, r.stderr);
  const svc = await waitFor(
    'ksvc hello Ready',
    async () => {
      const s = await getJson('ksvc', 'hello');
      return isReady(s) ? s : undefined;
    },
    20_000,
  );
  assert.equal(svc.status?.latestCreatedRevisionName, 'hello-00001');
  assert.equal(svc.status?.latestReadyRevisionName, 'hello-00001');
  assert.equal(svc.status?.url, `http://${HOST}`);
  assert.deepEqual(svc.status?.traffic, [{ revisionName: 'hello-00001', percent: 100, latestRevision: true }]);
  for (const t of ['ConfigurationsReady', 'RoutesReady']) assert.equal(cond(svc, t)?.status, 'True', t);
  const route = await getJson('route', 'hello');
  for (const t of ['AllTrafficAssigned', 'IngressReady']) assert.equal(cond(route, t)?.status, 'True', t);
  assert.equal(cond(route, 'CertificateProvisioned')?.reason, 'TLSNotEnabled');
  const rev = await getJson('revision', 'hello-00001');
  for (const t of ['Ready', 'ContainerHealthy', 'ResourcesAvailable']) assert.equal(cond(rev, t)?.status, 'True', t);
  assert.equal(rev?.metadata.labels?.['serving.knative.dev/routingState'], 'active');
  const res = await get(HOST);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'Hello World!\n');
  assert.equal(res.revision, 'hello-00001');
});

test('statuses stop changing once everything is Ready (no resourceVersion churn)', async () => {
  const rvs = async (): Promise<string[]> =>
    Promise.all(
      [
        ['ksvc', 'hello'],
        ['configuration', 'hello'],
        ['route', 'hello'],
        ['revision', 'hello-00001'],
      ].map(async ([kind, name]) => (await getJson(kind!, name!))?.metadata.resourceVersion ?? ''),
    );
  const first = await rvs();
  await get(HOST);
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(await rvs(), first);
});

test('an env change makes hello-00002 and the router answers the new text', async () => {
  const r = await apply(service('hello', helloContainer('Sluice')));
  assert.equal(r.code, 0, r.stderr);
  await waitFor(
    'ksvc hello Ready on hello-00002',
    async () => {
      const s = await getJson('ksvc', 'hello');
      return (
        isReady(s) &&
        s?.status?.latestReadyRevisionName === 'hello-00002' &&
        s.status.traffic?.[0]?.revisionName === 'hello-00002'
      );
    },
    20_000,
  );
  const res = await waitFor('the router to answer Hello Sluice!', async () => {
    const x = await get(HOST);
    return x.body === 'Hello Sluice!\n' ? x : undefined;
  });
  assert.equal(res.revision, 'hello-00002');
  assert.deepEqual(await listNames('revisions'), ['hello-00001', 'hello-00002']);
});

const broken = `        - image: ghcr.io/knative/helloworld-go
          command: ["sh", "-c", "echo 'cannot open /etc/hello.conf' >&2; exit 1"]`;

test('a broken container gives a failed Revision with a readable reason while the old revision keeps serving', async () => {
  const r = await apply(service('hello', broken));
  assert.equal(r.code, 0, r.stderr);
  const rev = await waitFor(
    'revision hello-00003 Ready=False',
    async () => {
      const x = await getJson('revision', 'hello-00003');
      return cond(x, 'Ready')?.status === 'False' ? x : undefined;
    },
    20_000,
  );
  const ready = cond(rev, 'Ready');
  assert.equal(ready?.reason, 'ExitCode1');
  assert.match(ready?.message ?? '', /exit code 1/);
  assert.match(ready?.message ?? '', /cannot open \/etc\/hello\.conf/, "the container's own words reach the status");
  assert.equal(cond(rev, 'ContainerHealthy')?.status, 'False');
  const svc = await waitFor('ksvc hello Ready=False RevisionFailed', async () => {
    const s = await getJson('ksvc', 'hello');
    return cond(s, 'Ready')?.status === 'False' && cond(s, 'Ready')?.reason === 'RevisionFailed' ? s : undefined;
  });
  assert.match(
    cond(svc, 'Ready')?.message ?? '',
    /^Revision "hello-00003" failed with message: Container failed with exit code 1/,
  );
  assert.equal(svc.status?.latestCreatedRevisionName, 'hello-00003');
  assert.equal(svc.status?.latestReadyRevisionName, 'hello-00002');
  for (let i = 0; i < 4; i++) {
    const x = await get(HOST);
    assert.equal(x.body, 'Hello Sluice!\n', 'the last ready revision keeps serving');
  }
});

/** The Events section of `kubectl describe`, as [type, reason, from, message] rows in the order printed. */
async function describedEvents(kind: string, name: string): Promise<string[][]> {
  const r = await k(['describe', kind, name]);
  assert.equal(r.code, 0, r.stderr);
  const section = r.stdout.split(/^Events:/m)[1] ?? '';
  return section
    .split('\n')
    .map((l) => /^\s+(Normal|Warning)\s+(\S+)\s+.+?\s{2,}(\S+-controller)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1] ?? '', m[2] ?? '', m[3] ?? '', m[4] ?? '']);
}

test("kubectl describe lists the reconcilers' Events in order, with Knative's reasons and messages", async () => {
  const want: Record<string, string[][]> = {
    'ksvc/hello': [
      ['Normal', 'Created', 'service-controller', 'Created Configuration "hello"'],
      ['Normal', 'Created', 'service-controller', 'Created Route "hello"'],
    ],
    'configuration/hello': [
      ['Normal', 'Created', 'configuration-controller', 'Created Revision "hello-00001"'],
      ['Normal', 'ConfigurationReady', 'configuration-controller', 'Configuration becomes ready'],
      ['Normal', 'LatestReadyUpdate', 'configuration-controller', 'LatestReadyRevisionName updated to "hello-00001"'],
      ['Normal', 'Created', 'configuration-controller', 'Created Revision "hello-00002"'],
      ['Normal', 'LatestReadyUpdate', 'configuration-controller', 'LatestReadyRevisionName updated to "hello-00002"'],
      ['Normal', 'Created', 'configuration-controller', 'Created Revision "hello-00003"'],
      [
        'Warning',
        'LatestCreatedFailed',
        'configuration-controller',
        'Latest created revision "hello-00003" has failed',
      ],
    ],
    'route/hello': [['Normal', 'Created', 'route-controller', 'Created Ingress "hello"']],
    'revision/hello-00001': [
      ['Normal', 'RevisionReady', 'revision-controller', 'Revision becomes ready upon all resources being ready'],
    ],
  };
  for (const [ref, rows] of Object.entries(want)) {
    const [kind, name] = ref.split('/') as [string, string];
    const reasons = new Set(rows.map((r) => r[1]));
    let got: string[][] = [];
    await waitFor(`events of ${ref}`, async () => {
      // A failing revision may be reported more than once (aggregated as one row); compare the distinct rows.
      got = (await describedEvents(kind, name)).filter(
        (r, i, all) => reasons.has(r[1] ?? '') && all.findIndex((x) => x.join('|') === r.join('|')) === i,
      );
      return got.length >= rows.length;
    });
    assert.deepEqual(got, rows, ref);
  }
});

test('a traffic-only change makes no new revision and each tag gets a URL that reaches its revision', async () => {
  const traffic = `  traffic:
    - revisionName: hello-00001
      percent: 50
      tag: one
    - revisionName: hello-00002
      percent: 50
      tag: two`;
  // The template stays the (broken) hello-00003 one: only spec.traffic changes.
  const names = await listNames('revisions');
  const r = await apply(service('hello', broken, traffic));
  assert.equal(r.code, 0, r.stderr);
  const svc = await waitFor('route status with the 50/50 split', async () => {
    const s = await getJson('ksvc', 'hello');
    return s?.status?.traffic?.length === 2 && cond(s, 'RoutesReady')?.status === 'True' ? s : undefined;
  });
  assert.deepEqual(svc.status?.traffic, [
    {
      tag: 'one',
      revisionName: 'hello-00001',
      percent: 50,
      latestRevision: false,
      url: 'http://one-hello.default.svc.cluster.local',
    },
    {
      tag: 'two',
      revisionName: 'hello-00002',
      percent: 50,
      latestRevision: false,
      url: 'http://two-hello.default.svc.cluster.local',
    },
  ]);
  const swap = traffic
    .replace('percent: 50\n      tag: one', 'percent: 20\n      tag: one')
    .replace('percent: 50\n      tag: two', 'percent: 80\n      tag: two');
  assert.equal((await apply(service('hello', broken, swap))).code, 0);
  await waitFor(
    'route status 20/80',
    async () => (await getJson('route', 'hello'))?.status?.traffic?.[0]?.percent === 20,
  );
  assert.deepEqual(await listNames('revisions'), names, 'a traffic-only change creates no Revision');
  assert.equal((await getJson('configuration', 'hello'))?.metadata.generation, 3, 'the Configuration did not change');
  const one = await get('one-hello.default.svc.cluster.local');
  assert.equal(one.body, 'Hello World!\n');
  assert.equal(one.revision, 'hello-00001');
  const two = await get('two-hello.default.svc.cluster.local');
  assert.equal(two.body, 'Hello Sluice!\n');
  // The main host splits exactly 20/80 over every 10 requests (smooth weighted round-robin).
  const counts = new Map<string, number>();
  for (let i = 0; i < 10; i++) {
    const x = await get(HOST);
    counts.set(x.revision, (counts.get(x.revision) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(counts), { 'hello-00001': 2, 'hello-00002': 8 });
});

test("kubectl apply of traffic summing to 110 prints Knative's webhook message and changes nothing", async () => {
  const bad = `  traffic:
    - revisionName: hello-00001
      percent: 60
    - revisionName: hello-00002
      percent: 50`;
  const r = await apply(service('bad', helloContainer('X'), bad), 'x.yaml');
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /Error from server \(BadRequest\): error when creating ".*x\.yaml": admission webhook "validation\.webhook\.serving\.knative\.dev" denied the request: validation failed: Traffic targets sum to 110, want 100: spec\.traffic/,
  );
  assert.equal(await getJson('ksvc', 'bad'), undefined);
  const before = await getJson('ksvc', 'hello');
  const u = await apply(service('hello', broken, bad), 'x.yaml');
  assert.notEqual(u.code, 0);
  assert.match(u.stderr, /validation failed: Traffic targets sum to 110, want 100: spec\.traffic/);
  const afterSvc = await getJson('ksvc', 'hello');
  assert.equal(afterSvc?.metadata.resourceVersion, before?.metadata.resourceVersion);
});

test('deleting the Service cascades to its Configuration, Route and Revisions and the router forgets it', async () => {
  const r = await k(['delete', 'ksvc', 'hello']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor('children to be garbage collected', async () => {
    const all = await Promise.all(['configurations', 'routes', 'revisions'].map(listNames));
    return all.every((l) => l.length === 0);
  });
  await waitFor('the router to stop serving hello', async () => (await get(HOST)).status === 404);
});

test('SIGTERM stops sluice start and its revision processes', async () => {
  const r = await apply(service('bye', helloContainer('Bye')));
  assert.equal(r.code, 0, r.stderr);
  await waitFor('ksvc bye Ready', async () => isReady(await getJson('ksvc', 'bye')), 20_000);
  const pid = fx.sluice.child.pid ?? 0;
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8'))
    .trim()
    .split(/\s+/)
    .filter((x) => x !== '')
    .map(Number);
  assert.ok(children.length >= 1, 'the revision runs as a child process of sluice');
  await fx.sluice.stop('SIGTERM');
  assert.equal(fx.sluice.child.exitCode, 0, fx.sluice.output());
  await waitFor('revision processes to exit', () => children.every((c) => !existsSync(`/proc/${c}`)), 5_000);
});
