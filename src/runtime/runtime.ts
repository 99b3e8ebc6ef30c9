// The embedded data plane as one object: the reconcilers tell it which revisions exist (upsertRevision /
// removeRevision) and how routes split traffic (setRoutes); it runs the processes, serves the router port, and
// emits 'status' whenever a revision's status changes so the Revision reconciler can requeue.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../observability/logger.js';
import { systemClock, type Clock } from '../util/clock.js';
import { knativeAutoscalerDefaults, type AutoscalerConfig } from './annotations.js';
import { RuntimeError } from './errors.js';
import { ImageTable } from './image-table.js';
import { RuntimeMetrics, type ExportedMetricsFamily } from './metrics.js';
import type { BackoffConfig, ProbeTiming } from './replica.js';
import { Revision } from './revision.js';
import { Router } from './router.js';
import type { RevisionSpec, RevisionStatus, RouteTable } from './types.js';

export interface RuntimeOptions {
  /** Logs go to `<dataDir>/logs/<namespace>/<revision>.log`. */
  dataDir: string;
  clock?: Clock;
  logger?: Logger;
  /** Default: the built-in sample images only. Load a user table with `ImageTable.fromFile`. */
  imageTable?: ImageTable;
  /** config-autoscaler; unset fields take Knative's defaults. */
  autoscaler?: Partial<AutoscalerConfig>;
  /** Autoscaler period; Knative ticks every 2 s. */
  tickMs?: number;
  /** Restart back-off; default 500 ms doubling to 30 s, reset after 60 s up (the kubelet: 10 s, 5 min, 10 min). */
  backoff?: Partial<BackoffConfig>;
  probe?: Partial<ProbeTiming>;
  /** SIGTERM → SIGKILL; default 2000 ms. */
  terminationGraceMs?: number;
  /** Default 120 s (Knative: 600 s). */
  progressDeadlineMs?: number;
  /** Queued requests per revision before 503; default 10 000. */
  maxQueueDepth?: number;
  /** Default: a new Registry (never the global one). */
  registry?: Registry;
  /** Which Knative generation's request metrics the router exports (default knative-opencensus). */
  metricsFamily?: ExportedMetricsFamily;
}

export interface RuntimeEvents {
  status: [RevisionStatus];
  removed: [{ namespace: string; name: string }];
}

function statusKey(s: RevisionStatus): string {
  // Averages move on every tick; they are data, not a change of state worth a requeue.
  const { autoscaler, load: _load, ...rest } = s;
  return JSON.stringify({ ...rest, panicking: autoscaler.panicking });
}

export class Runtime extends EventEmitter<RuntimeEvents> {
  readonly metrics: RuntimeMetrics;
  readonly router: Router;
  readonly dataDir: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #imageTable: ImageTable;
  readonly #autoscaler: AutoscalerConfig;
  readonly #backoff: BackoffConfig;
  readonly #probe: ProbeTiming;
  readonly #o: RuntimeOptions;
  #revisions = new Map<string, Revision>();
  #removing = new Map<string, Promise<void>>();
  #lastKey = new Map<string, string>();
  #pending = new Set<string>();
  #flushScheduled = false;
  #tick: NodeJS.Timeout;
  #closed = false;
  readonly #onExit = (): void => this.#killAllNow();

