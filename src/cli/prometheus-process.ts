// A local Prometheus for the embedded default (and the tests): the Debian package's binary, installed with
// apt-get when missing and allowed, started on a free loopback port with a generated config that scrapes the
// given targets. On a cluster users point Sluice at their own Prometheus with --prometheus-url instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

/** runtime/reaper.js: runs a command in its own process group and kills the group when its stdin closes. */
const REAPER = resolvePath(dirname(fileURLToPath(import.meta.url)), '..', 'runtime', 'reaper.js');

export interface PrometheusHandle {
  url: string;
  port: number;
  dataDir: string;
  running(): boolean;
  /** The prometheus binary's pid. */
  pid(): number | undefined;
  /** Resolves when it exits, with how: `signal SIGKILL`, `exit code 1`. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `host:port` of each scrape target. */
  targets: string[];
  /** Where the config and TSDB live. */
  dataDir: string;
  metricsPath?: string;
  /** Default 1s: Sluice's analysis intervals go down to one second. */
  scrapeInterval?: string;
  port?: number;
  readyTimeoutMs?: number;
  /** Install the Debian package when the binary is missing (needs root and apt-get). */
  install?: boolean;
  /**
   * Die with this process: run it through runtime/reaper.js in its own process group, with a stdin pipe the
   * reaper watches, so a `kill -9` of this process takes Prometheus down too (as revision processes are).
   */
  lifeline?: boolean;
}

/** Pids of prometheus processes whose TSDB is `tsdbPath` (Linux /proc; empty elsewhere). */
export function prometheusPidsOn(tsdbPath: string): number[] {
  const flag = `--storage.tsdb.path=${tsdbPath}`;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv.includes(flag) && /prometheus$/.test(argv[0] ?? '')) out.push(Number(e));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

function onPath(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : null;
}

function found(): string | null {
  return onPath('prometheus') ?? (existsSync('/usr/bin/prometheus') ? '/usr/bin/prometheus' : null);
}

/** The prometheus binary, installing Debian's `prometheus` package when missing and `install` is set. */
export function ensurePrometheusBinary(install = true): string {
  const have = found();
  if (have) return have;
  if (!install)
    throw new Error('prometheus is not installed (Debian package `prometheus`); install it or pass --prometheus-url');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'prometheus'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', 'prometheus'], { stdio: 'inherit', env });
  }
  const after = found();
  if (!after)
    throw new Error('prometheus is not installed and `apt-get install -y prometheus` failed; install it and retry');
  return after;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function prometheusConfig(targets: string[], interval: string, metricsPath: string): string {
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: sluice',
    `    scrape_interval: ${interval}`,
    `    scrape_timeout: ${interval}`,
    `    metrics_path: ${metricsPath}`,
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
}

export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusHandle> {
  const bin = ensurePrometheusBinary(o.install ?? true);
  await mkdir(o.dataDir, { recursive: true });
  const port = o.port || (await freePort());
  const configFile = join(o.dataDir, 'prometheus.yml');
  await writeFile(configFile, prometheusConfig(o.targets, o.scrapeInterval ?? '1s', o.metricsPath ?? '/metrics'));
  const tsdb = join(o.dataDir, 'data');
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${tsdb}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1d',
    '--log.level=warn',
  ];
  const child: ChildProcess = o.lifeline
    ? spawn(process.execPath, [REAPER, bin, ...args], { stdio: ['pipe', 'ignore', 'pipe'], detached: true })
    : spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // The stdin pipe is the reaper's lifeline: never written; an error only means it is gone.
  child.stdin?.on('error', () => undefined);
  let binPid: number | undefined = o.lifeline ? undefined : child.pid;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(signal ? `signal ${signal}` : `exit code ${code ?? '?'}`);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const handle: PrometheusHandle = {
    url,
    port,
    dataDir: o.dataDir,
    running: () => !exited,
    pid: () => (exited ? undefined : binPid),
    exited: exit,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(killer);
    },
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) throw new Error(`prometheus exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) {
        binPid ??= prometheusPidsOn(tsdb)[0];
        return handle;
      }
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`prometheus did not become ready at ${url}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
