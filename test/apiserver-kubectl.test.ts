// The real kubectl against the embedded API server: apply (create, update, unchanged), get, -o yaml,
// get -w, patch, delete with cascade, schema violations, conflicts, and Status errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { KubeClient, R } from '../src/kube/index.js';
import { ROOT, kubectl, tempDir, removeDir, waitFor, helloServiceYaml } from './support/procs.js';

let api: RunningApiServer;
let dir: string;
let cache: string;
let client: KubeClient;
const k = (args: string[], input?: string) => kubectl(api.kubeconfigPath, cache, args, input);

const hello = helloServiceYaml;

before(async () => {
  dir = await tempDir();
  cache = join(dir, 'kubectl-cache');
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

test('kubectl apply creates, then reports unchanged, then configures an update', async () => {
  let r = await k(['apply', '-f', '-'], hello('World'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /service\.serving\.knative\.dev\/hello created/);
  r = await k(['apply', '-f', '-'], hello('World'));
  assert.match(r.stdout, /service\.serving\.knative\.dev\/hello unchanged/);
  r = await k(['apply', '-f', '-'], hello('Second'));
  assert.match(r.stdout, /service\.serving\.knative\.dev\/hello configured/);
  const svc = await client.get(R.services, 'default', 'hello');
  assert.equal(svc.metadata.generation, 2, 'generation bumps once per spec change');
});

test('kubectl get ksvc prints the Knative printer columns; -o yaml prints the object', async () => {
  let r = await k(['get', 'ksvc']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.split('\n')[0]!, /^NAME\s+URL\s+LATESTCREATED\s+LATESTREADY\s+READY\s+REASON$/);
  assert.match(r.stdout, /^hello\s/m);
  r = await k(['get', 'ksvc', 'hello', '-o', 'yaml']);
  assert.match(r.stdout, /kind: Service/);
  assert.match(r.stdout, /value: Second/);
  r = await k(['get', 'kservice,cfg,rev,rt', '-A']);
  assert.equal(r.code, 0, r.stderr);
  r = await k(['get', 'ns']);
  assert.match(r.stdout, /^default\s+Active\s+\d+s$/m);
});

test('kubectl get ksvc -w sees an update made by another client', async () => {
  const w = spawn(
    'kubectl',
    [
      '--kubeconfig',
      api.kubeconfigPath,
      '--cache-dir',
      cache,
      'get',
      'ksvc',
      '-w',
      '-o',
      'custom-columns=NAME:.metadata.name,GEN:.metadata.generation',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  w.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor('the initial watch row', () => /hello\s+2/.test(out));
    const r = await k(['apply', '-f', '-'], hello('Third'));
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the watch to show generation 3', () => /hello\s+3/.test(out));
  } finally {
    w.kill();
  }
});

test('kubectl patch --type=merge patches, and reports no change for a no-op', async () => {
  let r = await k(['patch', 'ksvc', 'hello', '--type=merge', '-p', '{"metadata":{"labels":{"team":"a"}}}']);
  assert.match(r.stdout, /service\.serving\.knative\.dev\/hello patched$/m);
  r = await k(['patch', 'ksvc', 'hello', '--type=merge', '-p', '{"metadata":{"labels":{"team":"a"}}}']);
  assert.match(r.stdout, /patched \(no change\)/);
  r = await k([
    'patch',
    'ksvc',
    'hello',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/metadata/labels/team","value":"b"}]',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const svc = await client.get(R.services, 'default', 'hello');
  assert.equal(svc.metadata.labels?.team, 'b');
  r = await k(['patch', 'ksvc', 'hello', '-p', '{"metadata":{"labels":{"team":"c"}}}']);
  assert.notEqual(r.code, 0, 'a strategic merge patch on a custom resource is refused, as kube-apiserver does');
  assert.match(r.stderr, /strategic-merge-patch\+json is not supported/);
});

test('kubectl apply of an object that violates its CRD schema names the field', async () => {
  const bad = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: bad}
spec:
  template:
    spec:
      containerConcurrency: "lots"
      containers: [{image: x}]
`;
  let r = await k(['apply', '-f', '-'], bad);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /The Service "bad" is invalid: spec\.template\.spec\.containerConcurrency: Invalid value: "string": spec\.template\.spec\.containerConcurrency in body must be of type integer: "string"/,
  );
  r = await k(['apply', '-f', '-'], bad.replace('containerConcurrency: "lots"', 'contaners: []'));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /strict decoding error: unknown field "spec\.template\.spec\.contaners"/);
  assert.equal(await client.tryGet(R.services, 'default', 'bad'), undefined, 'nothing was stored');
});

test('kubectl apply --server-side creates and updates', async () => {
  const cm = `apiVersion: v1
kind: ConfigMap
metadata: {name: ssa, namespace: default}
data: {a: "1"}
`;
  let r = await k(['apply', '--server-side', '-f', '-'], cm);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configmap\/ssa serverside-applied/);
  r = await k(['apply', '--server-side', '-f', '-'], cm.replace('a: "1"', 'b: "2"'));
  assert.equal(r.code, 0, r.stderr);
  const got = await client.get(R.configMaps, 'default', 'ssa');
  assert.deepEqual(got.data, { b: '2' }, 'a field the manager stopped applying is removed');
});

test('kubectl delete cascades to objects owned through ownerReferences', async () => {
  const owner = await client.get(R.services, 'default', 'hello');
  await client.create(R.configurations, {
    metadata: {
      name: 'hello',
      namespace: 'default',
      ownerReferences: [
        {
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          name: 'hello',
          uid: owner.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { template: { spec: { containers: [{ image: 'x' }] } } },
  });
  const r = await k(['delete', 'ksvc', 'hello']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /service\.serving\.knative\.dev "hello" deleted/);
  await waitFor(
    'the owned Configuration to be collected',
    async () => (await client.tryGet(R.configurations, 'default', 'hello')) === undefined,
  );
});

test("an object written after its owner was deleted is collected, as Kubernetes' garbage collector does", async () => {
  // A reconciler with a stale cache re-creates a child of a Service just deleted: its owner uid is gone.
  await client.create(R.configurations, {
    metadata: {
      name: 'late-child',
      namespace: 'default',
      ownerReferences: [
        {
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          name: 'late-child',
          uid: 'a-uid-no-object-has',
          controller: true,
        },
      ],
    },
    spec: { template: { spec: { containers: [{ image: 'x' }] } } },
  });
  await waitFor(
    'the dangling Configuration to be collected',
    async () => (await client.tryGet(R.configurations, 'default', 'late-child')) === undefined,
  );
});

test('errors are Kubernetes Status objects that kubectl prints', async () => {
  let r = await k(['get', 'ksvc', 'nope']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Error from server \(NotFound\): services\.serving\.knative\.dev "nope" not found/);
  r = await k(['get', 'ksvc', '-n', 'missing-ns', 'x']);
  assert.match(r.stderr, /NotFound/);
  r = await k(['create', 'namespace', 'Bad_Name']);
  assert.notEqual(r.code, 0);
});

test('a finalizer holds deletion until it is removed', async () => {
  await client.create(R.configMaps, {
    metadata: { name: 'held', namespace: 'default', finalizers: ['example.com/hold'] },
    data: {},
  });
  await client.delete(R.configMaps, 'default', 'held');
  const held = await client.get(R.configMaps, 'default', 'held');
  assert.ok(held.metadata.deletionTimestamp, 'deletionTimestamp is set');
  await client.patch(R.configMaps, 'default', 'held', { metadata: { finalizers: null } });
  assert.equal(await client.tryGet(R.configMaps, 'default', 'held'), undefined);
});

test('kubectl create configmap|secret|namespace (sent as protobuf) work; secrets keep their bytes', async () => {
  let r = await k(['create', 'configmap', 'made', '--from-literal=a=b']);
  assert.equal(r.code, 0, r.stderr);
  r = await k(['create', 'secret', 'generic', 'hooks', '--from-literal=hmac=s3cret']);
  assert.equal(r.code, 0, r.stderr);
  r = await k(['create', 'namespace', 'team-a']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await client.get(R.configMaps, 'default', 'made')).data, { a: 'b' });
  const s = await client.get(R.secrets, 'default', 'hooks');
  assert.equal(Buffer.from((s.data as Record<string, string>).hmac!, 'base64').toString(), 's3cret');
  assert.equal(s.type, 'Opaque');
  r = await k(['get', 'secret', 'hooks']);
  assert.match(r.stdout, /^hooks\s+Opaque\s+1\s+\d+s$/m);
});
