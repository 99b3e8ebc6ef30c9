// The kn-style commands against a real embedded API server (no Serving reconcilers): what create and
// update store, that failed client-side checks send nothing, and list/describe output from objects whose
// status the test writes through the status subresource, as the reconcilers will.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, copyFile, writeFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { KubeClient, R, type KubeObject } from '../src/kube/index.js';
import { runKn, type KnIo } from '../src/cli/kn/index.js';
import { brokerConfigRef } from '../src/cli/kn/eventing.js';
import { packageRoot } from '../src/cli/package-root.js';
import { generateVolumeName } from '../src/cli/kn/podspec.js';
import { removeDir, tempDir } from './support/procs.js';
import type { Service } from '../src/serving/types.js';
import { ER } from '../src/eventing/reconciler/resources.js';

let api: RunningApiServer;
let dir: string;
let client: KubeClient;

before(async () => {
  dir = await tempDir('sluice-kn-');
  api = await startApiServer({ dataDir: join(dir, 'data'), crdDirs: [join(packageRoot(), 'deploy', 'crds')] });
  client = KubeClient.fromFile(api.kubeconfigPath, 'test');
});
after(async () => {
  await api.close();
  await removeDir(dir);
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function kn(args: string[], o: { env?: Record<string, string>; cwd?: string; now?: number } = {}): Promise<Run> {
  let out = '',
    err = '';
  const io: KnIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env: o.env ?? { KUBECONFIG: api.kubeconfigPath },
    cwd: o.cwd ?? dir,
    clock: { now: () => o.now ?? Date.now() },
    random: () => 0,
    setExitCode: () => undefined,
  };
  const code = await runKn(args, io);
  return { code, out, err };
}

async function getService(name: string, ns = 'default'): Promise<Service & KubeObject> {
  return (await client.get(R.services, ns, name)) as unknown as Service & KubeObject;
}

const readyConditions = (t: string) => [
  { type: 'ConfigurationsReady', status: 'True', lastTransitionTime: t },
  { type: 'Ready', status: 'True', lastTransitionTime: t },
  { type: 'RoutesReady', status: 'True', lastTransitionTime: t },
];

/** Plays the reconcilers' part: revisions for each generation and a Ready status with the given traffic. */
async function reconcile(name: string, revisions: string[], traffic: Array<Record<string, unknown>>): Promise<void> {
  for (const [i, r] of revisions.entries()) {
    if (await client.tryGet(R.revisions, 'default', r)) continue;
    const created = await client.create(R.revisions, {
      metadata: {
        name: r,
        namespace: 'default',
        labels: {
          'serving.knative.dev/service': name,
          'serving.knative.dev/configuration': name,
          'serving.knative.dev/configurationGeneration': String(i + 1),
        },
      },
      spec: { containers: [{ image: 'gcr.io/knative-samples/helloworld-go' }] },
    });
    await client.update(
      R.revisions,
      {
        ...created,
        status: {
          observedGeneration: 1,
          conditions: [
            { type: 'Ready', status: 'True' },
            { type: 'ContainerHealthy', status: 'True' },
            { type: 'ResourcesAvailable', status: 'True' },
            { type: 'Active', status: 'False', severity: 'Info', reason: 'NoTraffic' },
          ],
        },
      },
      'status',
    );
  }
  const svc = await getService(name);
  const latest = revisions[revisions.length - 1]!;
  await client.update(
    R.services,
    {
      ...svc,
      status: {
        observedGeneration: svc.metadata.generation,
        url: `http://${name}.default.example.com`,
        latestReadyRevisionName: latest,
        latestCreatedRevisionName: latest,
        conditions: readyConditions(new Date().toISOString().replace(/\.\d+Z$/, 'Z')),
        traffic: traffic.map((t) => ({
          ...t,
          ...(t['latestRevision'] === true ? { revisionName: latest } : {}),
          ...(t['tag'] ? { url: `http://${String(t['tag'])}-${name}.default.example.com` } : {}),
        })),
      },
    } as unknown as KubeObject,
    'status',
  );
}

test("service create --no-wait stores kn's object", async () => {
  const r = await kn([
    'service',
    'create',
    'hello',
    '--image',
    'gcr.io/knative-samples/helloworld-go',
    '--env',
    'TARGET=World',
    '--port',
    '8080',
    '--no-wait',
  ]);
  assert.equal(r.err, '');
  assert.equal(r.code, 0);
  assert.equal(r.out, "Service 'hello' created in namespace 'default'.\n");
  const svc = await getService('hello');
  const c = svc.spec?.template?.spec?.containers?.[0];
  assert.equal(c?.image, 'gcr.io/knative-samples/helloworld-go');
  assert.deepEqual(c?.env, [{ name: 'TARGET', value: 'World' }]);
  assert.deepEqual(c?.ports, [{ containerPort: 8080 }]);
  assert.equal(
    svc.spec?.template?.metadata?.annotations?.['client.knative.dev/user-image'],
    'gcr.io/knative-samples/helloworld-go',
  );
  assert.equal(svc.spec?.traffic, undefined);
});

interface ErrCase {
  name: string;
  args: string[];
  err: string;
}
const createErrors: ErrCase[] = [
  {
    name: 'exists without --force',
    args: ['service', 'create', 'hello', '--image', 'x'],
    err: "Error: cannot create service 'hello' in namespace 'default' because the service already exists and no --force option was given\n",
  },
  {
    name: 'no image',
    args: ['service', 'create', 'other'],
    err: "Error: 'service create' requires the image name to run provided with the --image option\n",
  },
  {
    name: 'no name',
    args: ['service', 'create', '--image', 'x'],
    err: "Error: 'service create' requires the service name given as single argument\n",
  },
  {
    name: 'bad env',
    args: ['service', 'create', 'other', '--image', 'x', '--env', 'FOO'],
    err: 'Error: Invalid --env: argument requires a value that contains the "=" character; got "FOO"\n',
  },
  {
    name: 'bad port',
    args: ['service', 'create', 'other', '--image', 'x', '--port', 'http'],
    err: "Error: the port specification 'http' is not valid. Please provide in the format 'NAME:PORT', where 'NAME' is optional. Examples: '--port h2c:8080' , '--port 8080'.\n",
  },
];
for (const c of createErrors) {
  test(`service create fails: ${c.name}`, async () => {
    const r = await kn(c.args);
    assert.equal(r.code, 1);
    assert.equal(r.err.split('\n')[0] + '\n', c.err);
    assert.match(r.err, /Run 'sluice service create --help' for usage\n$/);
    assert.equal(await client.tryGet(R.services, 'default', 'other'), undefined);
  });
}

const triggerErrors: ErrCase[] = [
  {
    name: 'a filter without =',
    args: ['--filter', 'type'],
    err: `Error: cannot create trigger 't' because Invalid --filter: Argument requires a value that contains the "=" character as delimiter; got "type"\n`,
  },
  {
    name: 'a filter key given twice',
    args: ['--filter', 'type=a', '--filter', 'type=b'],
    err: `Error: cannot create trigger 't' because Invalid --filter: The key "type" has been duplicate in [type=a type=b]\n`,
  },
  {
    name: 'a filter without a key',
    args: ['--filter', '=a'],
    err: "Error: cannot create trigger 't' because Invalid --filter: The key is empty\n",
  },
];
for (const c of triggerErrors) {
  test(`trigger create fails and stores nothing: ${c.name}`, async () => {
    const r = await kn(['trigger', 'create', 't', '--sink', 'https://example.com/', ...c.args]);
    assert.equal(r.code, 1);
    assert.equal(r.err.split('\n')[0] + '\n', c.err);
    assert.equal(await client.tryGet(ER.triggers, 'default', 't'), undefined);
  });
}

test('service update --env makes a new template; traffic flags follow kn', async () => {
  await reconcile('hello', ['hello-00001'], [{ latestRevision: true, percent: 100 }]);
  let r = await kn(['service', 'update', 'hello', '--env', 'TARGET=Second', '--no-wait']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "Service 'hello' updated in namespace 'default'.\n");
  let svc = await getService('hello');
  assert.deepEqual(svc.spec?.template?.spec?.containers?.[0]?.env, [{ name: 'TARGET', value: 'Second' }]);
  assert.equal(svc.metadata.generation, 2);
  await reconcile('hello', ['hello-00001', 'hello-00002'], [{ latestRevision: true, percent: 100 }]);

  r = await kn(['service', 'update', 'hello', '--tag', 'hello-00001=cn', '--tag', 'hello-00002=en', '--no-wait']);
  assert.equal(r.code, 0, r.err);
  svc = await getService('hello');
  assert.deepEqual(svc.spec?.traffic, [
    { latestRevision: true, percent: 100 },
    { tag: 'cn', latestRevision: false, revisionName: 'hello-00001', percent: 0 },
    { tag: 'en', latestRevision: false, revisionName: 'hello-00002', percent: 0 },
  ]);
  await reconcile('hello', ['hello-00001', 'hello-00002'], svc.spec!.traffic as Array<Record<string, unknown>>);

  r = await kn(['service', 'update', 'hello', '--traffic', 'cn=50', '--traffic', 'en=50', '--no-wait']);
  assert.equal(r.code, 0, r.err);
  svc = await getService('hello');
  assert.deepEqual(svc.spec?.traffic, [
    { tag: 'cn', latestRevision: false, revisionName: 'hello-00001', percent: 50 },
    { tag: 'en', latestRevision: false, revisionName: 'hello-00002', percent: 50 },
  ]);
  await reconcile('hello', ['hello-00001', 'hello-00002'], svc.spec!.traffic as Array<Record<string, unknown>>);
});

const updateErrors: ErrCase[] = [
  {
    name: 'sum over 100 (seed: 50 and 60)',
    args: ['--traffic', 'hello-00002=50', '--traffic', 'hello-00001=60'],
    err: 'Error: given traffic percents sum to 110, want 100\n',
  },
  {
    name: 'sum under 100 that cannot be completed (seed: 50 and 40)',
    args: ['--traffic', 'cn=50', '--traffic', '@latest=40'],
    err: 'Error: given traffic percents sum to 90, want 100\n',
  },
  {
    name: 'unknown revision',
    args: ['--traffic', 'hello-00009=100'],
    err: "Error: no revision or tag 'hello-00009' found for service 'hello' in namespace 'default' (see 'sluice revision list -s hello')\n",
  },
  {
    name: 'repeated tag',
    args: ['--tag', 'hello-00002=cn'],
    err: "Error: refusing to overwrite existing tag in service, add flag '--untag cn' in command to untag it\n",
  },
  {
    name: 'repeated revision',
    args: ['--traffic', 'cn=50,cn=50'],
    err: 'Error: repetition of revision reference cn is not allowed, use only once with --traffic flag\n',
  },
  {
    name: 'untag unknown',
    args: ['--untag', 'nope'],
    err: 'Error: tag(s) nope not present for any revisions of service hello\n',
  },
  { name: 'no flags', args: [], err: 'Error: flag(s) not set\n' },
];
for (const c of updateErrors) {
  test(`service update fails and changes nothing: ${c.name}`, async () => {
    const before = await getService('hello');
    const r = await kn(
      ['service', 'update', 'hello', ...c.args, '--no-wait'].filter(
        (a, i, all) => !(c.args.length === 0 && a === '--no-wait' && all.length === 4),
      ),
    );
    assert.equal(r.code, 1);
    assert.equal(r.err.split('\n')[0] + '\n', c.err);
    const afterSvc = await getService('hello');
    assert.equal(afterSvc.metadata.resourceVersion, before.metadata.resourceVersion);
  });
}

test('service update with nothing to change says so', async () => {
  const r = await kn(['service', 'update', 'hello', '--traffic', 'cn=50', '--traffic', 'en=50']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "Service 'hello' updated in namespace 'default'.\nNo new revision has been created.\n");
});

test('service list, describe, revision list, route describe from written status', async () => {
  await client
    .create(R.routes, {
      metadata: {
        name: 'hello',
        namespace: 'default',
        ownerReferences: [
          {
            apiVersion: 'serving.knative.dev/v1',
            kind: 'Service',
            name: 'hello',
            uid: (await getService('hello')).metadata.uid ?? 'u',
            controller: true,
          },
        ],
      },
      spec: { traffic: [] },
    })
    .then((rt) =>
      client.update(
        R.routes,
        {
          ...rt,
          status: {
            url: 'http://hello.default.example.com',
            conditions: [{ type: 'Ready', status: 'True' }],
            traffic: [
              { revisionName: 'hello-00001', percent: 50, tag: 'cn', url: 'http://cn-hello.default.example.com' },
              { revisionName: 'hello-00002', percent: 50, tag: 'en', url: 'http://en-hello.default.example.com' },
            ],
          },
        },
        'status',
      ),
    );
  const list = await kn(['service', 'list']);
  assert.equal(list.code, 0, list.err);
  assert.match(
    list.out,
    /^NAME +URL +LATEST +AGE +CONDITIONS +READY +REASON\nhello +http:\/\/hello\.default\.example\.com +hello-00002 +\d+s +3 OK \/ 3 +True +\n$/,
  );

  const revs = await kn(['revision', 'list', '-s', 'hello']);
  assert.equal(revs.code, 0, revs.err);
  const rows = revs.out.split('\n').map((l) => l.trimEnd().split(/ {2,}/));
  assert.deepEqual(rows[0], [
    'NAME',
    'SERVICE',
    'TRAFFIC',
    'TAGS',
    'GENERATION',
    'AGE',
    'CONDITIONS',
    'READY',
    'REASON',
  ]);
  assert.deepEqual(
    rows[1]!.filter((c) => !/^\d+s$/.test(c)),
    ['hello-00002', 'hello', '50%', 'en', '2', '3 OK / 4', 'True'],
  );
  assert.deepEqual(
    rows[2]!.filter((c) => !/^\d+s$/.test(c)),
    ['hello-00001', 'hello', '50%', 'cn', '1', '3 OK / 4', 'True'],
  );

  const desc = await kn(['service', 'describe', 'hello']);
  assert.equal(desc.code, 0, desc.err);
  assert.match(
    desc.out,
    /\nRevisions: {2}\n {3}50% {2}hello-00002 \(current @latest\) #en \[2\] \(\d+s\)\n {8}Image: {2}gcr\.io\/knative-samples\/helloworld-go\n {3}50% {2}hello-00001 #cn \[1\] \(\d+s\)\n/,
  );

  const route = await kn(['route', 'describe', 'hello']);
  assert.equal(route.code, 0, route.err);
  assert.match(
    route.out,
    /Service: {4}hello\n\nTraffic Targets: {2}\n {3}50% {2}hello-00001 #cn\n {8}URL: {2}http:\/\/cn-hello\.default\.example\.com\n/,
  );

  const routes = await kn(['route', 'list']);
  assert.equal(
    routes.out,
    'NAME    URL                                READY\nhello   http://hello.default.example.com   True\n',
  );

  const rdesc = await kn(['revision', 'describe', 'hello-00001']);
  assert.match(rdesc.out, /^Name: {7}hello-00001\nNamespace: {2}default\n/);
  assert.match(rdesc.out, /\n {3}I Active +NoTraffic\n$/);
});

interface OutCase {
  name: string;
  args: string[];
  check(v: unknown): void;
}
const outputs: OutCase[] = [
  {
    name: 'service describe -o yaml',
    args: ['service', 'describe', 'hello', '-o', 'yaml'],
    check: (v) => assert.equal((v as Service).kind, 'Service'),
  },
  {
    name: 'service describe -o json',
    args: ['service', 'describe', 'hello', '-o', 'json'],
    check: (v) => assert.equal((v as Service).metadata?.name, 'hello'),
  },
  {
    name: 'service list -o json',
    args: ['service', 'list', '-o', 'json'],
    check: (v) => assert.equal((v as { kind: string }).kind, 'ServiceList'),
  },
  {
    name: 'revision list -o yaml',
    args: ['revision', 'list', '-o', 'yaml'],
    check: (v) => assert.equal((v as { items: unknown[] }).items.length, 2),
  },
];
for (const c of outputs) {
  test(`machine output: ${c.name}`, async () => {
    const r = await kn(c.args);
    assert.equal(r.code, 0, r.err);
    c.check(c.args.includes('json') ? JSON.parse(r.out) : parse(r.out));
  });
}

test('service describe -o url', async () => {
  assert.equal((await kn(['service', 'describe', 'hello', '-o', 'url'])).out, 'http://hello.default.example.com\n');
});

test("not found is an error with the API's message", async () => {
  const r = await kn(['service', 'describe', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^Error: services\.serving\.knative\.dev "nope" not found\n/);
});

test("create waits for Ready and prints kn's progress lines", async () => {
  const run = kn(['service', 'create', 'waiter', '--image', 'img', '--wait-timeout', '20']);
  // Play the reconciler: first not ready, then ready.
  let svc: (Service & KubeObject) | undefined;
  for (let i = 0; i < 100 && !svc; i++) {
    svc = (await client.tryGet(R.services, 'default', 'waiter')) as (Service & KubeObject) | undefined;
    if (!svc) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(svc);
  await new Promise((r) => setTimeout(r, 100));
  const notReady = {
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: 'Unknown',
        reason: 'RevisionMissing',
        message: 'Configuration "waiter" is waiting for a Revision to become ready.',
      },
    ],
  };
  svc = (await client.update(
    R.services,
    { ...svc, status: notReady } as unknown as KubeObject,
    'status',
  )) as unknown as Service & KubeObject;
  svc = (await client.update(
    R.services,
    { ...svc, status: { ...notReady, url: 'http://waiter.default.example.com' } } as unknown as KubeObject,
    'status',
  )) as unknown as Service & KubeObject;
  await client.update(
    R.services,
    {
      ...svc,
      status: {
        observedGeneration: 1,
        url: 'http://waiter.default.example.com',
        latestReadyRevisionName: 'waiter-00001',
        conditions: readyConditions(new Date().toISOString()),
      },
    } as unknown as KubeObject,
    'status',
  );
  const r = await run;
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], "Creating service 'waiter' in namespace 'default':");
  assert.equal(lines[1], '');
  assert.match(lines[2]!, /^ {2}\d\.\d{3}s Configuration "waiter" is waiting for a Revision to become ready\.$/);
  assert.match(lines[3]!, /^ {2}\d\.\d{3}s \.\.\.$/);
  assert.match(lines[4]!, /^ {2}\d\.\d{3}s Ready to serve\.$/);
  assert.deepEqual(lines.slice(5), [
    '',
    "Service 'waiter' created to latest revision 'waiter-00001' is available at URL:",
    'http://waiter.default.example.com',
    '',
  ]);
});

