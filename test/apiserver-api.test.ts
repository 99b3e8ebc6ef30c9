// The API server through HTTP: optimistic concurrency, status subresource, selectors, pagination, watch
// resume and 410, safety limits. One server for the file; each test uses its own names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:https';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { KubeClient, KubeApiError, Informer, R, updateWithRetry } from '../src/kube/index.js';
import type { KubeObject } from '../src/kube/index.js';
import { ROOT, tempDir, removeDir, waitFor } from './support/procs.js';

let api: RunningApiServer;
let dir: string;
let c: KubeClient;

before(async () => {
  dir = await tempDir();
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
    bookmarkIntervalMs: 200,
  });
  c = KubeClient.fromFile(api.kubeconfigPath, 'test');
});
after(async () => {
  await api.close();
  await removeDir(dir);
});

const svc = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  metadata: { name, namespace: 'default', labels },
  spec: { template: { spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go' }] } } },
});

function raw(
  method: string,
  path: string,
  body: string | Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const u = new URL(api.url + path);
  return new Promise((res, rej) => {
    const r = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        ca: api.caPem,
        headers: { Authorization: `Bearer ${api.token}`, ...headers },
      },
      (resp) => {
        let b = '';
        resp.on('data', (d: Buffer) => (b += d.toString()));
        resp.on('end', () => res({ status: resp.statusCode ?? 0, body: b }));
      },
    );
    r.on('error', rej);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

test("of two writers with the same resourceVersion exactly one wins; the other gets Kubernetes' 409", async () => {
  const created = await c.create(R.services, svc('race'));
  const a = { ...created, metadata: { ...created.metadata, labels: { w: 'a' } } };
  const b = { ...created, metadata: { ...created.metadata, labels: { w: 'b' } } };
  const results = await Promise.allSettled([c.update(R.services, a), c.update(R.services, b)]);
  const ok = results.filter((r) => r.status === 'fulfilled');
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(ok.length, 1);
  assert.equal(failed.length, 1);
  const e = failed[0]!.reason as KubeApiError;
  assert.equal(e.status, 409);
  assert.equal(
    e.message,
    'Operation cannot be fulfilled on services.serving.knative.dev "race": the object has been modified; please apply your changes to the latest version and try again',
  );
});

test('updateWithRetry converges under contention', async () => {
  await c.create(R.configMaps, { metadata: { name: 'counter', namespace: 'default' }, data: { n: '0' } });
  await Promise.all(
    Array.from({ length: 10 }, () =>
      updateWithRetry(
        c,
        R.configMaps,
        'default',
        'counter',
        (cm) => {
          const d = cm.data as Record<string, string>;
          d.n = String(Number(d.n) + 1);
          return cm;
        },
        { attempts: 50 },
      ),
    ),
  );
  const cm = await c.get(R.configMaps, 'default', 'counter');
  assert.equal((cm.data as Record<string, string>).n, '10');
});

test("status subresource: each side ignores the other's fields; generation bumps on spec only", async () => {
  const s = await c.create(R.services, { ...svc('st'), status: { ignored: true } });
  assert.equal(s.status, undefined, 'status is dropped on create');
  assert.equal(s.metadata.generation, 1);
  const withStatus = await c.update(R.services, { ...s, status: { observedGeneration: 1 } }, 'status');
  assert.deepEqual(withStatus.status, { observedGeneration: 1 });
  assert.equal(withStatus.metadata.generation, 1, 'a status write is not a spec change');
  const main = await c.update(R.services, {
    ...withStatus,
    status: { observedGeneration: 99 },
    metadata: { ...withStatus.metadata, labels: { x: 'y' } },
  });
  assert.deepEqual(main.status, { observedGeneration: 1 }, 'the main resource ignores status');
  assert.equal(main.metadata.generation, 1, 'a label is not a spec change');
  const spec = await c.patch(R.services, 'default', 'st', {
    spec: { template: { spec: { containers: [{ image: 'other' }] } } },
  });
  assert.equal(spec.metadata.generation, 2);
});

test('label and field selectors, limit and continue', async () => {
  for (let i = 0; i < 5; i++)
    await c.create(R.configMaps, {
      metadata: { name: `page-${i}`, namespace: 'default', labels: { app: 'pager', idx: String(i) } },
      data: {},
    });
  const sel = await c.list(R.configMaps, 'default', { labelSelector: 'app=pager,idx in (1,3)' });
  assert.deepEqual(
    sel.items.map((o) => o.metadata.name),
    ['page-1', 'page-3'],
  );
  const neg = await c.list(R.configMaps, 'default', { labelSelector: 'app=pager,idx!=0,!missing' });
  assert.equal(neg.items.length, 4);
  const f = await c.list(R.configMaps, 'default', { fieldSelector: 'metadata.name=page-2' });
  assert.deepEqual(
    f.items.map((o) => o.metadata.name),
    ['page-2'],
  );
  const names: string[] = [];
  let cont: string | undefined;
  do {
    const p = await c.list(R.configMaps, 'default', {
      labelSelector: 'app=pager',
      limit: 2,
      ...(cont ? { continue: cont } : {}),
    });
    names.push(...p.items.map((o) => o.metadata.name!));
    cont = p.metadata.continue;
  } while (cont);
  assert.deepEqual(names, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  await assert.rejects(
    c.list(R.configMaps, 'default', { fieldSelector: 'spec.foo=bar' }),
    /field label not supported: spec\.foo/,
  );
});

test('watch resumes from a resourceVersion, sends bookmarks, and answers 410 for one too old', async () => {
  const first: KubeObject = await c.create(R.configMaps, { metadata: { name: 'w1', namespace: 'default' }, data: {} });
  await c.create(R.configMaps, { metadata: { name: 'w2', namespace: 'default' }, data: {} });
  const events: string[] = [];
  let bookmark = false;
  const h = await c.watch(
    R.configMaps,
    'default',
    { resourceVersion: first.metadata.resourceVersion, allowWatchBookmarks: true },
    (t, o) => {
      if (t === 'BOOKMARK') bookmark = true;
      else events.push(`${t} ${o.metadata.name}`);
    },
    () => undefined,
  );
  await waitFor('w2 replayed from history', () => events.includes('ADDED w2'));
  assert.ok(!events.includes('ADDED w1'), 'events at or before the given resourceVersion are not replayed');
  await c.delete(R.configMaps, 'default', 'w2');
  await waitFor('DELETED w2', () => events.includes('DELETED w2'));
  await waitFor('a BOOKMARK', () => bookmark);
  h.stop();
  let errorCode = 0;
  const h2 = await c.watch(
    R.configMaps,
    'default',
    { resourceVersion: '1' },
    (t, o) => {
      if (t === 'ERROR') errorCode = (o as unknown as { code: number }).code;
    },
    () => undefined,
  );
  // A fresh server keeps all history, so rv 1 is still served; only compacted history is "too old".
  h2.stop();
  assert.ok(errorCode === 0 || errorCode === 410);
});

test('an informer sees ADDED, MODIFIED and DELETED in order', async () => {
  const seen: string[] = [];
  const inf = new Informer(c, R.configMaps, { namespace: 'default', labelSelector: 'inf=1' });
  inf
    .onAdd((o) => seen.push(`add ${o.metadata.name}`))
    .onUpdate((o) => seen.push(`update ${o.metadata.name} ${(o.data as Record<string, string>).v}`))
    .onDelete((o) => seen.push(`delete ${o.metadata.name}`));
  await inf.start();
  await c.create(R.configMaps, {
    metadata: { name: 'i1', namespace: 'default', labels: { inf: '1' } },
    data: { v: '1' },
  });
  await c.patch(R.configMaps, 'default', 'i1', { data: { v: '2' } });
  await c.delete(R.configMaps, 'default', 'i1');
  await waitFor('three events', () => seen.length >= 3);
  inf.stop();
  assert.deepEqual(seen, ['add i1', 'update i1 2', 'delete i1']);
});

test('an informer transform applies to listed and watched objects, gets the object it replaces, and get() finds them', async () => {
  await c.create(R.configMaps, {
    metadata: { name: 't1', namespace: 'default', labels: { inf: '2' } },
    data: { v: '1', big: 'x'.repeat(1000) },
  });
  const olds: (string | undefined)[] = [];
  const inf = new Informer(c, R.configMaps, {
    namespace: 'default',
    labelSelector: 'inf=2',
    transform: (o, old) => {
      olds.push((old?.data as Record<string, string> | undefined)?.v);
      const { managedFields: _mf, ...metadata } = o.metadata;
      void _mf;
      return { ...o, metadata, data: { v: (o.data as Record<string, string>).v } };
    },
  });
  const updates: string[] = [];
  inf.onUpdate((o) => updates.push(JSON.stringify(o.data)));
  await inf.start();
  assert.deepEqual(inf.get('default', 't1')?.data, { v: '1' }, 'listed object transformed');
  assert.equal(inf.get('default', 't1')?.metadata.managedFields, undefined);
  await c.patch(R.configMaps, 'default', 't1', { data: { v: '2' } });
  await waitFor('the update', () => updates.length >= 1);
  assert.deepEqual(updates, ['{"v":"2"}'], 'handlers see the transformed object');
  assert.deepEqual(olds, [undefined, '1'], 'the transform sees the cached object it replaces');
  assert.equal(inf.get('other', 't1'), undefined);
  await c.delete(R.configMaps, 'default', 't1');
  await waitFor('the delete', () => inf.get('default', 't1') === undefined);
  inf.stop();
});

test('safety: no token → 401, body over 3 MiB → 413, malformed JSON → 400 naming the problem, unknown resource → 404', async () => {
  const noAuth = await new Promise<number>((res, rej) => {
    const u = new URL(api.url + '/api/v1/namespaces');
    const r = request({ host: u.hostname, port: u.port, path: u.pathname, ca: api.caPem }, (resp) => {
      resp.resume();
      res(resp.statusCode ?? 0);
    });
    r.on('error', rej);
    r.end();
  });
  assert.equal(noAuth, 401);
  const wrong = await raw('GET', '/api/v1/namespaces', undefined, { Authorization: 'Bearer nope' });
  assert.equal(wrong.status, 401);
  const big = await raw('POST', '/api/v1/namespaces/default/configmaps', Buffer.alloc(3 * 1024 * 1024 + 10, 'a'), {
    'Content-Type': 'application/json',
  });
  assert.equal(big.status, 413);
  assert.equal(JSON.parse(big.body).kind, 'Status');
  const bad = await raw('POST', '/api/v1/namespaces/default/configmaps', '{"metadata": ', {
    'Content-Type': 'application/json',
  });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).message, /not valid JSON/);
  const badYaml = await raw('POST', '/api/v1/namespaces/default/configmaps', 'metadata: [unclosed', {
    'Content-Type': 'application/yaml',
  });
  assert.equal(badYaml.status, 400);
  assert.match(JSON.parse(badYaml.body).message, /not valid YAML/);
  const missing = await raw('GET', '/apis/example.com/v1/widgets', undefined);
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).kind, 'Status');
});

