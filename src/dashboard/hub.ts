// One shared informer cache of Rollouts and Services per process, fanned out to every open page (Argo built
// informers per request and leaked, argo-rollouts#2095). Changes are coalesced per object for `coalesceMs`,
// numbered with one increasing sequence (`<epoch>.<seq>`, the SSE `id:`), and kept in a bounded ring so a
// reconnecting page resumes with Last-Event-ID instead of reloading. The JSON of a change is built once and
// shared by every subscriber.
import { randomBytes } from 'node:crypto';
import { Informer, R, type KubeClient } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import type { AnalysisRunRecord, RolloutObject, ServiceObject } from '../rollout/controller/types.js';
import { fleetRow, keyOf, rolloutView, type FleetRow, type RolloutView } from './view.js';

/** Analysis rounds kept in memory per rollout for the charts (the Rollout itself stores the last 10). */
export const CHART_POINTS = 300;
const RING = 10_000;

export interface HubEvent {
  /** `<epoch>.<seq>`. */
  id: string;
  event: 'row' | 'deleted' | 'snapshot' | 'rollout';
  /** JSON. */
  data: string;
  /** `ns/name` of the rollout a row, deleted or rollout event is about (lets a per-user stream filter it). */
  key?: string;
}

export interface Subscriber {
  /** undefined: the fleet list; else `ns/name` of the one rollout it shows. */
  key?: string;
  send(e: HubEvent): void;
}

export interface HubOptions {
  client: KubeClient;
  now: () => number;
  log: Logger;
  /** Changes of one object within this window become one event (default 100 ms). */
  coalesceMs?: number;
  namespace?: string;
}

export class RolloutHub {
  readonly epoch = randomBytes(4).toString('hex');
  readonly #rollouts: Informer<RolloutObject>;
  readonly #services: Informer<ServiceObject>;
  readonly #o: HubOptions;
  readonly #subs = new Set<Subscriber>();
  readonly #dirty = new Set<string>();
  readonly #ring: { seq: number; key: string }[] = [];
  readonly #runs = new Map<string, AnalysisRunRecord[]>();
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly ready: Promise<void>;
  readonly stats = { events: 0, flushes: 0 };

