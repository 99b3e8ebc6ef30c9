// Load generation and baselines for the router benchmark, from Debian's packages: `wrk` (a C load generator
// that takes a fraction of a core, so the figures are the servers') and `nginx` (the reverse proxy every reader
// knows, as the yardstick for what one proxy hop costs on this machine). Both are installed with apt-get when
// missing, as src/cli/prometheus-process.ts does for Prometheus. CPU is read from /proc, so any process
// (the router child, `sluice start`, nginx's master and worker) is accounted the same way.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The binary, installing its Debian package with apt-get when it is missing (needs root). */
export function ensureDebianBinary(binary: string, pkg: string): string {
  const paths = [`/usr/bin/${binary}`, `/usr/sbin/${binary}`, `/usr/local/bin/${binary}`];
  const have = (): string | undefined => paths.find((p) => existsSync(p));
  const found = have();
  if (found) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  }
  const after = have();
  if (!after)
    throw new Error(`${binary} is not installed and \`apt-get install -y ${pkg}\` failed; install it and retry`);
  return after;
}

export interface WrkCell {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Socket errors plus non-2xx/3xx answers. */
  errors: number;
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : NaN;
}

/** Parses `wrk --latency` output. Exported for its test. */
export function parseWrk(out: string): WrkCell {
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? toMs(m[1] ?? '', m[2] ?? '') : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErrors = sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0;
  return { rps, p50Ms: pct('50'), p99Ms: pct('99'), requests, errors: non2xx + sockErrors };
}

/** One wrk run with one thread (one core at most) and `connections` keep-alive connections. */
export function wrk(url: string, host: string | undefined, connections: number, seconds: number): Promise<WrkCell> {
  const bin = ensureDebianBinary('wrk', 'wrk');
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), url];
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', reject);
    p.once('exit', (code) => {
      const cell = parseWrk(out);
      if (code !== 0 || Number.isNaN(cell.rps)) reject(new Error(`wrk ${args.join(' ')} failed (${code}): ${out}`));
      else resolve(cell);
    });
  });
}

const CLK_TCK = 100;

/** CPU time of a process (all its threads), µs, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after its closing paren are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1_000_000) / CLK_TCK;
}

/** Direct children of a process. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** nginx as a keep-alive reverse proxy to one upstream, one worker (the router is one event loop too). */
export class Nginx {
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
  ) {}

  static async start(dir: string, port: number, upstreamPort: number): Promise<Nginx> {
    const bin = ensureDebianBinary('nginx', 'nginx-light');
    await mkdir(join(dir, 'tmp'), { recursive: true });
    const conf = join(dir, 'nginx.conf');
    await writeFile(
      conf,
      `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'tmp')};
  proxy_temp_path ${join(dir, 'tmp')};
  fastcgi_temp_path ${join(dir, 'tmp')};
  uwsgi_temp_path ${join(dir, 'tmp')};
  scgi_temp_path ${join(dir, 'tmp')};
  upstream rev { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://rev;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }
}
`,
    );
    const proc = spawn(bin, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`nginx exited: ${err}`);
      const ok = await fetch(url)
        .then((r) => r.status < 500)
        .catch(() => false);
      if (ok) return new Nginx(proc, url);
      if (Date.now() > deadline) throw new Error(`nginx did not answer on ${url}: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** CPU of the master and its worker, µs. */
  cpu(): number {
    const pid = this.proc.pid ?? 0;
    return [pid, ...childPids(pid)].reduce((s, p) => s + cpuMicros(p), 0);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