test('a CRD applied is served at once, with defaults and pruning from its schema', async () => {
  await c.create(R.crds, {
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', kind: 'Widget', shortNames: ['wd'] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    size: { type: 'integer', default: 3, minimum: 1 },
                    color: { type: 'string', enum: ['red', 'blue'] },
                  },
                },
              },
            },
          },
        },
      ],
    },
  });
  const W = { group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };
  const w = await c.request<KubeObject>(
    'POST',
    '/apis/example.com/v1/namespaces/default/widgets',
    { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { color: 'red', extra: 1 } },
    'application/json',
    { fieldValidation: 'Ignore' },
  );
  assert.deepEqual(w.spec, { color: 'red', size: 3 }, 'defaulted and pruned');
  await assert.rejects(
    c.create(W, { metadata: { name: 'v', namespace: 'default' }, spec: { color: 'green', size: 0 } }),
    (e: KubeApiError) => {
      assert.equal(e.status, 422);
      const causes = (e.details as { causes: Array<{ field: string; message: string }> }).causes;
      assert.deepEqual(causes.map((x) => x.field).sort(), ['spec.color', 'spec.size']);
      assert.match(
        causes.find((x) => x.field === 'spec.color')!.message,
        /Unsupported value: "green": supported values: "red", "blue"/,
      );
      return true;
    },
  );
});
