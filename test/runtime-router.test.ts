// The router over real sockets and real processes: exact split, tags (host and header), unknown hosts,
// streaming both ways, WebSocket-style upgrades, timeouts, a crash mid-request, route changes with requests in
// flight, and the Knative metrics on /metrics.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Runtime } from '../src/runtime/runtime.js';
import { httpRequest, waitFor, waitForStatus, type SimpleResponse } from '../src/runtime/testing.js';
import type { RevisionSpec, RouteTable } from '../src/runtime/types.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sluice-runtime-router-'));
let rt: Runtime;
let url: string;
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function hello(name: string, target: string): RevisionSpec {
  return {
    namespace: 'default',
    name,
    labels: { 'serving.knative.dev/service': 'web', 'serving.knative.dev/configuration': 'web' },
    containers: [{ image: 'gcr.io/knative-samples/helloworld-go', env: [{ name: 'TARGET', value: target }] }],
  };
}
function echo(name: string, extra: Partial<RevisionSpec> = {}): RevisionSpec {
  return {
    namespace: 'default',
    name,
    serviceName: 'echo',
    containers: [{ image: 'sluice.dev/samples/echo' }],
    ...extra,
  };
}

const baseRoutes: RouteTable['routes'] = [
  {
    namespace: 'default',
    name: 'web',
    traffic: [
      { revisionName: 'web-00001', percent: 50, tag: 'one' },
      { revisionName: 'web-00002', percent: 25, tag: 'two' },
      { revisionName: 'web-00003', percent: 25 },
    ],
  },
  { namespace: 'default', name: 'echo', traffic: [{ revisionName: 'echo-00001', percent: 100 }] },
  { namespace: 'default', name: 'slow', traffic: [{ revisionName: 'slow-00001', percent: 100 }] },
  { namespace: 'default', name: 'crash', traffic: [{ revisionName: 'crash-00001', percent: 100 }] },
  { namespace: 'default', name: 'broken', traffic: [{ revisionName: 'broken-00001', percent: 100 }] },
];

before(async () => {
  rt = new Runtime({ dataDir, tickMs: 200, backoff: { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 } });
  url = (await rt.listen(0)).url;
  rt.upsertRevision(hello('web-00001', 'one'));
  rt.upsertRevision(hello('web-00002', 'two'));
  rt.upsertRevision(hello('web-00003', 'three'));
  rt.upsertRevision(echo('echo-00001'));
  rt.upsertRevision(echo('slow-00001', { timeoutSeconds: 0.3 }));
  rt.upsertRevision(echo('crash-00001'));
  rt.upsertRevision(
    echo('broken-00001', {
      containers: [{ command: [process.execPath, '-e', 'console.error("no config"); process.exit(3)'] }],
    }),
  );
  rt.setRoutes({ domain: 'example.com', routes: baseRoutes, tagHeaderRouting: true });
  await waitFor(
    'all revisions ready',
    () => rt.listRevisions().every((s) => s.ready === (s.name === 'broken-00001' ? 'False' : 'True')),
    15_000,
  );
});
after(async () => {
  agent.destroy();
  await rt.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function get(host: string, path = '/', headers: Record<string, string> = {}): Promise<SimpleResponse> {
  return httpRequest(url, { host, path, headers, agent });
}

test('400 requests over 50/25/25 land exactly 200/100/100, each labelled with its revision', async () => {
  const counts = new Map<string, number>();
  const bodies = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 400) {
        next++;
        const r = await get('web.default.example.com');
        assert.equal(r.status, 200);
        const rev = String(r.headers['knative-serving-revision']);
        assert.equal(r.headers['x-sluice-revision'], rev);
        counts.set(rev, (counts.get(rev) ?? 0) + 1);
        bodies.set(rev, r.body);
      }
    }),
  );
  assert.deepEqual(Object.fromEntries([...counts].sort()), { 'web-00001': 200, 'web-00002': 100, 'web-00003': 100 });
  assert.equal(bodies.get('web-00001'), 'Hello one!\n');
  assert.equal(bodies.get('web-00003'), 'Hello three!\n');
});

