// env from a ConfigMap and a Secret, end to end: `sluice start`, the real kubectl, a real helloworld process.
// TARGET is a literal that expands variables read from both; a changed ConfigMap does not reach the running
// process (env is read at start, as on a cluster); a missing key holds the Revision until its progress
// deadline and then fails it with the kubelet's CreateContainerConfigError, and creating the key lets it start.
// A ConfigMap volume is laid out as the kubelet's AtomicWriter does and refreshed in place by a change.
// Pre: `npx tsc -p tsconfig.json` built dist/.
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
  status?: { conditions?: Condition[]; observedGeneration?: number };
}

const fx = sluiceStartFixture('sluice-config-sources-');
const k = (args: string[], input?: string) => fx.kubectl(args, input);

async function getJson(kind: string, name: string): Promise<Obj | undefined> {
  const r = await k(['get', kind, name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
}
const cond = (o: Obj | undefined, type: string): Condition | undefined =>
  o?.status?.conditions?.find((c) => c.type === type);

function get(host: string): Promise<{ status: number; body: string }> {
  const url = new URL(fx.sluice.endpoints.router ?? '');
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${host} timed out`)));
    req.end();
  });
}

async function apply(yaml: string): Promise<void> {
  const r = await k(['apply', '-f', '-'], yaml);
  assert.equal(r.code, 0, r.stderr);
}

const service = (name: string, env: string, annotations = '') => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
${annotations}
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go
          env:
${env}`;

test('a Service whose env comes from a ConfigMap and a Secret serves the values', async () => {
  await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: greeting, namespace: default}
data: {WHO: "ConfigMap"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: default}
stringData: {token: "s3cret"}
`);
  await apply(
    service(
      'cfg',
      `            - name: WHO
              valueFrom: {configMapKeyRef: {name: greeting, key: WHO}}
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: creds, key: token}}
            - name: MISSING
              valueFrom: {configMapKeyRef: {name: greeting, key: NOPE, optional: true}}
            - name: TARGET
              value: "$(WHO) and $(TOKEN)$(MISSING)"`,
    ),
  );
  const host = 'cfg.default.svc.cluster.local';
  const res = await waitFor(
    'cfg serves',
    async () => {
      const r = await get(host).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    },
    30_000,
  );
  assert.equal(res.body, 'Hello ConfigMap and s3cret$(MISSING)!\n');
  // A changed ConfigMap: the running process keeps the environment it started with.
  const patched = await k(['patch', 'configmap', 'greeting', '--type', 'merge', '-p', '{"data":{"WHO":"changed"}}']);
  assert.equal(patched.code, 0, patched.stderr);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await get(host)).body, 'Hello ConfigMap and s3cret$(MISSING)!\n');
  assert.equal(cond(await getJson('revision', 'cfg-00001'), 'Ready')?.status, 'True');
});

test('a missing non-optional key fails the Revision with CreateContainerConfigError after the progress deadline', async () => {
  await apply(
    service(
      'broken',
      `            - name: TARGET
              valueFrom: {configMapKeyRef: {name: greeting, key: LATER}}`,
      '        serving.knative.dev/progress-deadline: "2s"',
    ),
  );
  const rev = await waitFor(
    'broken-00001 Ready=False',
    async () => {
      const r = await getJson('revision', 'broken-00001');
      return cond(r, 'Ready')?.status === 'False' ? r : undefined;
    },
    30_000,
  );
  const want = {
    reason: 'CreateContainerConfigError',
    message: "couldn't find key LATER in ConfigMap default/greeting",
  };
  for (const t of ['Ready', 'ResourcesAvailable']) {
    const c = cond(rev, t);
    assert.deepEqual({ reason: c?.reason, message: c?.message }, want, t);
  }
  const ksvc = await getJson('ksvc', 'broken');
  assert.equal(cond(ksvc, 'Ready')?.status, 'False');
  // The kubelet keeps retrying: once the key exists the container starts.
  const patched = await k(['patch', 'configmap', 'greeting', '--type', 'merge', '-p', '{"data":{"LATER":"at last"}}']);
  assert.equal(patched.code, 0, patched.stderr);
  const res = await waitFor(
    'broken serves',
    async () => {
      const r = await get('broken.default.svc.cluster.local').catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    },
    30_000,
  );
  assert.equal(res.body, 'Hello at last!\n');
});

// Reads its mounted file on every request through SLUICE_VOLUME_MOUNTS, as a program would read mountPath, and
// answers with the file, the env value read from the same ConfigMap at start, its pid and the `..data` target.
const READER = `
const http = require('node:http'); const fs = require('node:fs'); const path = require('node:path');
const dir = JSON.parse(process.env.SLUICE_VOLUME_MOUNTS)['/etc/config'];
http.createServer((q, s) => s.end(JSON.stringify({
  file: fs.readFileSync(path.join(dir, 'message'), 'utf8'), env: process.env.MSG, pid: process.pid,
  data: fs.readlinkSync(path.join(dir, '..data')), mode: fs.statSync(path.join(dir, 'message')).mode & 0o777,
}))).listen(Number(process.env.PORT), '127.0.0.1');`;

interface Read {
  file: string;
  env: string;
  pid: number;
  data: string;
  mode: number;
}

test('a ConfigMap volume is laid out with ..data and refreshed on change; env stays as read at start', async () => {
  await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: files, namespace: default}
data: {msg: "first"}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: vol, namespace: default}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1"}
    spec:
      containers:
        - image: example.com/reader
          command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(READER)}]
          env: [{name: MSG, valueFrom: {configMapKeyRef: {name: files, key: msg}}}]
          volumeMounts: [{name: config, mountPath: /etc/config, readOnly: true}]
      volumes:
        - name: config
          configMap: {name: files, defaultMode: 0440, items: [{key: msg, path: message}]}
`);
  const host = 'vol.default.svc.cluster.local';
  const served = (file: string) =>
    waitFor(
      `vol serves the file ${file}`,
      async () => {
        const r = await get(host).catch(() => undefined);
        if (r?.status !== 200) return undefined;
        const read = JSON.parse(r.body) as Read;
        return read.file === file ? read : undefined;
      },
      30_000,
    );
  const before = await served('first');
  assert.equal(before.env, 'first');
  assert.equal(before.mode, 0o440);
  assert.match(before.data, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{9}$/);
  const patched = await k(['patch', 'configmap', 'files', '--type', 'merge', '-p', '{"data":{"msg":"second"}}']);
  assert.equal(patched.code, 0, patched.stderr);
  const after = await served('second');
  // The same process sees the new file through a new ..data, and its env as it was when it started.
  assert.equal(after.pid, before.pid);
  assert.equal(after.env, 'first');
  assert.notEqual(after.data, before.data);
});

test('a missing volume Secret holds the Revision in ContainerCreating until the progress deadline', async () => {
  await apply(`apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: nomount, namespace: default}
spec:
  template:
    metadata:
      annotations: {serving.knative.dev/progress-deadline: "2s"}
    spec:
      containers:
        - image: example.com/reader
          command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(READER)}]
          volumeMounts: [{name: config, mountPath: /etc/config, readOnly: true}]
      volumes:
        - name: config
          secret: {secretName: not-there}
`);
  const rev = await waitFor(
    'nomount-00001 Ready=False',
    async () => {
      const r = await getJson('revision', 'nomount-00001');
      return cond(r, 'Ready')?.status === 'False' ? r : undefined;
    },
    30_000,
  );
  assert.deepEqual(
    { reason: cond(rev, 'ResourcesAvailable')?.reason, message: cond(rev, 'ResourcesAvailable')?.message },
    {
      reason: 'ContainerCreating',
      message: 'MountVolume.SetUp failed for volume "config" : secret "not-there" not found',
    },
  );
});
