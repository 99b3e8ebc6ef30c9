// Gradual rollout (serving.knative.dev/rollout-duration), after pkg/reconciler/route/traffic/rollout.go.
// A rollout is a value stored as JSON in the Ingress annotation networking.internal.knative.dev/rollout.
// Every function here is pure: inputs are copied, never changed. Times are Unix nanoseconds held in JS
// numbers; differences stay exact while values are below 2^53 (about 104 days past the epoch in ns), and
// beyond that rounding matches Go's own float64 arithmetic in computeProperties.

import type { ConfigurationRollout, RevisionRollout, Rollout, RolloutParams } from './types.js';

const clone = <T>(v: T): T => structuredClone(v);
const NS_PER_SECOND = 1e9;

/** The configurations of one tag ("" for the main host), in sorted order. */
export function rolloutsByTag(ro: Rollout | undefined, tag: string): ConfigurationRollout[] {
  return (ro?.configurations ?? []).filter((c) => (c.tag ?? '') === tag);
}

/** A configuration is done when at most one revision carries its traffic. */
export const configurationDone = (c: ConfigurationRollout): boolean => (c.revisions?.length ?? 0) < 2;

export const rolloutDone = (ro: Rollout | undefined): boolean => (ro?.configurations ?? []).every(configurationDone);

/** Structural sanity of an annotation read back from an Ingress. */
export function validateRollout(ro: Rollout): boolean {
  for (const c of ro.configurations ?? []) {
    if (c.percent > 100) return false;
    const size = c.stepParams?.stepSize ?? 0;
    if (size < 0 || size > c.percent) return false;
    const total = (c.revisions ?? []).reduce((s, r) => s + r.percent, 0);
    if (total !== c.percent) return false;
  }
  return true;
}

export function sortRollout(ro: Rollout): Rollout {
  const cfgs = [...(ro.configurations ?? [])].sort((a, b) => {
    const ta = a.tag ?? '';
    const tb = b.tag ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a.configurationName < b.configurationName ? -1 : a.configurationName > b.configurationName ? 1 : 0;
  });
  return { ...ro, configurations: cfgs };
}

/**
 * Derives the step cadence from how long the first 1% took to become ready (`minStepSec`).
 * Worked example: 120s duration, ready after 2.4s → minStep 3s, 117s left, 39 steps; 99% to move →
 * stepSize round(99/39)=3, one step every 117/39 = 3s.
 */
export function computeProperties(
  c: ConfigurationRollout,
  nowNs: number,
  minStepSec: number,
  durationSecs: number,
): ConfigurationRollout {
  const duration = Math.max(1, durationSecs - minStepSec);
  let numSteps = Math.max(1, duration / minStepSec);
  const remPercent = c.percent - 1;
  if (remPercent < numSteps) numSteps = remPercent;
  const stepSize = goRound(remPercent / numSteps);
  const stepDuration = (duration / numSteps) * NS_PER_SECOND;
  return {
    ...c,
    stepParams: {
      ...c.stepParams,
      stepDuration: Math.trunc(stepDuration),
      stepSize: Math.trunc(stepSize),
      nextStepTime: Math.trunc(nowNs + stepDuration),
    },
  };
}

/** Go's math.Round: half away from zero. */
const goRound = (x: number): number => (x < 0 ? -Math.round(-x) : Math.round(x));

/** The parameters computeProperties would use, for reporting. */
export function stepParamsFor(
  readyAfterNs: number,
  durationSecs: number,
  percent: number,
): {
  minStepSeconds: number;
  effectiveDurationSeconds: number;
  numSteps: number;
  stepSize: number;
  stepDurationNs: number;
} {
  const minStepSeconds = Math.max(1, Math.ceil(readyAfterNs / NS_PER_SECOND));
  const effectiveDurationSeconds = Math.max(1, durationSecs - minStepSeconds);
  let numSteps = Math.max(1, effectiveDurationSeconds / minStepSeconds);
  if (percent - 1 < numSteps) numSteps = percent - 1;
  return {
    minStepSeconds,
    effectiveDurationSeconds,
    numSteps,
    stepSize: goRound((percent - 1) / numSteps),
    stepDurationNs: Math.trunc((effectiveDurationSeconds / numSteps) * NS_PER_SECOND),
  };
}

/**
 * Called when the Ingress first reports ready during a rollout: the time since the rollout started is the
 * smallest step we can take, and fixes the cadence of every later step. Configurations that already
 * have a cadence, or no start time, are unchanged.
 */
