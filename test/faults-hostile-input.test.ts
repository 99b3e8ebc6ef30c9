// Issue 11, problem 4: hostile input to the API server gets a clean 4xx naming the limit, and one client's heavy
// body does not stall the others. The embedded API server over real HTTPS; the RolloutPolicy admission webhook
// of `sluice controller` (certificates in a Secret, AdmissionReview in and out) against it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:https';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { KubeClient, R } from '../src/kube/index.js';
import { CERT_SECRET, startPolicyWebhook } from '../src/cli/policy-webhook.js';
import { jsonDepth, yamlDepth, MAX_NESTING_DEPTH } from '../src/util/bounded-json.js';
import { ROOT, tempDir, removeDir } from './support/procs.js';

let api: RunningApiServer;
let dir: string;

before(async () => {
  dir = await tempDir('sluice-hostile-');
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
  });
});
after(async () => {
  await api.close();
  await removeDir(dir);
});

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  ms: number;
}
function send(
  base: string,
  ca: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
  servername?: string,
): Promise<Reply> {
  const u = new URL(base + path);
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const r = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        ca,
        ...(servername ? { servername } : {}),
        headers: { Authorization: `Bearer ${api.token}`, 'Content-Type': 'application/json', ...headers },
      },
      (resp) => {
        let b = '';
        resp.on('data', (d: Buffer) => (b += d.toString()));
        resp.on('end', () =>
          res({ status: resp.statusCode ?? 0, body: b, headers: resp.headers, ms: Date.now() - t0 }),
        );
      },
    );
    r.on('error', rej);
    if (body !== undefined) r.write(body);
    r.end();
  });
}
const apiReq = (method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> =>
  send(api.url, api.caPem, method, path, body, headers);

const SVCS = '/apis/serving.knative.dev/v1/namespaces/default/services';
const nested = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const deepService = (name: string, depth: number): string =>
  `{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"${name}"},"spec":{"template":{"metadata":{"annotations":{},"x":${nested(depth)}},"spec":{"containers":[{"image":"ghcr.io/knative/helloworld-go"}]}}}}`;

interface Row {
  name: string;
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  status: number;
  message: RegExp;
}
const rows: Row[] = [
  {
    name: 'JSON nested 10,000 deep in a preserve-unknown-fields object',
    method: 'POST',
    path: SVCS,
    body: deepService('deep10k', 10_000),
    status: 400,
    message: /limit on nesting depth is 200/,
  },
  {
    name: 'JSON nested 100,000 deep',
    method: 'POST',
    path: SVCS,
    body: deepService('deep100k', 100_000),
    status: 400,
    message: /limit on nesting depth/,
  },
  {
    name: 'YAML [[[…]]] 100,000 levels',
    method: 'POST',
    path: SVCS,
    body: '['.repeat(100_000) + ']'.repeat(100_000),
    contentType: 'application/yaml',
    status: 400,
    message: /limit on nesting depth/,
  },
  {
    name: 'server-side apply of 100,000-deep JSON-in-YAML',
    method: 'PATCH',
    path: `${SVCS}/x?fieldManager=t`,
    body: deepService('x', 100_000),
    contentType: 'application/apply-patch+yaml',
    status: 400,
    message: /limit on nesting depth/,
  },
  {
    name: 'merge patch 100,000 deep',
    method: 'PATCH',
    path: `${SVCS}/x`,
    body: nested(100_000),
    contentType: 'application/merge-patch+json',
    status: 400,
    message: /limit on nesting depth/,
  },
  {
    name: 'YAML alias bomb',
    method: 'POST',
    path: SVCS,
    body: [
      'a: &a [x,x,x,x,x,x,x,x,x]',
      ...'bcdefgh'.split('').map(
        (k, i) =>
          `${k}: &${k} [${Array(9)
            .fill('*' + 'abcdefgh'[i])
            .join(',')}]`,
      ),
    ].join('\n'),
    contentType: 'application/yaml',
    status: 400,
    message: /limit on YAML aliases is 100/,
  },
  {
    name: 'watch resourceVersion=abc',
    method: 'GET',
    path: `${SVCS}?watch=true&resourceVersion=abc`,
    status: 400,
    message: /invalid resource version: resourceVersion: Invalid value: "abc"/,
  },
  {
    name: 'watch resourceVersion=1e400',
    method: 'GET',
    path: `${SVCS}?watch=true&resourceVersion=1e400`,
    status: 400,
    message: /invalid resource version/,
  },
  {
    name: 'watch resourceVersion=0x10',
    method: 'GET',
    path: `${SVCS}?watch=true&resourceVersion=0x10`,
    status: 400,
    message: /invalid resource version/,
  },
  {
    name: 'watch resourceVersion=1.5',
    method: 'GET',
    path: `${SVCS}?watch=true&resourceVersion=1.5`,
    status: 400,
    message: /invalid resource version/,
  },
];

for (const r of rows)
  test(`hostile input: ${r.name} → ${r.status} naming the limit`, async () => {
    const res = await apiReq(r.method, r.path, r.body, r.contentType ? { 'Content-Type': r.contentType } : {});
    assert.equal(res.status, r.status, res.body.slice(0, 300));
    const st = JSON.parse(res.body) as { kind: string; reason: string; message: string };
    assert.equal(st.kind, 'Status');
    assert.equal(st.reason, 'BadRequest');
    assert.match(st.message, r.message);
    assert.ok(res.ms < 2_000, `answered in ${res.ms} ms`);
  });

test('depth scanners: strings and block scalars do not count, real nesting does', () => {
  const cases: Array<{ name: string; got: number; want: number }> = [
    { name: 'JSON brackets inside a string', got: jsonDepth('{"a":"[[[[{{{{"}'), want: 1 },
    { name: 'JSON escaped quote', got: jsonDepth('{"a":"\\"[[","b":[[1]]}'), want: 3 },
    { name: 'YAML flow', got: yamlDepth('a: [[[1]]]'), want: 4 },
    { name: 'YAML block scalar with brackets', got: yamlDepth('a: |\n  [[[[[[[[\n  {{{{{{\nb: 1\n'), want: 1 },
    { name: 'YAML compact sequences', got: yamlDepth('- - - x\n'), want: 4 },
  ];
  for (const c of cases) assert.equal(c.got, c.want, c.name);
  assert.ok(jsonDepth(nested(MAX_NESTING_DEPTH)) <= MAX_NESTING_DEPTH);
});

test('a client sending heavy YAML does not stall others: kubectl-sized GETs answer while it is parsed', async () => {
  // ~600 KB of block YAML (tens of thousands of keys): seconds of parser time on a busy machine.
  let y = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: heavy}\ndata:\n';
  for (let i = 0; y.length < 600 * 1024; i++) y += `  key${i}: "value number ${i}"\n`;
  const heavy = [1, 2, 3].map(() =>
    apiReq('POST', '/api/v1/namespaces/default/configmaps', y, { 'Content-Type': 'application/yaml' }),
  );
  const gets: Reply[] = [];
  for (let i = 0; i < 5; i++) gets.push(await apiReq('GET', SVCS));
  const done = await Promise.all(heavy);
  assert.ok(
    done.every((d) => [201, 409, 400].includes(d.status)),
    done.map((d) => `${d.status} ${d.body.slice(0, 120)}`).join('\n'),
  );
  const slowest = Math.max(...gets.map((g) => g.ms));
  const firstHeavy = Math.min(...done.map((d) => d.ms));
  assert.ok(gets.every((g) => g.status === 200));
  assert.ok(
    slowest < firstHeavy,
    `GETs (slowest ${slowest} ms) are not queued behind the YAML (first done at ${firstHeavy} ms)`,
  );
});

