// The embedded data plane through `sluice start` (child process), the real kubectl and HTTP through the
// router: an exact 50/25/25 split over three revisions, scale to zero under a config-autoscaler with a short
// grace period then a burst of 100 concurrent first requests, and a process that crashes mid-request.
// Every wait is on a condition. Pre: `npx tsc -p tsconfig.json` built dist/ (bin/sluice.js runs dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { sluiceStartFixture, waitFor } from './support/procs.js';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Obj {
  metadata: { name: string; generation?: number };
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    url?: string;
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    actualReplicas?: number;
    traffic?: Array<{ revisionName?: string; percent?: number }>;
  };
}
interface Answer {
  status: number;
  body: string;
  revision: string;
}

const fx = sluiceStartFixture('sluice-dataplane-e2e-');
const k = (args: string[], input?: string) => fx.kubectl(args, input);

async function getJson(kind: string, name: string): Promise<Obj | undefined> {
  const r = await k(['get', kind, name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
}

const cond = (o: Obj | undefined, type: string): Condition | undefined =>
  o?.status?.conditions?.find((c) => c.type === type);
const isReady = (o: Obj | undefined): boolean =>
  cond(o, 'Ready')?.status === 'True' && o?.status?.observedGeneration === o?.metadata.generation;

async function applyJson(obj: unknown): Promise<void> {
  const r = await k(['apply', '-f', '-'], JSON.stringify(obj));
  assert.equal(r.code, 0, r.stderr);
}

/** One request through the router on its own connection (fetch cannot set Host). */
function get(host: string, path = '/'): Promise<Answer> {
  const url = new URL(fx.sluice.endpoints.router ?? '');
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, revision: String(res.headers['knative-serving-revision'] ?? '') }),
      );
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`GET ${host}${path} timed out`)));
    req.end();
  });
}

const hostOf = (svc: string): string => `${svc}.default.svc.cluster.local`;

function service(name: string, container: Record<string, unknown>, annotations: Record<string, string> = {}): unknown {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { template: { metadata: { annotations }, spec: { containers: [container] } } },
  };
}

/** Waits for a Service to be Ready; the error shows its latest Revision's conditions. */
async function waitReady(svc: string, timeoutMs = 20_000): Promise<void> {
  try {
    await waitFor(`${svc} to be Ready`, async () => isReady(await getJson('ksvc', svc)), timeoutMs);
  } catch (e) {
    const s = await getJson('ksvc', svc);
    const rev = s?.status?.latestCreatedRevisionName;
    const r = rev ? await getJson('revision', rev) : undefined;
    throw new Error(
      `${String(e)}; service: ${JSON.stringify(s?.status?.conditions)}; ${rev}: ${JSON.stringify(r?.status?.conditions)}`,
    );
  }
}

const hello = (target: string): Record<string, unknown> => ({
  image: 'ghcr.io/knative/helloworld-go',
  env: [{ name: 'TARGET', value: target }],
});

test('1,000 requests to a Service split 50/25/25 over three revisions land within ±2 points (by Knative-Serving-Revision)', async () => {
  for (const [i, target] of ['one', 'two', 'three'].entries()) {
    await applyJson(service('split', hello(target)));
    await waitFor(
      `split-0000${i + 1} to be created`,
      async () => (await getJson('ksvc', 'split'))?.status?.latestCreatedRevisionName === `split-0000${i + 1}`,
      20_000,
    );
  }
  await waitFor(
    'split to be Ready on split-00003',
    async () => {
      const s = await getJson('ksvc', 'split');
      return isReady(s) && s?.status?.latestReadyRevisionName === 'split-00003';
    },
    20_000,
  );
  const traffic = [
    { revisionName: 'split-00001', percent: 50 },
    { revisionName: 'split-00002', percent: 25 },
    { revisionName: 'split-00003', percent: 25 },
  ];
  const p = await k(['patch', 'ksvc', 'split', '--type', 'merge', '-p', JSON.stringify({ spec: { traffic } })]);
  assert.equal(p.code, 0, p.stderr);
  await waitFor(
    'the route to show the 50/25/25 split',
    async () => {
      const s = await getJson('ksvc', 'split');
      const t = (s?.status?.traffic ?? [])
        .map((x) => `${x.revisionName}=${x.percent}`)
        .sort()
        .join(',');
      return isReady(s) && t === 'split-00001=50,split-00002=25,split-00003=25';
    },
    20_000,
  );
  // The router's table follows the Route's status; wait until all three revisions answer before counting.
  await waitFor(
    'all three revisions to answer',
    async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) seen.add((await get(hostOf('split'))).revision);
      return seen.size === 3;
    },
    20_000,
  );

  const N = 1000;
  const counts = new Map<string, number>();
  const bad: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < N) {
        next++;
        const a = await get(hostOf('split'));
        if (a.status === 200) counts.set(a.revision, (counts.get(a.revision) ?? 0) + 1);
        else bad.push(a);
      }
    }),
  );
  assert.deepEqual(bad, [], 'every request answered 200');
  for (const t of traffic) {
    const pct = ((counts.get(t.revisionName) ?? 0) / N) * 100;
    assert.ok(
      Math.abs(pct - t.percent) <= 2,
      `${t.revisionName}: ${pct}% of ${N} vs ${t.percent}% (all: ${JSON.stringify([...counts])})`,
    );
  }
  const bodies = new Set(
    (await Promise.all([get(hostOf('split')), get(hostOf('split')), get(hostOf('split')), get(hostOf('split'))])).map(
      (a) => `${a.revision}:${a.body.trim()}`,
    ),
  );
  assert.ok(
    [...bodies].every((b) => /^split-0000([123]):Hello (one|two|three)!$/.test(b)),
    [...bodies].join(' | '),
  );
});