export function observeReady(ro: Rollout, nowNs: number, durationSecs: number): Rollout {
  return {
    ...ro,
    configurations: (ro.configurations ?? []).map((c) => {
      const sp = c.stepParams ?? {};
      if ((sp.stepDuration ?? 0) !== 0 || (sp.starttime ?? 0) <= 0) return clone(c);
      const minStepSec = Math.max(1, Math.ceil((nowNs - (sp.starttime ?? 0)) / NS_PER_SECOND));
      return computeProperties(clone(c), nowNs, minStepSec, durationSecs);
    }),
  };
}

/** Moves `stepSize` percent from the oldest revisions to the newest once `nextStepTime` has come. */
export function stepRevisions(goal: ConfigurationRollout, nowNs: number): ConfigurationRollout {
  const g = clone(goal);
  const revs = g.revisions ?? [];
  const sp = g.stepParams ?? {};
  if (nowNs < (sp.nextStepTime ?? 0) || revs.length < 2) return g;
  const size = sp.stepSize ?? 0;
  const newest = revs[revs.length - 1] as RevisionRollout;
  let remaining = size;
  let writePos = revs.length - 1;
  let readPos = revs.length - 2;
  // Drain older revisions from the newest-but-one backwards; a fully drained revision is dropped.
  while (remaining > 0 && readPos >= 0) {
    const r = revs[readPos] as RevisionRollout;
    if (r.percent > remaining) {
      r.percent -= remaining;
      break;
    }
    remaining -= r.percent;
    writePos--;
    readPos--;
  }
  const moved: RevisionRollout = { ...newest, percent: Math.min(newest.percent + size, g.percent) };
  const out = [...revs.slice(0, writePos), moved];
  g.revisions = out;
  g.stepParams = out.length > 1 ? { ...sp, nextStepTime: nowNs + (sp.stepDuration ?? 0) } : {};
  return g;
}

/**
 * Re-bases the previous state on a new configuration percentage, in place: growth goes to the newest
 * revision, a cut is taken from the oldest first (dropping revisions it empties), 0% drops them all.
 */
export function adjustPercentage(goal: number, cr: ConfigurationRollout): void {
  const revs = cr.revisions ?? [];
  const diff = goal - cr.percent;
  if (goal === 0) {
    cr.revisions = [];
  } else if (diff > 0) {
    const last = revs[revs.length - 1];
    if (last) last.percent += diff;
  } else if (diff < 0) {
    let d = -diff;
    let i = 0;
    while (d > 0 && i < revs.length) {
      const r = revs[i] as RevisionRollout;
      if (r.percent > d) {
        r.percent -= d;
        break;
      }
      d -= r.percent;
      i++;
    }
    cr.revisions = revs.slice(i);
  }
}

function stepConfig(goal: ConfigurationRollout, prevIn: ConfigurationRollout, nowNs: number): ConfigurationRollout {
  const prev = clone(prevIn);
  const prevRevs = prev.revisions ?? [];
  const prevNewest = prevRevs[prevRevs.length - 1]?.revisionName;
  const ret: ConfigurationRollout = {
    configurationName: goal.configurationName,
    percent: goal.percent,
    revisions: clone(goal.revisions ?? []),
    stepParams: {},
  };
  if (goal.tag) ret.tag = goal.tag;
  if (prevRevs.length > 0) adjustPercentage(goal.percent, prev);
  const adjusted = prev.revisions ?? [];
  const goalRev = goal.revisions?.[0];
  if (adjusted.length === 0 || goalRev?.revisionName === prevNewest) {
    // Same newest revision as before: keep rolling (or stay done); timing carries over.
    if (adjusted.length > 1) {
      ret.revisions = adjusted;
      ret.stepParams = { ...(prev.stepParams ?? {}) };
      if ((ret.stepParams.stepSize ?? 0) > 0) return stepRevisions(ret, nowNs);
    }
    return ret;
  }
  // A new revision starts at 1%, taken from the newest previous revision that still has traffic.
  ret.stepParams = { starttime: nowNs };
  for (let i = adjusted.length - 1; i >= 0; i--) {
    const r = adjusted[i] as RevisionRollout;
    if (r.percent > 0) {
      r.percent--;
      break;
    }
  }
  ret.revisions = [
    ...adjusted.filter((r) => r.percent !== 0),
    { revisionName: goalRev?.revisionName ?? '', percent: 1 },
  ];
  return ret;
}

/**
 * Advances `prev` (the stored rollout) towards `cur` (the rollout the route's spec asks for now).
 * Returns the effective rollout and the earliest next step time (0 when nothing is scheduled).
 */
