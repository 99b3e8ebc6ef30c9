// The dispatcher: `notify(event, sinks)` returns at once; every sink has its own FIFO queue and worker, so a dead
// or slow sink never slows a rollout or another sink. Per job: attempts with a per-sink timeout (AbortSignal),
// retries with exponential back-off and jitter (pure `retryDelay`; the timers are here), then give up and count.
// Events with the same key (see `eventKey`) reaching the same sink within `dedupeWindowMs` are sent once.
// Queues are bounded: when full the oldest job is dropped. Nothing secret is logged: sink labels are redacted
// URLs, and error texts are scrubbed of every secret value the sink resolved.
import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import type { Registry } from 'prom-client';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { AlertEvent, AlertSinkSpec, AlertSinkType } from './types.js';
import { eventKey } from './types.js';
import type { AlertSink, SendContext, SinkInit } from './sink.js';
import { AlertError } from './errors.js';
import type { RetryPolicy } from './retry.js';
import { DEFAULT_RETRY, retryDelay } from './retry.js';
import type { SecretResolver } from './secrets.js';
import { EnvSecretResolver } from './secrets.js';
import { scrub } from './redact.js';
import { alertMetrics, type AlertMetrics, type DropReason } from './metrics.js';
import { WebhookSink } from './webhook.js';
import { SlackSink } from './slack.js';
import { CloudEventsSink } from './cloudevents.js';
import { AlertmanagerSink, type AlertmanagerOptions } from './alertmanager.js';
import { BrokerSink, type BrokerSinkOptions } from './broker.js';

export interface DispatcherOptions {
  /** Default: environment variables (`EnvSecretResolver`). */
  secrets?: SecretResolver;
  /** Default: silent. */
  logger?: Logger;
  /** Counters are registered here when given. */
  registry?: Registry;
  /** Timestamps and the dedupe window; timers are real. */
  clock?: Clock;
  /** For jitter; default Math.random. */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Per attempt, ms: one number or per sink type (default 10 s). */
  timeoutMs?: number | Partial<Record<AlertSinkType, number>>;
  /** Same event key to the same sink within this window is sent once (default 5 min, as Flux; 0 disables). */
  dedupeWindowMs?: number;
  /** Jobs waiting per sink before the oldest is dropped (default 1000). */
  maxQueue?: number;
  alertmanager?: AlertmanagerOptions;
  /** How `type: broker` sinks read Brokers and find the router; without it such sinks fail with AlertConfig. */
  broker?: BrokerSinkOptions;
}

export interface NotifyReceipt {
  /** Jobs queued (one per sink that wants the event). */
  queued: number;
  /** Sinks that already had this event within the dedupe window. */
  duplicates: number;
  /** Older jobs dropped because a queue was full. */
  dropped: number;
  /** Sinks that filtered the event out, or whose spec is unusable. */
  skipped: number;
}

export interface SinkStats {
  label: string;
  type: AlertSinkType;
  waiting: number;
  busy: boolean;
  delivered: number;
  failedAttempts: number;
  dropped: number;
  duplicates: number;
}

type Job = { kind: 'event'; event: AlertEvent; queuedAt: number } | { kind: 'resend'; queuedAt: number };

