// Applying Git to a real API server: bad files block only themselves and are reported with file:line:column,
// governed Services keep the rollout controller's traffic, failed templates are held back until retry (also
// across a restart), and pruning is opt-in and limited to objects Sluice labelled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { copyFile, mkdir } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { createLogger, silentLogger } from '../src/observability/logger.js';
import { KubeClient, R, type KubeObject } from '../src/kube/index.js';
import {
  startGitOps,
  COMMIT_ANNOTATION,
  MANAGED_LABEL,
  STATUS_CONFIGMAP,
  parseManifestFile,
  type GitOps,
  type GitOpsOptions,
} from '../src/gitops/index.js';
import { configMapYaml, createTestRemote, serviceYaml, type TestRemote } from '../src/gitops/testing.js';
import { ROOT, tempDir, removeDir } from './support/procs.js';

let api: RunningApiServer;
let dir: string;
let client: KubeClient;
let rollout: KubeClient;
let remote: TestRemote;
let gitops: GitOps;

const options = (): GitOpsOptions => ({
  client,
  repo: `file://${remote.bare}`,
  branch: 'main',
  path: 'apps',
  pollCron: false,
  workDir: join(dir, 'work'),
  log: silentLogger(),
});

before(async () => {
  dir = await tempDir('sluice-gitops-sync-');
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
  });
  client = KubeClient.fromFile(api.kubeconfigPath, 'test');
  rollout = client.withFieldManager('sluice-rollout');
  remote = await createTestRemote(join(dir, 'git'));
  await remote.commit({
    'apps/web.yaml': serviceYaml('web', 'ghcr.io/example/web:v1'),
    'other/ignored.yaml': serviceYaml('outside', 'x:1'),
  });
  gitops = await startGitOps(options());
});

after(async () => {
  await gitops.close();
  await api.close();
  await removeDir(dir);
});

type Svc = KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }> } }; traffic?: unknown[] } };
const getSvc = (name: string): Promise<Svc> => client.get<Svc>(R.services, 'default', name);
const statusData = async (): Promise<Record<string, string>> =>
  ((await client.get(R.configMaps, 'default', STATUS_CONFIGMAP)).data ?? {}) as Record<string, string>;

const BROKEN = `apiVersion: v1
kind: ConfigMap
metadata:
  name: ok-in-broken
data:
  a: "1"
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: broken
spec:
  template:
    spec:
      containers:
        - name: x
`;

test('a commit with broken manifests applies every other file and reports each problem with file:line:column', async () => {
  const sha = await remote.commit({
    'apps/config.yaml': configMapYaml('settings', { color: 'blue' }),
    'apps/broken.yaml': BROKEN,
    'apps/syntax.yml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  x: "1"\n  x: "2"\n',
    'apps/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n',
    'apps/web.yaml': serviceYaml('web', 'ghcr.io/example/web:v2'),
  });
  const r = await gitops.syncNow();
  assert.equal(r.outcome, 'synced');
  assert.equal(r.commit, sha);
  const where = r.errors.map((e) => `${e.file}:${e.line}:${e.column}`);
  assert.deepEqual(where, ['apps/broken.yaml:16:11', 'apps/deploy.yaml:2:7', 'apps/syntax.yml:7:3']);
  assert.match(r.errors[0]!.message, /^spec\.template\.spec\.containers\[0\]\.image: is required/);
  assert.match(r.errors[1]!.message, /Deployment \(apps\/v1\) is not applied by Sluice/);
  assert.match(r.errors[2]!.message, /invalid YAML: Map keys must be unique/);
  // The good files are applied, at this commit; nothing from a bad file is (not even its valid ConfigMap).
  assert.equal((await getSvc('web')).spec.template.spec.containers[0]!.image, 'ghcr.io/example/web:v2');
  assert.equal((await getSvc('web')).metadata.annotations?.[COMMIT_ANNOTATION], sha);
  const settings = await client.get(R.configMaps, 'default', 'settings');
  assert.deepEqual(settings.data, { color: 'blue' });
  assert.equal(settings.metadata.labels?.[MANAGED_LABEL], 'sluice-gitops');
  assert.equal(await client.tryGet(R.configMaps, 'default', 'ok-in-broken'), undefined);
  assert.equal(await client.tryGet(R.services, 'default', 'outside'), undefined, 'outside --path');
  // The status ConfigMap says so.
  const d = await statusData();
  assert.equal(d.ready, 'False');
  assert.equal(d.reason, 'ManifestErrors');
  assert.equal(d.lastAppliedCommit, sha);
  assert.match(
    d.message ?? '',
    /3 of 5 file\(s\) not applied .*apps\/broken\.yaml:16:11: spec\.template\.spec\.containers\[0\]\.image: is required/,
  );
  assert.equal((JSON.parse(d.errors ?? '[]') as unknown[]).length, 3);
  // Fixing the files makes it Ready again.
  await remote.commit({
    'apps/broken.yaml': BROKEN.replace('- name: x', '- image: ghcr.io/example/broken:v1'),
    'apps/syntax.yml': null,
    'apps/deploy.yaml': null,
  });
  const fixed = await gitops.syncNow();
  assert.deepEqual(fixed.errors, []);
  assert.equal((await statusData()).ready, 'True');
  assert.ok(await client.tryGet(R.configMaps, 'default', 'ok-in-broken'));
});

