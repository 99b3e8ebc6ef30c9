// core/v1 Events, recorded as client-go's record.EventRecorder does: one Event per (object, type, reason,
// message, component); a repeat within the aggregation window bumps `count` and `lastTimestamp` instead of
// making a new object. Names are `<object>.<hex nanoseconds>`, strictly increasing per recorder, so a list
// (sorted by name) and `kubectl describe` (sorted by lastTimestamp, stable) show events in the order they
// happened. Recording never blocks or fails the caller: writes go out in order on a chain, and a failed write
// is logged and dropped, as client-go does.
import type { KubeClient, KubeObject } from './client.js';
import { apiVersionOf, R, type ResourceRef } from './resources.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** Records an Event about `obj` (a stored object: kind, name, namespace, uid are read from it). */
  event(obj: KubeObject, ref: ResourceRef, type: EventType, reason: string, message: string): void;
}

export interface KubeEventRecorderOptions {
  /** `source.component` and `reportingComponent`, e.g. `service-controller`. */
  component: string;
  clock?: Clock;
  /** Repeats within this window are aggregated. Default 10 minutes (client-go's). */
  aggregateWindowMs?: number;
  /** Called with a failed write; default: ignore. */
  onError?: (err: unknown, event: { reason: string; message: string }) => void;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstMs: number;
  lastMs: number;
}

/** At most this many aggregation keys are remembered (oldest forgotten first). */
const MAX_KEYS = 4096;
/** Messages are capped as kube-apiserver's validation caps them. */
const MAX_MESSAGE = 1024;

export class KubeEventRecorder implements EventRecorder {
  readonly #client: Pick<KubeClient, 'create' | 'patch'>;
  readonly #o: Required<Omit<KubeEventRecorderOptions, 'onError'>> & Pick<KubeEventRecorderOptions, 'onError'>;
  readonly #seen = new Map<string, Seen>();
  #lastNs = 0n;
  #chain: Promise<void> = Promise.resolve();

  constructor(client: Pick<KubeClient, 'create' | 'patch'>, o: KubeEventRecorderOptions) {
    this.#client = client;
    this.#o = { clock: systemClock, aggregateWindowMs: 600_000, ...o };
  }

  event(obj: KubeObject, ref: ResourceRef, type: EventType, reason: string, message: string): void {
    const meta = obj.metadata;
    const namespace = meta.namespace || 'default';
    const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const nowMs = this.#o.clock.now();
    const key = JSON.stringify([ref.kind, namespace, meta.name, meta.uid ?? '', type, reason, msg]);
    const prev = this.#seen.get(key);
    if (prev && nowMs - prev.lastMs < this.#o.aggregateWindowMs) {
      prev.count++;
      prev.lastMs = nowMs;
      this.#seen.delete(key);
      this.#seen.set(key, prev);
      const patch = { count: prev.count, lastTimestamp: iso(nowMs) };
      this.#enqueue(reason, msg, () => this.#client.patch(R.events, prev.namespace, prev.name, patch, 'merge'));
      return;
    }
    // client-go names events <object>.<hex unix nanos>; a per-recorder counter keeps names unique and ordered.
    let ns = BigInt(nowMs) * 1_000_000n;
    if (ns <= this.#lastNs) ns = this.#lastNs + 1n;
    this.#lastNs = ns;
    const name = `${meta.name ?? ''}.${ns.toString(16)}`;
    this.#seen.set(key, { name, namespace, count: 1, firstMs: nowMs, lastMs: nowMs });
    if (this.#seen.size > MAX_KEYS) this.#seen.delete(this.#seen.keys().next().value as string);
    const involvedObject: Record<string, string> = {
      apiVersion: apiVersionOf(ref),
      kind: ref.kind,
      namespace,
      name: meta.name ?? '',
    };
    if (meta.uid) involvedObject['uid'] = meta.uid;
    if (meta.resourceVersion) involvedObject['resourceVersion'] = meta.resourceVersion;
    const event: KubeObject = {
      metadata: { name, namespace },
      involvedObject,
      reason,
      message: msg,
      type,
      count: 1,
      firstTimestamp: iso(nowMs),
      lastTimestamp: iso(nowMs),
      source: { component: this.#o.component },
      reportingComponent: this.#o.component,
      reportingInstance: '',
    };
    this.#enqueue(reason, msg, () => this.#client.create(R.events, event));
  }

  /** Resolves when every event recorded so far has been written (or given up). */
  flush(): Promise<void> {
    return this.#chain;
  }

  #enqueue(reason: string, message: string, write: () => Promise<unknown>): void {
    this.#chain = this.#chain.then(async () => {
      try {
        await write();
      } catch (e) {
        this.#o.onError?.(e, { reason, message });
      }
    });
  }
}

/** kube's metav1.Time: RFC 3339 in whole seconds. */
const iso = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Records nothing: for callers that were given no recorder. */
export const noEvents: EventRecorder = { event: () => undefined };
