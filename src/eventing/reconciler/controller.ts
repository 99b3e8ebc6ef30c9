// The Eventing reconcilers of the embedded default: Broker, Trigger and SinkBinding, level-triggered on keys
// like the Serving ones. Each reads the caches, computes the status with eventing/'s pure lifecycle functions,
// and writes it once when it changed. The caches also serve the broker data plane (`topology`).
import { Informer, R, type KubeClient, type KubeObject } from '../../kube/index.js';
import { silentLogger, type Logger } from '../../observability/logger.js';
import { keepTransitionTimes, jsonEqual } from '../../serving/reconciler/status-diff.js';
import { WorkQueue, type ReconcileKey } from '../../serving/reconciler/work-queue.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { reconcileBrokerStatus } from '../broker-lifecycle.js';
import type { BrokerTopology } from '../dataplane/broker-dataplane.js';
import { BROKER_LABEL } from '../keys.js';
import { reconcileTriggerStatus } from '../trigger-lifecycle.js';
import type { Broker, KReference, SinkBinding, Trigger } from '../types.js';
import { resolveDestination, type AddressableLister } from './resolver.js';
import { ER } from './resources.js';
import { reconcileSinkBindingStatus, SINKBINDING_FINALIZER, withoutSink, withSink } from './sinkbinding-reconciler.js';

export interface EventingControllerOptions {
  client: KubeClient;
  clock?: Clock;
  log?: Logger;
  resyncMs?: number;
}

const keyOf = (o: KubeObject): ReconcileKey => ({ namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '' });
const as = <T>(o: KubeObject | undefined): T => o as unknown as T;

export class EventingController {
  readonly queues: { brokers: WorkQueue; triggers: WorkQueue; sinkBindings: WorkQueue };
  readonly #inf: { brokers: Informer; triggers: Informer; sinkBindings: Informer; services: Informer };
  readonly #o: EventingControllerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;

