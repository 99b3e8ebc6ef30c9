// Pure readings of Knative objects into the machine's observations: revision readiness, which revision to
// pin when a Service becomes governed, and what traffic the Route actually serves. No I/O.
import type { Readiness, TrafficTarget } from '../machine/types.js';
import type { Condition, KnativeTrafficTarget, RevisionObject, ServiceObject } from './types.js';

function condition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return (conds ?? []).find((c) => c.type === type);
}

/** Ready=True → ready, Ready=False → failed (Knative's terminal failure), otherwise notReady; absent → missing. */
export function revisionReadiness(rev: RevisionObject | undefined): Readiness {
  if (!rev) return 'missing';
  const ready = condition(rev.status?.conditions, 'Ready');
  if (ready?.status === 'True') return 'ready';
  if (ready?.status === 'False') return 'failed';
  return 'notReady';
}

/** Knative's traffic block into the machine's form; targets without a revision name are dropped. */
export function normalizeTraffic(list: readonly KnativeTrafficTarget[] | undefined): TrafficTarget[] {
  const out: TrafficTarget[] = [];
  for (const t of list ?? []) {
    if (!t.revisionName) continue;
    const n: TrafficTarget = { revisionName: t.revisionName, percent: t.percent ?? 0 };
    if (t.tag) n.tag = t.tag;
    out.push(n);
  }
  return out;
}

/** Order-insensitive equality on (revision, tag, percent). */
export function sameTargets(a: readonly TrafficTarget[], b: readonly TrafficTarget[]): boolean {
  const key = (t: TrafficTarget): string => `${t.revisionName}\u0000${t.tag ?? ''}\u0000${t.percent}`;
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/**
 * Whether `spec.traffic` is exactly the pinned list: names revisions only (no `latestRevision: true`, no
 * configuration targets) and equals `want`.
 */
export function specTrafficIs(svc: ServiceObject, want: readonly TrafficTarget[]): boolean {
  const spec = svc.spec?.traffic;
  if (!spec) return false;
  if (spec.some((t) => t.latestRevision === true || !t.revisionName || t.configurationName)) return false;
  return sameTargets(normalizeTraffic(spec), want);
}

/**
 * The revision to pin when a Service first becomes governed: the one serving the most traffic by
 * `status.traffic` (what the Route serves, ties to the first listed), else `latestReadyRevisionName`.
 * null: nothing is ready yet; wait.
 */
export function pickStable(svc: ServiceObject): string | null {
  let best: { rev: string; pct: number } | null = null;
  for (const t of svc.status?.traffic ?? []) {
    const pct = t.percent ?? 0;
    if (t.revisionName && pct > 0 && (!best || pct > best.pct)) best = { rev: t.revisionName, pct };
  }
  return best?.rev ?? svc.status?.latestReadyRevisionName ?? null;
}

/**
 * The traffic the Route serves, for the machine's "applied" check (Promoting and RollingBack finish once it
 * matches). undefined when it cannot be known: no status.traffic written yet (no Route reconciler), or the
 * reconciler saw the current spec and rejected it (Ready=False at observedGeneration == generation, e.g. a
 * target names a failed revision) — then waiting for a match would never end, so the write counts as applied.
 * A stale status (observedGeneration < generation) is returned as is: the rollout waits for the Route.
 */
export function observedTraffic(svc: ServiceObject): TrafficTarget[] | undefined {
  const st = svc.status;
  if (!st?.traffic) return undefined;
  const gen = svc.metadata.generation;
  const current = gen === undefined || (st.observedGeneration ?? 0) >= gen;
  if (current) {
    const routes = condition(st.conditions, 'RoutesReady') ?? condition(st.conditions, 'Ready');
    if (routes?.status === 'False') return undefined;
  }
  return normalizeTraffic(st.traffic);
}

/** Whether `labels` carries every pair of `matchLabels`. */
export function matchesLabels(
  labels: Record<string, string> | undefined,
  matchLabels: Record<string, string>,
): boolean {
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);
}
