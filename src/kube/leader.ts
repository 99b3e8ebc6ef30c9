// Lease-based leader election (coordination.k8s.io/v1), as client-go's leaderelection does: one holder
// renews the Lease; anyone may take it once renewTime + leaseDurationSeconds has passed.
import type { KubeClient, KubeObject } from './client.js';
import { isConflict, isNotFound } from './errors.js';
import { R } from './resources.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseObject extends KubeObject {
  spec?: LeaseSpec;
}

export type LeaseDecision =
  | { action: 'create' | 'renew' | 'takeover'; spec: LeaseSpec }
  | { action: 'wait'; holder: string; expiresAtMs: number };

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Pure: what to do with the lease as it stands at `nowMs`. */
export function decideLease(
  lease: LeaseSpec | undefined,
  identity: string,
  durationSec: number,
  nowMs: number,
): LeaseDecision {
  const now = microTime(nowMs);
  if (!lease)
    return {
      action: 'create',
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSec,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      },
    };
  if (lease.holderIdentity === identity)
    return { action: 'renew', spec: { ...lease, leaseDurationSeconds: durationSec, renewTime: now } };
  const renewed = lease.renewTime ? Date.parse(lease.renewTime) : 0;
  const expires = renewed + (lease.leaseDurationSeconds ?? durationSec) * 1000;
  if (!lease.holderIdentity || nowMs > expires) {
    return {
      action: 'takeover',
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSec,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: (lease.leaseTransitions ?? 0) + 1,
      },
    };
  }
  return { action: 'wait', holder: lease.holderIdentity, expiresAtMs: expires };
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSec?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  /** Written on the Lease while this identity holds it (e.g. where the leader can be reached). */
  annotations?: Record<string, string>;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export class LeaderElector {
  #c: KubeClient;
  #o: LeaderElectionOptions;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastRenewMs = 0;

  constructor(client: KubeClient, o: LeaderElectionOptions) {
    this.#c = client;
    this.#o = o;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#leading) {
      this.#leading = false;
      this.#o.onStoppedLeading();
    }
  }

  /** One attempt to acquire or renew; returns whether this identity leads afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const clock = this.#o.clock ?? systemClock;
    const dur = this.#o.leaseDurationSec ?? 15;
    let cur: LeaseObject | undefined;
    try {
      cur = await this.#c.get<LeaseObject>(R.leases, this.#o.namespace, this.#o.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const d = decideLease(cur?.spec, this.#o.identity, dur, clock.now());
    if (d.action === 'wait') return false;
    try {
      if (d.action === 'create') {
        await this.#c.create<LeaseObject>(R.leases, {
          metadata: {
            name: this.#o.name,
            namespace: this.#o.namespace,
            ...(this.#o.annotations ? { annotations: this.#o.annotations } : {}),
          },
          spec: d.spec,
        });
      } else {
        const metadata = this.#o.annotations
          ? { ...cur!.metadata, annotations: { ...cur!.metadata.annotations, ...this.#o.annotations } }
          : cur!.metadata;
        await this.#c.update<LeaseObject>(R.leases, { ...cur!, metadata, spec: d.spec });
      }
      this.#lastRenewMs = clock.now();
      return true;
    } catch (e) {
      // Somebody else wrote first: not ours this round.
      if (isConflict(e) || (e as { isAlreadyExists?: boolean }).isAlreadyExists) return false;
      throw e;
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const clock = this.#o.clock ?? systemClock;
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenewSafe();
    } catch {
      ok = false;
    }
    const dur = (this.#o.leaseDurationSec ?? 15) * 1000;
    if (ok && !this.#leading) {
      this.#leading = true;
      this.#o.onStartedLeading();
    }
    // A leader that cannot renew steps down before its lease can be taken, so two never act at once.
    if (!ok && this.#leading && clock.now() - this.#lastRenewMs > (dur * 2) / 3) {
      this.#leading = false;
      this.#o.onStoppedLeading();
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), this.#o.retryPeriodMs ?? 2_000);
  }

  async #tryAcquireOrRenewSafe(): Promise<boolean> {
    return this.tryAcquireOrRenew();
  }
}
