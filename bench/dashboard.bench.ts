// The dashboard with 1,000 governed Services. Three processes: `sluice apiserver`, a real `sluice controller`
// (the brain: rollout controller, dashboard; no Git, no Prometheus) and headless Chromium driven by
// playwright-core from this process. The 1,000 Rollouts (10 namespaces × 100) carry simulated statuses (phases
// mixed, a plan, two analysis rounds of two metrics) written through the API: no Services exist, so the rollout
// controller leaves them alone and every change comes from this bench.
//   (1) fleet list first paint: a fresh page load of /dashboard/ until its table holds all 1,000 rows, in the
//       page's own clock (ms since navigation start), median of 7 loads;
//   (2) SSE update latency: a Rollout's status written through the API → its row shows the new weight on the
//       open fleet page (a MutationObserver stamps Date.now(), same machine clock), p50/p99 of 100 updates, one
//       at a time;
//   (3) the controller's CPU (utime+stime from /proc over 20 s) and RSS (median of 1 s samples) while 10
//       Rollouts change per second, with 0 and then 10 open fleet pages; the ratio is the pages' extra cost.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient, R } from '../src/kube/index.js';
import type { RolloutObject, RolloutObjectStatus } from '../src/rollout/controller/types.js';
import { SLUICE_BIN, removeDir, run as runProcess, startSluice, tempDir, waitFor } from '../test/support/procs.js';
import { launchChromium } from '../test/support/chromium.js';

const NAMESPACES = 10;
const PER_NS = 100;
const TOTAL = NAMESPACES * PER_NS;
const LOADS = 7;
const UPDATES = 100;
const WINDOW_MS = 20_000;
const PAGES = 10;
const TICK = 100; // USER_HZ on Linux

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const median = (xs: number[]): number => pct(xs, 50);

const PHASES = ['Progressing', 'Paused', 'Succeeded', 'RolledBack', 'Progressing'] as const;
function simulated(i: number, weight: number): RolloutObjectStatus {
  const phase = PHASES[i % PHASES.length] ?? 'Progressing';
  const at = (s: number): string => new Date(Date.now() - s * 1000).toISOString();
  const metrics = (v: number): NonNullable<RolloutObjectStatus['analysisRuns']>[number]['metrics'] => [
    {
      metric: 'request-success-rate',
      status: v > 99 ? 'pass' : 'fail',
      verdict: v > 99 ? 'pass' : 'fail',
      value: v,
      min: 99,
    },
    { metric: 'request-duration', status: 'pass', verdict: 'pass', value: 120 + (i % 50), max: 500 },
  ];
  return {
    phase,
    strategy: 'canary',
    stableRevision: `svc-${i}-00001`,
    canaryRevision: `svc-${i}-00002`,
    canaryWeight: weight,
    currentStep: 2,
    totalSteps: 4,
    message: `simulated rollout ${i}`,
    plan: {
      strategy: 'canary',
      steps: [
        { kind: 'setWeight', weight: 20 },
        { kind: 'pause', durationMs: null },
        { kind: 'setWeight', weight: 60 },
        { kind: 'analysis', checks: 2, durationMs: 0 },
      ],
      canaryTag: 'canary',
      stableTag: 'stable',
      failureLimit: 2,
      counting: 'consecutive',
      intervalMs: 1000,
    },
    traffic: [
      { revisionName: `svc-${i}-00001`, percent: 100 - weight, tag: 'stable' },
      { revisionName: `svc-${i}-00002`, percent: weight, tag: 'canary' },
    ],
    analysisRuns: [
      { at: at(2), revision: `svc-${i}-00002`, step: 2, verdict: 'pass', metrics: metrics(99.9) },
      {
        at: at(1),
        revision: `svc-${i}-00002`,
        step: 2,
        verdict: i % 7 ? 'pass' : 'fail',
        metrics: metrics(i % 7 ? 99.8 : 42),
      },
    ],
  } as RolloutObjectStatus;
}
// Page-side predicates are functions: the dashboard's CSP forbids eval, which string predicates need.
declare const document: { querySelectorAll(s: string): { length: number } };
function fleetRows(n: number): boolean {
  return document.querySelectorAll('#fleet-body tr').length >= n;
}
const keyOf = (i: number): { ns: string; name: string } => ({ ns: `team-${i % NAMESPACES}`, name: `svc-${i}` });