  constructor(o: EventingControllerOptions) {
    this.#o = o;
    this.#log = o.log ?? silentLogger();
    this.#clock = o.clock ?? systemClock;
    const resyncMs = o.resyncMs ?? 300_000;
    const inf = (r: typeof R.services): Informer => new Informer(o.client, r, { resyncMs, log: this.#log });
    this.#inf = {
      brokers: inf(ER.brokers),
      triggers: inf(ER.triggers),
      sinkBindings: inf(ER.sinkBindings),
      services: inf(R.services),
    };
    const q = (name: string, fn: (k: ReconcileKey) => Promise<void>): WorkQueue =>
      new WorkQueue({ name, reconcile: fn, workers: 4, log: this.#log });
    this.queues = {
      brokers: q('broker', (k) => this.#reconcileBroker(k)),
      triggers: q('trigger', (k) => this.#reconcileTrigger(k)),
      sinkBindings: q('sinkbinding', (k) => this.#reconcileSinkBinding(k)),
    };
    this.#wire();
  }

  /** What the broker data plane needs, read from the caches. */
  readonly topology: BrokerTopology = {
    broker: (ns, name) => as<Broker | undefined>(this.#inf.brokers.get(ns, name)),
    triggers: (ns, broker) =>
      this.#inf.triggers
        .list()
        .filter((t) => t.metadata.namespace === ns && as<Trigger>(t).spec?.broker === broker)
        .map((t) => as<Trigger>(t)),
  };

  readonly #addressables: AddressableLister = {
    get: (ref: KReference, ns: string) => {
      const name = ref.name ?? '';
      if (ref.kind === 'Service' && ref.apiVersion === 'serving.knative.dev/v1')
        return this.#inf.services.get(ns, name);
      if (ref.kind === 'Broker' && ref.apiVersion === 'eventing.knative.dev/v1') return this.#inf.brokers.get(ns, name);
      throw new Error(
        `failed to get lister for ${ref.kind} (${ref.apiVersion}): Sluice resolves Knative Services, Brokers and v1 Services`,
      );
    },
  };

  #wire(): void {
    const { brokers, triggers, sinkBindings, services } = this.#inf;
    const each = (i: Informer, fn: (o: KubeObject) => void): void => {
      i.onAdd(fn)
        .onUpdate((o, old) => {
          fn(old);
          fn(o);
        })
        .onDelete(fn);
      i.onError((e) => this.#log.debug({ err: String(e) }, 'informer error; resuming'));
    };
    const inNs = (i: Informer, ns: string): KubeObject[] => i.list().filter((o) => o.metadata.namespace === ns);
    each(brokers, (o) => {
      this.queues.brokers.add(keyOf(o));
      for (const t of inNs(triggers, o.metadata.namespace ?? '')) this.queues.triggers.add(keyOf(t));
      for (const s of inNs(sinkBindings, o.metadata.namespace ?? '')) this.queues.sinkBindings.add(keyOf(s));
    });
    each(triggers, (o) => this.queues.triggers.add(keyOf(o)));
    each(sinkBindings, (o) => this.queues.sinkBindings.add(keyOf(o)));
    // A Knative Service's address feeds subscribers, dead-letter sinks and bindings in its namespace.
    each(services, (o) => {
      const ns = o.metadata.namespace ?? '';
      for (const t of inNs(triggers, ns)) this.queues.triggers.add(keyOf(t));
      for (const b of inNs(brokers, ns)) this.queues.brokers.add(keyOf(b));
      for (const s of inNs(sinkBindings, ns)) this.queues.sinkBindings.add(keyOf(s));
    });
  }

  async start(): Promise<void> {
    await Promise.all(Object.values(this.#inf).map((i) => i.start()));
    this.#log.info('eventing reconcilers started');
  }

  stop(): void {
    for (const i of Object.values(this.#inf)) i.stop();
    for (const q of Object.values(this.queues)) q.stop();
  }

  async whenIdle(): Promise<void> {
    for (;;) {
      await Promise.all(Object.values(this.queues).map((q) => q.whenIdle()));
      if (Object.values(this.queues).every((q) => q.length === 0)) return;
    }
  }

  async #writeStatus(
    ref: typeof ER.brokers | typeof ER.triggers | typeof ER.sinkBindings,
    o: KubeObject,
    status: unknown,
  ): Promise<void> {
    const prev = o['status'] as { conditions?: never[] } | undefined;
    const next = keepTransitionTimes(prev, status as { conditions?: never[] });
    if (jsonEqual(next, prev)) return;
    await this.#o.client.update(ref, { ...o, status: next }, 'status');
  }

  async #reconcileBroker(k: ReconcileKey): Promise<void> {
    const o = this.#inf.brokers.get(k.namespace, k.name);
    if (!o || o.metadata.deletionTimestamp) return;
    const b = as<Broker>(o);
    const dls = b.spec?.delivery?.deadLetterSink;
    const r = reconcileBrokerStatus(
      b,
      dls ? { deadLetterSink: resolveDestination(dls, k.namespace, this.#addressables) } : {},
      this.#clock.now(),
    );
    await this.#writeStatus(ER.brokers, o, r.status);
    if (r.error) throw new Error(r.error);
  }

  async #reconcileTrigger(k: ReconcileKey): Promise<void> {
    const o = this.#inf.triggers.get(k.namespace, k.name);
    if (!o || o.metadata.deletionTimestamp) return;
    const t = as<Trigger>(o);
    const broker = as<Broker | undefined>(this.#inf.brokers.get(k.namespace, t.spec?.broker ?? '')) ?? null;
    const subscriber = resolveDestination(t.spec?.subscriber, k.namespace, this.#addressables);
    const tdls = t.spec?.delivery?.deadLetterSink;
    const r = reconcileTriggerStatus(
      t,
      {
        broker,
        subscriber,
        ...(tdls ? { deadLetterSink: resolveDestination(tdls, k.namespace, this.#addressables) } : {}),
        // The embedded channel subscribes a Trigger as soon as its subscriber resolves.
        subscription: 'uri' in subscriber ? { ready: { status: 'True' } } : null,
      },
      this.#clock.now(),
    );
    if (r.ignored) return;
    // Keep the label Knative's webhook sets, for objects stored before admission set it.
    await this.#writeStatus(ER.triggers, o, r.status);
    if (r.error) throw new Error(r.error);
    void BROKER_LABEL;
  }

  /** The Knative Services a binding's subject names (by name or label selector), in its namespace. */
  #subjectsOf(sb: SinkBinding, namespace: string): KubeObject[] {
    const subj = sb.spec?.subject;
    return this.#inf.services.list().filter((s) => {
      if (!subj || s.metadata.namespace !== (subj.namespace || namespace)) return false;
      if (subj.kind !== 'Service' || subj.apiVersion !== 'serving.knative.dev/v1') return false;
      if (subj.name) return s.metadata.name === subj.name;
      const ml = (subj.selector?.['matchLabels'] ?? {}) as Record<string, string>;
      return Object.entries(ml).every(([lk, lv]) => s.metadata.labels?.[lk] === lv);
    });
  }

  async #reconcileSinkBinding(k: ReconcileKey): Promise<void> {
    const o = this.#inf.sinkBindings.get(k.namespace, k.name);
    if (!o) return;
    const sb = as<SinkBinding>(o);
    const finalizers = o.metadata.finalizers ?? [];
    if (o.metadata.deletionTimestamp) {
      // psbinding finalizes when its finalizer is first: undo the binding, then let the delete finish.
      if (finalizers[0] !== SINKBINDING_FINALIZER) return;
      for (const s of this.#subjectsOf(sb, k.namespace)) {
        const next = withoutSink(s);
        if (next) await this.#o.client.update(R.services, next);
      }
      await this.#o.client.update(ER.sinkBindings, {
        ...o,
        metadata: { ...o.metadata, finalizers: finalizers.slice(1) },
      });
      return;
    }
    if (!finalizers.includes(SINKBINDING_FINALIZER)) {
      // The update comes back through the informer and reconciles again.
      await this.#o.client.update(ER.sinkBindings, {
        ...o,
        metadata: { ...o.metadata, finalizers: [...finalizers, SINKBINDING_FINALIZER] },
      });
      return;
    }
    const sink = resolveDestination(sb.spec?.sink, k.namespace, this.#addressables);
    const subjects = this.#subjectsOf(sb, k.namespace);
    if ('uri' in sink) {
      for (const s of subjects) {
        const next = withSink(s, sink.uri, sb.spec?.ceOverrides);
        if (next) await this.#o.client.update(R.services, next);
      }
    }
    const status = reconcileSinkBindingStatus(sb, sink, subjects.length > 0, this.#clock.now());
    await this.#writeStatus(ER.sinkBindings, o, status);
    if ('error' in sink) throw new Error(sink.error);
  }
}