export function step(
  cur: Rollout,
  prev: Rollout | undefined,
  nowNs: number,
): { rollout: Rollout; nextStepTimeNs: number } {
  if (!prev || (prev.configurations?.length ?? 0) === 0) return { rollout: clone(cur), nextStepTimeNs: 0 };
  const group = (ro: Rollout): Map<string, ConfigurationRollout[]> => {
    const m = new Map<string, ConfigurationRollout[]>();
    for (const c of ro.configurations ?? []) {
      const t = c.tag ?? '';
      m.set(t, [...(m.get(t) ?? []), c]);
    }
    return m;
  };
  const currByTag = group(cur);
  const prevByTag = group(prev);
  const out: ConfigurationRollout[] = [];
  let next = Number.POSITIVE_INFINITY;
  for (const [tag, ccfgs] of currByTag) {
    const pcfgs = prevByTag.get(tag);
    if (!pcfgs) {
      // Knative carries over only the first configuration of a tag that had no previous rollout.
      out.push(clone(ccfgs[0] as ConfigurationRollout));
      continue;
    }
    let i = 0;
    let j = 0;
    while (i < ccfgs.length) {
      const c = ccfgs[i] as ConfigurationRollout;
      const p = pcfgs[j];
      if (!p) {
        out.push(clone(c));
        i++;
      } else if (c.configurationName === p.configurationName) {
        if (c.percent > 1) {
          const sc = stepConfig(c, p, nowNs);
          out.push(sc);
          const nst = sc.stepParams.nextStepTime ?? 0;
          if (nst > 0 && nst < next) next = nst;
        } else if (c.percent === 1) {
          out.push(clone(c));
        }
        i++;
        j++;
      } else if (c.configurationName < p.configurationName) {
        if (c.percent !== 0) out.push(clone(c));
        i++;
      } else {
        j++;
      }
    }
  }
  return { rollout: sortRollout({ configurations: out }), nextStepTimeNs: Number.isFinite(next) ? next : 0 };
}

/** The annotation's JSON with Go's omitempty rules (zero times, empty tag and empty revisions omitted). */
export function rolloutToJSON(ro: Rollout): Record<string, unknown> {
  const cfgs = (ro.configurations ?? []).map((c) => {
    const o: Record<string, unknown> = { configurationName: c.configurationName };
    if (c.tag) o['tag'] = c.tag;
    o['percent'] = c.percent;
    if ((c.revisions?.length ?? 0) > 0)
      o['revisions'] = c.revisions?.map((r) => ({ revisionName: r.revisionName, percent: r.percent }));
    const sp: Record<string, number> = {};
    const p: RolloutParams = c.stepParams ?? {};
    if (p.starttime) sp['starttime'] = p.starttime;
    if (p.nextStepTime) sp['nextStepTime'] = p.nextStepTime;
    if (p.stepDuration) sp['stepDuration'] = p.stepDuration;
    if (p.stepSize) sp['stepSize'] = p.stepSize;
    o['stepParams'] = sp;
    return o;
  });
  return cfgs.length > 0 ? { configurations: cfgs } : {};
}

export const serializeRollout = (ro: Rollout): string => JSON.stringify(rolloutToJSON(ro));

/** Reads an annotation; malformed or inconsistent JSON yields undefined (start afresh), as Knative does. */
export function parseRollout(v: unknown): Rollout | undefined {
  let raw: unknown = v;
  if (typeof v === 'string') {
    if (v === '') return undefined;
    try {
      raw = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const cfgs = (raw as { configurations?: unknown }).configurations;
  if (cfgs !== undefined && !Array.isArray(cfgs)) return undefined;
  const ro: Rollout = {
    configurations: ((cfgs ?? []) as Record<string, unknown>[]).map((c) => {
      const sp = (c['stepParams'] ?? {}) as Record<string, unknown>;
      const num = (x: unknown): number => (typeof x === 'number' ? x : 0);
      const cr: ConfigurationRollout = {
        configurationName: String(c['configurationName'] ?? ''),
        percent: num(c['percent']),
        revisions: (Array.isArray(c['revisions']) ? (c['revisions'] as Record<string, unknown>[]) : []).map((r) => ({
          revisionName: String(r['revisionName'] ?? ''),
          percent: num(r['percent']),
        })),
        stepParams: {},
      };
      if (typeof c['tag'] === 'string' && c['tag'] !== '') cr.tag = c['tag'];
      for (const k of ['starttime', 'nextStepTime', 'stepDuration', 'stepSize'] as const)
        if (num(sp[k]) !== 0) cr.stepParams[k] = num(sp[k]);
      return cr;
    }),
  };
  return validateRollout(ro) ? ro : undefined;
}
