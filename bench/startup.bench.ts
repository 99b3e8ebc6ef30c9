// `sluice start` start-up time, as a user sees it: from spawning `sluice start` to <data>/endpoints.json naming
// every part (API server, router, controller), and to the first revision ready (the helloworld Service applied
// with kubectl as soon as endpoints.json is there, until its Ready condition is True).
//
// Measured in the same run, one after another, ROUNDS rounds each (median and max reported):
//   - floor: `sluice --help` (Node start and the CLI's module graph, nothing served);
//   - `sluice apiserver` alone on a fresh directory, to endpoints.json (one of the four processes of a start);
//   - `sluice start` on a fresh directory (`empty`);
//   - `sluice start` on a directory whose store holds STORE_OBJECTS ConfigMaps of 1 KiB in its write-ahead log,
//     never compacted (`wal`): a long-lived laptop install, replayed at every start. Each round starts from a
//     copy of the same filled directory, so every round replays the same log.
// Ratios: wal / empty (by the runner), start / apiserver alone and start / the CLI floor (reported here).
import { spawn } from 'node:child_process';
import { cp, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { KubeClient, R } from '../src/kube/index.js';
import {
  SLUICE_BIN,
  ROOT,
  helloServiceYaml,
  kubectl,
  removeDir,
  startSluice,
  tempDir,
  waitFor,
} from '../test/support/procs.js';

const ROUNDS = 3;
const STORE_OBJECTS = 5_000;
const WRITERS = 16;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function load(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** Wall time of one `sluice --help`: the floor under any command. */
function cliOnce(): Promise<number> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [SLUICE_BIN, '--help'], { cwd: ROOT, stdio: 'ignore' });
    p.on('error', rej);
    p.on('exit', (code) => (code === 0 ? res(performance.now() - t0) : rej(new Error(`sluice --help: ${code}`))));
  });
}

/** One `sluice start` on `data`: ms to endpoints.json, and to the helloworld Service Ready. */
async function startOnce(dir: string, data: string): Promise<{ endpoints: number; ready: number }> {
  const t0 = performance.now();
  const s = await startSluice('start', data);
  try {
    const endpoints = performance.now() - t0;
    const r = await kubectl(join(data, 'kubeconfig'), join(dir, 'cache'), ['apply', '-f', '-'], helloServiceYaml('v1'));
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
    const client = KubeClient.fromFile(join(data, 'kubeconfig'), 'bench');
    await waitFor(
      'the first revision ready',
      async () => {
        const svc = (await client.tryGet(R.services, 'default', 'hello')) as
          { status?: { conditions?: Array<{ type: string; status: string }> } } | undefined;
        return svc?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      },
      180_000,
      20,
    );
    return { endpoints, ready: performance.now() - t0 };
  } finally {
    await s.stop();
  }
}

/** A data directory whose store holds STORE_OBJECTS ConfigMaps, written through `sluice apiserver`. */
async function filledStore(dir: string): Promise<{ data: string; walMiB: number }> {
  const data = join(dir, 'filled');
  const api = await startSluice('apiserver', data);
  try {
    const client = KubeClient.fromFile(join(data, 'kubeconfig'), 'bench');
    const value = 'x'.repeat(1024);
    let next = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < STORE_OBJECTS) {
          const i = next++;
          await client.request('POST', '/api/v1/namespaces/default/configmaps', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `filler-${i}` },
            data: { value },
          });
        }
      }),
    );
  } finally {
    await api.stop();
  }
  const walMiB = (await stat(join(data, 'store', 'wal.log'))).size / 2 ** 20;
  return { data, walMiB: Math.round(walMiB * 10) / 10 };
}

export async function run(): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = { load_at_start: load() };
  const dir = await tempDir('sluice-startup-');
  try {
    const cli: number[] = [];
    for (let i = 0; i < ROUNDS; i++) cli.push(await cliOnce());

    const apiOnly: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      const a = await startSluice('apiserver', join(dir, `api-${i}`));
      apiOnly.push(performance.now() - t0);
      await a.stop();
    }

    const filled = await filledStore(dir);
    const empty: Array<{ endpoints: number; ready: number }> = [];
    const wal: Array<{ endpoints: number; ready: number }> = [];
    // Alternated, so a change of machine load during the run falls on both.
    for (let i = 0; i < ROUNDS; i++) {
      empty.push(await startOnce(dir, join(dir, `empty-${i}`)));
      const data = join(dir, `wal-${i}`);
      await cp(filled.data, data, { recursive: true });
      wal.push(await startOnce(dir, data));
    }

    const ms = (xs: number[]): number => Math.round(median(xs));
    out.rounds = ROUNDS;
    out.cli_help_ms = ms(cli);
    out.apiserver_alone_endpoints_ms = ms(apiOnly);
    out.start_empty_endpoints_ms = ms(empty.map((r) => r.endpoints));
    out.start_empty_first_ready_ms = ms(empty.map((r) => r.ready));
    out.start_wal_endpoints_ms = ms(wal.map((r) => r.endpoints));
    out.start_wal_first_ready_ms = ms(wal.map((r) => r.ready));
    out.start_empty_endpoints_max_ms = Math.round(Math.max(...empty.map((r) => r.endpoints)));
    out.start_wal_endpoints_max_ms = Math.round(Math.max(...wal.map((r) => r.endpoints)));
    out.store_wal_objects = STORE_OBJECTS;
    out.store_wal_mib = filled.walMiB;
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    out.start_empty_endpoints_vs_apiserver_alone_x = r2(
      out.start_empty_endpoints_ms / out.apiserver_alone_endpoints_ms,
    );
    out.start_empty_endpoints_vs_cli_help_x = r2(out.start_empty_endpoints_ms / out.cli_help_ms);
    const round = (xs: number[]): string => xs.map((x) => Math.round(x)).join(', ');
    out.all_ms = [
      `cli ${round(cli)}`,
      `apiserver ${round(apiOnly)}`,
      `empty endpoints ${round(empty.map((r) => r.endpoints))}`,
      `empty ready ${round(empty.map((r) => r.ready))}`,
      `wal endpoints ${round(wal.map((r) => r.endpoints))}`,
      `wal ready ${round(wal.map((r) => r.ready))}`,
    ].join('; ');
  } finally {
    await removeDir(dir);
  }
  out.load_at_end = load();
  return out;
}
