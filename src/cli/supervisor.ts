// `sluice start` as a supervisor of its parts, each a child process of its own:
//   apiserver  `sluice apiserver`   the store and the Kubernetes API
//   dataplane  `sluice serving`     Serving reconcilers, router, activator, revision processes and their metrics
//   brain      `sluice controller`  rollout controller, analysis, alerts, GitOps
// so a crash of the brain (or of GitOps, alerting, a bug in analysis) never takes the router down: requests keep
// flowing and the router's counters keep counting while the brain restarts. Each child reports readiness and its
// endpoints over an IPC channel and exits when that channel closes, so the whole tree dies with the supervisor
// even when it is killed with -9 (revision processes and Prometheus hang off lifelines of their own). A child
// that exits unexpectedly is restarted on the same port with exponential back-off.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../observability/logger.js';

/** The message a supervised child sends once it serves. */
export interface ReadyMessage {
  type: 'ready';
  endpoints: Record<string, string>;
}

export function isReadyMessage(m: unknown): m is ReadyMessage {
  return (
    typeof m === 'object' &&
    m !== null &&
    (m as { type?: unknown }).type === 'ready' &&
    typeof (m as { endpoints?: unknown }).endpoints === 'object'
  );
}

/** True when this process was started by a supervisor (it has an IPC channel to its parent). */
export function supervised(): boolean {
  return typeof process.send === 'function' && process.connected;
}

/**
 * In a supervised child: report readiness, and exit when the supervisor goes away (the IPC channel closes, also
 * when the supervisor was killed with -9). `close` gets `graceMs` to finish before the process exits anyway.
 */
export function reportReady(endpoints: Record<string, string>, close: () => Promise<void>, graceMs = 5_000): void {
  if (!supervised()) return;
  process.send?.({ type: 'ready', endpoints } satisfies ReadyMessage);
  process.once('disconnect', () => {
    const t = setTimeout(() => process.exit(1), graceMs);
    t.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

export interface ChildSpec {
  /** apiserver | dataplane | brain */
  name: string;
  /** Arguments after `node bin/sluice.js`; called for every (re)start, so a restart can pin the first port. */
  args: (previous: Record<string, string> | undefined) => string[];
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export interface ChildEvents {
  /** A restarted child is ready again (its pid changed). */
  onReady?: (name: string, endpoints: Record<string, string>, pid: number) => void;
  /** A child exited unexpectedly; it is restarted after `delayMs`. */
  onExit?: (name: string, how: string, restart: number, delayMs: number) => void;
}

const BACKOFF = { initialMs: 250, maxMs: 10_000, resetAfterMs: 30_000 };

/** Next back-off: doubled and capped, back to the initial value after a long enough run. Pure. */
export function childBackoff(prevMs: number, upMs: number): number {
  if (prevMs === 0 || upMs >= BACKOFF.resetAfterMs) return BACKOFF.initialMs;
  return Math.min(BACKOFF.maxMs, prevMs * 2);
}

export class SupervisedChild {
  readonly name: string;
  endpoints: Record<string, string> = {};
  #spec: ChildSpec;
  #bin: string;
  #log: Logger;
  #events: ChildEvents;
  #child: ChildProcess | undefined;
  #stopping = false;
  #restarts = 0;
  #delay = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(spec: ChildSpec, bin: string, log: Logger, events: ChildEvents = {}) {
    this.name = spec.name;
    this.#spec = spec;
    this.#bin = bin;
    this.#log = log;
    this.#events = events;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** Starts the child and resolves with its endpoints once it reports ready; rejects if it exits first. */
  start(): Promise<Record<string, string>> {
    const first = this.#restarts === 0 && !this.#child;
    const child = spawn(process.execPath, [this.#bin, ...this.#spec.args(first ? undefined : this.endpoints)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...this.#spec.env },
    });
    this.#child = child;
    const startedAt = Date.now();
    const ready = new Promise<Record<string, string>>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name} did not report ready within ${this.#spec.readyTimeoutMs ?? 60_000} ms`));
        child.kill('SIGKILL');
      }, this.#spec.readyTimeoutMs ?? 60_000);
      child.on('message', (m: unknown) => {
        if (!isReadyMessage(m)) return;
        clearTimeout(timer);
        this.endpoints = { ...this.endpoints, ...m.endpoints };
        resolve(this.endpoints);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(`${this.name} exited before it was ready (${signal ? `signal ${signal}` : `exit code ${code}`})`),
        );
      });
    });
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      if (this.#stopping) return;
      const how = signal ? `signal ${signal}` : `exit code ${code ?? '?'}`;
      this.#delay = childBackoff(this.#delay, Date.now() - startedAt);
      this.#restarts++;
      this.#log.warn(
        { part: this.name, how, restart: this.#restarts, inMs: this.#delay },
        `${this.name} exited; restarting it`,
      );
      this.#events.onExit?.(this.name, how, this.#restarts, this.#delay);
      this.#timer = setTimeout(() => this.#restart(), this.#delay);
    });
    return ready;
  }

  #restart(): void {
    this.#timer = undefined;
    if (this.#stopping) return;
    this.start().then(
      (eps) => {
        const pid = this.pid;
        if (pid !== undefined) this.#events.onReady?.(this.name, eps, pid);
      },
      (e: unknown) =>
        this.#log.warn({ part: this.name, err: e instanceof Error ? e.message : String(e) }, 'restart failed'),
    );
  }

  /** SIGTERM, SIGKILL after `graceMs`; no restart afterwards. */
  async stop(graceMs = 8_000): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    const c = this.#child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  }
}
