// A gradual rollout (serving.knative.dev/rollout-duration: 60s) survives a restart of the Serving
// reconcilers and of the API server: the rollout lives in the Route's Ingress
// (networking.internal.knative.dev/v1alpha1) annotation networking.internal.knative.dev/rollout, as on
// Knative. The Route reconciler runs against a real embedded API server on a manual clock; the same
// schedule of reconciles is played twice, once straight through and once with a restart in the middle,
// and both must produce the same steps at the same times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { KubeClient, noEvents, R, type KubeObject, type ResourceRef } from '../src/kube/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { ManualClock } from '../src/util/clock.js';
import { IngressTable, reconcileRoute, type Lister, type Listers } from '../src/serving/reconciler/index.js';
import type { DataPlaneRouteTable } from '../src/serving/reconciler/index.js';
import { ANNOTATION_ROLLOUT } from '../src/serving/keys.js';
import { ROOT, removeDir, tempDir } from './support/procs.js';

const NS = 'default';
const T0 = Date.UTC(2026, 0, 1);

/** A cache filled by one LIST per kind: what an informer holds right after it starts. */
async function listers(client: KubeClient): Promise<Listers> {
  const snap = async (r: ResourceRef, ns = ''): Promise<Lister> => {
    const items = (await client.list(r, ns)).items;
    return {
      get: (n, name) => items.find((o) => o.metadata.namespace === n && o.metadata.name === name),
      list: () => items,
    };
  };
  return {
    services: await snap(R.services),
    configurations: await snap(R.configurations),
    revisions: await snap(R.revisions),
    routes: await snap(R.routes),
    ingresses: await snap(R.ingresses),
    configMaps: await snap(R.configMaps, 'knative-serving'),
    secrets: await snap(R.secrets),
  };
}

const ready = { type: 'Ready', status: 'True' };

async function createWithStatus(client: KubeClient, r: ResourceRef, obj: KubeObject): Promise<void> {
  const made = await client.create(r, obj);
  if (obj['status']) {
    const status = { observedGeneration: made.metadata.generation, ...(obj['status'] as object) };
    await client.update(r, { ...made, status }, 'status');
  }
}

const revision = (name: string): KubeObject => ({
  metadata: { name, namespace: NS, labels: { 'serving.knative.dev/configuration': 'hello' } },
  spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go:latest' }] },
  status: { conditions: [ready] },
});

async function setLatest(client: KubeClient, rev: string): Promise<void> {
  const cfg = await client.get(R.configurations, NS, 'hello');
  const status = {
    observedGeneration: cfg.metadata.generation,
    latestCreatedRevisionName: rev,
    latestReadyRevisionName: rev,
    conditions: [ready],
  };
  await client.update(R.configurations, { ...cfg, status }, 'status');
}

interface Observation {
  atMs: number;
  traffic: string;
  annotation: string;
}

/**
 * Plays the schedule: revision 1 at 100 %, then revision 2 becomes latest at T0+10s, reconciles every two
 * seconds until T0+80s. With `restartAtMs`, the API server and the reconciler's state are thrown away at
 * that instant and started again from the data directory.
 */
async function play(restartAtMs?: number): Promise<Observation[]> {
  const dir = await tempDir('sluice-rollout-restart-');
  const crdDirs = [join(ROOT, 'deploy', 'crds')];
  const clock = new ManualClock(T0);
  let api: RunningApiServer = await startApiServer({ dataDir: join(dir, 'data'), crdDirs, clock });
  let client = KubeClient.fromFile(api.kubeconfigPath, 'test');
  let table = new IngressTable();
  let routed: DataPlaneRouteTable = { routes: [] };
  const dataPlane = { setRoutes: (t: DataPlaneRouteTable) => void (routed = t) };
  const out: Observation[] = [];
  try {
    await createWithStatus(client, R.configurations, {
      metadata: { name: 'hello', namespace: NS },
      spec: { template: { spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go:latest' }] } } },
    });
    await createWithStatus(client, R.revisions, revision('hello-00001'));
    await setLatest(client, 'hello-00001');
    await client.create(R.routes, {
      metadata: { name: 'hello', namespace: NS, annotations: { 'serving.knative.dev/rollout-duration': '60s' } },
      spec: { traffic: [{ configurationName: 'hello', latestRevision: true, percent: 100 }] },
    });
    let restarted = restartAtMs === undefined;
    for (let t = 0; t <= 80_000; t += 2000) {
      clock.set(T0 + t);
      if (t === 10_000) {
        await createWithStatus(client, R.revisions, revision('hello-00002'));
        await setLatest(client, 'hello-00002');
      }
      if (!restarted && t >= (restartAtMs ?? 0)) {
        restarted = true;
        await api.close();
        api = await startApiServer({ dataDir: join(dir, 'data'), crdDirs, clock });
        client = KubeClient.fromFile(api.kubeconfigPath, 'test');
        table = new IngressTable();
        routed = { routes: [] };
      }
      const ctx = { client, listers: await listers(client), clock, log: silentLogger(), recorder: noEvents };
      await reconcileRoute(ctx, { dataPlane, ingress: table }, { namespace: NS, name: 'hello' });
      const ing = await client.get(R.ingresses, NS, 'hello');
      out.push({
        atMs: t,
        traffic: JSON.stringify(routed.routes[0]?.traffic ?? []),
        annotation: ing.metadata.annotations?.[ANNOTATION_ROLLOUT] ?? '',
      });
    }
  } finally {
    await api.close();
    await removeDir(dir);
  }
  return out;
}

test('a 60s gradual rollout resumes after a restart with the same steps at the same times', async () => {
  const straight = await play();
  // Mid-rollout: revision 2 appeared at 10 s; steps run from about 11 s to 70 s.
  const restarted = await play(38_000);
  const percents = straight.map(
    (o) =>
      (JSON.parse(o.traffic) as { revisionName: string; percent: number }[]).find(
        (x) => x.revisionName === 'hello-00002',
      )?.percent ?? 0,
  );
  // The rollout really is gradual: several intermediate splits, starting at 1 % and ending at 100 %.
  assert.equal(percents[percents.length - 1], 100);
  assert.ok(new Set(percents.filter((p) => p > 0 && p < 100)).size >= 10, `steps: ${percents.join(',')}`);
  assert.equal(percents[5], 1, 'revision 2 starts at 1 % when it becomes latest');
  const ro = JSON.parse(straight[20]?.annotation ?? '{}') as {
    configurations: { stepParams: Record<string, number> }[];
  };
  assert.ok((ro.configurations[0]?.stepParams['stepDuration'] ?? 0) > 0, 'the annotation holds the step cadence');
  assert.deepEqual(restarted, straight);
});