async function setWeight(client: KubeClient, i: number, weight: number): Promise<void> {
  const { ns, name } = keyOf(i);
  const cur = await client.get<RolloutObject>(R.rollouts, ns, name);
  await client.update(R.rollouts, { ...cur, status: simulated(i, weight) }, 'status');
}

async function pool<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await f(items[next++] as T);
    }),
  );
}

/** utime+stime of a process in clock ticks, and its RSS in bytes, from /proc. */
function procStat(pid: number): { ticks: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { ticks, rss: rssKb * 1024 };
}

/** The controller's CPU % of one core and median RSS over WINDOW_MS while 10 Rollouts change per second. */
async function measureWindow(client: KubeClient, pid: number, label: string): Promise<Record<string, number>> {
  let stop = false;
  let w = 0;
  const writer = (async () => {
    while (!stop) {
      const t = Date.now();
      await pool([...Array(10).keys()], 10, (j) => setWeight(client, (w * 10 + j) % TOTAL, 1 + ((w + j) % 98)));
      w++;
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t))));
    }
  })();
  const rss: number[] = [];
  const a = procStat(pid);
  const t0 = performance.now();
  while (performance.now() - t0 < WINDOW_MS) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(procStat(pid).rss);
  }
  const b = procStat(pid);
  const secs = (performance.now() - t0) / 1000;
  stop = true;
  await writer;
  return {
    [`controller_${label}_cpu_pct`]: ((b.ticks - a.ticks) / TICK / secs) * 100,
    [`controller_${label}_rss_mib`]: median(rss) / 2 ** 20,
  };
}

