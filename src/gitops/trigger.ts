// When syncs run: coalescing of triggers (one sync in flight, at most one queued behind it, however many
// webhooks and polls arrive) and the capped exponential backoff after a failure.

/** Delay before retry number `attempt` (1-based): initial·2^(attempt−1), capped. 1 s, 2 s, 4 s … 5 min by default. */
export function backoffDelay(attempt: number, o: { initialMs: number; maxMs: number }): number {
  if (attempt < 1) return 0;
  return Math.min(o.initialMs * 2 ** Math.min(attempt - 1, 30), o.maxMs);
}

/**
 * Runs `work` so that at most one run is in flight and at most one is queued. A trigger while idle starts a
 * run; a trigger while running queues one run (later triggers join it). Every caller gets the result of a
 * run that started after its call, so "push, then trigger" always sees the push.
 */
export class Coalescer<T> {
  #work: () => Promise<T>;
  #running: Promise<T> | undefined;
  #queued: Promise<T> | undefined;
  #closed = false;

  constructor(work: () => Promise<T>) {
    this.#work = work;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  trigger(): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    if (!this.#running) {
      const run = this.#work();
      this.#running = run.finally(() => {
        if (this.#running === tracked) this.#running = undefined;
      });
      const tracked = this.#running;
      return tracked;
    }
    if (!this.#queued) {
      this.#queued = this.#running
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => {
          this.#queued = undefined;
          return this.trigger();
        });
    }
    return this.#queued;
  }

  /** No new runs; resolves when the current and queued runs are over. */
  async close(): Promise<void> {
    const q = this.#queued;
    const r = this.#running;
    this.#closed = true;
    await Promise.allSettled([r, q].filter((p): p is Promise<T> => p !== undefined));
  }
}
