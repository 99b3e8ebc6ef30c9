// Helpers for tests that run real processes: the sluice binary, kubectl, and waiting on conditions.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const SLUICE_BIN = join(ROOT, 'bin', 'sluice.js');

export async function tempDir(prefix = 'sluice-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(d: string): Promise<void> {
  await rm(d, { recursive: true, force: true });
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** Polls `fn` until it returns a truthy value or the time runs out; the error names what was awaited. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  o: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, {
      env: { ...process.env, ...o.env },
      cwd: o.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code: code ?? -1, stdout, stderr });
    });
    // A command that exits without reading its input (git, kubectl on a bad flag) makes the write fail with
    // EPIPE; its exit code and output say what happened, so that error is not the test's.
    p.stdin.on('error', () => undefined);
    p.stdin.end(o.input ?? '');
  });
}

/** The real kubectl, against a kubeconfig, with its own discovery cache so servers never share one. */
export function kubectl(kubeconfig: string, cacheDir: string, args: string[], input?: string): Promise<RunResult> {
  return run(
    'kubectl',
    ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
    input === undefined ? {} : { input },
  );
}

export interface SluiceProcess {
  child: ChildProcess;
  dataDir: string;
  endpoints: { api: string; router?: string; controller?: string };
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `sluice <command>` as a child process and waits for <data>/endpoints.json to name its servers. */
export async function startSluice(
  command: 'start' | 'apiserver' | 'serving' | 'controller',
  dataDir: string,
  extra: string[] = [],
): Promise<SluiceProcess> {
  const endpointsFile = join(dataDir, 'endpoints.json');
  await rm(endpointsFile, { force: true });
  // `sluice start` follows the Git repository it runs in by default; tests run inside this checkout, so they
  // follow nothing unless they name a repository themselves.
  const git = command === 'start' && !extra.includes('--repo') && !extra.includes('--no-repo') ? ['--no-repo'] : [];
  const child = spawn(
    process.execPath,
    [
      SLUICE_BIN,
      command,
      '--data',
      dataDir,
      ...(extra.includes('--log-level') ? [] : ['--log-level', 'warn']),
      ...git,
      ...extra,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  // If it never comes up, stop it before failing: an orphan would keep the test runner waiting on its pipes.
  const endpoints = await waitFor(
    `sluice ${command} to write endpoints.json`,
    async () => {
      if (exited) throw new Error(`sluice ${command} exited: ${out}`);
      try {
        return JSON.parse(await readFile(endpointsFile, 'utf8')) as SluiceProcess['endpoints'];
      } catch {
        return undefined;
      }
    },
    // `sluice start` is four processes; on a machine shared with other test runs they need a while.
    90_000,
  ).catch(async (e: unknown) => {
    if (!exited && child.exitCode === null) {
      const gone = new Promise<void>((res) => child.once('exit', () => res()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    throw e;
  });
  return {
    child,
    dataDir,
    endpoints,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise((res) => {
        if (exited || child.exitCode !== null) return res();
        child.once('exit', () => res());
        child.kill(signal);
      }),
  };
}

export interface SluiceStartFixture {
  sluice: SluiceProcess;
  /** The temp dir holding `data/` and the kubectl cache. */
  dir: string;
  cache: string;
  /** The real kubectl against this instance, with its own discovery cache. */
  kubectl(args: string[], input?: string): Promise<RunResult>;
}

/** One `sluice start` (without Git) per test file: started before the first test, stopped after the last. */
export function sluiceStartFixture(prefix: string, extra: string[] = []): SluiceStartFixture {
  const f = {
    kubectl: (args: string[], input?: string) => kubectl(join(f.sluice.dataDir, 'kubeconfig'), f.cache, args, input),
  } as SluiceStartFixture;
  before(async () => {
    f.dir = await tempDir(prefix);
    f.cache = join(f.dir, 'kubectl-cache');
    f.sluice = await startSluice('start', join(f.dir, 'data'), extra);
    assert.ok(f.sluice.endpoints.router, 'endpoints.json names the router');
  });
  after(async () => {
    await f.sluice?.stop();
    await removeDir(f.dir);
  });
  return f;
}

/** The helloworld Service from the Knative docs, as YAML; `extra` is appended (e.g. a traffic block). */
export function helloServiceYaml(target: string, extra = ''): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          ports:
            - containerPort: 8080
          env:
            - name: TARGET
              value: "${target}"
${extra}`;
}
