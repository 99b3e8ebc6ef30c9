// The runner of the pure rollout machine. For every Knative Service a RolloutPolicy governs it:
//   read   the Service, its revisions, the Rollout (commands, stored state) and any analysis round due;
//   decide `step(state, observations, clock.now())`;
//   persist the new state in Rollout.status (optimistic concurrency; on conflict, read again and decide again);
//   act    only after the write succeeded: one merge patch of the Service's whole spec.traffic, analysis
//          requests into the next batched round, notifications from the persisted outbox;
//   wait   until `wakeAt` (a wall-clock timer) or the next watch event, whichever comes first.
// A crash anywhere leaves either the old state (the decision is made again, identically) or the new state with
// its actions not yet done (they are idempotent: the traffic patch is re-derived from state.traffic, lost
// analysis is re-asked by the machine after one interval, undelivered notifications wait in the outbox).
//
// Analysis runs on its own clock (schedule.ts): at each grid point, every rollout whose round is due by its latest
// decided state goes into ONE AnalysisEngine.run (one query per metric template for all of them); no reconcile and
// no status write asks for a round. The rounds come back as observations on the next reconcile of each rollout,
// and the round's record is part of that decision's status write. Decisions that only record a round are
// coalesced per Rollout (written at most every routineFlushMs); anything else is written at once.
// The Rollout is read from the informer cache (or the object our own last write returned), not fetched.
import type { RolloutPolicySpec } from '../policy/types.js';
import { Informer, KubeApiError, R, isConflict, type KubeClient, type KubeObject } from '../../kube/index.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../util/clock.js';
import { AnalysisEngine } from '../analysis/engine.js';
import { PrometheusClient } from '../analysis/prometheus.js';
import type { MetricFamilySetting } from '../analysis/families.js';
import type { AnalysisRound } from '../analysis/result.js';
import { initialState, step } from '../machine/machine.js';
import { makePlan } from '../machine/plan.js';
import {
  TERMINAL_PHASES,
  type Action,
  type Command,
  type Observations,
  type Readiness,
  type RolloutState,
  type StepResult,
} from '../machine/types.js';
import type { ControllerMetrics } from './metrics.js';
import { EventNotifier } from './notifier.js';
import { observedTraffic, pickStable, revisionReadiness, specTrafficIs } from './observe.js';
import type { PolicyError } from '../errors.js';
import { PolicySet, type GoverningPolicy, type PolicyProblems } from './policies.js';
import {
  METRICS_CONDITION,
  METRICS_MISSING_REASON,
  analysisRecord,
  appendRun,
  buildStatus,
  canonical,
  notificationsOf,
  sameJson,
} from './status.js';
import {
  analysisWakeAt,
  dueRequests,
  compareOnDeferred,
  compareStatus,
  nextTick,
  routineFlushMs,
  type ClockEntry,
} from './schedule.js';
import { RolloutSharing, trimRevision, trimService } from './cache-trim.js';
import {
  actionsOf,
  appendPast,
  appendTimeline,
  decisionsOf,
  finishedRollout,
  PAST_ROLLOUTS_LIMIT,
  planSummary,
  TIMELINE_LIMIT,
} from './timeline.js';
import type {
  Notifier,
  RevisionObject,
  RolloutNotification,
  RolloutObject,
  RolloutObjectStatus,
  PolicyObjectStatus,
  ServiceObject,
} from './types.js';

export interface RolloutControllerOptions {
  client: KubeClient;
  /** Base URL of Prometheus for analysis. */
  prometheusUrl: string;
  /** A `policies/` directory read in addition to RolloutPolicy objects; re-read when files change. */
  policiesDir?: string;
  /** Decisions use this clock; timers are wall-clock. */
  clock: Clock;
  log: Logger;
  /** Default: a core/v1 Event on the Rollout per notification. */
  notifier?: Notifier;
  /** Only this namespace (default: all). */
  namespace?: string;
  /** How long the analysis clock waits to gather rollouts whose round is overdue (after a restart, a step
   * started late) before querying (default 200 ms). Rounds due on the grid are asked at their grid point. */
  analysisCoalesceMs?: number;
  /** Routine status writes (a round recorded, nothing else changed) per second for all Rollouts together; each
   * Rollout's routine progress waits max(1 s, rollouts / this) (default 100). 0: write every decision. */
  routineWritesPerSecond?: number;
  /** How often the policies directory is checked for changes (default 1000 ms). */
  policiesPollMs?: number;
  /** Every governed Service is reconciled at least this often (default 30 s). */
  resyncMs?: number;
  /** Reconciles in flight at once (distinct Services; one Service is never reconciled twice at once; default 16). */
  concurrency?: number;
  prometheusTimeoutMs?: number;
  /** The brain's series (`sluice_analysis_*`, `sluice_rollout*`, reconcile counts and times); none: not exported. */
  metrics?: ControllerMetrics;
  /** Knative request metrics for builtin checks and request counts (default `auto`: probed per namespace). */
  metricsFamily?: MetricFamilySetting;
}

export interface RolloutControllerStats {
  reconciles: number;
  statusWrites: number;
  /** Decisions whose status write waited to be coalesced with a later one. */
  statusWritesDeferred: number;
  trafficPatches: number;
  /** engine.run calls, and the requests they carried (requests/runs > 1 means batching across rollouts). */
  analysisRuns: number;
  analysisRequests: number;
  maxRequestsPerRun: number;
  notifications: number;
  conflicts: number;
  errors: number;
}