describe('host and tag routing', () => {
  interface Case {
    name: string;
    host: string;
    headers?: Record<string, string>;
    wantStatus: number;
    wantRevision?: string;
    wantBody?: RegExp;
  }
  const cases: Case[] = [
    {
      name: 'tag host reaches the tagged revision',
      host: 'two-web.default.example.com',
      wantStatus: 200,
      wantRevision: 'web-00002',
      wantBody: /Hello two!/,
    },
    {
      name: 'tag host with a port and upper case',
      host: 'ONE-web.default.example.com:31080',
      wantStatus: 200,
      wantRevision: 'web-00001',
    },
    {
      name: 'cluster-local tag host',
      host: 'two-web.default.svc.cluster.local',
      wantStatus: 200,
      wantRevision: 'web-00002',
    },
    {
      name: 'Knative-Serving-Tag header picks the tag',
      host: 'web.default.example.com',
      headers: { 'Knative-Serving-Tag': 'two' },
      wantStatus: 200,
      wantRevision: 'web-00002',
    },
    {
      name: 'unknown host is 404 naming the host',
      host: 'nope.default.example.com:8080',
      wantStatus: 404,
      wantBody: /"nope\.default\.example\.com"/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await get(c.host, '/', c.headers);
      assert.equal(r.status, c.wantStatus, r.body);
      if (c.wantRevision) assert.equal(r.headers['knative-serving-revision'], c.wantRevision);
      if (c.wantBody) assert.match(r.body, c.wantBody);
    });
  }

  test('an unknown tag in the header falls back to the split', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++)
      seen.add(
        String(
          (await get('web.default.example.com', '/', { 'Knative-Serving-Tag': 'nope' })).headers[
            'knative-serving-revision'
          ],
        ),
      );
    assert.ok(seen.size > 1, [...seen].join(','));
  });
});

test('bodies stream both ways without buffering, and big bodies arrive intact', async () => {
  // The response's first bytes must arrive before the request body is finished.
  const got = await new Promise<string>((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path: '/',
        headers: { host: 'echo.default.example.com', 'content-type': 'text/plain' },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
          if (body === 'first;') req.end('second');
        });
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.write('first;');
  });
  assert.equal(got, 'first;second');

  const big = Buffer.alloc(4 * 1024 * 1024, 'sluice');
  const r = await httpRequest(url, { host: 'echo.default.example.com', method: 'POST', body: big });
  assert.equal(createHash('sha256').update(r.body).digest('hex'), createHash('sha256').update(big).digest('hex'));
});

