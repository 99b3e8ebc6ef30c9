// Embedded Knative Serving under load, in one process: the API server with Knative admission, the Serving
// reconcilers and the data plane, as `sluice start` wires them. Measures
//   1. Services from create to Ready per second, for N helloworld Services (each one revision process);
//   2. memory per revision process (RSS of the children, from /proc);
//   3. p50/p99 from a traffic change (a spec.traffic patch) to the Route's status showing it.
// N defaults to 200; set SLUICE_BENCH_SERVING_N to measure another size on a smaller machine.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { Admission, startApiServer } from '../src/apiserver/index.js';
import { registerServingAdmission, startEmbeddedServing } from '../src/cli/embedded.js';
import { packageRoot } from '../src/cli/package-root.js';
import { Informer, KubeClient, R, type KubeObject } from '../src/kube/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { systemClock } from '../src/util/clock.js';

interface Cond {
  type: string;
  status: string;
}
interface Watched extends KubeObject {
  status?: { conditions?: Cond[]; observedGeneration?: number; traffic?: Array<{ tag?: string }> };
}

const isReady = (o: Watched): boolean =>
  o.status?.observedGeneration === o.metadata.generation &&
  (o.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Resident set size of a process in MiB, from /proc (Linux); undefined when unreadable. */
async function rssMiB(pid: number): Promise<number | undefined> {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const svc = (name: string): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: {
    template: {
      spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go', env: [{ name: 'TARGET', value: name }] }] },
    },
  },
});

export async function run(): Promise<Record<string, number | string>> {
  const n = Number(process.env['SLUICE_BENCH_SERVING_N'] ?? 200);
  const changes = Math.min(60, n);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-serving-'));
  const log = silentLogger();
  const admission = new Admission();
  registerServingAdmission(admission);
  const api = await startApiServer({ dataDir: dir, crdDirs: [join(packageRoot(), 'deploy', 'crds')], admission, log });
  const serving = await startEmbeddedServing({
    kubeconfigPath: api.kubeconfigPath,
    dataDir: dir,
    routerPort: 0,
    host: '127.0.0.1',
    clock: systemClock,
    log,
  });
  const client = KubeClient.fromFile(api.kubeconfigPath, 'bench');
  const readyAt = new Map<string, number>();
  const services = new Informer<Watched>(client, R.services, { namespace: 'default' });
  const onSvc = (o: Watched): void => {
    if (!readyAt.has(o.metadata.name ?? '') && isReady(o)) readyAt.set(o.metadata.name ?? '', performance.now());
  };
  services.onAdd(onSvc).onUpdate(onSvc);
  // Route status watchers for the traffic-change latency: name → resolve when its status shows the tag.
  const waiting = new Map<string, { tag: string; done: () => void }>();
  const routes = new Informer<Watched>(client, R.routes, { namespace: 'default' });
  routes.onUpdate((o) => {
    const w = waiting.get(o.metadata.name ?? '');
    if (w && isReady(o) && (o.status?.traffic ?? []).some((t) => t.tag === w.tag)) {
      waiting.delete(o.metadata.name ?? '');
      w.done();
    }
  });
  await Promise.all([services.start(), routes.start()]);
  try {
    const names = Array.from({ length: n }, (_, i) => `svc-${String(i).padStart(4, '0')}`);
    const createdAt = new Map<string, number>();
    const t0 = performance.now();
    await pool(names, 16, async (name) => {
      createdAt.set(name, performance.now());
      await client.create(R.services, svc(name));
    });
    const deadline = Date.now() + Math.max(120_000, n * 1500);
    while (readyAt.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const allReady = performance.now();
    const ready = readyAt.size;
    const latencies = names
      .filter((x) => readyAt.has(x))
      .map((x) => (readyAt.get(x) ?? 0) - (createdAt.get(x) ?? 0))
      .sort((a, b) => a - b);

    const pids = serving.runtime
      .listRevisions()
      .flatMap((s) => s.processes.map((p) => p.pid))
      .filter((p): p is number => p !== null);
    const rss = (await Promise.all(pids.map(rssMiB))).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    const rssTotal = rss.reduce((s, x) => s + x, 0);

    // Traffic changes, one at a time: tag the latest revision of a Service, wait for its Route's status.
    const changeMs: number[] = [];
    for (let i = 0; i < changes; i++) {
      const name = names[i % ready] ?? names[0] ?? '';
      const tag = `t${i}`;
      const seen = new Promise<void>((done) => waiting.set(name, { tag, done }));
      const start = performance.now();
      await client.patch(
        R.services,
        'default',
        name,
        { spec: { traffic: [{ latestRevision: true, percent: 100, tag }] } },
        'merge',
      );
      await Promise.race([seen, new Promise((r) => setTimeout(r, 10_000))]);
      if (!waiting.has(name)) changeMs.push(performance.now() - start);
      waiting.delete(name);
    }
    changeMs.sort((a, b) => a - b);

    return {
      services_requested: n,
      services_ready: ready,
      note:
        ready < n ? `only ${ready} of ${n} Services became Ready in time on this machine` : `all ${n} Services Ready`,
      create_to_ready_services_per_s: ready / ((allReady - t0) / 1000),
      create_to_ready_total_s: (allReady - t0) / 1000,
      create_to_ready_p50_ms: percentile(latencies, 50),
      create_to_ready_p99_ms: percentile(latencies, 99),
      revision_processes: rss.length,
      revision_rss_mean_mib: rss.length ? rssTotal / rss.length : NaN,
      revision_rss_p50_mib: percentile(rss, 50),
      revision_rss_max_mib: rss[rss.length - 1] ?? NaN,
      revision_rss_total_mib: rssTotal,
      traffic_changes: changeMs.length,
      traffic_change_to_route_status_p50_ms: percentile(changeMs, 50),
      traffic_change_to_route_status_p99_ms: percentile(changeMs, 99),
    };
  } finally {
    services.stop();
    routes.stop();
    await serving.close();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}