export interface RolloutController {
  readonly stats: RolloutControllerStats;
  /** Resolves once the caches are filled and the first reconcile of every governed Service is queued. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

const REVISION_SERVICE_LABEL = 'serving.knative.dev/service';
const MAX_ATTEMPTS = 6;
/** Reconciles in flight. A reconcile that only records a round does no I/O; one that writes waits on the API
 * server, whose durable writes are grouped per fdatasync, so more in flight is more written per second. */
const DEFAULT_CONCURRENCY = 16;
const ROUTINE_WRITES_IN_FLIGHT = 4;
/** setTimeout's limit; longer waits are re-armed on wake-up. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Every member of Observations: adding one there fails the build here until withRound copies it. */
const OBSERVATION_MEMBERS: Record<keyof Observations, true> = {
  policy: true,
  analysis: true,
  revisions: true,
  commands: true,
  latestRevision: true,
  traffic: true,
};
void OBSERVATION_MEMBERS;

/** The observations plus a round, built member by member (a spread of them measured 1 µs, this a tenth). */
function withRound(o: Observations, round: AnalysisRound): Observations {
  const out: Observations = { policy: o.policy, analysis: round };
  if (o.revisions !== undefined) out.revisions = o.revisions;
  if (o.commands !== undefined) out.commands = o.commands;
  if (o.latestRevision !== undefined) out.latestRevision = o.latestRevision;
  if (o.traffic !== undefined) out.traffic = o.traffic;
  return out;
}

function sameRefs<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function keyOf(ns: string, name: string): string {
  return `${ns}/${name}`;
}
function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

class Controller implements RolloutController {
  readonly stats: RolloutControllerStats = {
    reconciles: 0,
    statusWrites: 0,
    statusWritesDeferred: 0,
    trafficPatches: 0,
    analysisRuns: 0,
    analysisRequests: 0,
    maxRequestsPerRun: 0,
    notifications: 0,
    conflicts: 0,
    errors: 0,
  };
  readonly ready: Promise<void>;
  readonly #o: RolloutControllerOptions;
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #notifier: Notifier;
  readonly #engine: AnalysisEngine;
  readonly #policies = new PolicySet();
  readonly #sharing = new RolloutSharing();
  readonly #services: Informer<ServiceObject>;
  readonly #revisions: Informer<RevisionObject>;
  readonly #rollouts: Informer<RolloutObject>;
  readonly #policyObjects: Informer;
  // work queue: dirty keys, keys being reconciled, per-key timers and failure counts
  readonly #dirty = new Set<string>();
  readonly #active = new Set<string>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  readonly #governed = new Set<string>();
  readonly #headerWarned = new Set<string>();
  // analysis clock: what each rollout's latest decision says, rounds being asked, rounds waiting to be observed
  readonly #clockEntries = new Map<string, ClockEntry>();
  readonly #asking = new Set<string>();
  readonly #rounds = new Map<string, AnalysisRound>();
  #analysisTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  // the Rollout as our last write returned it (the informer may not have seen it yet), and decided-but-unwritten
  // routine status on top of a stored Rollout (rv: its resourceVersion; base: its status as we wrote it)
  readonly #written = new Map<string, { before: string | undefined; ro: RolloutObject }>();
  readonly #memo = new Map<
    string,
    { rv: string | undefined; base: RolloutObjectStatus; status: RolloutObjectStatus }
  >();
  readonly #lastWriteAt = new Map<string, number>();
  /** Each rollout's last observations and the cached objects they were read from (see #observe). */
  readonly #observed = new Map<
    string,
    {
      svc: ServiceObject;
      spec: RolloutObject['spec'];
      policy: RolloutPolicySpec;
      names: string[];
      revs: (RevisionObject | undefined)[];
      obs: Observations;
    }
  >();
  #routineWriting = 0;
  /** Notifications delivered but still in the stored outbox: the next status write leaves them out. */
  readonly #delivered = new Map<string, Set<string>>();
  readonly #abort = new AbortController();
  #pollTimer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #started = false;