export async function run(): Promise<Record<string, number | string>> {
  const dir = await tempDir('sluice-bench-dashboard-');
  const api = await startSluice('apiserver', join(dir, 'api'));
  const kubeconfig = join(api.dataDir, 'kubeconfig');
  const client = KubeClient.fromFile(kubeconfig, 'bench');
  let controller: ChildProcess | undefined;
  const browser = await launchChromium();
  try {
    for (let n = 0; n < NAMESPACES; n++)
      await client.create(R.namespaces, { metadata: { name: `team-${n}` } }).catch(() => undefined);
    const t0 = performance.now();
    await pool([...Array(TOTAL).keys()], 16, async (i) => {
      const { ns, name } = keyOf(i);
      await client.create<RolloutObject>(R.rollouts, {
        metadata: { name, namespace: ns },
        spec: { serviceName: name },
      });
      await setWeight(client, i, 20);
    });
    const seedSeconds = (performance.now() - t0) / 1000;

    const work = join(dir, 'controller');
    controller = spawn(
      process.execPath,
      [
        SLUICE_BIN,
        'controller',
        '--kubeconfig',
        kubeconfig,
        '--port',
        '0',
        '--host',
        '0.0.0.0',
        '--work-dir',
        work,
        '--no-repo',
        '--prometheus-url',
        'http://127.0.0.1:9',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    controller.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    controller.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const port = await waitFor(
      'the controller to listen',
      () => /listening on http:\/\/\S+:(\d+)/.exec(out)?.[1],
      30_000,
    );
    const base = `http://127.0.0.1:${port}`;
    const pid = controller.pid ?? 0;
    const login = await runProcess(process.execPath, [SLUICE_BIN, 'dashboard', '--data', work, '--url', base]);
    if (login.code !== 0) throw new Error(`sluice dashboard: ${login.stderr}`);

    // (1) First paint of the full fleet list.
    const page = await browser.context.newPage();
    await page.goto(login.stdout.trim());
    await page.waitForFunction(fleetRows, TOTAL, {
      timeout: 60_000,
    });
    const paints: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const p = await browser.context.newPage();
      await p.goto(`${base}/dashboard/`);
      const h = await p.waitForFunction(
        (n) => (document.querySelectorAll('#fleet-body tr').length >= n ? performance.now() : 0),
        TOTAL,
        {
          timeout: 60_000,
          polling: 'raf',
        },
      );
      paints.push((await h.jsonValue()) as number);
      await p.close();
    }

    // (2) SSE update latency on the open fleet page.
    await page.evaluate(`(() => {
      window.__seen = {};
      new MutationObserver(() => {
        for (const tr of document.querySelectorAll('#fleet-body tr')) {
          const w = tr.children[4] && tr.children[4].textContent;
          const k = tr.dataset.key + ' ' + w;
          if (!(k in window.__seen)) window.__seen[k] = Date.now();
        }
      }).observe(document.getElementById('fleet-body'), { childList: true });
    })()`);
    const lat: number[] = [];
    for (let u = 0; u < UPDATES; u++) {
      const i = (u * 37) % TOTAL;
      const weight = 21 + (u % 70);
      const { ns, name } = keyOf(i);
      const want = `${ns}/${name} ${weight} %`;
      const t = Date.now();
      await setWeight(client, i, weight);
      const seen = await page.waitForFunction(
        (k) => (globalThis as unknown as { __seen: Record<string, number> }).__seen[k],
        want,
        {
          timeout: 30_000,
        },
      );
      lat.push(((await seen.jsonValue()) as number) - t);
      await new Promise((r) => setTimeout(r, 150));
    }
    await page.close();

    // (3) The controller's extra cost of 10 open pages.
    await new Promise((r) => setTimeout(r, 2000));
    const idle = await measureWindow(client, pid, '0pages');
    const pages = [];
    for (let i = 0; i < PAGES; i++) {
      // Chromium opens at most 6 HTTP/1.1 connections per host, and each open page holds one SSE stream: ten
      // visible pages need ten host names (a real browser closes the stream of a hidden tab, see app.js).
      const url = `http://127.0.0.${i + 1}:${new URL(base).port}`;
      const l = await runProcess(process.execPath, [SLUICE_BIN, 'dashboard', '--data', work, '--url', url]);
      const p = await browser.context.newPage();
      await p.goto(l.stdout.trim());
      await p.waitForFunction(fleetRows, TOTAL, { timeout: 60_000 });
      pages.push(p);
    }
    const open = await measureWindow(client, pid, '10pages');
    for (const p of pages) await p.close();

    return {
      rollouts: TOTAL,
      seed_seconds: seedSeconds,
      fleet_first_paint_median_ms: median(paints),
      fleet_first_paint_min_ms: Math.min(...paints),
      fleet_first_paint_max_ms: Math.max(...paints),
      sse_update_p50_ms: pct(lat, 50),
      sse_update_p99_ms: pct(lat, 99),
      sse_update_max_ms: Math.max(...lat),
      ...idle,
      ...open,
      controller_extra_cpu_pct_points: (open.controller_10pages_cpu_pct ?? 0) - (idle.controller_0pages_cpu_pct ?? 0),
      controller_extra_rss_mib: (open.controller_10pages_rss_mib ?? 0) - (idle.controller_0pages_rss_mib ?? 0),
      loadavg_at_end: readFileSync('/proc/loadavg', 'utf8').trim(),
    };
  } finally {
    await browser.close();
    if (controller && controller.exitCode === null) {
      controller.kill('SIGTERM');
      await new Promise((r) => controller?.once('exit', r));
    }
    await api.stop();
    await removeDir(dir);
  }
}
