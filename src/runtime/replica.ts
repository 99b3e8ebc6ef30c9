// One process of a revision (a "pod" with one container): spawn on a free loopback port, probe readiness,
// restart with exponential back-off when it exits (like the kubelet's CrashLoopBackOff), stop on request.
// The Revision decides how many replicas exist and which get requests; a Replica only keeps itself alive.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as osConstants } from 'node:os';
import { Pool } from 'undici';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import type { ResolvedCommand } from './image-table.js';
import { freePort } from './ports.js';
import { probeAction, runProbe, type ProbeAction } from './probe.js';
import type { LastTermination, Probe } from './types.js';

const REAPER = resolvePath(dirname(fileURLToPath(import.meta.url)), 'reaper.js');

/** Environment a process inherits from Sluice; nothing else leaks in (tokens, webhook secrets). */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER', 'SYSTEMROOT'];

export interface BackoffConfig {
  /** First restart delay; the kubelet uses 10 s. */
  initialMs: number;
  /** Cap; the kubelet uses 5 min. */
  maxMs: number;
  /** A process that stayed up this long resets the back-off (the kubelet: 10 min). */
  resetAfterMs: number;
}

export interface ProbeTiming {
  /** Period of Knative-style aggressive probing while not yet ready, when periodSeconds is unset. */
  aggressiveMs: number;
  /** Period once ready, when periodSeconds is unset. */
  defaultPeriodMs: number;
}

export interface ReplicaOptions {
  id: number;
  revisionKey: string;
  command: ResolvedCommand;
  /** Added to the command's env: PORT and Knative's K_SERVICE, K_CONFIGURATION, K_REVISION. */
  extraEnv: Record<string, string>;
  /** Applied before the command's env, so the container's own values win. */
  baseEnv?: Record<string, string>;
  probe: Probe | undefined;
  log: Writable;
  /**
   * The log file opened for appending: the process writes its stdout there itself, so a chatty process costs
   * the data plane nothing per line. Unset: stdout is copied through `log`. stderr is always copied (its tail
   * explains a crash).
   */
  stdoutFd?: number;
  backoff: BackoffConfig;
  probeTiming: ProbeTiming;
  /** SIGTERM → SIGKILL delay when stopping. */
  terminationGraceMs: number;
  clock: Clock;
  logger: Logger;
}

export type ReplicaState = 'starting' | 'ready' | 'unready' | 'backoff' | 'terminating' | 'stopped';

const STDERR_KEEP = 4096;
const SUSPECT_PROBE_DELAY_MS = 250;

export class Replica extends EventEmitter {
  readonly id: number;
  readonly #o: ReplicaOptions;
  #state: ReplicaState = 'starting';
  #child: ChildProcess | undefined;
  #port = 0;
  #pool: Pool | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #stderrTail = '';
  #okStreak = 0;
  #failStreak = 0;
  #startedAt = 0;
  #backoffLevel = 0;
  #stopWaiters: Array<() => void> = [];
  /** Requests in flight on this replica, maintained by the Revision. */
  inFlight = 0;
  restartCount = 0;
  lastTermination: LastTermination | undefined;
  /** True from an exit until the next time the process becomes ready. */
  failing = false;
  lastProbe = '';
  /** When the next restart is due (ms), while in back-off. */
  restartAt = 0;

  constructor(o: ReplicaOptions) {
    super();
    this.id = o.id;
    this.#o = o;
  }

  get state(): ReplicaState {
    return this.#state;
  }
  get port(): number {
    return this.#port;
  }
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  /** Keep-alive connections to this process for the router (undici: cheaper per request than node:http). */
  get pool(): Pool | undefined {
    return this.#pool;
  }
  /** Accepts new requests. */
  get routable(): boolean {
    return this.#state === 'ready';
  }
  get alive(): boolean {
    return this.#state !== 'stopped';
  }

