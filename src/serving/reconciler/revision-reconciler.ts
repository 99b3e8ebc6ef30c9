// Revision → the data plane (pkg/reconciler/revision plus the autoscaler's status): run the Revision's
// processes, then record what was observed — Ready, ContainerHealthy, ResourcesAvailable, Active,
// actual/desiredReplicas — and the routing state (active while a Route's traffic names it, reserve after).
// A Revision that is gone from the API is removed from the data plane.
import type { KubeObject } from '../../kube/index.js';
import { R } from '../../kube/index.js';
import { errorMessage } from '../../util/errors.js';
import { LABEL_CONFIGURATION, LABEL_ROUTING_STATE, type RoutingState } from '../keys.js';
import { setRoutingState } from '../resources/revision.js';
import type { Configuration, Revision, Route } from '../types.js';
import { asServing, inNamespace, type Listers, type ReconcilerContext } from './context.js';
import type { DataPlane, DataPlaneRevisionStatus } from './data-plane.js';
import { getCondition } from '../conditions.js';
import { revisionStatusFromObservation } from './revision-status.js';
import { jsonEqual, keepTransitionTimes } from './status-diff.js';
import type { ReconcileKey, ReconcileResult } from './work-queue.js';

export interface RevisionDeps<Spec> {
  dataPlane: DataPlane<Spec>;
  /**
   * A stored Revision → what the data plane runs (runtime's revisionSpecFromKnative). `listers` gives the
   * knative-serving ConfigMaps (config-autoscaler) the spec may depend on.
   */
  toRunSpec: (revision: KubeObject, listers: Listers) => Spec;
}

/**
 * Routes of the namespace that route to the Revision: their status.traffic names it, or their spec follows
 * its Configuration and it is that Configuration's latest created or ready Revision (about to be routed).
 */
export function routesReferencing(
  routes: readonly KubeObject[],
  revision: Revision,
  configuration: Configuration | undefined,
): string[] {
  const name = revision.metadata?.name ?? '';
  const cfgName = configuration?.metadata?.name;
  const latest =
    cfgName !== undefined &&
    (configuration?.status?.latestCreatedRevisionName === name ||
      configuration?.status?.latestReadyRevisionName === name);
  return routes
    .filter((r) => {
      const route = asServing<Route>(r);
      if ((route.status?.traffic ?? []).some((t) => t.revisionName === name)) return true;
      return (
        latest &&
        (route.spec?.traffic ?? []).some(
          (t) => !t.revisionName && t.configurationName === cfgName && (t.percent ?? 0) > 0,
        )
      );
    })
    .map((r) => r.metadata.name ?? '')
    .sort();
}

/** active while routed; an active Revision that loses its traffic becomes reserve; otherwise unchanged. */
export function nextRoutingState(current: string | undefined, routed: boolean): RoutingState {
  if (routed) return 'active';
  if (current === 'active' || current === 'reserve') return 'reserve';
  return 'pending';
}

export async function reconcileRevision<Spec>(
  ctx: ReconcilerContext,
  deps: RevisionDeps<Spec>,
  key: ReconcileKey,
): Promise<ReconcileResult> {
  let obj = ctx.listers.revisions.get(key.namespace, key.name);
  if (!obj || obj.metadata.deletionTimestamp) {
    await deps.dataPlane.removeRevision(key.namespace, key.name);
    return {};
  }
  let observed: DataPlaneRevisionStatus;
  try {
    observed = deps.dataPlane.upsertRevision(deps.toRunSpec(obj, ctx.listers));
  } catch (e) {
    // A spec the data plane cannot run is a property of the (immutable) Revision: report it, do not retry.
    observed = {
      namespace: key.namespace,
      name: key.name,
      ready: 'False',
      reason: 'InvalidSpec',
      message: errorMessage(e),
      active: false,
      actualReplicas: 0,
      desiredReplicas: 0,
    };
  }
  const now = ctx.clock.now();

  const rev = asServing<Revision>(obj);
  const cfgName = rev.metadata?.labels?.[LABEL_CONFIGURATION];
  const cfgObj = cfgName ? ctx.listers.configurations.get(key.namespace, cfgName) : undefined;
  const routed =
    routesReferencing(
      inNamespace(ctx.listers.routes, key.namespace),
      rev,
      cfgObj ? asServing<Configuration>(cfgObj) : undefined,
    ).length > 0;
  const state = nextRoutingState(rev.metadata?.labels?.[LABEL_ROUTING_STATE], routed);
  const relabelled = setRoutingState(rev, state, now);
  if (relabelled !== rev) {
    obj = await ctx.client.patch(
      R.revisions,
      key.namespace,
      key.name,
      {
        metadata: {
          resourceVersion: obj.metadata.resourceVersion,
          labels: relabelled.metadata?.labels ?? {},
          annotations: relabelled.metadata?.annotations ?? {},
        },
      },
      'merge',
    );
  }

  const prev = asServing<Revision>(obj).status;
  const status = keepTransitionTimes(
    prev,
    revisionStatusFromObservation(prev, now, observed, obj.metadata.generation ?? 0),
  );
  if (!jsonEqual(status, prev)) {
    await ctx.client.update(R.revisions, { ...obj, status }, 'status');
    const wasReady = getCondition(prev, 'Ready')?.status === 'True';
    if (!wasReady && getCondition(status, 'Ready')?.status === 'True')
      ctx.recorder.event(
        obj,
        R.revisions,
        'Normal',
        'RevisionReady',
        'Revision becomes ready upon all resources being ready',
      );
  }
  return {};
}