  constructor(o: RuntimeOptions) {
    super();
    this.#o = o;
    this.dataDir = resolvePath(o.dataDir);
    mkdirSync(this.dataDir, { recursive: true });
    this.#clock = o.clock ?? systemClock;
    this.#logger = o.logger ?? silentLogger();
    this.#imageTable = o.imageTable ?? new ImageTable();
    this.#autoscaler = { ...knativeAutoscalerDefaults, ...o.autoscaler };
    this.#backoff = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000, ...o.backoff };
    this.#probe = { aggressiveMs: 25, defaultPeriodMs: 1000, ...o.probe };
    this.metrics = new RuntimeMetrics(o.registry, o.metricsFamily);
    this.router = new Router({
      lookup: (ns, name) => this.#revisions.get(`${ns}/${name}`),
      metrics: this.metrics,
      clock: this.#clock,
      logger: this.#logger,
    });
    this.#tick = setInterval(() => this.#autoscale(), o.tickMs ?? 2000);
    this.#tick.unref();
    // Children watch their stdin pipe and die with us even on SIGKILL; this covers a normal exit promptly.
    process.on('exit', this.#onExit);
  }

  /**
   * Create or update a revision's processes. Returns the status right away (usually Ready=Unknown, Deploying);
   * later changes arrive as 'status' events. Throws RuntimeError SLUICE_ERR_REVISION_SPEC for a malformed spec.
   */
  upsertRevision(spec: RevisionSpec): RevisionStatus {
    if (this.#closed) throw new RuntimeError('SLUICE_ERR_RUNTIME_CLOSED', 'The runtime is closed; create a new one.');
    if (!spec.namespace || !spec.name)
      throw new RuntimeError('SLUICE_ERR_REVISION_SPEC', 'A revision needs metadata.namespace and metadata.name', {
        path: 'metadata',
      });
    if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
      throw new RuntimeError(
        'SLUICE_ERR_REVISION_SPEC',
        `Revision ${spec.namespace}/${spec.name} has no containers; set spec.containers[0].image`,
        { path: 'spec.containers' },
      );
    }
    const key = `${spec.namespace}/${spec.name}`;
    const existing = this.#revisions.get(key);
    if (existing) {
      existing.update(spec);
      return existing.status();
    }
    const rev = new Revision({
      spec,
      imageTable: this.#imageTable,
      dataDir: this.dataDir,
      autoscaler: this.#autoscaler,
      backoff: this.#backoff,
      probeTiming: this.#probe,
      terminationGraceMs: this.#o.terminationGraceMs ?? 2000,
      progressDeadlineMs: this.#o.progressDeadlineMs ?? 120_000,
      maxQueueDepth: this.#o.maxQueueDepth ?? 10_000,
      clock: this.#clock,
      logger: this.#logger,
      metrics: this.metrics,
      onChange: () => this.#changed(key),
    });
    this.#revisions.set(key, rev);
    rev.start();
    this.#changed(key);
    return rev.status();
  }

  /**
   * Stop routing to a revision and stop its processes after in-flight requests finish (at most `drainMs`,
   * default the revision's timeout capped at 30 s). Resolves when every process is gone. Idempotent.
   */
  removeRevision(namespace: string, name: string, opts: { drainMs?: number } = {}): Promise<void> {
    const key = `${namespace}/${name}`;
    const pending = this.#removing.get(key);
    if (pending) return pending;
    const rev = this.#revisions.get(key);
    if (!rev) return Promise.resolve();
    this.#revisions.delete(key);
    this.#lastKey.delete(key);
    const p = rev.close(opts.drainMs ?? Math.min(rev.timeoutMs, 30_000)).finally(() => {
      this.#removing.delete(key);
      this.emit('removed', { namespace, name });
    });
    this.#removing.set(key, p);
    return p;
  }

  revisionStatus(namespace: string, name: string): RevisionStatus | undefined {
    return this.#revisions.get(`${namespace}/${name}`)?.status();
  }

  /** Every revision's status, sorted by namespace then name. */
  listRevisions(): RevisionStatus[] {
    return [...this.#revisions.keys()]
      .sort()
      .map((k) => this.#revisions.get(k)?.status())
      .filter((s) => s !== undefined);
  }

  setRoutes(table: RouteTable): void {
    this.router.setRoutes(table);
  }

  /** Serve the router (and /metrics). Port 0 picks a free one; the returned URL has the real port. */
  listen(port = 0, host = '127.0.0.1'): Promise<{ port: number; url: string }> {
    return this.router.listen(port, host);
  }

  /** Close the router and stop every process (SIGTERM, then SIGKILL after the grace period). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#tick);
    await this.router.close();
    const revs = [...this.#revisions.values()];
    this.#revisions.clear();
    await Promise.all([...revs.map((r) => r.close(0)), ...this.#removing.values()]);
    process.off('exit', this.#onExit);
  }

  #killAllNow(): void {
    for (const r of this.#revisions.values()) r.killNow();
  }

  #autoscale(): void {
    const now = this.#clock.now();
    for (const r of this.#revisions.values()) {
      try {
        r.tick(now);
      } catch (e) {
        this.#logger.error({ err: e, revision: r.key }, 'autoscaler tick failed');
      }
    }
    for (const k of this.#revisions.keys()) this.#changed(k);
  }

  /** Coalesce bursts of changes (e.g. 100 queued requests) into one status computation per revision. */
  #changed(key: string): void {
    this.#pending.add(key);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const keys = [...this.#pending];
      this.#pending.clear();
      for (const k of keys) {
        const rev = this.#revisions.get(k);
        if (!rev) continue;
        const s = rev.status();
        const sk = statusKey(s);
        if (this.#lastKey.get(k) === sk) continue;
        this.#lastKey.set(k, sk);
        this.emit('status', s);
      }
    });
  }
}