class Worker {
  readonly queue: Job[] = [];
  running = false;
  resendQueued = false;
  readonly recent = new Map<string, number>();
  readonly sensitive = new Set<string>();
  timer: NodeJS.Timeout | undefined;
  delivered = 0;
  failedAttempts = 0;
  dropped = 0;
  duplicates = 0;
  constructor(readonly sink: AlertSink) {}
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class AlertDispatcher {
  readonly #workers = new Map<string, Worker>();
  readonly #abort = new AbortController();
  readonly #log: Logger;
  readonly #secrets: SecretResolver;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #retry: RetryPolicy;
  readonly #dedupeMs: number;
  readonly #maxQueue: number;
  readonly #metrics: AlertMetrics;
  readonly #idleWaiters: Array<() => void> = [];
  readonly #sleepers = new Set<() => void>();

  constructor(private readonly opts: DispatcherOptions = {}) {
    this.#log = opts.logger ?? silentLogger();
    this.#secrets = opts.secrets ?? new EnvSecretResolver();
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.#dedupeMs = opts.dedupeWindowMs ?? 300_000;
    this.#maxQueue = Math.max(1, opts.maxQueue ?? 1000);
    this.#metrics = alertMetrics(opts.registry);
  }

  /** Queue `event` for every sink in `sinks` (a policy's `spec.alerts`). Never blocks, never throws. */
  notify(event: AlertEvent, sinks: readonly AlertSinkSpec[]): NotifyReceipt {
    const r: NotifyReceipt = { queued: 0, duplicates: 0, dropped: 0, skipped: 0 };
    if (this.#abort.signal.aborted) {
      r.skipped = sinks.length;
      return r;
    }
    const now = this.#clock.now();
    const key = eventKey(event);
    for (const [i, spec] of sinks.entries()) {
      let workers: Worker[];
      try {
        workers = this.#workersFor(spec, event.namespace);
      } catch (e) {
        r.skipped++;
        this.#log.error(
          { sink: spec.type, index: i, err: e instanceof Error ? e.message : String(e) },
          'alert sink is not usable',
        );
        continue;
      }
      for (const w of workers) {
        if (!w.sink.accepts(event)) {
          r.skipped++;
          continue;
        }
        if (this.#dedupeMs > 0) {
          const last = w.recent.get(key);
          if (last !== undefined && now - last < this.#dedupeMs) {
            r.duplicates++;
            w.duplicates++;
            this.#metrics.dropped(w.sink.type, 'duplicate');
            this.#log.debug({ sink: w.sink.label, event: event.type, id: event.id }, 'duplicate alert suppressed');
            continue;
          }
          w.recent.set(key, now);
          if (w.recent.size > 256) for (const [k, t] of w.recent) if (now - t >= this.#dedupeMs) w.recent.delete(k);
        }
        if (w.queue.length >= this.#maxQueue) {
          const old = w.queue.shift();
          if (old?.kind === 'resend') w.resendQueued = false;
          r.dropped++;
          this.#drop(w, 'queueFull', old?.kind === 'event' ? old.event : undefined);
          this.#metrics.depth(w.sink.type, -1);
        }
        w.queue.push({ kind: 'event', event, queuedAt: performance.now() });
        r.queued++;
        this.#metrics.queued(w.sink.type);
        this.#metrics.depth(w.sink.type, 1);
        this.#kick(w);
      }
    }
    return r;
  }

  /** Resolves when every queue is empty and nothing is in flight or waiting to retry. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stats(): SinkStats[] {
    return [...this.#workers.values()].map((w) => ({
      label: w.sink.label,
      type: w.sink.type,
      waiting: w.queue.length,
      busy: w.running,
      delivered: w.delivered,
      failedAttempts: w.failedAttempts,
      dropped: w.dropped,
      duplicates: w.duplicates,
    }));
  }

  /** Stop: abort in-flight requests and retry waits, drop what is queued, stop re-send timers. */
  async close(): Promise<void> {
    this.#abort.abort(new AlertError('AlertNetwork', 'dispatcher closed', { retryable: false }));
    for (const w of this.#workers.values()) {
      if (w.timer) clearInterval(w.timer);
      for (const job of w.queue) if (job.kind === 'event') this.#drop(w, 'closed', job.event);
      this.#metrics.depth(w.sink.type, -w.queue.length);
      w.queue.length = 0;
    }
    for (const wake of [...this.#sleepers]) wake();
    await this.idle();
  }

  #workersFor(spec: AlertSinkSpec, namespace: string): Worker[] {
    const urls =
      spec.type === 'alertmanager'
        ? [...new Set([spec.url, ...(spec.urls ?? [])].filter((u): u is string => typeof u === 'string' && u !== ''))]
        : [spec.url ?? ''];
    if (urls.length === 0) throw new AlertError('AlertConfig', 'alertmanager: no url', { retryable: false });
    return urls.map((url) => {
      const id = JSON.stringify([
        namespace,
        spec.type,
        url,
        spec.secretRef?.name ?? '',
        spec.secretRef?.key ?? '',
        spec.mode ?? '',
        spec.broker ?? '',
        spec.namespace ?? '',
        spec.events ?? [],
      ]);
      let w = this.#workers.get(id);
      if (!w) {
        w = new Worker(this.#makeSink(spec, namespace, url));
        this.#workers.set(id, w);
        this.#startResend(w);
      }
      return w;
    });
  }

  #makeSink(spec: AlertSinkSpec, namespace: string, url: string): AlertSink {
    const init: SinkInit = { spec, namespace, secrets: this.#secrets };
    switch (spec.type) {
      case 'webhook':
        return new WebhookSink(init);
      case 'slack':
        return new SlackSink(init);
      case 'cloudevents':
        return new CloudEventsSink(init);
      case 'alertmanager':
        return new AlertmanagerSink(init, url, this.opts.alertmanager);
      case 'broker':
        if (!this.opts.broker)
          throw new AlertError('AlertConfig', 'broker: this controller cannot read Brokers', { retryable: false });
        return new BrokerSink(spec, this.opts.broker);
      default: {
        const t: never = spec.type;
        throw new AlertError(
          'AlertConfig',
          `unknown alert type ${String(t)} (want webhook, slack, alertmanager, cloudevents or broker)`,
          { retryable: false },
        );
      }
    }
  }

  #startResend(w: Worker): void {
    const every = w.sink.resendIntervalMs;
    if (every === undefined || !w.sink.resend) return;
    w.timer = setInterval(() => {
      if (w.resendQueued || this.#abort.signal.aborted || !w.sink.hasPending?.(this.#clock.now())) return;
      if (w.queue.length >= this.#maxQueue) return;
      w.resendQueued = true;
      w.queue.push({ kind: 'resend', queuedAt: performance.now() });
      this.#metrics.depth(w.sink.type, 1);
      this.#kick(w);
    }, every);
    w.timer.unref();
  }

  #timeoutFor(type: AlertSinkType): number {
    const t = this.opts.timeoutMs;
    if (typeof t === 'number') return t;
    return t?.[type] ?? DEFAULT_TIMEOUT_MS;
  }

  #kick(w: Worker): void {
    if (w.running) return;
    w.running = true;
    void this.#pump(w);
  }

  async #pump(w: Worker): Promise<void> {
    try {
      while (w.queue.length > 0 && !this.#abort.signal.aborted) {
        const job = w.queue.shift()!;
        this.#metrics.depth(w.sink.type, -1);
        if (job.kind === 'resend') w.resendQueued = false;
        await this.#run(w, job);
      }
    } catch (e) {
      this.#log.error(
        { sink: w.sink.label, err: scrub(e instanceof Error ? e.message : String(e), [...w.sensitive]) },
        'alert worker failed',
      );
    } finally {
      w.running = false;
      if (w.queue.length > 0 && !this.#abort.signal.aborted) this.#kick(w);
      else this.#wakeIdle();
    }
  }

  async #run(w: Worker, job: Job): Promise<void> {
    const sink = w.sink;
    const about =
      job.kind === 'event'
        ? {
            sink: sink.label,
            event: job.event.type,
            id: job.event.id,
            rollout: `${job.event.namespace}/${job.event.service}`,
          }
        : { sink: sink.label, event: 'resend' };
    for (let attempt = 1; ; attempt++) {
      if (this.#abort.signal.aborted) return;
      // One controller per attempt, aborted by an explicit timer or by close(). Not AbortSignal.any() with
      // AbortSignal.timeout(): the timeout signal can be garbage-collected before it fires (a hung request then
      // hangs for ever), and dependents of a long-lived signal accumulate.
      const attemptAbort = new AbortController();
      const timer = setTimeout(
        () => attemptAbort.abort(new AlertError('AlertTimeout', 'timed out', { retryable: true })),
        this.#timeoutFor(sink.type),
      );
      const onClose = (): void => attemptAbort.abort(this.#abort.signal.reason);
      this.#abort.signal.addEventListener('abort', onClose, { once: true });
      const ctx: SendContext = {
        signal: attemptAbort.signal,
        now: this.#clock.now(),
        attempt,
        sensitive: (v) => w.sensitive.add(v),
      };
      try {
        if (job.kind === 'event') await sink.send(job.event, ctx);
        else await sink.resend?.(ctx);
        w.delivered++;
        this.#metrics.delivered(sink.type, (performance.now() - job.queuedAt) / 1000);
        this.#log.debug({ ...about, attempt }, 'alert delivered');
        return;
      } catch (e) {
        if (this.#abort.signal.aborted) return;
        const err =
          e instanceof AlertError
            ? e
            : new AlertError('AlertConfig', e instanceof Error ? e.message : String(e), { retryable: false, cause: e });
        w.failedAttempts++;
        this.#metrics.failedAttempt(sink.type);
        const msg = scrub(err.message, [...w.sensitive]);
        const delay = err.retryable ? retryDelay(attempt, this.#random, this.#retry, err.retryAfterMs) : null;
        if (delay === null) {
          this.#log.error(
            { ...about, attempt, code: err.code, err: msg },
            err.retryable ? 'alert not delivered: out of attempts' : 'alert not delivered',
          );
          this.#drop(w, err.retryable ? 'exhausted' : 'permanent', job.kind === 'event' ? job.event : undefined, false);
          return;
        }
        this.#log.warn(
          { ...about, attempt, code: err.code, err: msg, retryInMs: delay },
          'alert delivery failed; will retry',
        );
        clearTimeout(timer);
        await this.#sleep(delay);
      } finally {
        clearTimeout(timer);
        this.#abort.signal.removeEventListener('abort', onClose);
      }
    }
  }

  #drop(w: Worker, reason: DropReason, event: AlertEvent | undefined, log = true): void {
    w.dropped++;
    this.#metrics.dropped(w.sink.type, reason);
    if (log && reason === 'queueFull')
      this.#log.warn({ sink: w.sink.label, event: event?.type, id: event?.id, reason }, 'alert dropped: queue full');
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.#sleepers.delete(done);
        resolve();
      };
      // Kept referenced: a process with retries pending stays up to deliver them (close() cancels).
      const t = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }

  #isIdle(): boolean {
    for (const w of this.#workers.values()) if (w.running || w.queue.length > 0) return false;
    return true;
  }

  #wakeIdle(): void {
    if (!this.#isIdle()) return;
    for (const r of this.#idleWaiters.splice(0)) r();
  }
}