test("wait gives up with kn's timeout message", async () => {
  const r = await kn(['service', 'create', 'slow', '--image', 'img', '--wait-timeout', '1']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^Error: timeout: service 'slow' not ready after 1 seconds\n/);
});

test('kubeconfig: ./.sluice/kubeconfig is used when neither flag nor $KUBECONFIG is set', async () => {
  const cwd = join(dir, 'project');
  await mkdir(join(cwd, '.sluice'), { recursive: true });
  await copyFile(api.kubeconfigPath, join(cwd, '.sluice', 'kubeconfig'));
  const r = await kn(['route', 'list'], { env: {}, cwd });
  assert.equal(r.code, 0, r.err);
  const none = await kn(['route', 'list'], { env: {}, cwd: join(dir, 'data') });
  assert.equal(none.code, 1);
  assert.match(none.err, /no kubeconfig found/);
  const flag = await kn(['route', 'list', '--kubeconfig', api.kubeconfigPath], { env: {}, cwd: join(dir, 'data') });
  assert.equal(flag.code, 0, flag.err);
});

test("--revision-name follows kn's templating and prefix", async () => {
  const r = await kn(['service', 'update', 'hello', '--revision-name', '{{.Service}}-v{{.Generation}}', '--no-wait']);
  assert.equal(r.code, 0, r.err);
  const svc = await getService('hello');
  assert.equal(svc.spec?.template?.metadata?.name, `hello-v${svc.metadata.generation}`);
  await kn(['service', 'update', 'hello', '--revision-name', 'blue', '--no-wait']);
  assert.equal((await getService('hello')).spec?.template?.metadata?.name, 'hello-blue');
});

