// The embedded data plane's router, measured with the `Runtime` library (what `sluice start` embeds) in a
// forked child process (bench/router-runtime.ts), and then inside `sluice start` itself:
//   1. throughput and latency to a helloworld revision: direct to its process, through nginx (one worker,
//      keep-alive upstream; Debian's package) and through the router, alternating cells so drift hits all three;
//      `wrk` (Debian's package, one thread) is the load generator, CPU per request is read from /proc;
//   1b. the same three inside `sluice start` (API server, Serving, Prometheus scraping, controller running);
//   2. split accuracy: 10,000 requests to a route split 50/25/25 over three revisions, by response header;
//   3. cold start to the first response byte: revisions created at zero (`initial-scale: 0`), then the same
//      revisions again after they idled back to zero;
//   4. scale-out under a step in load (autocannon): from the step to the second replica ready, and to the
//      desired count.
// About 80 s on 2 cores. SLUICE_BENCH_ROUTER=throughput runs part 1 only, =start part 1b only;
// SLUICE_BENCH_ROUTER_NODE_ARGS adds node flags to the runtime's process, e.g. `--cpu-prof
// --cpu-prof-dir=/tmp/prof` to profile the router under load. wrk and nginx are installed with apt-get if missing.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from '../src/runtime/ports.js';
import { kubectl, startSluice, waitFor } from '../test/support/procs.js';
import { cpuMicros, Nginx, wrk, type WrkCell } from './http-tools.js';
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

/** A way to reach the helloworld process: direct, through nginx, through the router. */
interface Target {
  name: string;
  url: string;
  host: string | undefined;
  /** CPU µs of the process(es) in the middle so far; undefined for direct (nothing in the middle). */
  cpu?: () => number;
}

/**
 * The same cells for every target, alternating target by target so drift hits all: 16 connections (2 rounds of
 * `secs` s each), then 1 connection (`secs1` s). Figures `<prefix>_<target>_c16_rps` etc., ratios to direct.
 */
export async function compareTargets(
  targets: Target[],
  prefix: string,
  f: Figures,
  secs = 4,
  secs1 = 3,
): Promise<void> {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const t of targets) await wrk(t.url, t.host, 16, 1); // warm-up: JIT, connections, pools
  for (const [conns, rounds, s] of [
    [16, 2, secs],
    [1, 1, secs1],
  ] as const) {
    const cells = new Map<string, WrkCell[]>();
    const cpu = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        const c0 = t.cpu?.() ?? 0;
        const cell = await wrk(t.url, t.host, conns, s);
        if (t.cpu) cpu.set(t.name, (cpu.get(t.name) ?? 0) + t.cpu() - c0);
        cells.set(t.name, [...(cells.get(t.name) ?? []), cell]);
      }
    }
    const direct = mean((cells.get('direct') ?? []).map((c) => c.rps));
    const directP50 = mean((cells.get('direct') ?? []).map((c) => c.p50Ms));
    for (const t of targets) {
      const cs = cells.get(t.name) ?? [];
      const k = `${prefix}_${t.name}_c${conns}`;
      const rps = mean(cs.map((c) => c.rps));
      f[`${k}_rps`] = Math.round(rps);
      if (cs.length > 1) f[`${k}_rps_cells`] = cs.map((c) => Math.round(c.rps)).join(' / ');
      f[`${k}_p50_ms`] = r3(mean(cs.map((c) => c.p50Ms)));
      f[`${k}_p99_ms`] = r3(mean(cs.map((c) => c.p99Ms)));
      f[`${k}_errors`] = cs.reduce((a, c) => a + c.errors, 0);
      if (t.name === 'direct') continue;
      f[`${k}_vs_direct_ratio`] = r3(rps / direct);
      f[`${k}_added_p50_ms`] = r3(mean(cs.map((c) => c.p50Ms)) - directP50);
      const reqs = cs.reduce((a, c) => a + c.requests, 0);
      if (t.cpu) f[`${k}_cpu_us_per_req`] = Math.round((cpu.get(t.name) ?? 0) / reqs);
    }
  }
}