test('policy problems carry the policy file position too', () => {
  const text = `${serviceYaml('a', 'x:1')}---
apiVersion: delivery.sluice.dev/v1alpha1
kind: RolloutPolicy
metadata:
  name: p
spec:
  targetRef: {name: a}
  strategy:
    canary:
      steps:
        - setWeight: 150
`;
  const r = parseManifestFile(text, 'apps/a.yaml', 'default');
  assert.equal(r.manifests.length, 0);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.line, 20);
  assert.match(r.problems[0]!.message, /setWeight/);
});

test('a governed Service keeps the traffic the rollout controller set, whatever traffic Git carries', async () => {
  const traffic = (pct: number): string => `  traffic:\n    - latestRevision: true\n      percent: ${pct}\n`;
  await remote.commit({ 'apps/gov.yaml': serviceYaml('gov', 'ghcr.io/example/gov:v1', traffic(100)) });
  await gitops.syncNow();
  assert.deepEqual((await getSvc('gov')).spec.traffic, [{ latestRevision: true, percent: 100 }]);
  // The rollout controller takes the split over (Update, as manager sluice-rollout).
  const cur = await getSvc('gov');
  const canary = [
    { revisionName: 'gov-00001', percent: 80 },
    { latestRevision: true, percent: 20, tag: 'canary' },
  ];
  await rollout.update(R.services, { ...cur, spec: { ...cur.spec, traffic: canary } });
  // Git brings a new template and a different traffic block.
  const sha = await remote.commit({ 'apps/gov.yaml': serviceYaml('gov', 'ghcr.io/example/gov:v2', traffic(50)) });
  const r = await gitops.syncNow();
  assert.deepEqual(r.errors, []);
  const live = await getSvc('gov');
  assert.deepEqual(live.spec.traffic, canary, 'the rollout controller still owns spec.traffic');
  assert.equal(live.spec.template.spec.containers[0]!.image, 'ghcr.io/example/gov:v2');
  assert.equal(live.metadata.annotations?.[COMMIT_ANNOTATION], sha);
  assert.equal(r.applied.find((a) => a.id === 'Service/default/gov')?.trafficKept, true);
  const mf = (live.metadata.managedFields ?? []) as Array<{
    manager: string;
    fieldsV1: { 'f:spec'?: Record<string, unknown> };
  }>;
  assert.ok(mf.find((e) => e.manager === 'sluice-rollout')?.fieldsV1['f:spec']?.['f:traffic'] !== undefined);

  // Without the ownership pre-check, the 409 on .spec.traffic is the safety net: re-applied without traffic.
  await gitops.close();
  gitops = await startGitOps({ ...options(), protectedManagers: ['somebody-else'] });
  await gitops.syncNow();
  await remote.commit({ 'apps/gov.yaml': serviceYaml('gov', 'ghcr.io/example/gov:v3', traffic(30)) });
  const r409 = await gitops.syncNow();
  assert.deepEqual(r409.errors, []);
  assert.equal(r409.applied.find((a) => a.id === 'Service/default/gov')?.trafficKept, true);
  assert.deepEqual((await getSvc('gov')).spec.traffic, canary);
  assert.equal((await getSvc('gov')).spec.template.spec.containers[0]!.image, 'ghcr.io/example/gov:v3');
  await gitops.close();
  gitops = await startGitOps(options());

  // A Service targeted by a RolloutPolicy in Git gets no traffic from Git even before the controller acts.
  await remote.commit({
    'apps/pol.yaml': `${serviceYaml('pol', 'ghcr.io/example/pol:v1', traffic(100))}---
apiVersion: delivery.sluice.dev/v1alpha1
kind: RolloutPolicy
metadata:
  name: pol
spec:
  targetRef: {name: pol}
  strategy:
    canary:
      steps:
        - setWeight: 20
`,
  });
  const r2 = await gitops.syncNow();
  assert.deepEqual(r2.errors, []);
  assert.equal((await getSvc('pol')).spec.traffic, undefined);
  assert.ok(await client.tryGet(R.rolloutPolicies, 'default', 'pol'));
});

