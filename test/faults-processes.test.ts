// Issue 11, problems 2 and 3, through `sluice start` as a real process tree: the brain, Prometheus and the data
// plane are separate supervised processes. With traffic at 20 requests/s through the router:
//   - `kill -9` of the brain: zero refused requests, the brain is back (new pid), the router's counters kept counting;
//   - `kill -9` of Prometheus: restarted within seconds on the same URL, with a Warning event;
//   - `kill -9` of `sluice start` itself: nothing is left (API server, data plane, brain, Prometheus, revisions);
//   - a stale Prometheus on the data directory is stopped by the next start, which runs its own on it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient, R } from '../src/kube/index.js';
import { ensurePrometheusBinary } from '../src/cli/prometheus-process.js';
import { prometheusPidsOn } from '../src/cli/prometheus-process.js';
import {
  helloServiceYaml,
  kubectl,
  removeDir,
  startSluice,
  tempDir,
  waitFor,
  type SluiceProcess,
} from './support/procs.js';
import { once, startTraffic } from './support/traffic.js';

interface Endpoints {
  api: string;
  router: string;
  controller: string;
  prometheus?: string;
  pids: Record<string, number>;
}
let dir: string;
let data: string;
let sluice: SluiceProcess;
const HOST = 'hello.default.svc.cluster.local';
const endpoints = (): Endpoints => JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8')) as Endpoints;
const kc = (args: string[], input?: string) => kubectl(join(data, 'kubeconfig'), join(dir, 'cache'), args, input);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
/** Every descendant of `root` (from /proc: ppid links). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out = new Set<number>([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent)
      if (!out.has(pid) && out.has(ppid)) {
        out.add(pid);
        grew = true;
      }
  }
  out.delete(root);
  return [...out];
}
async function requestCount(router: string): Promise<number> {
  const text = await (await fetch(`${router}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('revision_request_count{') && line.includes('revision_name="hello-00001"'))
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

before(async () => {
  ensurePrometheusBinary();
  dir = await tempDir('sluice-faults-proc-');
  data = join(dir, 'data');
  sluice = await startSluice('start', data);
});
after(async () => {
  await sluice?.stop();
  await removeDir(dir);
});

test('endpoints.json names each part and its process id; the parts are separate processes', () => {
  const e = endpoints();
  for (const k of ['apiserver', 'dataplane', 'brain', 'prometheus']) assert.ok(e.pids[k], `pids.${k}`);
  const distinct = new Set([e.pids.apiserver, e.pids.dataplane, e.pids.brain, e.pids.prometheus, sluice.child.pid]);
  assert.equal(distinct.size, 5, JSON.stringify(e.pids));
  assert.ok(e.prometheus, 'endpoints.json names prometheus');
});

test('kill -9 of the brain: zero refused requests at 20 requests/s, the brain restarts, router counters survive', async () => {
  const r = await kc(['apply', '-f', '-'], helloServiceYaml('v1'));
  assert.equal(r.code, 0, r.stderr);
  const router = endpoints().router;
  await waitFor('hello answers', async () => (await once(router, HOST)).status === 200, 30_000);
  const traffic = startTraffic(data, HOST, 50);
  try {
    await waitFor('traffic flowing', () => traffic.answers.filter((a) => a.status === 200).length >= 10);
    const before = await requestCount(router);
    const brain = endpoints().pids.brain!;
    const t0 = Date.now();
    process.kill(brain, 'SIGKILL');
    const restarted = await waitFor(
      'a new brain',
      () => {
        const p = endpoints().pids.brain;
        return p && p !== brain ? p : undefined;
      },
      60_000,
    );
    await waitFor('the new brain answers', async () => (await fetch(`${endpoints().controller}/healthz`)).ok, 30_000);
    // A little more traffic after the restart, then judge the whole window.
    const n = traffic.answers.length;
    await waitFor('more traffic', () => traffic.answers.length >= n + 5);
    const during = traffic.since(t0);
    assert.ok(during.length >= 10, `${during.length} requests during the crash window`);
    const bad = during.filter((a) => a.status !== 200);
    assert.equal(bad.length, 0, `refused or failed: ${JSON.stringify(bad.slice(0, 5))}`);
    assert.ok(alive(restarted));
    assert.equal(endpoints().router, router, 'the router did not move');
    const afterCount = await requestCount(router);
    assert.ok(
      afterCount >= before + during.length - 1,
      `counter ${before} → ${afterCount} (+${during.length} requests)`,
    );
  } finally {
    await traffic.stop();
  }
});

test('kill -9 of Prometheus: restarted within seconds on the same URL, with an event', async () => {
  const e = endpoints();
  const old = e.pids.prometheus!;
  process.kill(old, 'SIGKILL');
  const t0 = Date.now();
  await waitFor(
    'a new Prometheus',
    () => {
      const p = endpoints().pids.prometheus;
      return p && p !== old && alive(p) ? p : undefined;
    },
    20_000,
  );
  await waitFor(
    'Prometheus ready at the same URL',
    async () => (await fetch(`${e.prometheus ?? ''}/-/ready`)).ok,
    20_000,
  );
  assert.ok(Date.now() - t0 < 15_000, `restarted in ${Date.now() - t0} ms`);
  assert.ok(!alive(old));
  const client = KubeClient.fromFile(join(data, 'kubeconfig'), 'test');
  const evs = await waitFor('a PrometheusRestarted event', async () => {
    const l = await client.list(R.events, 'default');
    return l.items.find((i) => (i as { reason?: string }).reason === 'PrometheusRestarted');
  });
  assert.match((evs as { message?: string }).message ?? '', /SIGKILL/);
});

test('kill -9 of sluice start leaves no process; a stale Prometheus on the data directory is stopped at the next start', async () => {
  const tree = descendants(sluice.child.pid!);
  assert.ok(tree.length >= 5, `the tree: ${tree.join(',')}`);
  await sluice.stop('SIGKILL');
  const left = await waitFor(
    'every descendant gone',
    () => {
      const l = tree.filter(alive);
      return l.length === 0 ? l : undefined;
    },
    15_000,
  ).catch(() => tree.filter(alive));
  assert.deepEqual(left, [], 'orphans after kill -9');
  // A Prometheus left on the TSDB (as older versions left one on every kill -9).
  const tsdb = join(data, 'prometheus', 'data');
  const stale = spawn(
    ensurePrometheusBinary(),
    [
      `--config.file=${join(data, 'prometheus', 'prometheus.yml')}`,
      `--storage.tsdb.path=${tsdb}`,
      '--web.listen-address=127.0.0.1:0',
      '--log.level=error',
    ],
    { stdio: 'ignore', detached: true },
  );
  await waitFor('the stale Prometheus runs', () => prometheusPidsOn(tsdb).includes(stale.pid!));
  try {
    sluice = await startSluice('start', data);
    assert.ok(
      !alive(stale.pid!) || stale.exitCode !== null || stale.signalCode !== null,
      'the stale Prometheus was stopped',
    );
    const now = prometheusPidsOn(tsdb);
    assert.deepEqual(now, [endpoints().pids.prometheus], 'exactly one Prometheus on the TSDB: the new one');
  } finally {
    if (stale.exitCode === null && stale.signalCode === null) stale.kill('SIGKILL');
  }
});