test('upgrade requests pass through and both directions flow', async () => {
  const u = new URL(url);
  const echoed = await new Promise<string>((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    let buf = '';
    s.on('data', (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('\r\n\r\n') && !buf.includes('ping-pong')) s.write('ping-pong');
      if (buf.includes('ping-pong')) {
        s.destroy();
        resolve(buf);
      }
    });
    s.on('error', reject);
    s.write('GET /ws HTTP/1.1\r\nHost: echo.default.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  });
  assert.match(echoed, /^HTTP\/1\.1 101/);
  assert.match(echoed, /Knative-Serving-Revision: echo-00001/i);
  assert.match(echoed, /ping-pong$/);
});

test('timeoutSeconds is enforced with a 504 naming the revision', async () => {
  const r = await get('slow.default.example.com', '/sleep/3000');
  assert.equal(r.status, 504);
  assert.match(r.body, /slow-00001/);
  assert.match(r.body, /timeoutSeconds/);
  assert.equal(r.headers['knative-serving-revision'], 'slow-00001');
  assert.equal((await get('slow.default.example.com', '/sleep/10')).status, 200);
});

test('a revision crashing mid-request gives 502 naming it; the next request is served after the restart', async () => {
  const before = rt.revisionStatus('default', 'crash-00001');
  const r = await get('crash.default.example.com', '/crash');
  assert.equal(r.status, 502);
  assert.match(r.body, /crash-00001/);
  assert.equal(r.headers['knative-serving-revision'], 'crash-00001');
  const next = await get('crash.default.example.com', '/');
  assert.equal(next.status, 200, next.body);
  const after = rt.revisionStatus('default', 'crash-00001');
  assert.equal(after?.restartCount, (before?.restartCount ?? 0) + 1);
  assert.equal(after?.lastTermination?.exitCode, 1);
});

test('a revision that never became ready and keeps crashing answers 503 at once, with its status message', async () => {
  const r = await get('broken.default.example.com');
  assert.equal(r.status, 503);
  assert.match(r.body, /broken-00001/);
  assert.match(r.body, /exit code 3/);
  assert.match(r.body, /no config/);
  assert.equal(r.headers['knative-serving-revision'], 'broken-00001');
});

test('a route change takes effect for new requests without dropping one in flight', async () => {
  rt.setRoutes({
    domain: 'example.com',
    routes: [
      ...baseRoutes,
      { namespace: 'default', name: 'move', traffic: [{ revisionName: 'echo-00001', percent: 100 }] },
    ],
    tagHeaderRouting: true,
  });
  const inFlight = get('move.default.example.com', '/sleep/400');
  await waitFor('request in flight', () => (rt.revisionStatus('default', 'echo-00001')?.load.inFlight ?? 0) > 0);
  rt.setRoutes({
    domain: 'example.com',
    routes: [
      ...baseRoutes,
      { namespace: 'default', name: 'move', traffic: [{ revisionName: 'web-00003', percent: 100 }] },
    ],
    tagHeaderRouting: true,
  });
  const moved = await get('move.default.example.com');
  assert.equal(moved.headers['knative-serving-revision'], 'web-00003');
  const old = await inFlight;
  assert.equal(old.status, 200);
  assert.equal(old.headers['knative-serving-revision'], 'echo-00001');
});

test('/metrics exposes Knative queue-proxy series with their labels', async () => {
  await get('web.default.example.com');
  await get('echo.default.example.com', '/status/503');
  const r = await httpRequest(url, { host: '127.0.0.1', path: '/metrics' });
  assert.equal(r.status, 200);
  const sample = (name: string, labels: Record<string, string>): number | undefined => {
    for (const line of r.body.split('\n')) {
      const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
    }
    return undefined;
  };
  const web1 = {
    namespace_name: 'default',
    service_name: 'web',
    configuration_name: 'web',
    revision_name: 'web-00001',
  };
  assert.ok(
    (sample('revision_request_count', { ...web1, response_code: '200', response_code_class: '2xx' }) ?? 0) >= 200,
  );
  assert.ok(
    (sample('revision_request_latencies_bucket', {
      ...web1,
      response_code: '200',
      response_code_class: '2xx',
      le: '100000',
    }) ?? 0) >= 200,
  );
  assert.ok(
    sample('revision_request_latencies_bucket', {
      ...web1,
      response_code: '200',
      response_code_class: '2xx',
      le: '5',
    }) !== undefined,
  );
  assert.equal(
    sample('revision_request_count', {
      namespace_name: 'default',
      service_name: 'echo',
      configuration_name: 'echo',
      revision_name: 'echo-00001',
      response_code: '503',
      response_code_class: '5xx',
    }),
    1,
  );
  assert.ok(
    (sample('revision_request_count', {
      revision_name: 'crash-00001',
      response_code: '502',
      response_code_class: '5xx',
    }) ?? 0) >= 1,
  );
  assert.equal(sample('activator_request_concurrency', web1), 0);
  assert.equal(sample('autoscaler_desired_pods', web1), 1);
  assert.match(r.body, /# TYPE revision_request_count counter/);
  assert.match(r.body, /# TYPE revision_request_latencies histogram/);
  assert.match(r.body, /sluice_router_requests_total\{outcome="unknown_host"\} \d+/);
  await waitForStatus(rt, 'default', 'web-00001', (s) => s.ready === 'True');
});

test("a revision process reaches other Services' cluster-local addresses through the router (curl via HTTP_PROXY)", async () => {
  // The caller runs the real curl, which honours $http_proxy, on the URL it is given, as a user's code would
  // call `http://echo.default.svc.cluster.local` on a cluster: the same URL, not rewritten.
  const caller = [
    "const http = require('node:http');",
    "const { execFile } = require('node:child_process');",
    'http.createServer((q, s) => {',
    "  const target = new URL(q.url, 'http://x').searchParams.get('url');",
    "  if (!target) return s.end('ready');",
    "  execFile('curl', ['-sS', target], (e, out, err) => { s.writeHead(e ? 502 : 200); s.end(e ? String(err) : out); });",
    '}).listen(Number(process.env.PORT));',
  ].join('\n');
  rt.upsertRevision({
    namespace: 'default',
    name: 'caller-00001',
    serviceName: 'caller',
    containers: [{ command: [process.execPath, '-e', caller] }],
  });
  rt.setRoutes({
    domain: 'example.com',
    routes: [
      ...baseRoutes,
      { namespace: 'default', name: 'caller', traffic: [{ revisionName: 'caller-00001', percent: 100 }] },
    ],
    tagHeaderRouting: true,
  });
  await waitFor('caller-00001 ready', () => rt.revisionStatus('default', 'caller-00001')?.ready === 'True', 15_000);
  const call = (target: string): Promise<SimpleResponse> =>
    get('caller.default.example.com', `/?url=${encodeURIComponent(target)}`);
  const r = await call('http://echo.default.svc.cluster.local/from-caller?x=1');
  assert.equal(r.status, 200, r.body);
  const echoed = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
  assert.equal(echoed.url, '/from-caller?x=1');
  assert.equal(echoed.headers['host'], 'echo.default.svc.cluster.local');
  const tagged = await call('http://two-web.default.svc.cluster.local/');
  assert.equal(tagged.body, 'Hello two!\n', 'a tag’s cluster-local address reaches the tagged revision');
  const unknown = await call('http://nope.default.svc.cluster.local/');
  assert.match(unknown.body, /No route for host "nope\.default\.svc\.cluster\.local"/, 'never sent out to DNS');
});