test('a template marked failed is not re-applied by later syncs (nor after a restart); retry applies it', async () => {
  await remote.commit({ 'apps/canary.yaml': serviceYaml('canary', 'ghcr.io/example/canary:v1') });
  await gitops.syncNow();
  const bad = await remote.commit({ 'apps/canary.yaml': serviceYaml('canary', 'ghcr.io/example/canary:v2-bad') });
  await gitops.syncNow();
  // The rollout fails and the controller rolls the template back.
  const cur = await getSvc('canary');
  await rollout.update(R.services, {
    ...cur,
    spec: { ...cur.spec, template: { spec: { containers: [{ image: 'ghcr.io/example/canary:v1' }] } } },
  });
  await gitops.markFailed('canary', bad);
  // The next commit touches something else: it is applied, the failed template is not.
  const next = await remote.commit({ 'apps/config.yaml': configMapYaml('settings', { color: 'green' }) });
  const r = await gitops.syncNow();
  assert.deepEqual(
    r.skipped.map((s) => s.id),
    ['Service/default/canary'],
  );
  assert.deepEqual((await client.get(R.configMaps, 'default', 'settings')).data, { color: 'green' });
  assert.equal((await getSvc('canary')).spec.template.spec.containers[0]!.image, 'ghcr.io/example/canary:v1');
  // The memory survives a restart (it lives in the status ConfigMap).
  await gitops.close();
  gitops = await startGitOps(options());
  // The first sync after a start re-applies everything (it runs in the background; syncNow waits for it).
  await gitops.syncNow();
  assert.equal(gitops.status().failedTemplates['default/canary']?.commit, bad);
  assert.equal((await getSvc('canary')).spec.template.spec.containers[0]!.image, 'ghcr.io/example/canary:v1');
  // retry forgets the mark and re-applies (taking the template back from the rollback, for Git).
  const again = await gitops.retry('canary');
  assert.deepEqual(again.skipped, []);
  const live = await getSvc('canary');
  assert.equal(live.spec.template.spec.containers[0]!.image, 'ghcr.io/example/canary:v2-bad');
  assert.equal(live.metadata.annotations?.[COMMIT_ANNOTATION], next);
  assert.equal(JSON.parse((await statusData()).failedTemplates ?? '{}')['default/canary'], undefined);
});

