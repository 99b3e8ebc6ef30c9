// A keyed, level-triggered work queue (client-go's workqueue + controller-runtime's loop): a key waiting
// is queued once however many events name it; a key is reconciled by one worker at a time, and an event
// that arrives while it runs makes it run once more afterwards. Errors come back after a per-key
// exponential back-off; `requeueAfterMs` says when to look again (a rollout step).
import type { Logger } from '../../observability/logger.js';
import { errorMessage } from '../../util/errors.js';
import { TerminalError } from './errors.js';

export interface ReconcileKey {
  namespace: string;
  name: string;
}

export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (forgetting any failures). */
  requeueAfterMs?: number;
}

export type ReconcileFn = (key: ReconcileKey) => Promise<ReconcileResult | void>;

export interface WorkQueueOptions {
  /** For logs: `service`, `route`, … */
  name: string;
  reconcile: ReconcileFn;
  /** Keys reconciled concurrently (different keys only). Default 4. */
  workers?: number;
  /** First retry delay after an error; doubles per consecutive failure. Default 10 ms. */
  baseDelayMs?: number;
  /** Cap of the retry delay. Default 30 s. */
  maxDelayMs?: number;
  log?: Logger;
}

/**
 * Delay before retry number `failures` (1 for the first failure): base·2^(failures-1), capped.
 * Example with base 10 ms, max 30 s: 10, 20, 40, … 20 480, 30 000, 30 000 ms.
 */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

export const encodeKey = (k: ReconcileKey): string => `${k.namespace}/${k.name}`;

export function decodeKey(s: string): ReconcileKey {
  const i = s.indexOf('/');
  return i < 0 ? { namespace: '', name: s } : { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

export class WorkQueue {
  readonly name: string;
  readonly #o: Required<Omit<WorkQueueOptions, 'log'>> & { log: Logger | undefined };
  #queue: string[] = [];
  #queued = new Set<string>();
  #inFlight = new Set<string>();
  #dirty = new Set<string>();
  #failures = new Map<string, number>();
  #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #active = 0;
  #stopped = false;
  #idle: Array<() => void> = [];
  /** Counters for tests and diagnostics. */
  readonly stats = { reconciles: 0, errors: 0, requeues: 0 };

  constructor(o: WorkQueueOptions) {
    this.name = o.name;
    this.#o = { workers: 4, baseDelayMs: 10, maxDelayMs: 30_000, ...o, log: o.log };
  }

  add(key: ReconcileKey): void {
    this.#addEncoded(encodeKey(key));
  }

  /** Adds the key after `ms`; an earlier pending timer for the same key wins. */
  addAfter(key: ReconcileKey, ms: number): void {
    this.#addAfterEncoded(encodeKey(key), ms);
  }

  /** Keys waiting or running. */
  get length(): number {
    return this.#queue.length + this.#inFlight.size;
  }

  /** Resolves when nothing is queued or running (timers may still be pending). */
  whenIdle(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  /** Stops taking work; running reconciles finish, timers are cancelled. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    this.#queue = [];
    this.#queued.clear();
  }

  #addEncoded(k: string): void {
    if (this.#stopped) return;
    if (this.#inFlight.has(k)) {
      this.#dirty.add(k);
      return;
    }
    if (this.#queued.has(k)) return;
    this.#queued.add(k);
    this.#queue.push(k);
    this.#pump();
  }

  #addAfterEncoded(k: string, ms: number): void {
    if (this.#stopped) return;
    if (ms <= 0) return this.#addEncoded(k);
    const at = Date.now() + ms;
    const cur = this.#timers.get(k);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(k);
      this.#addEncoded(k);
    }, ms);
    timer.unref();
    this.#timers.set(k, { at, timer });
  }

  #pump(): void {
    while (!this.#stopped && this.#active < this.#o.workers && this.#queue.length > 0) {
      const k = this.#queue.shift() as string;
      this.#queued.delete(k);
      this.#inFlight.add(k);
      this.#active++;
      void this.#process(k);
    }
  }

  async #process(k: string): Promise<void> {
    this.stats.reconciles++;
    try {
      const r = await this.#o.reconcile(decodeKey(k));
      this.#failures.delete(k);
      if (r && r.requeueAfterMs !== undefined) {
        this.stats.requeues++;
        this.#addAfterEncoded(k, Math.max(1, r.requeueAfterMs));
      }
    } catch (e) {
      this.stats.errors++;
      if (e instanceof TerminalError) {
        this.#failures.delete(k);
        this.#o.log?.error(
          { queue: this.name, key: k, code: e.code, err: e.message },
          'reconcile failed; not retrying until the object changes',
        );
      } else {
        const n = (this.#failures.get(k) ?? 0) + 1;
        this.#failures.set(k, n);
        const delay = retryDelayMs(n, this.#o.baseDelayMs, this.#o.maxDelayMs);
        // Conflicts and not-yet-cached objects are routine; only repeated failures are worth a warning.
        const level = n >= 5 ? 'warn' : 'debug';
        this.#o.log?.[level](
          { queue: this.name, key: k, failures: n, retryInMs: delay, err: errorMessage(e) },
          'reconcile failed; retrying',
        );
        this.#addAfterEncoded(k, delay);
      }
    } finally {
      this.#inFlight.delete(k);
      this.#active--;
      if (this.#dirty.delete(k)) this.#addEncoded(k);
      this.#pump();
      if (this.length === 0) for (const r of this.#idle.splice(0)) r();
    }
  }
}