test('RolloutPolicy admission webhook: managed certificates, 422 for an invalid policy, 405 + Allow for GET', async () => {
  const client = KubeClient.fromFile(api.kubeconfigPath, 'sluice');
  const o = {
    client,
    namespace: 'default',
    service: 'sluice-webhook',
    port: 0,
    host: '127.0.0.1',
    log: silentLogger(),
  };
  const wh = await startPolicyWebhook(o);
  try {
    const secret = await client.get(R.secrets, 'default', CERT_SECRET);
    assert.ok((secret as { data?: Record<string, string> }).data?.['tls.crt'], 'the certificate is kept in a Secret');
    const sn = 'sluice-webhook.default.svc';
    const review = (spec: unknown) =>
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u1',
          operation: 'CREATE',
          object: {
            apiVersion: 'delivery.sluice.dev/v1alpha1',
            kind: 'RolloutPolicy',
            metadata: { name: 'p', namespace: 'default' },
            spec,
          },
        },
      });
    const spec = (query: string) => ({
      targetRef: { name: 'web' },
      strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: {} }] } },
      analysis: { interval: '1s', metrics: [{ name: 'm', query, thresholdRange: { min: 1 } }] },
    });
    const bad = await send(
      wh.url,
      wh.caPem,
      'POST',
      '/validate/rolloutpolicies',
      review(spec('sum(rate(x[1m])')),
      {},
      sn,
    );
    const r = JSON.parse(bad.body) as {
      response: {
        uid: string;
        allowed: boolean;
        status?: { code: number; details?: { causes?: Array<{ field: string }> } };
      };
    };
    assert.equal(r.response.uid, 'u1');
    assert.equal(r.response.allowed, false);
    assert.equal(r.response.status?.code, 422);
    assert.equal(r.response.status?.details?.causes?.[0]?.field, 'spec.analysis.metrics[0].query');
    const good = await send(
      wh.url,
      wh.caPem,
      'POST',
      '/validate/rolloutpolicies',
      review(spec('sum(rate(x[1m]))')),
      {},
      sn,
    );
    assert.equal((JSON.parse(good.body) as { response: { allowed: boolean } }).response.allowed, true);
    const get = await send(wh.url, wh.caPem, 'GET', '/validate/rolloutpolicies', undefined, {}, sn);
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
  } finally {
    await wh.close();
  }
  // A second replica (or a restart) serves the same CA: the Secret is reused, not replaced.
  const again = await startPolicyWebhook(o);
  await again.close();
  assert.equal(again.caPem, wh.caPem);
});
