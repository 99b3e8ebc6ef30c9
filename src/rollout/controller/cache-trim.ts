// What the rollout controller keeps of each object its informers cache, as client-go's SetTransform and
// controller-runtime's TransformStripManagedFields do: at 10,000 governed Services the caches hold 10,000
// Services, 20,000+ Revisions and 10,000 Rollouts, and most of their bytes were never read.
//
// - every kind: no metadata.managedFields (six entries of nested field sets per object here) and no
//   kubectl.kubernetes.io/last-applied-configuration annotation (a second copy of the whole object);
// - Revision: metadata and status.conditions only (readiness is all the controller reads);
// - Service: no spec.template (it reads spec.traffic, status and metadata);
// - Rollout: whole, but parts equal to ones already held share them: the governing policy's spec and the plan
//   (the same for every Rollout under one policy) and the rendered queries of the run history (the same for
//   every round of one canary). Shared parts are only ever read: statuses are built anew, never edited in place.
import type { KubeObject } from '../../kube/index.js';
import { sameJson } from './status.js';
import type { AnalysisRunRecord, RevisionObject, RolloutObject, ServiceObject } from './types.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function trimMetadata(m: KubeObject['metadata']): KubeObject['metadata'] {
  const annotations = m.annotations;
  if (m.managedFields === undefined && (annotations === undefined || !(LAST_APPLIED in annotations))) return m;
  const { managedFields: _mf, ...rest } = m;
  void _mf;
  if (annotations && LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _la, ...kept } = annotations;
    void _la;
    rest.annotations = kept;
  }
  return rest;
}

export function trimRevision(r: RevisionObject): RevisionObject {
  const out: RevisionObject = { metadata: trimMetadata(r.metadata) };
  if (r.apiVersion !== undefined) out.apiVersion = r.apiVersion;
  if (r.kind !== undefined) out.kind = r.kind;
  const conditions = r.status?.conditions;
  if (conditions) out.status = { conditions };
  return out;
}

export function trimService(s: ServiceObject): ServiceObject {
  const out: ServiceObject = { ...s, metadata: trimMetadata(s.metadata) };
  if (s.spec) {
    const { template: _t, ...spec } = s.spec;
    void _t;
    out.spec = spec;
  }
  return out;
}

/**
 * Shares equal parts of Rollouts. One per controller: it remembers, per policy, the last governing spec and plan
 * it saw (a few objects per policy, not per Rollout).
 */
export class RolloutSharing {
  readonly #byPolicy = new Map<string, { spec?: unknown; plan?: unknown }>();

  /** Hands these objects out as the ones to share: the controller's own parsed policy spec and plan summary. */
  offer(policy: string, spec: unknown, plan: unknown): void {
    this.#byPolicy.set(policy, { spec, plan });
  }

  transform = (ro: RolloutObject, old: RolloutObject | undefined): RolloutObject => {
    const st = ro.status;
    if (!st) return { ...ro, metadata: trimMetadata(ro.metadata) };
    const status = { ...st };
    const key = st.policy ?? '';
    let known = this.#byPolicy.get(key);
    if (!known) this.#byPolicy.set(key, (known = {}));
    if (status.governingPolicy) {
      const g = status.governingPolicy;
      if (known.spec !== undefined && sameJson(known.spec, g.spec))
        status.governingPolicy = { ...g, spec: known.spec as typeof g.spec };
      else known.spec = g.spec;
    }
    if (status.plan) {
      if (known.plan !== undefined && sameJson(known.plan, status.plan)) status.plan = known.plan as typeof status.plan;
      else known.plan = status.plan;
    }
    if (status.analysisRuns) status.analysisRuns = shareQueries(status.analysisRuns, old?.status?.analysisRuns);
    return { ...ro, metadata: trimMetadata(ro.metadata), status };
  };
}

/** The run history with each rendered query replaced by an equal one already held (the newest first). */
export function shareQueries(
  runs: AnalysisRunRecord[],
  oldRuns: readonly AnalysisRunRecord[] | undefined,
): AnalysisRunRecord[] {
  const held = new Map<string, string>();
  const remember = (r: AnalysisRunRecord): void => {
    for (const m of r.metrics) if (m.query !== undefined && !held.has(m.metric)) held.set(m.metric, m.query);
  };
  for (let i = (oldRuns?.length ?? 0) - 1; i >= 0; i--) remember((oldRuns as AnalysisRunRecord[])[i]);
  return runs.map((r) => {
    let changed = false;
    const metrics = r.metrics.map((m) => {
      const q = m.query;
      if (q === undefined) return m;
      const h = held.get(m.metric);
      if (h === undefined) {
        held.set(m.metric, q);
        return m;
      }
      if (h === q) {
        changed = true;
        return { ...m, query: h };
      }
      return m;
    });
    return changed ? { ...r, metrics } : r;
  });
}