  #set(s: ReplicaState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('change');
  }

  #note(line: string): void {
    this.#o.log.write(`--- sluice: ${new Date(this.#o.clock.now()).toISOString()} replica ${this.id}: ${line}\n`);
  }

  #stopping(): boolean {
    return this.#state === 'terminating' || this.#state === 'stopped';
  }

  start(): void {
    void this.#spawn();
  }

  async #spawn(): Promise<void> {
    if (this.#stopping()) return;
    let port: number;
    try {
      port = await freePort();
    } catch (e) {
      this.#onExit(null, null, `no free port: ${errorMessage(e)}`);
      return;
    }
    // stop() may have been called while we waited for the port.
    if (this.#stopping()) return;
    this.#port = port;
    this.#stderrTail = '';
    this.#okStreak = 0;
    this.#failStreak = 0;
    this.#set('starting');
    const { command } = this.#o;
    const env: Record<string, string> = {};
    for (const k of INHERITED_ENV) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    Object.assign(env, this.#o.baseEnv, command.env, this.#o.extraEnv, { PORT: String(port) });
    const [file, ...args] = command.watchesParent ? command.argv : [process.execPath, REAPER, ...command.argv];
    env['SLUICE_LIFELINE'] = 'stdin';
    let child: ChildProcess;
    try {
      child = spawn(file ?? process.execPath, args, {
        env,
        ...(command.workingDir !== undefined ? { cwd: command.workingDir } : {}),
        stdio: ['pipe', this.#o.stdoutFd ?? 'pipe', 'pipe'],
        // Own process group: close() kills the group, so grandchildren go too.
        detached: true,
      });
    } catch (e) {
      this.#onExit(null, null, `cannot start: ${errorMessage(e)}`);
      return;
    }
    this.#child = child;
    this.#startedAt = this.#o.clock.now();
    // No connection limit (the Revision's containerConcurrency is the limit), no pipelining (one slow request
    // must not hold up others behind it), and no undici timeouts: the router enforces timeoutSeconds itself.
    this.#pool = new Pool(`http://127.0.0.1:${port}`, {
      connections: null,
      pipelining: 1,
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 4_000,
    });
    this.#note(`started pid ${child.pid ?? '?'} on port ${port}: ${command.argv.join(' ')}`);
    child.stdout?.pipe(this.#o.log, { end: false });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#o.log.write(chunk);
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
    // The stdin pipe is the child's lifeline; never written, and errors (child gone) are expected.
    child.stdin?.on('error', () => undefined);
    child.once('error', (e) => {
      if (child.pid === undefined) this.#onExit(null, null, `cannot start: ${errorMessage(e)}`);
    });
    child.once('exit', (code, signal) => {
      // stderr may still hold the last words; read them before judging.
      const finish = (): void => this.#onExit(code, signal, '');
      if (child.stderr && !child.stderr.readableEnded) {
        const t = setTimeout(finish, 100);
        child.stderr.once('end', () => {
          clearTimeout(t);
          finish();
        });
      } else finish();
    });
    this.#scheduleProbe(this.#o.probe?.initialDelaySeconds ? this.#o.probe.initialDelaySeconds * 1000 : 0);
  }

  #periodMs(): number {
    const p = this.#o.probe?.periodSeconds;
    if (p && p > 0) return p * 1000;
    const readyThisRun = this.#state === 'ready' || this.#state === 'unready';
    return readyThisRun ? this.#o.probeTiming.defaultPeriodMs : this.#o.probeTiming.aggressiveMs;
  }

  #scheduleProbe(ms: number): void {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => void this.#probe(), ms);
  }

  async #probe(): Promise<void> {
    const child = this.#child;
    if (!child || (this.#state !== 'starting' && this.#state !== 'ready' && this.#state !== 'unready')) return;
    const action: ProbeAction = probeAction(this.#o.probe);
    const timeoutMs = Math.max(1, this.#o.probe?.timeoutSeconds ?? 1) * 1000;
    const r = await runProbe(action, this.#port, timeoutMs);
    if (this.#child !== child || (this.#state !== 'starting' && this.#state !== 'ready' && this.#state !== 'unready'))
      return;
    this.lastProbe = r.detail;
    const successThreshold = Math.max(1, this.#o.probe?.successThreshold ?? 1);
    const failureThreshold = Math.max(1, this.#o.probe?.failureThreshold ?? 3);
    if (r.ok) {
      this.#okStreak++;
      this.#failStreak = 0;
      if (this.#state !== 'ready' && this.#okStreak >= successThreshold) {
        this.failing = false;
        this.#note(`ready (${r.detail})`);
        this.#set('ready');
      }
    } else {
      this.#failStreak++;
      this.#okStreak = 0;
      if (this.#state === 'ready' && this.#failStreak >= failureThreshold) {
        this.#note(`not ready: ${r.detail}`);
        this.#set('unready');
      } else {
        this.emit('probe');
      }
    }
    this.#scheduleProbe(this.#periodMs());
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, startError: string): void {
    clearTimeout(this.#probeTimer);
    this.#child = undefined;
    this.#closePool();
    const now = this.#o.clock.now();
    const tail = (startError ? `${startError}\n` : '') + this.#stderrTail;
    this.lastTermination = { exitCode: code, signal, at: now, stderrTail: lastLines(tail, 5, 600) };
    if (this.#state === 'terminating' || this.#state === 'stopped') {
      this.#note(`stopped (${describeExit(code, signal)})`);
      this.#set('stopped');
      for (const w of this.#stopWaiters.splice(0)) w();
      return;
    }
    this.failing = true;
    if (this.#startedAt > 0 && now - this.#startedAt >= this.#o.backoff.resetAfterMs) this.#backoffLevel = 0;
    const delay = Math.min(this.#o.backoff.initialMs * 2 ** this.#backoffLevel, this.#o.backoff.maxMs);
    this.#backoffLevel++;
    this.restartCount++;
    this.restartAt = now + delay;
    this.#note(`exited (${describeExit(code, signal)}); restarting in ${delay} ms`);
    this.#o.logger.warn(
      { revision: this.#o.revisionKey, replica: this.id, code, signal, delayMs: delay },
      'revision process exited; restarting after back-off',
    );
    this.#set('backoff');
    this.#restartTimer = setTimeout(() => void this.#spawn(), delay);
  }

  /**
   * Kill the process: SIGTERM to its process group, SIGKILL after the grace period. Resolves once it is gone.
   * Idempotent.
   */
  stop(graceMs = this.#o.terminationGraceMs): Promise<void> {
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#probeTimer);
    if (this.#state === 'stopped') return Promise.resolve();
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.#child = undefined;
      this.#closePool();
      this.#set('stopped');
      return Promise.resolve();
    }
    this.#set('terminating');
    const gone = new Promise<void>((r) => this.#stopWaiters.push(r));
    if (this.#stopWaiters.length === 1) {
      signalGroup(child, 'SIGTERM');
      const t = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      void gone.then(() => clearTimeout(t));
    }
    return gone;
  }

  #closePool(): void {
    const p = this.#pool;
    this.#pool = undefined;
    // Requests still on it fail with a socket error, which the router reports as the process going away.
    p?.destroy().catch(() => undefined);
  }

  /** The router could not connect: stop routing here until the probe passes again (or the exit arrives). */
  suspect(): void {
    if (this.#state !== 'ready') return;
    this.#okStreak = 0;
    this.#set('unready');
    // A dying process can still accept connections for a moment; probing at once could wrongly pass. Its
    // exit is normally seen well within this delay.
    this.#scheduleProbe(SUSPECT_PROBE_DELAY_MS);
  }

  /** Synchronous last resort when Sluice itself is exiting. */
  killNow(): void {
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#probeTimer);
    if (this.#child) signalGroup(this.#child, 'SIGKILL');
  }
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // Already gone.
    }
  }
}

export function describeExit(code: number | null, signal: string | null): string {
  if (signal) {
    const n = (osConstants.signals as Record<string, number | undefined>)[signal];
    return `killed by ${signal}${n !== undefined ? `, exit code ${128 + n}` : ''}`;
  }
  if (code === null) return 'failed to start';
  return `exit code ${code}`;
}

/** Exit code as Kubernetes reports it: 128 + signal number for a signal. */
export function k8sExitCode(t: LastTermination): number | null {
  if (t.exitCode !== null) return t.exitCode;
  if (t.signal) {
    const n = (osConstants.signals as Record<string, number | undefined>)[t.signal];
    return n !== undefined ? 128 + n : null;
  }
  return null;
}

function lastLines(s: string, n: number, maxChars: number): string {
  const lines = s
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  return lines.slice(-n).join('\n').slice(-maxChars);
}