async function throughput(rt: RuntimeChild, f: Figures, scratch: string): Promise<void> {
  // SLUICE_BENCH_ROUTER_IMAGE: another sample for part 1, e.g. gcr.io/knative-samples/autoscale-go, which
  // (unlike helloworld) writes no log line per request.
  await rt.call({
    op: 'upsert',
    spec: revision('hello-00001', process.env['SLUICE_BENCH_ROUTER_IMAGE'] ?? HELLO, {
      // One process, kept up: the direct and nginx cells send the router nothing for longer than the
      // scale-to-zero window, and the direct URL must keep naming the process being measured.
      'autoscaling.knative.dev/min-scale': '1',
      'autoscaling.knative.dev/max-scale': '1',
    }),
  });
  const st = await rt.waitStatus('hello-00001', (s) => s.replicas === 1 && s.endpoints.length === 1, 20_000);
  const direct = st.endpoints[0] ?? '';
  f['throughput_image'] = process.env['SLUICE_BENCH_ROUTER_IMAGE'] ?? HELLO;
  const nginx = await Nginx.start(join(scratch, 'nginx'), await freePort(), Number(new URL(direct).port));
  try {
    await compareTargets(
      [
        { name: 'direct', url: direct, host: undefined },
        { name: 'nginx', url: nginx.url, host: undefined, cpu: () => nginx.cpu() },
        { name: 'router', url: rt.url, host: host('hello'), cpu: () => cpuMicros(rt.proc.pid ?? 0) },
      ],
      'hello',
      f,
    );
  } finally {
    await nginx.stop();
  }
}

/**
 * The same comparison inside `sluice start` (API server, Serving, router, Prometheus scraping the router every
 * second, the rollout controller): the helloworld Service applied with kubectl, kept at one process.
 */
async function inSluiceStart(f: Figures, scratch: string): Promise<void> {
  const dir = join(scratch, 'start');
  const sluice = await startSluice('start', join(dir, 'data'), ['--no-repo']);
  let nginx: Nginx | undefined;
  try {
    const svc = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello, namespace: default}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1", autoscaling.knative.dev/max-scale: "1"}
    spec:
      containers: [{image: ${HELLO}}]
`;
    const applied = await kubectl(join(sluice.dataDir, 'kubeconfig'), join(dir, 'kcache'), ['apply', '-f', '-'], svc);
    if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);
    const hostName = 'hello.default.svc.cluster.local';
    const routerUrl = sluice.endpoints.router ?? '';
    await waitFor(
      'the hello Service to answer through the router',
      async () => (await timedRequest(routerUrl, hostName).catch(() => undefined))?.status === 200 || undefined,
      60_000,
    );
    // The process's port, from the supervisor's note in the revision's log.
    const log = await readFile(join(sluice.dataDir, 'logs', 'default', 'hello-00001.log'), 'utf8');
    const port = [...log.matchAll(/started pid \d+ on port (\d+)/g)].at(-1)?.[1];
    if (!port) throw new Error(`no port in the revision log: ${log.slice(0, 500)}`);
    const direct = `http://127.0.0.1:${port}`;
    // The router's process: the data plane's own when `sluice start` runs one, else `sluice start` itself.
    const ends = JSON.parse(await readFile(join(sluice.dataDir, 'endpoints.json'), 'utf8')) as {
      pids?: Record<string, number>;
    };
    const routerPid = ends.pids?.['dataplane'] ?? sluice.child.pid ?? 0;
    f['start_router_process'] = ends.pids?.['dataplane'] ? 'data plane process' : 'sluice start process';
    nginx = await Nginx.start(join(dir, 'nginx'), await freePort(), Number(port));
    const n = nginx;
    await compareTargets(
      [
        { name: 'direct', url: direct, host: undefined },
        { name: 'nginx', url: n.url, host: undefined, cpu: () => n.cpu() },
        { name: 'router', url: routerUrl, host: hostName, cpu: () => cpuMicros(routerPid) },
      ],
      'start',
      f,
    );
  } finally {
    await nginx?.stop();
    await sluice.stop();
    await rm(dir, { recursive: true, force: true });
  }
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

    const only = process.env['SLUICE_BENCH_ROUTER'];
    if (only !== 'start') {
      await throughput(rt, f, dataDir);
      phase('throughput');
    }
    if (only === 'throughput') return f;
    await inSluiceStart(f, dataDir);
    phase('sluice-start');
    if (only === 'start') return f;
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
