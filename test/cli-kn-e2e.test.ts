// End to end: the Knative tutorial session of the seeds, replayed through the real `sluice` binary
// against `sluice start` (API server, Serving reconcilers, data plane): create, update --env, tag two
// revisions, split 50/50, a third revision, then 50/25/25; listings and route describe as kn shows them.
// Then kn's configuration flags from Knative's docs and kn's own examples: --env-from a ConfigMap and a
// Secret, --mount, --probe-readiness, --scale, served by a real helloworld process; revision delete
// --prune; service export and create -f of the exported file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KubeClient, R } from '../src/kube/index.js';
import { generateVolumeName } from '../src/cli/kn/podspec.js';
import { removeDir, run, SLUICE_BIN, startSluice, tempDir, waitFor, type SluiceProcess } from './support/procs.js';

let dir: string;
let sluice: SluiceProcess;
const S = 'tut';

before(async () => {
  dir = await tempDir('sluice-kn-e2e-');
  sluice = await startSluice('start', join(dir, 'data'));
});
after(async () => {
  await sluice?.stop();
  await removeDir(dir);
});

const kn = (...args: string[]) =>
  run(process.execPath, [SLUICE_BIN, ...args], {
    env: { KUBECONFIG: join(dir, 'data', 'kubeconfig') },
    timeoutMs: 90_000,
  });

test('the tutorial session through the CLI', { timeout: 180_000 }, async () => {
  let r = await kn(
    'service',
    'create',
    S,
    '--image',
    'gcr.io/knative-samples/helloworld-go',
    '--env',
    'TARGET=First',
    '--wait-timeout',
    '60',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Creating service '${S}' in namespace 'default':\n\n`));
  assert.match(r.stdout, /\n {2}\d+\.\d{3}s Ready to serve\.\n\n/);
  assert.match(
    r.stdout,
    new RegExp(`Service '${S}' created to latest revision '${S}-00001' is available at URL:\nhttp://${S}\\.default\\.`),
  );

  r = await kn('service', 'update', S, '--env', 'TARGET=Second', '--wait-timeout', '60');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Updating Service '${S}' in namespace 'default':\n`));
  assert.match(r.stdout, new RegExp(`Service '${S}' updated to latest revision '${S}-00002' is available at URL:`));

  r = await kn('revision', 'list', '-s', S);
  let rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/ {2,}/));
  assert.deepEqual(
    rows.map((x) => [x[0], x[2]]),
    [
      ['NAME', 'TRAFFIC'],
      [`${S}-00002`, '100%'],
      [`${S}-00001`, '1'],
    ],
  );

  r = await kn('service', 'update', S, '--tag', `${S}-00001=first`, '--tag', `${S}-00002=second`);
  assert.equal(r.code, 0, r.stderr);
  r = await kn('route', 'describe', S);
  assert.match(
    r.stdout,
    new RegExp(
      `Traffic Targets: {2}\n {2}100% {2}@latest \\(${S}-00002\\)\n {4}0% {2}${S}-00001 #first\n {8}URL: {2}http://first-${S}\\.`,
    ),
  );

  r = await kn('service', 'update', S, '--traffic', `${S}-00002=50`, '--traffic', `${S}-00001=60`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: given traffic percents sum to 110, want 100\n/);

  r = await kn('service', 'update', S, '--traffic', `${S}-00002=50`, '--traffic', `${S}-00001=50`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`Service '${S}' with latest revision '${S}-00002' \\(unchanged\\) is available at URL:`),
  );

  r = await kn('service', 'update', S, '--image', 'gcr.io/knative-samples/helloworld-rust', '--wait-timeout', '60');
  assert.equal(r.code, 0, r.stderr);
  r = await kn(
    'service',
    'update',
    S,
    '--traffic',
    `${S}-00003=50`,
    '--traffic',
    `${S}-00002=25`,
    '--traffic',
    `${S}-00001=25`,
  );
  assert.equal(r.code, 0, r.stderr);

  r = await kn('revision', 'list', '-s', S);
  rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/ {2,}/));
  assert.deepEqual(
    rows.slice(1).map((x) => x.slice(0, 4)),
    [
      [`${S}-00003`, S, '50%', '3'],
      [`${S}-00002`, S, '25%', 'second'],
      [`${S}-00001`, S, '25%', 'first'],
    ],
  );

  r = await kn('service', 'describe', S);
  assert.match(
    r.stdout,
    new RegExp(`\nRevisions: {2}\n {3}50% {2}${S}-00003 \\(current @latest\\) \\[3\\] \\(\\d+s\\)\n`),
  );
  assert.match(r.stdout, /\nConditions: {2}\n {2}OK TYPE {19}AGE REASON\n {2}\+\+ Ready /);

  r = await kn('service', 'delete', S);
  assert.equal(r.stdout, `Service '${S}' successfully deleted in namespace 'default'.\n`);
});

/** One request through the router with the Service's host (fetch cannot set Host). */
function get(host: string): Promise<{ status: number; body: string }> {
  const url = new URL(sluice.endpoints.router ?? '');
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`GET ${host} timed out`)));
    req.end();
  });
}

