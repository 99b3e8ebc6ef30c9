// The embedded data plane's router, measured with the `Runtime` library (what `sluice start` embeds) in a
// forked child process (bench/router-runtime.ts), the load generator (autocannon) in this one:
//   1. throughput and latency to a helloworld revision through the router vs the same process reached
//      directly on its own port (from the revision's status endpoints), side by side, alternating cells;
//   2. split accuracy: 10,000 requests to a route split 50/25/25 over three revisions, by response header;
//   3. cold start to the first response byte: revisions created at zero (`initial-scale: 0`), then the same
//      revisions again after they idled back to zero;
//   4. scale-out under a step in load: from the step to the second replica ready, and to the desired count.
// About 40 s on 2 cores. SLUICE_BENCH_ROUTER=throughput runs part 1 only; SLUICE_BENCH_ROUTER_NODE_ARGS adds node
// flags to the runtime's process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the router under load.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { RevisionSpec, RevisionStatus, RouteSpec } from '../src/runtime/types.js';
import type { RuntimeMessage, RuntimeRequest } from './router-runtime.js';

type Figures = Record<string, number | string>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const here = dirname(fileURLToPath(import.meta.url));
const NS = 'bench';
const HELLO = 'gcr.io/knative-samples/helloworld-go';
const AUTOSCALE = 'gcr.io/knative-samples/autoscale-go';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
const median = (xs: number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const r2 = (n: number): number => Math.round(n * 100) / 100;
const r3 = (n: number): number => Math.round(n * 1000) / 1000;
const host = (route: string): string => `${route}.${NS}.example.com`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class RuntimeChild {
  readonly statuses = new Map<string, RevisionStatus>();
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #listeners = new Set<(s: RevisionStatus, at: number) => void>();

  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
  ) {
    proc.on('message', (m: RuntimeMessage) => {
      if (m.type === 'status') {
        const at = Date.now();
        this.statuses.set(m.status.name, m.status);
        for (const l of this.#listeners) l(m.status, at);
      } else if (m.type === 'reply') {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.error) p?.reject(new Error(m.error));
        else p?.resolve(m.result);
      }
    });
  }

  static async start(dataDir: string): Promise<RuntimeChild> {
    const execArgv = (process.env['SLUICE_BENCH_ROUTER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const proc = fork(join(here, 'router-runtime.js'), [dataDir], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`router-runtime exited with ${code}`)));
      proc.on('message', (m: RuntimeMessage) => {
        if (m.type === 'ready') resolve(m.url);
      });
    });
    return new RuntimeChild(proc, url);
  }

  call<T>(req: DistributiveOmit<RuntimeRequest, 'id'>): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: (v) => resolve(v as T), reject });
      this.proc.send({ ...req, id });
    });
  }

  onStatus(l: (s: RevisionStatus, at: number) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  async waitStatus(name: string, pred: (s: RevisionStatus) => boolean, timeoutMs: number): Promise<RevisionStatus> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.call<RevisionStatus | null>({ op: 'status', namespace: NS, name });
      if (s && pred(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${name}: ${JSON.stringify(s)}`);
      await sleep(20);
    }
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((r) => (this.proc.exitCode !== null ? r() : this.proc.once('exit', () => r())));
    this.proc.send({ op: 'close', id: 0 });
    await Promise.race([exited, sleep(10_000)]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

function revision(name: string, image: string, annotations: Record<string, string> = {}): RevisionSpec {
  return { namespace: NS, name, serviceName: name.replace(/-\d+$/, ''), annotations, containers: [{ image }] };
}

interface Cell {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** One autocannon run; latencies from its per-response event (sub-millisecond, unlike its histogram). */
async function cannon(
  url: string,
  hostHeader: string | undefined,
  connections: number,
  seconds: number,
): Promise<Cell> {
  const lat: number[] = [];
  const inst = autocannon({
    url,
    connections,
    duration: seconds,
    ...(hostHeader ? { headers: { host: hostHeader } } : {}),
  });
  inst.on('response', (_c, status, _b, ms) => {
    if (status >= 200 && status < 300) lat.push(ms);
  });
  const res = await inst;
  lat.sort((a, b) => a - b);
  return {
    rps: res['2xx'] / res.duration,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    non2xx: res.non2xx,
    errors: res.errors,
  };
}

/** Time to the response's first byte (headers) and to its end, on a fresh connection. */
function timedRequest(
  url: string,
  hostHeader: string,
): Promise<{ firstByteMs: number; totalMs: number; status: number; revision: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const t0 = performance.now();
    const req = request(
      { host: u.hostname, port: u.port, path: '/', headers: { host: hostHeader }, agent: false },
      (res) => {
        const firstByteMs = performance.now() - t0;
        res.resume();
        res.once('end', () =>
          resolve({
            firstByteMs,
            totalMs: performance.now() - t0,
            status: res.statusCode ?? 0,
            revision: String(res.headers['knative-serving-revision'] ?? ''),
          }),
        );
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('cold request timed out')));
    req.once('error', reject);
    req.end();
  });
}

async function throughput(rt: RuntimeChild, f: Figures): Promise<void> {
  // SLUICE_BENCH_ROUTER_IMAGE: another sample for part 1, e.g. gcr.io/knative-samples/autoscale-go, which
  // (unlike helloworld) writes no log line per request.
  await rt.call({
    op: 'upsert',
    spec: revision('hello-00001', process.env['SLUICE_BENCH_ROUTER_IMAGE'] ?? HELLO, {
      'autoscaling.knative.dev/max-scale': '1',
      'autoscaling.knative.dev/window': '6s',
    }),
  });
  const st = await rt.waitStatus('hello-00001', (s) => s.replicas === 1 && s.endpoints.length === 1, 20_000);
  const direct = st.endpoints[0] ?? '';
  const router = rt.url;
  const h = host('hello');
  f['throughput_image'] = process.env['SLUICE_BENCH_ROUTER_IMAGE'] ?? HELLO;
  // Warm-up: JIT, connection set-up, the router's per-replica agent.
  await cannon(direct, undefined, 16, 1);
  await cannon(router, h, 16, 1);

  const C = 16;
  const SECS = 4;
  const d: Cell[] = [];
  const r: Cell[] = [];
  let routerCpu = 0;
  let routerReqs = 0;
  for (let round = 0; round < 2; round++) {
    d.push(await cannon(direct, undefined, C, SECS));
    const cpu0 = await rt.call<number>({ op: 'cpu' });
    const cell = await cannon(router, h, C, SECS);
    routerCpu += (await rt.call<number>({ op: 'cpu' })) - cpu0;
    routerReqs += cell.rps * SECS;
    r.push(cell);
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const dRps = mean(d.map((c) => c.rps));
  const rRps = mean(r.map((c) => c.rps));
  f['hello_direct_c16_rps'] = Math.round(dRps);
  f['hello_router_c16_rps'] = Math.round(rRps);
  f['hello_direct_c16_rps_cells'] = d.map((c) => Math.round(c.rps)).join(' / ');
  f['hello_router_c16_rps_cells'] = r.map((c) => Math.round(c.rps)).join(' / ');
  f['router_vs_direct_c16_rps_ratio'] = r3(rRps / dRps);
  f['hello_direct_c16_p50_ms'] = r3(mean(d.map((c) => c.p50)));
  f['hello_router_c16_p50_ms'] = r3(mean(r.map((c) => c.p50)));
  f['hello_direct_c16_p99_ms'] = r3(mean(d.map((c) => c.p99)));
  f['hello_router_c16_p99_ms'] = r3(mean(r.map((c) => c.p99)));
  f['router_cpu_us_per_req'] = Math.round(routerCpu / routerReqs);
  f['hello_c16_errors_non2xx'] = [...d, ...r].reduce((s, c) => s + c.errors + c.non2xx, 0);

  // One connection: the latency a single request pays, with no queueing.
  const d1 = await cannon(direct, undefined, 1, 3);
  const r1 = await cannon(router, h, 1, 3);
  f['hello_direct_c1_rps'] = Math.round(d1.rps);
  f['hello_router_c1_rps'] = Math.round(r1.rps);
  f['hello_direct_c1_p50_ms'] = r3(d1.p50);
  f['hello_router_c1_p50_ms'] = r3(r1.p50);
  f['hello_direct_c1_p99_ms'] = r3(d1.p99);
  f['hello_router_c1_p99_ms'] = r3(r1.p99);
  f['router_added_c1_p50_ms'] = r3(r1.p50 - d1.p50);
  f['router_added_c16_p50_ms'] = r3(mean(r.map((c) => c.p50)) - mean(d.map((c) => c.p50)));
}

async function split(rt: RuntimeChild, f: Figures): Promise<void> {
  const names = ['split-00001', 'split-00002', 'split-00003'];
  const weights = [50, 25, 25];
  for (const n of names) await rt.call({ op: 'upsert', spec: revision(n, HELLO) });
  for (const n of names) await rt.waitStatus(n, (s) => s.replicas >= 1, 20_000);
  const N = 10_000;
  const counts = new Map<string, number>();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const u = new URL(rt.url);
  let sent = 0;
  let failed = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(
        { host: u.hostname, port: u.port, path: '/', headers: { host: host('split') }, agent },
        (res) => {
          const rev = String(res.headers['knative-serving-revision'] ?? '');
          if (res.statusCode === 200) counts.set(rev, (counts.get(rev) ?? 0) + 1);
          else failed++;
          res.resume();
          res.once('end', () => resolve());
        },
      );
      req.once('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent < N) {
        sent++;
        await one();
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  let maxDev = 0;
  names.forEach((n, i) => {
    const pct = ((counts.get(n) ?? 0) / N) * 100;
    f[`split_${weights[i]}_${i + 1}_pct`] = r3(pct);
    maxDev = Math.max(maxDev, Math.abs(pct - (weights[i] ?? 0)));
  });
  f['split_requests'] = N;
  f['split_failed'] = failed;
  f['split_max_deviation_pp'] = r3(maxDev);
  f['split_c16_rps'] = Math.round(N / secs);
}

async function coldStarts(rt: RuntimeChild, names: string[], label: string, f: Figures): Promise<void> {
  const first: number[] = [];
  const total: number[] = [];
  for (const n of names) {
    await rt.waitStatus(n, (s) => s.actualReplicas === 0 && s.desiredReplicas === 0, 40_000);
    const r = await timedRequest(rt.url, host(n.replace(/-\d+$/, '')));
    if (r.status !== 200 || r.revision !== n) throw new Error(`cold request to ${n}: ${r.status} from "${r.revision}"`);
    first.push(r.firstByteMs);
    total.push(r.totalMs);
  }
  f[`coldstart_${label}_first_byte_median_ms`] = r2(median(first));
  f[`coldstart_${label}_first_byte_ms`] = first.map((x) => Math.round(x)).join(' / ');
  f[`coldstart_${label}_first_byte_max_ms`] = r2(Math.max(...first));
  f[`coldstart_${label}_samples`] = first.length;
}

async function scaleOut(rt: RuntimeChild, f: Figures): Promise<void> {
  const TARGET = 10;
  const C = 30;
  const util = 0.7; // Knative's default target-utilization-percentage
  const expected = Math.ceil(C / (TARGET * util));
  const name = 'scale-00001';
  await rt.call({
    op: 'upsert',
    spec: revision(name, AUTOSCALE, { 'autoscaling.knative.dev/target': String(TARGET) }),
  });
  await rt.waitStatus(name, (s) => s.replicas === 1, 20_000);
  let t2 = NaN;
  let tDesired = NaN;
  let tReached = NaN;
  let maxDesired = 1;
  let t0 = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  const off = rt.onStatus((s, at) => {
    if (s.name !== name || t0 === 0) return;
    maxDesired = Math.max(maxDesired, s.desiredReplicas);
    if (Number.isNaN(tDesired) && s.desiredReplicas > 1) tDesired = at - t0;
    if (Number.isNaN(t2) && s.replicas >= 2) t2 = at - t0;
    if (Number.isNaN(tReached) && s.desiredReplicas >= expected && s.replicas >= s.desiredReplicas) {
      tReached = at - t0;
      resolveDone();
    }
  });
  t0 = Date.now();
  const inst = autocannon({
    url: `${rt.url}/?sleep=200`,
    connections: C,
    duration: 30,
    headers: { host: host('scale') },
  });
  await Promise.race([done, sleep(25_000)]);
  inst.stop();
  const res = await inst;
  off();
  f['scaleout_step_connections'] = C;
  f['scaleout_target_per_replica'] = TARGET * util;
  f['scaleout_expected_replicas'] = expected;
  f['scaleout_max_desired_replicas'] = maxDesired;
  f['scaleout_to_desired_gt1_ms'] = tDesired;
  f['scaleout_to_second_ready_ms'] = t2;
  f['scaleout_to_desired_ready_ms'] = tReached;
  f['scaleout_non2xx_errors'] = res.non2xx + res.errors;
}

export async function run(): Promise<Figures> {
  const f: Figures = {
    setup: 'Runtime library in a forked child process; autocannon in the benchmark process',
    loadavg_1m_start: r2(loadavg()[0] ?? 0),
  };
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-router-'));
  const rt = await RuntimeChild.start(dataDir);
  const t = (): number => Math.round(performance.now());
  const phases: string[] = [];
  let mark = t();
  const phase = (n: string): void => {
    phases.push(`${n} ${((t() - mark) / 1000).toFixed(1)}s`);
    mark = t();
  };
  try {
    const routes: RouteSpec[] = [
      { namespace: NS, name: 'hello', traffic: [{ revisionName: 'hello-00001', percent: 100 }] },
      {
        namespace: NS,
        name: 'split',
        traffic: [
          { revisionName: 'split-00001', percent: 50 },
          { revisionName: 'split-00002', percent: 25 },
          { revisionName: 'split-00003', percent: 25 },
        ],
      },
      { namespace: NS, name: 'scale', traffic: [{ revisionName: 'scale-00001', percent: 100 }] },
    ];
    const cold = Array.from({ length: 5 }, (_, i) => `cold${i + 1}-00001`);
    for (const c of cold)
      routes.push({ namespace: NS, name: c.replace(/-\d+$/, ''), traffic: [{ revisionName: c, percent: 100 }] });
    await rt.call({ op: 'routes', table: { domain: 'example.com', routes } });

    await throughput(rt, f);
    phase('throughput');
    if (process.env['SLUICE_BENCH_ROUTER'] === 'throughput') return f;
    await split(rt, f);
    phase('split');
    // Created cold: `initial-scale: 0` (allow-zero-initial-scale is on in the child), a 6 s stable window so
    // they return to zero (6 s + 1 s grace) during the scale-out phase and can be measured again after idling.
    for (const c of cold)
      await rt.call({
        op: 'upsert',
        spec: revision(c, HELLO, {
          'autoscaling.knative.dev/initial-scale': '0',
          'autoscaling.knative.dev/window': '6s',
        }),
      });
    await coldStarts(rt, cold, 'created', f);
    phase('coldstart');
    await scaleOut(rt, f);
    phase('scaleout');
    await coldStarts(rt, cold, 'after_idle', f);
    phase('coldstart-again');
  } finally {
    f['loadavg_1m_end'] = r2(loadavg()[0] ?? 0);
    f['phases'] = phases.join(', ');
    await rt.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return f;
}