test('service delete and revision delete', async () => {
  let r = await kn(['service', 'delete', 'slow', 'waiter']);
  assert.equal(
    r.out,
    "Service 'slow' successfully deleted in namespace 'default'.\nService 'waiter' successfully deleted in namespace 'default'.\n",
  );
  r = await kn(['revision', 'delete', 'hello-00001']);
  assert.equal(r.out, "Revision 'hello-00001' deleted in namespace 'default'.\n");
  r = await kn(['service', 'delete', 'ghost']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^Error: services\.serving\.knative\.dev "ghost" not found\n/);
});

// ---- kn parity: create -f, --env-from/--mount/--probe-readiness/--scale as sent, export, revision delete --prune.

const FILE_SERVICE = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: fromfile
  namespace: elsewhere
  labels:
    app: demo
spec:
  template:
    spec:
      containers:
        - image: gcr.io/knative-samples/helloworld-go
          env:
            - name: TARGET
              value: File
`;

test('service create -f: the file, the namespace from -n/context, and flags on top, as kn sends it', async () => {
  await writeFile(join(dir, 'svc.yaml'), FILE_SERVICE);
  const r = await kn(
    [
      'service',
      'create',
      '-f',
      'svc.yaml',
      '--env',
      'EXTRA=1',
      '--env-from',
      'cm:app-config',
      '--mount',
      '/etc/secret=secret:app-secret',
      '--probe-readiness',
      'http::8080:/healthz',
      '--scale',
      '1..3',
      '--no-wait',
    ],
    { now: Date.parse('2026-12-05T08:00:00Z') },
  );
  assert.equal(r.err, '');
  assert.equal(r.out, "Service 'fromfile' created in namespace 'default'.\n");
  const svc = await getService('fromfile');
  assert.deepEqual(svc.metadata.labels, { app: 'demo' });
  const v = generateVolumeName('/etc/secret');
  assert.deepEqual(svc.spec?.template, {
    metadata: {
      annotations: {
        'client.knative.dev/updateTimestamp': '2026-12-05T08:00:00Z',
        'autoscaling.knative.dev/min-scale': '1',
        'autoscaling.knative.dev/max-scale': '3',
      },
    },
    spec: {
      containers: [
        {
          image: 'gcr.io/knative-samples/helloworld-go',
          env: [
            { name: 'TARGET', value: 'File' },
            { name: 'EXTRA', value: '1' },
          ],
          envFrom: [{ configMapRef: { name: 'app-config' } }],
          volumeMounts: [{ name: v, readOnly: true, mountPath: '/etc/secret' }],
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
        },
      ],
      volumes: [{ name: v, secret: { secretName: 'app-secret' } }],
    },
  });
});

test('service create -f with NAME and --image: the argument names it, the image replaces the file’s', async () => {
  await writeFile(join(dir, 'noname.json'), JSON.stringify({ spec: { template: { spec: { containers: [{}] } } } }));
  const r = await kn(['service', 'create', 'named', '-f', 'noname.json', '--image', 'img:2', '--no-wait']);
  assert.equal(r.err, '');
  const svc = await getService('named');
  assert.equal(svc.spec?.template?.spec?.containers?.[0]?.image, 'img:2');
});

const fileErrors: ErrCase[] = [
  {
    name: 'name differs from the file',
    args: ['service', 'create', 'other', '-f', 'svc.yaml'],
    err: "Error: provided service name 'other' doesn't match name from file 'fromfile'\n",
  },
  {
    name: 'no name anywhere',
    args: ['service', 'create', '-f', 'noname.json'],
    err: 'Error: no service name provided in command parameter or file\n',
  },
  {
    name: 'missing file',
    args: ['service', 'create', '-f', 'missing.yaml'],
    err: 'Error: open missing.yaml: no such file or directory\n',
  },
  {
    name: 'YAML syntax error names file:line:col',
    args: ['service', 'create', '-f', 'bad.yaml'],
    err: 'Error: bad.yaml:3:3: Map keys must be unique\n',
  },
  {
    name: 'another kind',
    args: ['service', 'create', '-f', 'deploy.yaml'],
    err: "Error: deploy.yaml: kind is 'Deployment', want 'Service' (serving.knative.dev/v1)\n",
  },
];
for (const c of fileErrors) {
  test(`service create -f fails: ${c.name}`, async () => {
    await writeFile(join(dir, 'bad.yaml'), 'metadata:\n  name: x\n  name: y\n');
    await writeFile(join(dir, 'deploy.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: other\n');
    const r = await kn(c.args);
    assert.equal(r.code, 1);
    assert.ok(r.err.startsWith(c.err), r.err);
    assert.equal(await client.tryGet(R.services, 'default', 'other'), undefined);
  });
}

test('service update --env-from/--mount/--volume change and remove, as kn does', async () => {
  const r = await kn([
    'service',
    'update',
    'fromfile',
    '--env-from',
    'cm:app-config-',
    '--env-from',
    'secret:s1',
    '--mount',
    '/etc/secret-',
    '--volume',
    'extra=cm:more',
    '--no-wait',
  ]);
  assert.equal(r.code, 0, r.err);
  const c = (await getService('fromfile')).spec?.template?.spec;
  assert.deepEqual(c?.containers?.[0]?.envFrom, [{ secretRef: { name: 's1' } }]);
  assert.equal(c?.containers?.[0]?.volumeMounts, undefined);
  assert.deepEqual(c?.volumes, [{ name: 'extra', configMap: { name: 'more' } }]);
});

test('--env and --env-value-from keep their command-line order; --env-file goes where it is given', async () => {
  await writeFile(join(dir, 'app.env'), 'FROM_FILE=1\n\nTARGET=file\n');
  const r = await kn([
    'service',
    'create',
    'envs',
    '--image',
    'img',
    '--env-value-from',
    'TOKEN=secret:creds:token',
    '--env',
    'TARGET=x',
    '--env-value-from',
    'WHO=cm:greeting:WHO',
    '--env-file',
    'app.env',
    '--no-wait',
  ]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual((await getService('envs')).spec?.template?.spec?.containers?.[0]?.env, [
    { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
    { name: 'TARGET', value: 'file' },
    { name: 'WHO', valueFrom: { configMapKeyRef: { name: 'greeting', key: 'WHO' } } },
    { name: 'FROM_FILE', value: '1' },
  ]);
  const bad = await kn(['service', 'update', 'envs', '--env-file', 'nope.env', '--no-wait']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^Error: Invalid --env-file: open nope\.env: no such file or directory\n/);
});

/** A Revision of `service` as the reconcilers write it: generation and routing-state labels, annotations. */
async function putRevision(
  service: string,
  name: string,
  gen: number,
  state: string,
  ann: Record<string, string> = {},
) {
  await client.create(R.revisions, {
    metadata: {
      name,
      namespace: 'default',
      labels: {
        'serving.knative.dev/service': service,
        'serving.knative.dev/configuration': service,
        'serving.knative.dev/configurationGeneration': String(gen),
        'serving.knative.dev/configurationUID': 'u-1',
        'serving.knative.dev/serviceUID': 'u-2',
        'serving.knative.dev/routingState': state,
      },
      annotations: { 'serving.knative.dev/creator': 'admin', 'serving.knative.dev/routes': service, ...ann },
    },
    spec: { containers: [{ image: `img:${gen}` }], timeoutSeconds: 300 },
  });
}

test("service export: kn's Export and replay List, with and without revisions", async () => {
  let r = await kn(['service', 'create', 'exp', '--image', 'img:1', '--revision-name', 'rev1', '--no-wait']);
  assert.equal(r.code, 0, r.err);
  await putRevision('exp', 'exp-rev1', 1, 'active', { 'client.knative.dev/user-image': 'img:1' });
  r = await kn(['service', 'update', 'exp', '--env', 'a=mouse', '--revision-name', 'rev2', '--no-wait']);
  await putRevision('exp', 'exp-rev2', 2, 'active');
  await putRevision('exp', 'exp-old', 0, 'reserve');
  r = await kn([
    'service',
    'update',
    'exp',
    '--tag',
    'exp-rev1=candidate',
    '--traffic',
    'candidate=2,@latest=98',
    '--no-wait',
  ]);
  assert.equal(r.code, 0, r.err);
  const svc = await getService('exp');
  await client.update(
    R.services,
    { ...svc, status: { latestReadyRevisionName: 'exp-rev2' } } as unknown as KubeObject,
    'status',
  );
  const template = (rev: string, image: string, env?: Array<{ name: string; value: string }>) => ({
    metadata: {
      name: `exp-${rev}`,
      creationTimestamp: null,
      ...(rev === 'rev1' ? { annotations: { 'client.knative.dev/user-image': 'img:1' } } : {}),
    },
    spec: { containers: [{ image, ...(env ? { env } : {}), resources: {} }] },
  });
  const latest = template('rev2', 'img:1', [{ name: 'a', value: 'mouse' }]);
  latest.metadata = {
    name: 'exp-rev2',
    creationTimestamp: null,
    annotations: { 'client.knative.dev/user-image': 'img:1' },
  };
  const traffic = [
    { revisionName: 'exp-rev2', latestRevision: true, percent: 98 },
    { tag: 'candidate', revisionName: 'exp-rev1', latestRevision: false, percent: 2 },
  ];

  r = await kn(['service', 'export', 'exp', '-o', 'yaml']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(parse(r.out), {
    apiVersion: 'client.knative.dev/v1alpha1',
    kind: 'Export',
    metadata: { creationTimestamp: null },
    spec: {
      service: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'exp', creationTimestamp: null },
        spec: { template: latest },
        status: {},
      },
      revisions: null,
    },
  });
  // sigs.k8s.io/yaml sorts keys.
  assert.match(
    r.out,
    /^apiVersion: client\.knative\.dev\/v1alpha1\nkind: Export\nmetadata:\n {2}creationTimestamp: null\nspec:\n/,
  );

  r = await kn(['service', 'export', 'exp', '--with-revisions', '-o', 'json']);
  assert.equal(r.code, 0, r.err);
  const exported = JSON.parse(r.out) as Record<string, unknown>;
  assert.ok(r.out.startsWith('{\n    "kind": "Export",\n    "apiVersion": "client.knative.dev/v1alpha1",'), r.out);
  assert.deepEqual(exported['spec'], {
    service: {
      kind: 'Service',
      apiVersion: 'serving.knative.dev/v1',
      metadata: { name: 'exp', creationTimestamp: null },
      spec: { template: latest, traffic },
      status: {},
    },
    revisions: [
      {
        kind: 'Revision',
        apiVersion: 'serving.knative.dev/v1',
        metadata: {
          name: 'exp-rev1',
          creationTimestamp: null,
          labels: {
            'serving.knative.dev/configuration': 'exp',
            'serving.knative.dev/configurationGeneration': '1',
            'serving.knative.dev/routingState': 'active',
            'serving.knative.dev/service': 'exp',
          },
          annotations: { 'client.knative.dev/user-image': 'img:1', 'serving.knative.dev/routes': 'exp' },
        },
        spec: { containers: [{ image: 'img:1', resources: {} }], timeoutSeconds: 300 },
        status: {},
      },
    ],
  });

  r = await kn(['service', 'export', 'exp', '--with-revisions', '--mode', 'replay', '-o', 'yaml']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(parse(r.out), {
    apiVersion: 'v1',
    kind: 'List',
    metadata: {},
    items: [
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'exp', creationTimestamp: null },
        spec: {
          template: {
            metadata: {
              name: 'exp-rev1',
              creationTimestamp: null,
              annotations: { 'client.knative.dev/user-image': 'img:1', 'serving.knative.dev/routes': 'exp' },
            },
            spec: { containers: [{ image: 'img:1', resources: {} }], timeoutSeconds: 300 },
          },
        },
        status: {},
      },
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'exp', creationTimestamp: null },
        spec: { template: latest, traffic },
        status: {},
      },
    ],
  });

  r = await kn(['service', 'export', 'exp']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^Error: 'kn service export' requires output format\n/);
});

test('revision delete --prune SERVICE deletes what no route uses, oldest last; --prune-all and errors', async () => {
  await putRevision('pr', 'pr-00001', 1, 'reserve');
  await putRevision('pr', 'pr-00002', 2, 'active');
  await putRevision('pr', 'pr-00003', 3, 'pending');
  await putRevision('other', 'other-00001', 1, 'reserve');
  let r = await kn(['revision', 'delete', '--prune', 'pr']);
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    "Revision 'pr-00003' deleted in namespace 'default'.\nRevision 'pr-00001' deleted in namespace 'default'.\n",
  );
  assert.ok(await client.tryGet(R.revisions, 'default', 'pr-00002'));
  assert.ok(await client.tryGet(R.revisions, 'default', 'other-00001'));
  r = await kn(['revision', 'delete', '--prune', 'pr']);
  assert.equal(r.out, 'No unreferenced revisions found.\n');

  r = await kn(['revision', 'delete', 'x', '--prune-all']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^Error: 'kn revision delete' with --prune-all flag requires no arguments\n/);
  r = await kn(['revision', 'delete']);
  assert.match(r.err, /^Error: 'kn revision delete' requires one or more revision name\n/);

  r = await kn(['revision', 'delete', '--prune-all', '--wait']);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.includes("Revision 'other-00001' deleted in namespace 'default'.\n"), r.out);
  assert.ok(!r.out.includes("'pr-00002'"), r.out);
  assert.equal(await client.tryGet(R.revisions, 'default', 'other-00001'), undefined);
});

interface HelpCase {
  args: string[];
  has: string;
}
const helps: HelpCase[] = [
  { args: ['service', '--help'], has: 'create' },
  { args: ['service', 'create', '--help'], has: '--revision-name' },
  { args: ['service', 'update', '--help'], has: '--traffic' },
  { args: ['service', 'describe', '--help'], has: '--verbose' },
  { args: ['service', 'list', '--help'], has: '--all-namespaces' },
  { args: ['service', 'delete', '--help'], has: '--all' },
  { args: ['revision', 'list', '--help'], has: '--service' },
  { args: ['revision', 'describe', '--help'], has: '--output' },
  { args: ['revision', 'delete', '--help'], has: '--prune-all' },
  { args: ['service', 'export', '--help'], has: '--with-revisions' },
  { args: ['service', 'create', '--help'], has: '--probe-readiness' },
  { args: ['route', 'list', '--help'], has: '--output' },
  { args: ['route', 'describe', '--help'], has: 'Show details of a route' },
];
for (const c of helps) {
  test(`help: ${c.args.join(' ')}`, async () => {
    const r = await kn(c.args);
    assert.equal(r.code, 0);
    assert.ok(r.out.includes(c.has), r.out);
  });
}

test("broker create --broker-config parses kn's 1–4 part forms", () => {
  const cases: Array<{ in: string; want: Record<string, string> | RegExp }> = [
    { in: 'spec-cm', want: { kind: 'ConfigMap', apiVersion: 'v1', name: 'spec-cm' } },
    { in: 'cm:spec-cm', want: { kind: 'ConfigMap', apiVersion: 'v1', name: 'spec-cm' } },
    { in: 'sc:spec-sc:test', want: { kind: 'Secret', apiVersion: 'v1', name: 'spec-sc', namespace: 'test' } },
    { in: 'RMQ:c', want: { kind: 'RabbitmqCluster', apiVersion: 'rabbitmq.com/v1beta1', name: 'c' } },
    {
      in: 'rabbitmq.com/v1beta1:RabbitmqCluster:mycluster',
      want: { apiVersion: 'rabbitmq.com/v1beta1', kind: 'RabbitmqCluster', name: 'mycluster' },
    },
    {
      in: 'rabbitmq.com/v1beta1:RabbitmqCluster:mycluster:test',
      want: { apiVersion: 'rabbitmq.com/v1beta1', kind: 'RabbitmqCluster', name: 'mycluster', namespace: 'test' },
    },
    { in: 'Foo:bar', want: /APIVersion could not be determined for kind "Foo"\. Provide config in format: / },
  ];
  for (const c of cases) {
    if (c.want instanceof RegExp) assert.throws(() => brokerConfigRef(c.in), c.want, c.in);
    else assert.deepEqual(brokerConfigRef(c.in), c.want, c.in);
  }
});

test('broker create: --broker-config needs --class; with it the reference is stored', async () => {
  const no = await kn(['broker', 'create', 'cfg-b', '--broker-config', 'cm:x']);
  assert.equal(no.code, 1);
  assert.equal(no.err.split('\n')[0], 'Error: cannot set broker-config without setting class');
  const ok = await kn([
    'broker',
    'create',
    'cfg-b',
    '--class',
    'MTChannelBasedBroker',
    '--broker-config',
    'cm:x:knative-eventing',
  ]);
  assert.equal(ok.out, "Broker 'cfg-b' successfully created in namespace 'default'.\n", ok.err);
  const b = await client.get(ER.brokers, 'default', 'cfg-b');
  assert.deepEqual((b['spec'] as { config?: unknown }).config, {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    name: 'x',
    namespace: 'knative-eventing',
  });
});