test('pruning is opt-in and only touches objects Sluice labelled', async () => {
  await client.create(R.configMaps, { metadata: { name: 'hand-made', namespace: 'default' }, data: { k: 'v' } });
  await remote.commit({ 'apps/config.yaml': null });
  await gitops.syncNow();
  assert.ok(await client.tryGet(R.configMaps, 'default', 'settings'), 'prune is off: removed from Git, still there');
  await gitops.close();
  gitops = await startGitOps({ ...options(), prune: true });
  await gitops.syncNow(); // waits for the first sync after the start, which prunes
  assert.equal(await client.tryGet(R.configMaps, 'default', 'settings'), undefined);
  assert.ok(await client.tryGet(R.configMaps, 'default', 'hand-made'), 'unlabelled objects are never pruned');
  assert.ok(await client.tryGet(R.configMaps, 'default', STATUS_CONFIGMAP), 'the status is never pruned');
  assert.ok(await client.tryGet(R.services, 'default', 'web'));
});

// The Broker as `kn quickstart` writes it: lowercase `kind: broker`, applied as kubectl would (as Broker).
const EVENTING = `apiVersion: eventing.knative.dev/v1
kind: broker
metadata:
  name: example-broker
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: on-rollback
spec:
  broker: example-broker
  filter: {attributes: {type: dev.sluice.rollout.rolledback}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: web}}
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: web-binding
spec:
  subject: {apiVersion: serving.knative.dev/v1, kind: Service, name: web}
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: example-broker}}
`;

test('Brokers (even `kind: broker`), Triggers and SinkBindings are applied from Git, and pruned when Git drops them', async () => {
  // Runs after the pruning test: `gitops` prunes.
  await remote.commit({ 'apps/eventing.yaml': EVENTING });
  const r = await gitops.syncNow();
  assert.deepEqual(r.errors, []);
  for (const [ref, name] of [
    [R.brokers, 'example-broker'],
    [R.triggers, 'on-rollback'],
    [R.sinkBindings, 'web-binding'],
  ] as const) {
    const o = await client.get(ref, 'default', name);
    assert.equal(o.metadata.labels?.[MANAGED_LABEL], 'sluice-gitops', `${ref.kind} ${name} is labelled`);
  }
  assert.equal((await client.get(R.brokers, 'default', 'example-broker')).kind, 'Broker');
  const t = await client.get(R.triggers, 'default', 'on-rollback');
  assert.deepEqual((t['spec'] as { filter?: unknown }).filter, {
    attributes: { type: 'dev.sluice.rollout.rolledback' },
  });
  await remote.commit({ 'apps/eventing.yaml': null });
  const pruned = await gitops.syncNow();
  assert.deepEqual(pruned.pruned, [
    'Broker/default/example-broker',
    'SinkBinding/default/web-binding',
    'Trigger/default/on-rollback',
  ]);
  assert.equal(await client.tryGet(R.brokers, 'default', 'example-broker'), undefined);
});

test('prune skips kinds the server does not serve (no Eventing CRDs): no warning, no retry', async () => {
  const d2 = await tempDir('sluice-gitops-noeventing-');
  const crds = join(d2, 'crds');
  await mkdir(crds);
  for (const f of ['serving.knative.dev.yaml', 'delivery.sluice.dev.yaml'])
    await copyFile(join(ROOT, 'deploy', 'crds', f), join(crds, f));
  const api2 = await startApiServer({ dataDir: join(d2, 'data'), crdDirs: [crds], log: silentLogger() });
  const lines: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    }),
  });
  const remote2 = await createTestRemote(join(d2, 'git'));
  await remote2.commit({ 'apps/config.yaml': configMapYaml('settings', { a: '1' }) });
  const g2 = await startGitOps({
    ...options(),
    client: KubeClient.fromFile(api2.kubeconfigPath, 'test'),
    repo: `file://${remote2.bare}`,
    workDir: join(d2, 'work'),
    prune: true,
    log,
  });
  try {
    await g2.syncNow();
    await remote2.commit({ 'apps/config.yaml': null, 'apps/other.yaml': configMapYaml('other', { b: '2' }) });
    const r = await g2.syncNow();
    assert.deepEqual(r.pruned, ['ConfigMap/default/settings']);
    assert.deepEqual(
      lines.filter((l) => l.includes('cannot list objects to prune')),
      [],
      'brokers, triggers and sinkbindings are not served: nothing to prune there, not an error',
    );
  } finally {
    await g2.close();
    await api2.close();
    await removeDir(d2);
  }
});
