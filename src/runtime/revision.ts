// One revision's share of the data plane: its processes (Replicas), the queue in front of them (Knative's
// activator and queue-proxy breaker in one: requests wait while the revision is cold or at its
// containerConcurrency limit), the autoscaler's inputs and decisions, and the status the reconciler reads.
import { closeSync, createWriteStream, mkdirSync, openSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { resolveAutoscaling, type AutoscalerConfig, type ResolvedAutoscaling } from './annotations.js';
import {
  ConcurrencyAverager,
  ConcurrencyWindow,
  RateCounter,
  decide,
  initialAutoscalerState,
  type AutoscalerState,
} from './autoscaler.js';
import { localisePaths, mountTable, podEmptyDirs, removePodDirs, syncVolumes } from './config-volumes.js';
import { hpaDecide, initialHpaState, parseCpuQuantity, type HpaState } from './hpa.js';
import type { ImageTable, ResolveResult } from './image-table.js';
import type { RevisionLabels, RuntimeMetrics } from './metrics.js';
import { CpuRate, readProcessTreeUsage } from './proc-usage.js';
import { describeExit, k8sExitCode, Replica, type BackoffConfig, type ProbeTiming } from './replica.js';
import type { ConditionStatus, ContainerSpec, RevisionCondition, RevisionSpec, RevisionStatus } from './types.js';

export const DEFAULT_TIMEOUT_SECONDS = 300;

/** Why a request could not get a process; the router turns it into a response. */
export class UnavailableError extends Error {
  constructor(
    readonly status: 503 | 504,
    message: string,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** Permission to send one request (or hold one upgraded connection) to one process. Release exactly once. */
export interface Lease {
  port: number;
  /** Connections to the process; undefined only while it is being replaced. */
  dispatcher: Dispatcher | undefined;
  replicaId: number;
  release(): void;
  /** Say the process refused the connection; it is taken out of rotation until its probe passes again. */
  refused(): void;
}

export interface RevisionOptions {
  spec: RevisionSpec;
  imageTable: ImageTable;
  dataDir: string;
  autoscaler: AutoscalerConfig;
  backoff: BackoffConfig;
  probeTiming: ProbeTiming;
  terminationGraceMs: number;
  /** A revision that never becomes ready within this is Ready=False ProgressDeadlineExceeded. */
  progressDeadlineMs: number;
  /** Requests allowed to wait per revision before 503. */
  maxQueueDepth: number;
  clock: Clock;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Something status-relevant may have changed. */
  onChange: () => void;
  /** Environment every process starts with, under the container's own env (HTTP_PROXY to the router). */
  processEnv?: () => Record<string, string>;
}

interface Waiter {
  resolve: (l: Lease) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

/** The container that serves: the one with ports, else the first (Knative's rule for multi-container). */
export function servingContainer(spec: RevisionSpec): ContainerSpec | undefined {
  return spec.containers.find((c) => (c.ports?.length ?? 0) > 0) ?? spec.containers[0];
}

/**
 * What replaces the processes when it changes. Values read from ConfigMaps and Secrets are left out, and so is
 * a source that went missing: as on a cluster, a running process keeps the environment (and the last mounted
 * files) it started with, and only new processes see new values or fail to start.
 */
function podHash(spec: RevisionSpec): string {
  const c = servingContainer(spec);
  const env = c?.env?.map((e) => (e.fromSource ? { name: e.name, fromSource: true } : e));
  return JSON.stringify(c ? { ...c, ...(env ? { env } : {}) } : null);
}

export class Revision {
  readonly key: string;
  readonly labels: RevisionLabels;
  readonly logFile: string;
  #spec: RevisionSpec;
  readonly #o: RevisionOptions;
  #command: ResolveResult;
  #autoscaling: ResolvedAutoscaling;
  #hash: string;
  #volumeDirs = new Map<string, string>();
  #volumeError: { reason: string; message: string } | undefined;
  #replicas: Replica[] = [];
  #draining = new Set<Replica>();
  #nextId = 1;
  #desired = 0;
  #waiters: Waiter[] = [];
  #inFlight = 0;
  #rr = 0;
  #log: WriteStream;
  #logFd: number | undefined;
  readonly #untrack: () => void;
  #averager: ConcurrencyAverager;
  #window: ConcurrencyWindow;
  /** Arrivals, for `metric: rps`; sampled every tick whatever the metric, so a change of metric has history. */
  #arrivals: RateCounter;
  #rpsWindow: ConcurrencyWindow;
  #asState: AutoscalerState = initialAutoscalerState();
  #hpaState: HpaState = initialHpaState();
  /** Per process, for the HPA class: CPU rate and last resident memory. */
  #usage = new Map<Replica, { cpu: CpuRate; rssBytes: number }>();
  #hpaWhy = '';
  #stable = 0;
  #panic = 0;
  #panicking = false;
  #lastActiveAt: number;
  #createdAt: number;
  #hasBeenReady = false;
  #closed = false;

  constructor(o: RevisionOptions) {
    this.#o = o;
    this.#spec = o.spec;
    this.key = `${o.spec.namespace}/${o.spec.name}`;
    this.labels = revisionLabels(o.spec);
    const dir = join(o.dataDir, 'logs', o.spec.namespace);
    mkdirSync(dir, { recursive: true });
    this.logFile = join(dir, `${o.spec.name}.log`);
    this.#log = createWriteStream(this.logFile, { flags: 'a' });
    this.#log.on('error', (e) => o.logger.error({ err: e, revision: this.key }, 'cannot write revision log'));
    try {
      // O_APPEND: the processes' lines and ours interleave whole, each write at the end.
      this.#logFd = openSync(this.logFile, 'a');
    } catch (e) {
      o.logger.warn({ err: e, revision: this.key }, 'cannot open the revision log for the process; copying it');
    }
    const now = o.clock.now();
    this.#createdAt = now;
    this.#lastActiveAt = now;
    this.#averager = new ConcurrencyAverager(now);
    this.#arrivals = new RateCounter(now);
    this.#autoscaling = this.#resolveAutoscaling();
    this.#window = new ConcurrencyWindow(this.#autoscaling.spec.stableWindowMs);
    this.#rpsWindow = new ConcurrencyWindow(this.#autoscaling.spec.stableWindowMs);
    this.#command = this.#resolveCommand();
    this.#hash = podHash(o.spec);
    this.#desired = this.#command.ok ? this.#autoscaling.initialScale : 0;
    for (const w of this.#autoscaling.warnings) o.logger.warn({ revision: this.key }, w);
    this.#untrack = o.metrics.trackRevision({
      labels: this.labels,
      concurrency: () => this.concurrency,
      queued: () => this.#waiters.length,
    });
  }

  get spec(): RevisionSpec {
    return this.#spec;
  }
  get containerConcurrency(): number {
    return Math.max(0, this.#spec.containerConcurrency ?? 0);
  }
  get timeoutMs(): number {
    return (
      (this.#spec.timeoutSeconds && this.#spec.timeoutSeconds > 0
        ? this.#spec.timeoutSeconds
        : DEFAULT_TIMEOUT_SECONDS) * 1000
    );
  }

  #resolveAutoscaling(): ResolvedAutoscaling {
    return resolveAutoscaling(this.#spec.annotations, this.containerConcurrency, this.#o.autoscaler);
  }

  /** Where the revision's volumes live: `<data>/volumes/<namespace>/<revision>/<volume>`. */
  get volumeRoot(): string {
    return join(this.#o.dataDir, 'volumes', this.#spec.namespace, this.#spec.name);
  }

  get #progressDeadlineMs(): number {
    return this.#spec.progressDeadlineMs ?? this.#o.progressDeadlineMs;
  }

  /** Lays out the spec's volumes (unchanged files stay as they are); an I/O failure is the mount's failure. */
  #syncVolumes(): void {
    const vols = this.#spec.volumes ?? [];
    this.#volumeError = undefined;
    if (vols.length === 0) return;
    try {
      this.#volumeDirs = syncVolumes(this.volumeRoot, vols, new Date(this.#o.clock.now()));
    } catch (e) {
      this.#volumeError = { reason: 'FailedMount', message: `MountVolume.SetUp failed: ${errorMessage(e)}` };
    }
  }

  #resolveCommand(): ResolveResult {
    this.#syncVolumes();
    const err = this.#spec.containerConfigError ?? this.#volumeError;
    if (err) return { ok: false, reason: err.reason, message: err.message };
    const c = servingContainer(this.#spec);
    if (!c) return { ok: false, reason: 'ContainerMissing', message: 'The revision has no containers.' };
    return this.#o.imageTable.resolve(c);
  }

  start(): void {
    this.#reconcileReplicas();
  }

  /** Apply a changed spec. A changed serving container replaces every process; other changes apply in place. */
  update(spec: RevisionSpec): void {
    this.#spec = spec;
    const oldWindowMs = this.#autoscaling.spec.stableWindowMs;
    this.#autoscaling = this.#resolveAutoscaling();
    if (this.#autoscaling.spec.stableWindowMs !== oldWindowMs) {
      this.#window = new ConcurrencyWindow(this.#autoscaling.spec.stableWindowMs);
      this.#rpsWindow = new ConcurrencyWindow(this.#autoscaling.spec.stableWindowMs);
    }
    const hash = podHash(spec);
    const couldStart = this.#command.ok;
    // Re-resolved every time: new processes start with the current values of ConfigMaps and Secrets.
    this.#command = this.#resolveCommand();
    if (hash !== this.#hash) {
      this.#hash = hash;
      for (const r of this.#replicas) this.#drain(r);
      this.#restartDeployment();
    } else if (!couldStart && this.#command.ok && this.#liveReplicas().length === 0) {
      // The missing ConfigMap or Secret exists now: the waiting pod starts, with a fresh progress deadline.
      this.#restartDeployment();
    }
    this.#reconcileReplicas();
    this.#dispatch();
    this.#o.onChange();
  }

  #restartDeployment(): void {
    this.#hasBeenReady = false;
    this.#createdAt = this.#o.clock.now();
    this.#desired = this.#command.ok ? Math.max(this.#desired, this.#autoscaling.initialScale) : 0;
  }

  #liveReplicas(): Replica[] {
    return this.#replicas.filter((r) => r.alive && r.state !== 'terminating' && !this.#draining.has(r));
  }

  /** Requests in flight plus queued: what the autoscaler and the activator gauge see. */
  get concurrency(): number {
    return this.#inFlight + this.#waiters.length;
  }

  /**
   * A lease at once when a process has room and nobody is queued ahead; undefined means: call acquire(), which
   * queues or explains. The router's fast path: no promise, no abort signal.
   */
  tryAcquire(): Lease | undefined {
    if (this.#closed || this.#waiters.length > 0 || this.#failFastMessage()) return undefined;
    const r = this.#pick();
    if (!r) return undefined;
    this.#arrivals.arrive();
    return this.#lease(r);
  }

  /**
   * Get a process for one request, waiting (FIFO) while the revision starts from zero or is at its
   * containerConcurrency limit. Rejects with UnavailableError, or with `signal.reason` when aborted.
   * `retry`: the same request again after a process refused the connection (counted once for `metric: rps`).
   */
  acquire(signal?: AbortSignal, retry = false): Promise<Lease> {
    if (this.#closed) return Promise.reject(new UnavailableError(503, `revision "${this.key}" is being removed`));
    // Processes already running keep serving when new ones cannot start (a ConfigMap deleted under them).
    if (!this.#command.ok && !this.#liveReplicas().some((r) => r.routable))
      return Promise.reject(new UnavailableError(503, `revision "${this.key}" cannot run: ${this.#command.message}`));
    const failing = this.#failFastMessage();
    if (failing) return Promise.reject(new UnavailableError(503, failing));
    this.#lastActiveAt = this.#o.clock.now();
    // Counted on arrival, queued or not, as the activator and queue-proxy count requests for Knative's rps
    // (tryAcquire counts the ones it serves; the router comes here only when it could not).
    if (!retry) this.#arrivals.arrive();
    if (this.#waiters.length === 0) {
      const r = this.#pick();
      if (r) return Promise.resolve(this.#lease(r));
    }
    if (this.#waiters.length >= this.#o.maxQueueDepth) {
      return Promise.reject(
        new UnavailableError(
          503,
          `revision "${this.key}" is overloaded: ${this.#waiters.length} requests already queued`,
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        this.#concurrencyChanged();
        reject(
          signal?.reason instanceof Error
            ? signal.reason
            : new UnavailableError(504, `request to revision "${this.key}" was abandoned while queued`),
        );
      };
      const w: Waiter = { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(w);
      this.#concurrencyChanged();
      this.#activate();
    });
  }

  /** Activator: a request for a cold revision starts a process now instead of at the next autoscaler tick. */
  #activate(): void {
    if (this.#desired < 1) {
      this.#desired = 1;
      this.#o.logger.info({ revision: this.key }, 'activating revision from zero');
      this.#reconcileReplicas();
      this.#o.onChange();
    }
  }

  #pick(): Replica | undefined {
    const cc = this.containerConcurrency;
    let best: Replica | undefined;
    const n = this.#replicas.length;
    for (let k = 0; k < n; k++) {
      const r = this.#replicas[(this.#rr + k) % n];
      if (!r || !r.routable || this.#draining.has(r)) continue;
      if (cc > 0 && r.inFlight >= cc) continue;
      if (!best || r.inFlight < best.inFlight) best = r;
    }
    if (best) this.#rr = (this.#replicas.indexOf(best) + 1) % Math.max(1, n);
    return best;
  }

  #lease(r: Replica): Lease {
    r.inFlight++;
    this.#inFlight++;
    this.#concurrencyChanged();
    let released = false;
    return {
      port: r.port,
      dispatcher: r.pool,
      replicaId: r.id,
      release: () => {
        if (released) return;
        released = true;
        r.inFlight--;
        this.#inFlight--;
        this.#concurrencyChanged();
        if (this.#draining.has(r) && r.inFlight === 0) void this.#stopDrained(r);
        this.#dispatch();
      },
      refused: () => {
        // The process is gone or not listening; the exit event may not have arrived yet.
        r.suspect();
      },
    };
  }

  #dispatch(): void {
    while (this.#waiters.length > 0) {
      const r = this.#pick();
      if (!r) break;
      const w = this.#waiters.shift();
      if (!w) break;
      w.cleanup();
      w.resolve(this.#lease(r));
    }
    const failing = this.#waiters.length > 0 ? this.#failFastMessage() : undefined;
    if (failing) {
      for (const w of this.#waiters.splice(0)) {
        w.cleanup();
        w.reject(new UnavailableError(503, failing));
      }
    }
    this.#concurrencyChanged();
  }

  /**
   * Queued requests only make sense if a process will come. A revision that never became ready and whose
   * processes all crashed will not serve soon: say so at once instead of holding requests for timeoutSeconds.
   */
  #failFastMessage(): string | undefined {
    if (this.#hasBeenReady) return undefined;
    const live = this.#replicas.filter((r) => r.alive && !this.#draining.has(r));
    if (live.length === 0 || !live.every((r) => r.failing)) return undefined;
    return `revision "${this.key}" is not ready: ${this.status().message}`;
  }

  #concurrencyChanged(): void {
    const now = this.#o.clock.now();
    const c = this.concurrency;
    this.#averager.set(now, c);
    if (c > 0) this.#lastActiveAt = now;
  }

  #newReplica(): Replica {
    if (!this.#command.ok) throw new Error('unreachable: no command');
    const s = this.#spec;
    const c = servingContainer(s);
    const id = this.#nextId++;
    // Mount path → the volume's local directory (see config-volumes.ts): given to the process and rewritten in
    // its argv, env and workingDir. emptyDir volumes are this process's own.
    let mounts: Record<string, string> | undefined;
    if (c?.volumeMounts?.length) {
      const own = podEmptyDirs(this.volumeRoot, id, s.volumes ?? []);
      mounts = mountTable(c.volumeMounts, new Map([...this.#volumeDirs, ...own]));
      // The kubelet creates a missing subPath directory in a writable volume.
      for (const m of c.volumeMounts) {
        const dir = own.get(m.name);
        if (dir !== undefined && m.subPath) mkdirSync(mounts[m.mountPath] ?? dir, { recursive: true });
      }
    }
    const r = new Replica({
      id,
      revisionKey: this.key,
      command: mounts ? localisePaths(this.#command.command, mounts) : this.#command.command,
      baseEnv: this.#o.processEnv?.() ?? {},
      extraEnv: {
        ...(mounts ? { SLUICE_VOLUME_MOUNTS: JSON.stringify(mounts) } : {}),
        K_SERVICE: this.labels.service_name,
        K_CONFIGURATION: this.labels.configuration_name,
        K_REVISION: s.name,
      },
      probe: c?.readinessProbe,
      log: this.#log,
      ...(this.#logFd !== undefined ? { stdoutFd: this.#logFd } : {}),
      backoff: this.#o.backoff,
      probeTiming: this.#o.probeTiming,
      terminationGraceMs: this.#o.terminationGraceMs,
      clock: this.#o.clock,
      logger: this.#o.logger,
    });
    let lastState = r.state;
    r.on('change', () => {
      if (r.state === 'ready' && !this.#hasBeenReady) {
        this.#hasBeenReady = true;
        this.#lastActiveAt = Math.max(this.#lastActiveAt, this.#o.clock.now());
      }
      if (r.state === 'backoff' && lastState !== 'backoff') this.#o.metrics.restarts.inc(this.labels);
      lastState = r.state;
      if (r.state === 'stopped') {
        this.#replicas = this.#replicas.filter((x) => x !== r);
        this.#draining.delete(r);
        // The pod is gone, and its emptyDir volumes with it.
        removePodDirs(this.volumeRoot, r.id);
        this.#reconcileReplicas();
      }
      this.#dispatch();
      this.#o.onChange();
    });
    r.on('probe', () => this.#o.onChange());
    return r;
  }

  #reconcileReplicas(): void {
    if (this.#closed) return;
    const live = this.#replicas.filter((r) => r.alive && r.state !== 'terminating' && !this.#draining.has(r));
    if (live.length < this.#desired && this.#command.ok) {
      for (let i = live.length; i < this.#desired; i++) {
        const r = this.#newReplica();
        this.#replicas.push(r);
        r.start();
      }
    } else if (live.length > this.#desired) {
      // Remove what serves least: not-ready first, then the idlest, then the newest.
      const victims = [...live]
        .sort((a, b) => Number(a.routable) - Number(b.routable) || a.inFlight - b.inFlight || b.id - a.id)
        .slice(0, live.length - this.#desired);
      for (const r of victims) this.#drain(r);
    }
    this.#updateGauges();
  }

  /** Stop routing to a process, let its requests finish (up to the request timeout), then stop it. */
  #drain(r: Replica): void {
    if (this.#draining.has(r)) return;
    this.#draining.add(r);
    if (r.inFlight === 0) {
      void this.#stopDrained(r);
      return;
    }
    setTimeout(() => void this.#stopDrained(r), this.timeoutMs).unref();
  }

  async #stopDrained(r: Replica): Promise<void> {
    await r.stop();
  }

  /** One autoscaler step; `now` from the runtime's clock. */
  tick(now: number): void {
    const sample = this.#averager.take(now);
    this.#window.record(sample);
    const rate = this.#arrivals.take(now);
    this.#rpsWindow.record(rate);
    const as = this.#autoscaling.spec;
    const window = as.metric === 'rps' ? this.#rpsWindow : this.#window;
    this.#stable = window.average(now, as.stableWindowMs);
    this.#panic = window.average(now, as.panicWindowMs);
    if (this.concurrency > 0 || sample.average > 0 || rate.average > 0) this.#lastActiveAt = now;
    if (this.#closed) return;
    const live = this.#liveReplicas();
    if (!this.#command.ok && live.length === 0) return;
    const ready = live.filter((r) => r.routable).length;
    if (this.#autoscaling.hpa) {
      this.#hpaTick(now, live);
      return;
    }
    const d = decide(as, this.#asState, {
      now,
      readyPods: ready,
      currentPods: live.length,
      stableValue: this.#stable,
      panicValue: this.#panic,
      lastActiveAt: this.#lastActiveAt,
    });
    this.#asState = d.state;
    this.#panicking = d.panicking;
    let desired = d.desiredPods;
    // Until first ready, hold the initial scale (Knative: a revision is Ready once it reached it).
    if (!this.#hasBeenReady) desired = Math.max(desired, this.#autoscaling.initialScale);
    // Queued requests always need at least one process (the activator's guarantee).
    if (this.#waiters.length > 0) desired = Math.max(desired, 1);
    if (desired !== this.#desired) {
      this.#o.logger.info(
        { revision: this.key, from: this.#desired, to: desired, why: d.why },
        'autoscaler changed desired replicas',
      );
      this.#desired = desired;
      this.#reconcileReplicas();
      this.#o.onChange();
    }
    this.#updateGauges();
    const m = this.#o.metrics;
    m.panicMode.set(this.labels, d.panicking ? 1 : 0);
    // Knative's autoscaler reports the gauges of the metric it scales on.
    if (as.metric === 'rps') {
      m.stableRps.set(this.labels, this.#stable);
      m.panicRps.set(this.labels, this.#panic);
      m.targetRps.set(this.labels, as.targetValue);
    } else {
      m.stableConcurrency.set(this.labels, this.#stable);
      m.panicConcurrency.set(this.labels, this.#panic);
      m.targetConcurrency.set(this.labels, as.targetValue);
    }
  }

  /** The HPA class: sample each process's CPU and memory from /proc, then the HPA's decision. */
  #hpaTick(now: number, live: Replica[]): void {
    const hpa = this.#autoscaling.hpa;
    if (!hpa) return;
    const usages: number[] = [];
    for (const [r] of this.#usage) if (!live.includes(r)) this.#usage.delete(r);
    for (const r of live) {
      const pid = r.pid;
      const u = pid === undefined ? undefined : readProcessTreeUsage(pid);
      if (!u) continue;
      let entry = this.#usage.get(r);
      if (!entry) {
        entry = { cpu: new CpuRate(this.#o.autoscaler.hpaMetricWindowMs), rssBytes: 0 };
        this.#usage.set(r, entry);
      }
      entry.cpu.record(now, u.cpuSeconds);
      entry.rssBytes = u.rssBytes;
      // Like metrics-server, only ready pods with a sample count.
      const v = hpa.metric === 'cpu' ? entry.cpu.cores() : entry.rssBytes;
      if (r.routable && v !== undefined) usages.push(v);
    }
    const request = servingContainer(this.#spec)?.resources?.requests?.['cpu'];
    const cpuRequestCores = request === undefined ? undefined : parseCpuQuantity(request);
    // The HPA reads the Deployment's replicas (desired), not the pods that happen to exist.
    const d = hpaDecide(hpa, this.#hpaState, {
      now,
      currentReplicas: Math.max(1, this.#desired),
      usages,
      pendingPods: Math.max(0, live.length - usages.length),
      cpuRequestCores,
    });
    this.#hpaState = d.state;
    this.#stable = d.current ?? 0;
    this.#panic = 0;
    this.#panicking = false;
    if (d.current === undefined && d.why !== this.#hpaWhy && usages.length > 0) {
      // FailedGetResourceMetric: said once per change, not every tick.
      const why =
        request !== undefined && cpuRequestCores === undefined
          ? `resources.requests.cpu "${request}" of the serving container is not a CPU quantity (100m, 0.5, 1)`
          : d.why;
      this.#o.logger.warn(
        { revision: this.key },
        `the HPA cannot compute its metric: ${why}; keeping ${this.#desired} replicas`,
      );
    }
    this.#hpaWhy = d.why;
    let desired = d.desiredPods;
    if (!this.#hasBeenReady) desired = Math.max(desired, this.#autoscaling.initialScale);
    if (desired !== this.#desired) {
      this.#o.logger.info(
        { revision: this.key, from: this.#desired, to: desired, why: d.why },
        'autoscaler changed desired replicas',
      );
      this.#desired = desired;
      this.#reconcileReplicas();
      this.#o.onChange();
    }
    this.#updateGauges();
  }

  #updateGauges(): void {
    const m = this.#o.metrics;
    m.desiredPods.set(this.labels, this.#desired);
    m.actualPods.set(this.labels, this.#replicas.filter((r) => r.alive).length);
    m.readyPods.set(this.labels, this.#replicas.filter((r) => r.routable && !this.#draining.has(r)).length);
  }

  status(): RevisionStatus {
    const now = this.#o.clock.now();
    const live = this.#replicas.filter((r) => r.alive);
    const ready = live.filter((r) => r.routable && !this.#draining.has(r));
    const serving = live.filter((r) => !this.#draining.has(r) && r.state !== 'terminating');
    const failing = serving
      .filter((r) => r.failing)
      .sort((a, b) => (b.lastTermination?.at ?? 0) - (a.lastTermination?.at ?? 0));
    const latest = failing[0];
    const restartCount = this.#replicas.reduce((s, r) => s + r.restartCount, 0);
    const lastTermination = [...this.#replicas]
      .map((r) => r.lastTermination)
      .filter((t) => t !== undefined)
      .sort((a, b) => b.at - a.at)[0];

    let ready_: ConditionStatus;
    let reason = '';
    let message = '';
    let containerHealthy: RevisionCondition = { type: 'ContainerHealthy', status: 'True' };
    let resources: RevisionCondition = { type: 'ResourcesAvailable', status: 'True' };
    // Knative looks at a waiting container's reason only while no pod is available.
    const configError = ready.length === 0 ? (this.#spec.containerConfigError ?? this.#volumeError) : undefined;
    if (configError) {
      // Knative: a container waiting with this reason marks ResourcesAvailable=False only once the
      // deployment's progress deadline has passed; until then the Revision is deploying.
      if (now - this.#createdAt > this.#progressDeadlineMs) {
        ready_ = 'False';
        reason = configError.reason;
        message = configError.message;
        resources = { type: 'ResourcesAvailable', status: 'False', reason, message };
      } else {
        ready_ = 'Unknown';
        reason = 'Deploying';
        containerHealthy = { type: 'ContainerHealthy', status: 'Unknown', reason };
        resources = { type: 'ResourcesAvailable', status: 'Unknown', reason };
      }
    } else if (!this.#command.ok && ready.length === 0) {
      ready_ = 'False';
      reason = this.#command.reason;
      message = this.#command.message;
      containerHealthy = { type: 'ContainerHealthy', status: 'False', reason, message };
    } else if (ready.length > 0) {
      ready_ = 'True';
    } else if (latest?.lastTermination) {
      const t = latest.lastTermination;
      const code = k8sExitCode(t);
      ready_ = 'False';
      reason = code !== null ? `ExitCode${code}` : 'StartFailed';
      const said = t.stderrTail ? `; last output: ${t.stderrTail.replace(/\n/g, ' | ')}` : '';
      const delay = Math.max(0, latest.restartAt - t.at);
      message = `Container failed with ${describeExit(t.exitCode, t.signal)}${said}. Restart ${latest.restartCount} after a ${delay} ms back-off (CrashLoopBackOff); logs in ${this.logFile}`;
      containerHealthy = { type: 'ContainerHealthy', status: 'False', reason, message };
    } else if (!this.#hasBeenReady && serving.length > 0 && now - this.#createdAt > this.#progressDeadlineMs) {
      ready_ = 'False';
      reason = 'ProgressDeadlineExceeded';
      const probe = serving.map((r) => r.lastProbe).find((p) => p !== '');
      message = `Initial scale was never achieved${probe ? `: ${probe}` : ''}`;
      resources = { type: 'ResourcesAvailable', status: 'False', reason, message };
    } else if (this.#hasBeenReady || this.#desired === 0) {
      ready_ = 'True';
    } else {
      ready_ = 'Unknown';
      reason = 'Deploying';
      const probe = serving.map((r) => r.lastProbe).find((p) => p !== '');
      message = `Waiting for the container to pass its readiness probe${probe ? ` (last: ${probe})` : ''}`;
      containerHealthy = { type: 'ContainerHealthy', status: 'Unknown', reason, message };
      resources = { type: 'ResourcesAvailable', status: 'Unknown', reason, message };
    }
    const active = ready.length > 0;
    const activeCond: RevisionCondition = active
      ? { type: 'Active', status: 'True' }
      : this.#desired === 0 && serving.length === 0
        ? { type: 'Active', status: 'False', reason: 'NoTraffic', message: 'The target is not receiving traffic.' }
        : { type: 'Active', status: 'Unknown', reason: 'Activating', message: 'The revision is starting a process.' };
    const readyCond: RevisionCondition = {
      type: 'Ready',
      status: ready_,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    };
    const st: RevisionStatus = {
      namespace: this.#spec.namespace,
      name: this.#spec.name,
      ready: ready_,
      reason,
      message,
      active,
      replicas: ready.length,
      actualReplicas: live.length,
      desiredReplicas: this.#desired,
      restartCount,
      logFile: this.logFile,
      endpoints: ready.map((r) => `http://127.0.0.1:${r.port}`),
      processes: live.map((r) => ({
        id: r.id,
        pid: r.pid ?? null,
        port: r.port,
        state: r.state,
        restartCount: r.restartCount,
      })),
      containerConcurrency: this.containerConcurrency,
      load: { inFlight: this.#inFlight, queued: this.#waiters.length },
      timeoutSeconds: this.timeoutMs / 1000,
      autoscaler: {
        metric: this.#autoscaling.hpa?.metric ?? this.#autoscaling.spec.metric,
        stable: this.#stable,
        panic: this.#panic,
        panicking: this.#panicking,
        targetPerReplica: this.#autoscaling.hpa
          ? this.#autoscaling.hpa.metric === 'cpu'
            ? this.#autoscaling.hpa.targetUtilizationPercent
            : this.#autoscaling.hpa.targetAverageBytes
          : this.#autoscaling.spec.targetValue,
      },
      conditions: [readyCond, containerHealthy, resources, activeCond],
    };
    if (lastTermination) st.lastTermination = lastTermination;
    return st;
  }

  /**
   * Stop taking requests; queued ones get 503, in-flight ones may finish within `drainMs`; then every process
   * is stopped.
   */
  async close(drainMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      w.cleanup();
      w.reject(new UnavailableError(503, `revision "${this.key}" is being removed`));
    }
    const deadline = this.#o.clock.now() + drainMs;
    while (this.#inFlight > 0 && this.#o.clock.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(this.#replicas.map((r) => r.stop()));
    this.#untrack();
    this.#o.metrics.forgetRevision(this.labels);
    await new Promise<void>((r) => this.#log.end(r));
    if (this.#logFd !== undefined) closeSync(this.#logFd);
    this.#logFd = undefined;
    // Like a deleted pod's volumes: gone with the revision.
    rmSync(this.volumeRoot, { recursive: true, force: true });
  }

  killNow(): void {
    for (const r of this.#replicas) r.killNow();
  }
}

export function revisionLabels(spec: RevisionSpec): RevisionLabels {
  const service = spec.serviceName ?? spec.labels?.['serving.knative.dev/service'] ?? '';
  const configuration = spec.configurationName ?? spec.labels?.['serving.knative.dev/configuration'] ?? service;
  return {
    namespace_name: spec.namespace,
    service_name: service,
    configuration_name: configuration,
    revision_name: spec.name,
  };
}