const serves = (host: string, body: string) =>
  waitFor(
    `${host} answers ${JSON.stringify(body)}`,
    async () => {
      const r = await get(host).catch(() => undefined);
      return r?.status === 200 && r.body === body ? r : undefined;
    },
    60_000,
  );

test(
  "kn's configuration flags from the docs: env-from, mount, probe, scale; prune; export and create -f",
  {
    timeout: 240_000,
  },
  async () => {
    const client = KubeClient.fromFile(join(dir, 'data', 'kubeconfig'), 'test');
    await client.create(R.configMaps, {
      metadata: { name: 'app-config', namespace: 'default' },
      data: { TARGET: 'ConfigMap' },
    });
    await client.create(R.secrets, {
      metadata: { name: 'app-secret', namespace: 'default' },
      stringData: { token: 's3cret' },
    });
    const host = 'cfg.default.svc.cluster.local';

    let r = await kn(
      'service',
      'create',
      'cfg',
      '--image',
      'gcr.io/knative-samples/helloworld-go',
      '--env-from',
      'cm:app-config',
      '--env-from',
      'secret:app-secret',
      '--mount',
      '/etc/secret=secret:app-secret',
      '--probe-readiness',
      'http::8080:/healthz',
      '--scale',
      '1..3',
      '--scale-target',
      '10',
      '--wait-timeout',
      '60',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Service 'cfg' created to latest revision 'cfg-00001' is available at URL:\n/);
    await serves(host, 'Hello ConfigMap!\n');
    const rev1 = await client.get(R.revisions, 'default', 'cfg-00001');
    const v = generateVolumeName('/etc/secret');
    const spec1 = rev1['spec'] as Record<string, unknown>;
    assert.deepEqual(spec1['volumes'], [{ name: v, secret: { secretName: 'app-secret' } }]);
    const c1 = (spec1['containers'] as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(c1['envFrom'], [{ configMapRef: { name: 'app-config' } }, { secretRef: { name: 'app-secret' } }]);
    assert.deepEqual(c1['volumeMounts'], [{ name: v, readOnly: true, mountPath: '/etc/secret' }]);
    assert.deepEqual((c1['readinessProbe'] as Record<string, unknown>)['httpGet'], { path: '/healthz', port: 8080 });
    const ann = rev1.metadata.annotations ?? {};
    assert.deepEqual(
      [
        ann['autoscaling.knative.dev/min-scale'],
        ann['autoscaling.knative.dev/max-scale'],
        ann['autoscaling.knative.dev/target'],
      ],
      ['1', '3', '10'],
    );

    r = await kn(
      'service',
      'update',
      'cfg',
      '--env-from',
      'cm:app-config-',
      '--env',
      'TARGET=Flag',
      '--wait-timeout',
      '60',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Service 'cfg' updated to latest revision 'cfg-00002' is available at URL:\n/);
    await serves(host, 'Hello Flag!\n');

    // cfg-00001 leaves the route; once its routingState says so, --prune deletes it and nothing else.
    await waitFor(
      'cfg-00001 no longer active',
      async () => {
        const rev = await client.tryGet(R.revisions, 'default', 'cfg-00001');
        const state = rev?.metadata.labels?.['serving.knative.dev/routingState'];
        return state !== undefined && state !== 'active' ? state : undefined;
      },
      30_000,
    );
    r = await kn('revision', 'delete', '--prune', 'cfg');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Revision 'cfg-00001' deleted in namespace 'default'.\n");
    r = await kn('revision', 'delete', '--prune', 'cfg');
    assert.equal(r.stdout, 'No unreferenced revisions found.\n');

    // Export, delete, and create the Service again from the exported file.
    r = await kn('service', 'export', 'cfg', '--mode', 'replay', '-o', 'yaml');
    assert.equal(r.code, 0, r.stderr);
    const exported = parse(r.stdout) as Record<string, unknown>;
    assert.equal(exported['kind'], 'Service');
    assert.deepEqual(exported['status'], {});
    assert.deepEqual((exported['metadata'] as Record<string, unknown>)['name'], 'cfg');
    await writeFile(join(dir, 'cfg.yaml'), r.stdout);
    r = await kn('service', 'delete', 'cfg', '--wait');
    assert.equal(r.code, 0, r.stderr);
    r = await kn('service', 'create', '-f', join(dir, 'cfg.yaml'), '--wait-timeout', '60');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Service 'cfg' created to latest revision 'cfg-00001' is available at URL:\n/);
    await serves(host, 'Hello Flag!\n');
    const again = await client.get(R.services, 'default', 'cfg');
    const template = (again['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
    const c = (template['containers'] as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(c['envFrom'], [{ secretRef: { name: 'app-secret' } }]);
    assert.deepEqual(c['env'], [{ name: 'TARGET', value: 'Flag' }]);
    assert.deepEqual(template['volumes'], [{ name: v, secret: { secretName: 'app-secret' } }]);
  },
);