test('with config-autoscaler grace 2s / stable-window 6s an idle revision scales to zero, then 100 concurrent first requests are all served', async () => {
  // What a Knative user does: edit config-autoscaler in knative-serving (Knative's key names).
  await applyJson({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config-autoscaler', namespace: 'knative-serving' },
    data: { 'scale-to-zero-grace-period': '2s', 'stable-window': '6s', 'enable-scale-to-zero': 'true' },
  });
  await applyJson(service('cold', hello('cold')));
  await waitReady('cold');
  const warm = await get(hostOf('cold'));
  assert.equal(warm.status, 200, warm.body);
  const lastRequest = Date.now();

  // Knative's defaults would keep it for 60 s + 30 s; with 6 s + 2 s it goes within a few autoscaler ticks.
  await waitFor(
    'cold-00001 to scale to zero (Active=False NoTraffic, no replicas)',
    async () => {
      const r = await getJson('revision', 'cold-00001');
      return (
        r?.status?.actualReplicas === 0 &&
        cond(r, 'Active')?.status === 'False' &&
        cond(r, 'Active')?.reason === 'NoTraffic' &&
        cond(r, 'Ready')?.status === 'True'
      );
    },
    25_000,
    200,
  );
  const idleMs = Date.now() - lastRequest;
  assert.ok(idleMs >= 8000 - 500, `scaled to zero after ${idleMs} ms idle; stable-window + grace is 8 s`);

  const results = await Promise.all(Array.from({ length: 100 }, () => get(hostOf('cold'))));
  const failed = results.filter((r) => r.status !== 200 || r.revision !== 'cold-00001' || r.body !== 'Hello cold!\n');
  assert.deepEqual(failed, [], `${failed.length} of 100 not served by cold-00001`);
  await waitFor(
    'cold-00001 to be active again',
    async () => cond(await getJson('revision', 'cold-00001'), 'Active')?.status === 'True',
    10_000,
  );
});

test('a process that exits mid-request gives a 502 naming the revision, and the next request is served after the restart', async () => {
  // A tiny server run by `command` (any image needs one unless it is in the image table): /crash exits
  // without answering; anything else answers with its pid.
  const script = [
    "const http = require('node:http');",
    "http.createServer((req, res) => { if (req.url === '/crash') process.exit(3); res.end('pid ' + process.pid + '\\n'); })",
    "  .listen(Number(process.env.PORT), '127.0.0.1');",
  ].join('\n');
  await applyJson(service('crashy', { image: 'example.com/crashy:v1', command: ['node', '-e', script] }));
  await waitReady('crashy');
  const before = await get(hostOf('crashy'));
  assert.equal(before.status, 200, before.body);
  assert.match(before.body, /^pid \d+\n$/);

  const crash = await get(hostOf('crashy'), '/crash');
  assert.equal(crash.status, 502, crash.body);
  assert.equal(crash.revision, 'crashy-00001');
  assert.match(crash.body, /Revision "default\/crashy-00001" failed to answer/);

  const afterCrash = await get(hostOf('crashy'));
  assert.equal(afterCrash.status, 200, afterCrash.body);
  assert.equal(afterCrash.revision, 'crashy-00001');
  assert.match(afterCrash.body, /^pid \d+\n$/);
  assert.notEqual(afterCrash.body, before.body, 'answered by a new process');
});
