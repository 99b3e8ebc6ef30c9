// A real Prometheus for integration tests and the benchmark: installed from Debian if missing, started on a
// free loopback port with a temp data dir and a generated config scraping the given targets every second.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrometheusHandle {
  url: string;
  port: number;
  dataDir: string;
  /** Whether the process is still running. */
  running(): boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** `host:port` of each scrape target (e.g. a prom-client exporter served by the test). */
  targets: string[];
  metricsPath?: string;
  scrapeInterval?: string;
  readyTimeoutMs?: number;
}

function onPath(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : null;
}

/** The prometheus binary; installs the Debian package when it is not on PATH (needs root). */
export function ensurePrometheusBinary(): string {
  const found = onPath('prometheus') ?? (existsSync('/usr/bin/prometheus') ? '/usr/bin/prometheus' : null);
  if (found) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'prometheus'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', 'prometheus'], { stdio: 'inherit', env });
  }
  const after = onPath('prometheus') ?? (existsSync('/usr/bin/prometheus') ? '/usr/bin/prometheus' : null);
  if (!after) throw new Error('prometheus is not installed and `apt-get install -y prometheus` failed; install it and retry');
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

/** Polls `cond` every `everyMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(what: string, cond: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startPrometheus(opts: StartOptions): Promise<PrometheusHandle> {
  const bin = ensurePrometheusBinary();
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-prom-'));
  const port = await freePort();
  const interval = opts.scrapeInterval ?? '1s';
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: sluice-test',
    `    scrape_interval: ${interval}`,
    `    scrape_timeout: ${interval}`,
    `    metrics_path: ${opts.metricsPath ?? '/metrics'}`,
    '    static_configs:',
    `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  const configFile = join(dataDir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const child: ChildProcess = spawn(bin, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dataDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const url = `http://127.0.0.1:${port}`;
  const handle: PrometheusHandle = {
    url,
    port,
    dataDir,
    running: () => !exited,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(killer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('Prometheus /-/ready', async () => {
      if (exited) throw new Error(`prometheus exited: ${stderr}`);
      const r = await fetch(`${url}/-/ready`);
      return r.ok;
    }, opts.readyTimeoutMs ?? 30_000);
  } catch (e) {
    await handle.stop();
    throw e;
  }
  return handle;
}