  constructor(o: HubOptions) {
    this.#o = o;
    const inf = { ...(o.namespace ? { namespace: o.namespace } : {}), log: o.log };
    this.#rollouts = new Informer<RolloutObject>(o.client, R.rollouts, inf);
    this.#services = new Informer<ServiceObject>(o.client, R.services, inf);
    const mark = (x: RolloutObject | ServiceObject): void => this.#mark(keyOf(x));
    this.#rollouts
      .onAdd((r) => {
        this.#remember(r);
        mark(r);
      })
      .onUpdate((r) => {
        this.#remember(r);
        mark(r);
      })
      .onDelete((r) => {
        this.#runs.delete(keyOf(r));
        mark(r);
      });
    // A Service change moves the Route's actual traffic; only governed ones (with a Rollout) matter.
    const svc = (s: ServiceObject): void => {
      if (this.#rollouts.get(s.metadata.namespace ?? 'default', s.metadata.name ?? '')) mark(s);
    };
    this.#services.onAdd(svc).onUpdate(svc).onDelete(svc);
    for (const i of [this.#rollouts, this.#services])
      i.onError((e) => o.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'dashboard watch error'));
    this.ready = Promise.all([this.#rollouts.start(), this.#services.start()]).then(() => undefined);
  }

  get lastId(): string {
    return `${this.epoch}.${this.#seq}`;
  }

  /** Merges the stored rounds into the longer in-memory history (by time, oldest first, bounded). */
  #remember(r: RolloutObject): void {
    const stored = r.status?.analysisRuns ?? [];
    if (stored.length === 0) return;
    const k = keyOf(r);
    const have = this.#runs.get(k) ?? [];
    const last = have.at(-1)?.at ?? '';
    const fresh = stored.filter((x) => x.at > last);
    if (fresh.length === 0 && have.length > 0) return;
    this.#runs.set(k, [...have, ...fresh].slice(-CHART_POINTS));
  }

  #mark(key: string): void {
    this.#dirty.add(key);
    if (!this.#timer) this.#timer = setTimeout(() => this.#flush(), this.#o.coalesceMs ?? 100);
  }

  #flush(): void {
    this.#timer = undefined;
    this.stats.flushes++;
    const now = this.#o.now();
    for (const key of [...this.#dirty].sort()) {
      this.#dirty.delete(key);
      const seq = ++this.#seq;
      this.#ring.push({ seq, key });
      if (this.#ring.length > RING) this.#ring.splice(0, this.#ring.length - RING);
      const id = `${this.epoch}.${seq}`;
      const ro = this.rollout(key);
      const fleet: HubEvent = ro
        ? { id, key, event: 'row', data: JSON.stringify(fleetRow(ro, now)) }
        : { id, key, event: 'deleted', data: JSON.stringify({ key }) };
      let detail: HubEvent | undefined;
      for (const s of this.#subs) {
        if (s.key === undefined) s.send(fleet);
        else if (s.key === key) {
          detail ??= ro ? { id, key, event: 'rollout', data: JSON.stringify(this.view(key, now)) } : fleet;
          s.send(detail);
        }
        this.stats.events++;
      }
    }
  }

  rollout(key: string): RolloutObject | undefined {
    const i = key.indexOf('/');
    return this.#rollouts.get(key.slice(0, i), key.slice(i + 1));
  }

  rows(now = this.#o.now()): FleetRow[] {
    return this.#rollouts
      .list()
      .map((r) => fleetRow(r, now))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  view(key: string, now = this.#o.now()): RolloutView | undefined {
    const ro = this.rollout(key);
    if (!ro) return undefined;
    const i = key.indexOf('/');
    const svc = this.#services.get(key.slice(0, i), key.slice(i + 1));
    // Chart the rounds of the revision being rolled out (the history spans earlier rollouts too).
    const canary = ro.status?.canaryRevision;
    const runs = (this.#runs.get(key) ?? ro.status?.analysisRuns ?? []).filter((r) => !canary || r.revision === canary);
    return rolloutView(ro, svc, now, runs);
  }

  /**
   * Subscribes and sends what the page is missing: for the fleet, the changes after `lastEventId` when the
   * ring still holds them (same epoch), else a snapshot; for one rollout, its current view.
   */
  subscribe(s: Subscriber, lastEventId: string | undefined): () => void {
    this.#subs.add(s);
    const id = this.lastId;
    const now = this.#o.now();
    if (s.key !== undefined) {
      const v = this.view(s.key, now);
      s.send(
        v
          ? { id, key: s.key, event: 'rollout', data: JSON.stringify(v) }
          : { id, key: s.key, event: 'deleted', data: JSON.stringify({ key: s.key }) },
      );
    } else {
      const after = resumePoint(lastEventId, this.epoch);
      const oldest = this.#ring[0]?.seq ?? this.#seq + 1;
      if (after !== null && after >= oldest - 1 && after <= this.#seq) {
        const keys = new Set(this.#ring.filter((e) => e.seq > after).map((e) => e.key));
        for (const k of [...keys].sort()) {
          const ro = this.rollout(k);
          s.send(
            ro
              ? { id, key: k, event: 'row', data: JSON.stringify(fleetRow(ro, now)) }
              : { id, key: k, event: 'deleted', data: JSON.stringify({ key: k }) },
          );
        }
      } else {
        s.send({ id, event: 'snapshot', data: JSON.stringify(this.rows(now)) });
      }
    }
    return () => this.#subs.delete(s);
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#rollouts.stop();
    this.#services.stop();
    this.#subs.clear();
  }
}

/** The seq of a Last-Event-ID of this epoch; null when absent, malformed or from another process. */
export function resumePoint(lastEventId: string | undefined, epoch: string): number | null {
  if (!lastEventId || lastEventId.length > 64) return null;
  const [e, n] = lastEventId.split('.');
  if (e !== epoch || !n || !/^\d+$/.test(n)) return null;
  return Number(n);
}