  constructor(o: RolloutControllerOptions) {
    this.#o = o;
    this.#client = o.client;
    this.#log = o.log;
    this.#clock = o.clock;
    this.#notifier = o.notifier ?? new EventNotifier(o.client);
    this.#engine = new AnalysisEngine({
      client: new PrometheusClient({
        url: o.prometheusUrl,
        ...(o.prometheusTimeoutMs ? { timeoutMs: o.prometheusTimeoutMs } : {}),
        ...(o.metrics ? { onQuery: () => o.metrics?.analysisQueries.inc() } : {}),
      }),
      logger: o.log.child({ part: 'analysis' }),
      batch: true,
      // One query per template per grid point up to 10,000 due rollouts (the engine's default splits at 500).
      maxRevisionsPerQuery: 10_000,
      family: o.metricsFamily ?? 'auto',
    });
    const inf = { ...(o.namespace ? { namespace: o.namespace } : {}), log: o.log };
    // The caches keep only what decisions read (cache-trim.ts): at 10,000 Services that is most of the memory.
    this.#services = new Informer<ServiceObject>(o.client, R.services, { ...inf, transform: trimService });
    this.#revisions = new Informer<RevisionObject>(o.client, R.revisions, { ...inf, transform: trimRevision });
    this.#rollouts = new Informer<RolloutObject>(o.client, R.rollouts, {
      ...inf,
      transform: this.#sharing.transform,
    });
    this.#policyObjects = new Informer(o.client, R.rolloutPolicies, inf);
    this.ready = this.#start();
  }

  async #start(): Promise<void> {
    const svcKey = (s: KubeObject): string => keyOf(s.metadata.namespace ?? 'default', s.metadata.name ?? '');
    this.#services
      .onAdd((s) => this.#enqueue(svcKey(s)))
      .onUpdate((s) => this.#enqueue(svcKey(s)))
      .onDelete((s) => this.#enqueue(svcKey(s)));
    const onRevision = (r: RevisionObject): void => {
      const ns = r.metadata.namespace ?? 'default';
      const svc = r.metadata.labels?.[REVISION_SERVICE_LABEL];
      if (svc) this.#enqueue(keyOf(ns, svc));
      else for (const k of this.#governed) if (k.startsWith(`${ns}/`)) this.#enqueue(k);
    };
    this.#revisions.onAdd(onRevision).onUpdate(onRevision);
    this.#rollouts
      .onUpdate((ro, old) => {
        // The cache caught up with our last write: the copy kept for the meantime can go (memory at 10,000).
        const k = svcKey(ro);
        if (this.#written.get(k)?.ro.metadata.resourceVersion === ro.metadata.resourceVersion) this.#written.delete(k);
        // Our own status writes change nothing here; spec (commands) and deletion do.
        if (canonical(ro.spec) !== canonical(old.spec) || ro.metadata.deletionTimestamp) this.#enqueue(svcKey(ro));
      })
      .onDelete((ro) => this.#enqueue(svcKey(ro)));
    const onPolicy = (p: KubeObject): void => {
      const { errors, report } = this.#policies.setApi(p);
      if (report) this.#report(report);
      void this.#writePolicyStatus(p, errors);
      this.#enqueueNamespace(p.metadata.namespace ?? 'default');
    };
    this.#policyObjects
      .onAdd(onPolicy)
      .onUpdate((p, old) => {
        // Our own status writes change neither the spec nor the labels: nothing to re-validate or reconcile.
        if (
          p.metadata.generation === old.metadata.generation &&
          canonical(p.spec) === canonical(old.spec) &&
          canonical(p.metadata.labels) === canonical(old.metadata.labels)
        )
          return;
        onPolicy(p);
      })
      .onDelete((p) => {
        this.#policies.deleteApi(p.metadata.namespace ?? 'default', p.metadata.name ?? '');
        this.#enqueueNamespace(p.metadata.namespace ?? 'default');
      });
    for (const inf of [this.#services, this.#revisions, this.#rollouts, this.#policyObjects]) {
      inf.onError((e) => this.#log.warn({ err: msg(e) }, 'watch error; resuming'));
    }
    if (this.#o.policiesDir) this.#pollPolicies();
    // Policies and revisions first, so the first Service reconciles see them.
    await Promise.all([this.#policyObjects.start(), this.#revisions.start(), this.#rollouts.start()]);
    await this.#services.start();
    if (this.#closed) return;
    this.#started = true;
    this.#o.metrics?.setSource(() =>
      this.#rollouts.list().map((ro) => ({
        namespace: ro.metadata.namespace ?? 'default',
        service: ro.metadata.name ?? '',
        phase: ro.status?.phase,
        canaryWeight: ro.status?.canaryWeight,
      })),
    );
    for (const s of this.#services.list()) this.#enqueue(svcKey(s));
    const resync = this.#o.resyncMs ?? 30_000;
    this.#resyncTimer = setInterval(() => {
      for (const k of this.#governed) this.#enqueue(k);
    }, resync);
    this.#resyncTimer.unref();
    this.#log.info(
      {
        policies: this.#policies.all().length,
        prometheus: this.#o.prometheusUrl.replace(/\/\/[^@/]+@/, '//[REDACTED]@'),
      },
      'rollout controller started',
    );
  }

  #pollPolicies(): void {
    const dir = this.#o.policiesDir;
    if (!dir || this.#closed) return;
    const r = this.#policies.loadDir(dir);
    for (const p of r.problems) this.#report(p);
    if (r.changed && this.#started)
      for (const s of this.#services.list())
        this.#enqueue(keyOf(s.metadata.namespace ?? 'default', s.metadata.name ?? ''));
    this.#pollTimer = setTimeout(() => this.#pollPolicies(), this.#o.policiesPollMs ?? 1000);
    this.#pollTimer.unref();
  }

  #report(p: PolicyProblems): void {
    this.#log.error(
      { source: p.source, errors: p.errors.map((e) => e.where()) },
      `invalid rollout policy ${p.source}; the last good version (if any) stays in force:\n${p.errors.map((e) => `  ${e.where()}`).join('\n')}`,
    );
  }

  /**
   * After a restart the in-memory last good version of an API policy is gone. If the RolloutPolicy that governed
   * this Service still exists but its stored spec is invalid, the spec recorded on the Rollout (the one the last
   * decision was made under) keeps governing, so no Service is left ungoverned mid-rollout. A deleted policy, or
   * a valid one that no longer selects the Service, ends the governance as before.
   */
  #recordedPolicy(svc: ServiceObject): GoverningPolicy | null {
    const ns = svc.metadata.namespace ?? 'default';
    const rec = this.#rollouts.get(ns, svc.metadata.name ?? '')?.status?.governingPolicy;
    if (!rec?.spec || !rec.name) return null;
    const obj = this.#policyObjects.get(ns, rec.name);
    if (!obj || obj.metadata.deletionTimestamp || this.#policies.api(ns, rec.name)) return null;
    const p: GoverningPolicy = {
      namespace: ns,
      name: rec.name,
      source: `RolloutPolicy ${ns}/${rec.name}`,
      spec: rec.spec,
    };
    if (rec.generation !== undefined) p.generation = rec.generation;
    return p;
  }

  /**
   * RolloutPolicy status: `observedGeneration` and a `Ready` condition saying whether this generation is in force
   * (and if not, every error with its field path, and which generation governs instead). Written only on change.
   */
  async #writePolicyStatus(p: KubeObject, errors: readonly PolicyError[]): Promise<void> {
    const ns = p.metadata.namespace ?? 'default';
    const name = p.metadata.name ?? '';
    const gen = p.metadata.generation;
    const inForce = this.#policies.api(ns, name);
    const ready = errors.length === 0;
    const message = ready
      ? 'the policy is valid and in force'
      : `${errors.map((e) => e.message).join('; ')}${
          inForce?.generation !== undefined && inForce.generation !== gen
            ? `; generation ${inForce.generation} stays in force`
            : ''
        }`;
    const cur = (p as { status?: PolicyObjectStatus }).status;
    const curReady = cur?.conditions?.find((c) => c.type === 'Ready');
    const status = ready ? 'True' : 'False';
    if (cur?.observedGeneration === gen && curReady?.status === status && curReady.message === message) return;
    const condition = {
      type: 'Ready',
      status,
      reason: ready ? 'Valid' : 'InvalidSpec',
      message,
      lastTransitionTime:
        curReady?.status === status && curReady.lastTransitionTime
          ? curReady.lastTransitionTime
          : new Date(this.#clock.now()).toISOString(),
    };
    try {
      await this.#client.patch(
        R.rolloutPolicies,
        ns,
        name,
        { status: { ...(gen !== undefined ? { observedGeneration: gen } : {}), conditions: [condition] } },
        'merge',
        { subresource: 'status' },
      );
    } catch (e) {
      if (!this.#closed)
        this.#log.warn({ policy: `${ns}/${name}`, err: msg(e) }, 'could not write RolloutPolicy status');
    }
  }

  #enqueueNamespace(ns: string): void {
    if (!this.#started) return;
    for (const s of this.#services.list())
      if ((s.metadata.namespace ?? 'default') === ns) this.#enqueue(keyOf(ns, s.metadata.name ?? ''));
  }

  // ---- work queue ----
  #enqueue(key: string): void {
    if (this.#closed || !this.#started) return;
    this.#dirty.add(key);
    this.#pump();
  }

  #pump(): void {
    const limit = Math.max(1, this.#o.concurrency ?? DEFAULT_CONCURRENCY);
    if (this.#active.size >= limit) return;
    // No copy of the set: with thousands of keys dirty, copying it on every completion is quadratic. Deleting the
    // current element while iterating a Set is safe.
    for (const key of this.#dirty) {
      if (this.#closed || this.#active.size >= limit) return;
      if (this.#active.has(key)) continue;
      this.#dirty.delete(key);
      this.#active.add(key);
      const p = this.#work(key).finally(() => {
        this.#active.delete(key);
        this.#inflight.delete(p);
        this.#pump();
      });
      this.#inflight.add(p);
    }
  }

  async #work(key: string): Promise<void> {
    this.stats.reconciles++;
    const t0 = performance.now();
    try {
      await this.#reconcile(key);
      this.#failures.delete(key);
      this.#o.metrics?.reconciled(this.#timers.has(key) ? 'requeue_after' : 'success', (performance.now() - t0) / 1000);
    } catch (e) {
      if (this.#closed) return;
      this.#o.metrics?.reconciled('error', (performance.now() - t0) / 1000);
      this.stats.errors++;
      const n = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, n);
      const delay = Math.min(30_000, 250 * 2 ** Math.min(n, 7));
      this.#log.warn({ rollout: key, err: msg(e), retryInMs: delay }, 'rollout reconcile failed; retrying');
      this.#wakeIn(key, delay);
    }
  }

  /** Arms the key's timer for `at` (ms on the controller's clock) unless an earlier one is armed. */
  #schedule(key: string, at: number | null): void {
    if (at === null || this.#closed) return;
    // The analysis clock reconciles a rollout whose round is due with the round in hand: no timer for that time.
    const e = this.#clockEntries.get(key);
    if (e && at === analysisWakeAt(e.state, e.intervalMs)) return;
    const cur = this.#timers.get(key);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const delay = Math.max(0, Math.min(MAX_TIMER_MS, at - this.#clock.now()));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#enqueue(key);
    }, delay);
    this.#timers.set(key, { at, timer });
  }

  #wakeIn(key: string, ms: number): void {
    this.#schedule(key, this.#clock.now() + ms);
  }

  #forget(key: string): void {
    const t = this.#timers.get(key);
    if (t) clearTimeout(t.timer);
    this.#timers.delete(key);
    this.#clockEntries.delete(key);
    this.#rounds.delete(key);
    this.#written.delete(key);
    this.#memo.delete(key);
    this.#lastWriteAt.delete(key);
    this.#delivered.delete(key);
    this.#observed.delete(key);
  }

  // ---- one reconcile ----
  async #reconcile(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const svc = this.#services.get(ns, name);
    if (!svc || svc.metadata.deletionTimestamp) {
      this.#governed.delete(key);
      this.#forget(key);
      return;
    }
    const policy = this.#policies.match(svc) ?? this.#recordedPolicy(svc);
    if (!policy) {
      if (this.#governed.delete(key))
        this.#log.info(
          { rollout: key },
          'no RolloutPolicy governs this Service any more; leaving its traffic as it is',
        );
      this.#forget(key);
      return;
    }
    if (!this.#governed.has(key)) {
      this.#governed.add(key);
      this.#log.info({ rollout: key, policy: policy.source }, 'Service is governed');
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // First from the cache; after a conflict, from the API server (the cache may be behind).
      const ro = await this.#loadRollout(svc, policy, attempt === 0);
      if (!ro) continue;
      const done = await this.#decideAndAct(svc, ro, policy);
      if (done) return;
      this.stats.conflicts++;
    }
    this.#wakeIn(key, 200);
  }

  /** The Rollout of a Service, created (owner-referenced) when missing; undefined: try again. */
  async #loadRollout(svc: ServiceObject, policy: GoverningPolicy, cached: boolean): Promise<RolloutObject | undefined> {
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name ?? '';
    const key = keyOf(ns, name);
    const ro = cached
      ? this.#cachedRollout(key, ns, name)
      : await this.#client.tryGet<RolloutObject>(R.rollouts, ns, name);
    if (!cached) this.#written.delete(key);
    if (ro) {
      const owner = ro.metadata.ownerReferences?.find((r) => r.kind === 'Service' && r.name === name);
      if (owner && svc.metadata.uid && owner.uid !== svc.metadata.uid) {
        // A Service deleted and created again under the same name: the old Rollout's state is not this one's.
        this.#log.info(
          { rollout: `${ns}/${name}` },
          'Rollout belongs to an earlier Service of this name; starting over',
        );
        await this.#client.delete(R.rollouts, ns, name).catch(() => undefined);
        return undefined;
      }
      return ro;
    }
    try {
      return await this.#client.create<RolloutObject>(R.rollouts, {
        metadata: {
          name,
          namespace: ns,
          labels: { 'app.kubernetes.io/managed-by': 'sluice', [REVISION_SERVICE_LABEL]: name },
          ownerReferences: [
            {
              apiVersion: 'serving.knative.dev/v1',
              kind: 'Service',
              name,
              uid: svc.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { serviceName: name, policyRef: { name: policy.name }, commands: [] },
      });
    } catch (e) {
      if (e instanceof KubeApiError && e.isAlreadyExists) return undefined;
      throw e;
    }
  }

  /**
   * The Rollout as the informer has it, or as our own last write returned it while the informer has not caught up
   * (the cache still shows the version our write replaced). Anything else is someone else's newer write. A stale
   * answer only costs a conflict on write, after which the Rollout is fetched.
   */
  #cachedRollout(key: string, ns: string, name: string): RolloutObject | undefined {
    const inf = this.#rollouts.get(ns, name);
    const w = this.#written.get(key);
    if (!w) return inf;
    if (!inf || inf.metadata.resourceVersion === w.before) return w.ro;
    this.#written.delete(key);
    return inf;
  }

  /** Records what our write to a Rollout returned (see #cachedRollout). */
  #wrote(key: string, before: RolloutObject, after: RolloutObject): void {
    this.#written.set(key, { before: before.metadata.resourceVersion, ro: after });
  }

  #observe(svc: ServiceObject, ro: RolloutObject, policy: GoverningPolicy, state: RolloutState): Observations {
    const ns = svc.metadata.namespace ?? 'default';
    const key = keyOf(ns, svc.metadata.name ?? '');
    const latest = svc.status?.latestCreatedRevisionName;
    const names = [state.canaryRevision, state.stableRevision];
    if (latest !== undefined) names.push(latest);
    const revs = names.map((r) => this.#revisions.get(ns, r));
    // The same cached objects as last time: the same observations (the machine only reads them). A routine round
    // changes none of these, so most decisions skip rebuilding them.
    const m = this.#observed.get(key);
    if (
      m &&
      m.svc === svc &&
      m.spec === ro.spec &&
      m.policy === policy.spec &&
      sameRefs(m.names, names) &&
      sameRefs(m.revs, revs)
    )
      return m.obs;
    const revisions: Record<string, Readiness> = {};
    names.forEach((r, i) => (revisions[r] = revisionReadiness(revs[i])));
    const commands: Command[] = (ro.spec?.commands ?? []).map((c) =>
      c.full === undefined ? { seq: c.seq, kind: c.kind } : { seq: c.seq, kind: c.kind, full: c.full },
    );
    const obs: Observations = { policy: policy.spec, revisions, commands };
    if (latest) obs.latestRevision = latest;
    const traffic = observedTraffic(svc);
    if (traffic) obs.traffic = traffic;
    this.#observed.set(key, { svc, spec: ro.spec, policy: policy.spec, names, revs, obs });
    return obs;
  }

  /**
   * The status the next decision builds on: our decided-but-unwritten routine status when it sits on this very
   * Rollout (same resourceVersion, or a newer one whose status is still the one we wrote: a command in spec, say),
   * else the stored status.
   */
  #prevStatus(key: string, ro: RolloutObject): RolloutObjectStatus {
    const stored = ro.status ?? {};
    const m = this.#memo.get(key);
    if (!m) return stored;
    if (m.rv === ro.metadata.resourceVersion || sameJson(m.base, stored)) {
      m.rv = ro.metadata.resourceVersion;
      m.base = stored;
      return m.status;
    }
    // Someone else changed the status: our routine progress since the last write is dropped (the rounds it
    // recorded are simply asked again).
    this.#memo.delete(key);
    return stored;
  }

  /** One decision on one read of the Rollout. false: the status write conflicted; read and decide again. */
  async #decideAndAct(svc: ServiceObject, ro: RolloutObject, policy: GoverningPolicy): Promise<boolean> {
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name ?? '';
    const key = keyOf(ns, name);
    const stored: RolloutObjectStatus = ro.status ?? {};
    const prev = this.#prevStatus(key, ro);
    const now = this.#clock.now();
    let state = prev.state && prev.state.service === name && prev.state.namespace === ns ? prev.state : undefined;
    if (!state) {
      const stable = pickStable(svc);
      if (!stable) {
        const waiting: RolloutObjectStatus = {
          phase: 'Pending',
          message: `waiting for a ready revision of ${name} to pin as stable`,
          policy: policy.source,
        };
        if (canonical(waiting) === canonical(stored)) return true;
        return (await this.#writeStatus(key, ro, waiting)) !== null;
      }
      state = initialState({
        namespace: ns,
        service: name,
        stableRevision: stable,
        now,
        stableTag: makePlan(policy.spec).stableTag,
      });
      this.#log.info({ rollout: key, stable }, `pinning ${stable} as the stable revision (100%)`);
    }
    const observed = this.#observe(svc, ro, policy, state);
    const round = this.#rounds.get(key);
    const obs = round ? withRound(observed, round) : observed;
    let res: StepResult;
    try {
      res = step(state, obs, now);
    } catch (e) {
      // A bug or an impossible policy must not take the controller down; say it on the Rollout.
      this.#log.error({ rollout: key, err: msg(e) }, 'rollout machine failed');
      this.#memo.delete(key);
      return (
        (await this.#writeStatus(key, ro, { ...prev, message: `internal error deciding this rollout: ${msg(e)}` })) !==
        null
      );
    }
    const fresh = notificationsOf(res.actions, policy.spec.alerts, policy.spec.rollback?.gitRevert === true);
    const delivered = this.#delivered.get(key);
    // What did not change is the previous decision's very object (a routine round changes none of these): no copy
    // to make, and the comparison with the previous status stops at the reference.
    const prevPending = prev.pendingNotifications ?? [];
    const pending =
      fresh.length === 0 && (delivered === undefined || !prevPending.some((n) => delivered.has(n.id)))
        ? prevPending
        : [...prevPending.filter((n) => delivered === undefined || !delivered.has(n.id)), ...fresh];
    const runs = appendRun(prev.analysisRuns, round ? analysisRecord(round, res.state, policy.spec) : null);
    const before = prev.state && prev.state.service === name && prev.state.namespace === ns ? prev.state : undefined;
    const entries = [
      ...actionsOf(ro.spec?.commands ?? [], state.lastCommandSeq, res.state, now),
      ...decisionsOf(fresh),
    ];
    const timeline =
      entries.length === 0 && prev.timeline && prev.timeline.length <= TIMELINE_LIMIT
        ? prev.timeline
        : appendTimeline(prev.timeline, entries);
    const finished = finishedRollout(before, res.state, runs.at(-1), now);
    const pastRollouts =
      finished === null && prev.pastRollouts && prev.pastRollouts.length <= PAST_ROLLOUTS_LIMIT
        ? prev.pastRollouts
        : appendPast(prev.pastRollouts, finished);
    const plan = makePlan(policy.spec);
    const summary = planSummary(plan);
    this.#sharing.offer(policy.source, policy.spec, summary);
    const next = buildStatus(res.state, {
      policy: policy.source,
      governing: policy,
      analysisRuns: runs,
      pending,
      generation: ro.metadata.generation,
      timeline,
      pastRollouts,
      plan: summary,
      conditions: prev.conditions ?? [],
      now,
    });
    const change = prev === stored ? compareStatus(stored, next) : compareOnDeferred(prev, next);
    if (change === 'same') {
      this.#memo.delete(key);
    } else {
      const flushAt = (this.#lastWriteAt.get(key) ?? -Infinity) + this.#routineFlushMs();
      const routine = fresh.length === 0 && change === 'routine';
      // A routine write waits its turn and never takes more than ROUTINE_WRITES_IN_FLIGHT reconcile slots: on a
      // slow API server, slots held by writes would keep the next rounds' decisions waiting.
      if (routine && (now < flushAt || this.#routineWriting >= ROUTINE_WRITES_IN_FLIGHT)) {
        // Only a round recorded: written with the next decision that changes something, or at flushAt.
        this.#memo.set(key, { rv: ro.metadata.resourceVersion, base: stored, status: next });
        this.stats.statusWritesDeferred++;
        // Waiting for its time: a timer. Waiting for a write slot: the next round's decision tries again, so a
        // timer only if no round is coming.
        if (now < flushAt) this.#schedule(key, flushAt);
        else if (!this.#clockEntries.has(key)) this.#schedule(key, now + 1000);
      } else {
        this.#memo.delete(key);
        if (routine) this.#routineWriting++;
        try {
          if ((await this.#writeStatus(key, ro, next)) === null) return false;
        } finally {
          if (routine) this.#routineWriting--;
        }
      }
    }
    await this.#metricsMissingEvent(ro, prev, next);
    // The state is decided (durable, or routine progress that may be lost without harm): now act.
    if (round && this.#rounds.get(key) === round) this.#rounds.delete(key);
    this.#track(key, res.state, policy, plan.analysis);
    if (res.state.phase !== state.phase && TERMINAL_PHASES.includes(res.state.phase))
      this.#o.metrics?.rolloutEnded(res.state.phase, (now - res.state.startedAt) / 1000);
    this.#logDecision(key, state, res);
    await this.#act(svc, res.state, res.actions);
    if (pending.length > 0) await this.#deliver(key, pending);
    this.#schedule(key, res.wakeAt);
    return true;
  }

  #routineFlushMs(): number {
    const perSecond = this.#o.routineWritesPerSecond ?? 100;
    if (perSecond <= 0) return 0;
    return routineFlushMs(this.#clockEntries.size, perSecond);
  }

  /** Keeps the analysis clock's view of a rollout current, and its timer armed for the rollout's next round. */
  #track(
    key: string,
    state: RolloutState,
    policy: GoverningPolicy,
    a: { intervalMs: number; windowMs: number } | null,
  ): void {
    const metrics = policy.spec.analysis?.metrics ?? [];
    const due = state.phase === 'Progressing' || state.phase === 'Paused' ? state.analysis.dueAt : null;
    if (!a || due === null) {
      this.#clockEntries.delete(key);
      return;
    }
    this.#clockEntries.set(key, { key, state, metrics, intervalMs: a.intervalMs, windowMs: a.windowMs });
    if (this.#asking.has(key) || this.#rounds.has(key)) return;
    // On the grid: at the grid point. Overdue (a restart, a late step): after a short wait that gathers the others.
    const now = this.#clock.now();
    this.#armClock(due > now ? due : now + (this.#o.analysisCoalesceMs ?? 200));
  }

  /** A Warning event when MetricsAvailable turns False: the condition says it, the event makes it seen. */
  async #metricsMissingEvent(ro: RolloutObject, prev: RolloutObjectStatus, next: RolloutObjectStatus): Promise<void> {
    const was = prev.conditions?.find((c) => c.type === METRICS_CONDITION);
    const now = next.conditions?.find((c) => c.type === METRICS_CONDITION);
    if (!now || now.status !== 'False' || was?.status === 'False') return;
    const ns = ro.metadata.namespace ?? 'default';
    const name = ro.metadata.name ?? '';
    this.#log.warn({ rollout: `${ns}/${name}` }, now.message ?? METRICS_MISSING_REASON);
    await this.#client
      .create(R.events, {
        metadata: { generateName: `${name}.`, namespace: ns },
        involvedObject: { apiVersion: 'delivery.sluice.dev/v1alpha1', kind: 'Rollout', namespace: ns, name },
        reason: METRICS_MISSING_REASON,
        message: now.message ?? '',
        type: 'Warning',
        count: 1,
        firstTimestamp: now.lastTransitionTime,
        lastTimestamp: now.lastTransitionTime,
        source: { component: 'sluice-rollout' },
        reportingComponent: 'sluice-rollout',
      })
      .catch((e: unknown) => this.#log.warn({ rollout: `${ns}/${name}`, err: msg(e) }, 'could not record an event'));
  }

  /** The stored Rollout, or null on a conflict (someone wrote since `ro` was read). */
  async #writeStatus(key: string, ro: RolloutObject, status: RolloutObjectStatus): Promise<RolloutObject | null> {
    try {
      const out = await this.#client.update<RolloutObject>(R.rollouts, { ...ro, status }, 'status');
      this.stats.statusWrites++;
      this.#lastWriteAt.set(key, this.#clock.now());
      // Whatever was delivered is out of the outbox now (decisions filter it before building the status).
      this.#delivered.delete(key);
      this.#wrote(key, ro, out);
      return out;
    } catch (e) {
      if (isConflict(e)) {
        this.#written.delete(key);
        return null;
      }
      throw e;
    }
  }

  #logDecision(key: string, before: RolloutState, res: StepResult): void {
    const s = res.state;
    if (
      s.phase !== before.phase ||
      s.currentStep !== before.currentStep ||
      s.canaryRevision !== before.canaryRevision
    ) {
      this.#log.info(
        {
          rollout: key,
          phase: s.phase,
          step: `${s.currentStep}/${s.totalSteps}`,
          canary: s.canaryRevision,
          weight: s.canaryWeight,
        },
        s.message,
      );
    }
  }

  async #act(svc: ServiceObject, state: RolloutState, actions: readonly Action[]): Promise<void> {
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name ?? '';
    const key = keyOf(ns, name);
    let trafficAsked = false;
    for (const a of actions) {
      switch (a.kind) {
        case 'setTraffic':
          trafficAsked = true;
          break;
        case 'runAnalysis':
          // The round is overdue (a restart, a round lost): the clock asks for it with the others overdue.
          this.#armClock(this.#clock.now() + (this.#o.analysisCoalesceMs ?? 200));
          break;
        case 'setHeaderRoute':
        case 'clearHeaderRoute':
          // Knative has no header routes; the tagged URL serves the B revision.
          if (!this.#headerWarned.has(key)) {
            this.#headerWarned.add(key);
            this.#log.warn(
              { rollout: key, tag: a.tag },
              'header-based routing is not available through Knative Service traffic; the tag URL serves the new revision',
            );
          }
          break;
        case 'notify':
          break;
      }
    }
    // setTraffic = the whole list in one merge patch. The same check restores the pinned split when something
    // else (a GitOps apply, `kn service update --traffic`) rewrote spec.traffic, and pins a newly governed Service.
    if (!specTrafficIs(svc, state.traffic)) {
      if (!trafficAsked)
        this.#log.info(
          { rollout: key, want: state.traffic, found: svc.spec?.traffic ?? null },
          "spec.traffic differs from the rollout's split; restoring it",
        );
      await this.#client.patch(
        R.services,
        ns,
        name,
        { spec: { traffic: state.traffic.map((t) => ({ ...t })) } },
        'merge',
      );
      this.stats.trafficPatches++;
    }
  }

  /** Delivers the outbox in order; drops the delivered ones from status. A failure is retried later. */
  async #deliver(key: string, pending: RolloutNotification[]): Promise<void> {
    const delivered = new Set<string>();
    for (const n of pending) {
      try {
        await this.#notifier.notify(n);
        delivered.add(n.id);
        this.stats.notifications++;
      } catch (e) {
        this.#log.warn({ rollout: key, event: n.event, err: msg(e) }, 'notification failed; will retry');
        this.#wakeIn(key, 1000);
        break;
      }
    }
    if (delivered.size === 0) return;
    // No write of its own: the next status write leaves the delivered ones out (routine, so at the latest after
    // routineFlushMs). A crash before it redelivers them; sinks de-duplicate on the id.
    const known = this.#delivered.get(key) ?? new Set<string>();
    for (const id of delivered) known.add(id);
    this.#delivered.set(key, known);
    this.#schedule(key, (this.#lastWriteAt.get(key) ?? this.#clock.now()) + this.#routineFlushMs());
  }

  // ---- the analysis clock ----
  /** Arms the clock for `at` unless it is armed earlier. */
  #armClock(at: number): void {
    if (this.#closed || !this.#started) return;
    const cur = this.#analysisTimer;
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const delay = Math.max(0, Math.min(MAX_TIMER_MS, at - this.#clock.now()));
    this.#analysisTimer = { at, timer: setTimeout(() => void this.#analysisTick(), delay) };
  }

  /** One grid point: every due rollout in one engine run; the rounds go to each rollout's next decision. */
  async #analysisTick(): Promise<void> {
    this.#analysisTimer = undefined;
    if (this.#closed) return;
    const at = this.#clock.now();
    const busy = (k: string): boolean => this.#asking.has(k) || this.#rounds.has(k);
    const requests = dueRequests(this.#clockEntries.values(), at, busy);
    for (const r of requests) this.#asking.add(r.key);
    const next = nextTick(this.#clockEntries.values(), at + 1, busy);
    if (next !== null) this.#armClock(next);
    if (requests.length === 0) return;
    try {
      this.stats.analysisRuns++;
      this.stats.analysisRequests += requests.length;
      this.stats.maxRequestsPerRun = Math.max(this.stats.maxRequestsPerRun, requests.length);
      const rounds = await this.#engine.run(requests, at, this.#abort.signal);
      this.#o.metrics?.analysisRounds.inc(rounds.size);
      for (const [k, r] of rounds) {
        if (!this.#clockEntries.has(k)) continue;
        this.#rounds.set(k, r);
        this.#enqueue(k);
      }
    } catch (e) {
      if (!this.#closed) this.#log.warn({ err: msg(e) }, 'analysis round failed; asking again at the next grid point');
    } finally {
      for (const r of requests) this.#asking.delete(r.key);
      // Rollouts whose round failed are still due: the next tick asks again.
      const again = nextTick(this.#clockEntries.values(), this.#clock.now(), busy);
      if (again !== null) this.#armClock(Math.max(again, at + 1000));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.metrics?.setSource(undefined);
    this.#abort.abort();
    for (const inf of [this.#services, this.#revisions, this.#rollouts, this.#policyObjects]) inf.stop();
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    if (this.#analysisTimer) clearTimeout(this.#analysisTimer.timer);
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    await Promise.allSettled([...this.#inflight]);
  }
}

/**
 * Starts the rollout controller against the API `client` talks to. Every Service a RolloutPolicy governs gets
 * a Rollout (same name and namespace, owned by the Service) holding its state; see the file header for the
 * order of persist and act. `close()` stops watches and timers and waits for reconciles in flight.
 */
export function startRolloutController(o: RolloutControllerOptions): RolloutController {
  return new Controller(o);
}
