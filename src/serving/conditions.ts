// knative/pkg's living condition sets: a happy condition (Ready) summarising terminal dependents. Managers
// work on a copy of the conditions; `now` (ms since epoch) stamps lastTransitionTime on real transitions only,
// so re-applying the same mark is a no-op and reconcilers stay idempotent.

import type { Condition, Status } from './types.js';

type CondStatus = Condition['status'];

/** metav1.Time's JSON form: RFC 3339 in UTC, whole seconds. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const sameCondition = (a: Condition, b: Condition): boolean =>
  a.type === b.type &&
  a.status === b.status &&
  (a.severity ?? '') === (b.severity ?? '') &&
  (a.reason ?? '') === (b.reason ?? '') &&
  (a.message ?? '') === (b.message ?? '');

export class ConditionSet {
  readonly happy: string;
  readonly dependents: readonly string[];

  constructor(happy: string, dependents: readonly string[]) {
    this.happy = happy;
    this.dependents = [...new Set(dependents.filter((d) => d !== happy))];
  }

  static living(...dependents: string[]): ConditionSet {
    return new ConditionSet('Ready', dependents);
  }

  manage(conditions: readonly Condition[] | undefined, now: number): ConditionManager {
    return new ConditionManager(this, conditions ?? [], now);
  }

  isTerminal(type: string): boolean {
    return type === this.happy || this.dependents.includes(type);
  }
}

export class ConditionManager {
  readonly #set: ConditionSet;
  readonly #now: string;
  #conditions: Condition[];

  constructor(set: ConditionSet, conditions: readonly Condition[], now: number) {
    this.#set = set;
    this.#now = formatTime(now);
    this.#conditions = conditions.map((c) => ({ ...c }));
  }

  get conditions(): Condition[] {
    return this.#conditions.map((c) => ({ ...c }));
  }

  get(type: string): Condition | undefined {
    const c = this.#conditions.find((x) => x.type === type);
    return c ? { ...c } : undefined;
  }

  isHappy(): boolean {
    return this.get(this.#set.happy)?.status === 'True';
  }

  #severity(type: string): Condition['severity'] {
    return this.#set.isTerminal(type) ? undefined : 'Info';
  }

  set(cond: Condition): void {
    const c: Condition = { type: cond.type, status: cond.status };
    if (cond.severity) c.severity = cond.severity;
    if (cond.reason) c.reason = cond.reason;
    if (cond.message) c.message = cond.message;
    const rest = this.#conditions.filter((x) => x.type !== c.type);
    const prev = this.#conditions.find((x) => x.type === c.type);
    if (prev && sameCondition(prev, c)) return;
    c.lastTransitionTime = this.#now;
    // Conditions are kept sorted by type, as knative/pkg stores them.
    this.#conditions = [...rest, c].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }

  #mark(type: string, status: CondStatus, reason = '', message = ''): void {
    this.set({ type, status, severity: this.#severity(type), reason, message });
  }

  clear(type: string): void {
    if (this.#set.isTerminal(type)) throw new Error('clearing terminal conditions not implemented');
    this.#conditions = this.#conditions.filter((c) => c.type !== type);
  }

  markTrue(type: string): void {
    this.#mark(type, 'True');
    this.#recomputeHappiness(type);
  }

  markTrueWithReason(type: string, reason: string, message: string): void {
    this.#mark(type, 'True', reason, message);
    this.#recomputeHappiness(type);
  }

  markUnknown(type: string, reason: string, message: string): void {
    this.#mark(type, 'Unknown', reason, message);
    let isDependent = false;
    for (const d of this.#set.dependents) {
      if (this.get(d)?.status === 'False') {
        // A failed dependent keeps Ready False; only its reason text follows the latest mark.
        if (this.get(this.#set.happy)?.status !== 'False') this.markFalse(this.#set.happy, reason, message);
        return;
      }
      if (d === type) isDependent = true;
    }
    if (isDependent) this.#mark(this.#set.happy, 'Unknown', reason, message);
  }

  markFalse(type: string, reason: string, message: string): void {
    this.#mark(type, 'False', reason, message);
    if (this.#set.dependents.includes(type)) this.#mark(this.#set.happy, 'False', reason, message);
  }

  initialize(): void {
    let happy = this.get(this.#set.happy);
    if (!happy) {
      this.set({ type: this.#set.happy, status: 'Unknown' });
      happy = this.get(this.#set.happy);
    }
    const status: CondStatus = happy?.status === 'True' ? 'True' : 'Unknown';
    for (const d of this.#set.dependents) if (!this.get(d)) this.set({ type: d, status });
  }

  #recomputeHappiness(type: string): void {
    const unhappy = this.#findUnhappyDependent();
    if (unhappy) {
      this.#mark(this.#set.happy, unhappy.status, unhappy.reason ?? '', unhappy.message ?? '');
    } else if (type !== this.#set.happy) {
      this.#mark(this.#set.happy, 'True');
    }
  }

  #findUnhappyDependent(): Condition | undefined {
    if (this.#set.dependents.length === 0) return undefined;
    const terminal = this.#conditions
      .filter((c) => !c.severity && c.type !== this.#set.happy)
      .map((c, i) => ({ c, i }))
      // Most recent transition first; ties keep type order.
      .sort((a, b) => {
        const ta = a.c.lastTransitionTime ?? '';
        const tb = b.c.lastTransitionTime ?? '';
        return ta === tb ? a.i - b.i : ta < tb ? 1 : -1;
      })
      .map((x) => x.c);
    const failed = terminal.find((c) => c.status === 'False');
    if (failed) return failed;
    const unknown = terminal.find((c) => c.status === 'Unknown');
    if (unknown) return unknown;
    if (this.#set.dependents.length > terminal.length) return { type: '', status: 'Unknown' };
    return undefined;
  }
}

/** Applies `fn` to a manager over `status.conditions` and returns a new status with the result. */
export function withConditions<S extends Status>(
  set: ConditionSet,
  status: S | undefined,
  now: number,
  fn: (m: ConditionManager) => void,
): S {
  const m = set.manage(status?.conditions, now);
  fn(m);
  return { ...(status ?? ({} as S)), conditions: m.conditions };
}

export function getCondition(status: Status | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export const isConditionTrue = (status: Status | undefined, type: string): boolean =>
  getCondition(status, type)?.status === 'True';
export const isConditionFalse = (status: Status | undefined, type: string): boolean =>
  getCondition(status, type)?.status === 'False';
