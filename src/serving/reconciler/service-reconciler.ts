// Service → its Configuration and Route (pkg/reconciler/service): create or update both with owner
// references and the labels/annotations Knative propagates, then mirror their status into the Service's
// (ConfigurationsReady, RoutesReady, latest revision names, url, address, traffic, observedGeneration).
import type { KubeObject } from '../../kube/index.js';
import { isConflict, R } from '../../kube/index.js';
import { errorMessage } from '../../util/errors.js';
import { admit } from '../admission.js';
import { getCondition } from '../conditions.js';
import { configurationName, routeName } from '../names.js';
import { isControlledBy } from '../resources/owner-ref.js';
import { makeConfiguration } from '../resources/configuration.js';
import { makeRoute } from '../resources/route.js';
import {
  initializeServiceConditions,
  markConfigurationNotOwned,
  markConfigurationNotReconciled,
  markRouteNotOwned,
  markRouteNotReconciled,
  markRouteNotYetReady,
  propagateConfigurationStatus,
  propagateRouteStatus,
} from '../service-lifecycle.js';
import type { Configuration, Route, Service, ServiceStatus } from '../types.js';
import { asKube, asServing, isAlreadyExists, type ReconcilerContext } from './context.js';
import { jsonEqual, keepTransitionTimes } from './status-diff.js';
import type { ReconcileKey, ReconcileResult } from './work-queue.js';
import type { ResourceRef } from '../../kube/index.js';

type Child = Configuration | Route;

/** The parts of a child the Service owns; anything else (status, server fields) is left alone. */
const owned = (o: Child): unknown => ({
  spec: o.spec,
  labels: o.metadata?.labels ?? {},
  annotations: o.metadata?.annotations ?? {},
  ownerReferences: o.metadata?.ownerReferences ?? [],
});

/**
 * Creates the child, or updates it when what the Service owns differs. The comparison is made after
 * running the same defaulting the API server will, so a defaulted field never looks like a change.
 */
export async function ensureChild(
  ctx: ReconcilerContext,
  kind: 'Configuration' | 'Route',
  ref: ResourceRef,
  existing: KubeObject | undefined,
  desired: Child,
  /** The Service, for its Created / CreationFailed events. */
  owner?: KubeObject,
): Promise<KubeObject> {
  if (!existing) {
    const name = desired.metadata?.name ?? '';
    try {
      const created = await ctx.client.create(ref, asKube(desired));
      if (owner) ctx.recorder.event(owner, R.services, 'Normal', 'Created', `Created ${kind} ${JSON.stringify(name)}`);
      return created;
    } catch (e) {
      if (!isAlreadyExists(e)) {
        if (owner && !isConflict(e))
          ctx.recorder.event(
            owner,
            R.services,
            'Warning',
            'CreationFailed',
            `Failed to create ${kind} ${JSON.stringify(name)}: ${errorMessage(e)}`,
          );
        throw e;
      }
      // The cache had not seen it yet; continue with the stored object.
      existing = await ctx.client.get(ref, desired.metadata?.namespace ?? '', desired.metadata?.name ?? '');
    }
  }
  const cur = asServing<Child>(existing);
  const candidate = {
    ...cur,
    metadata: {
      ...cur.metadata,
      labels: desired.metadata?.labels ?? {},
      annotations: desired.metadata?.annotations ?? {},
      ownerReferences: desired.metadata?.ownerReferences ?? [],
    },
    spec: desired.spec ?? {},
  } as Child;
  const admitted = admit(kind, 'UPDATE', candidate, cur);
  const next = admitted.ok ? (admitted.object as Child) : candidate;
  if (jsonEqual(owned(next), owned(cur))) return existing;
  return ctx.client.update(ref, asKube(next));
}

/** True when a latestRevision target in the Route's status does not yet name the latest ready Revision. */
function trafficNotMigrated(route: Route, cfg: Configuration): boolean {
  const ready = cfg.status?.latestReadyRevisionName;
  if (!ready) return false;
  return (route.status?.traffic ?? []).some((t) => t.latestRevision === true && t.revisionName !== ready);
}

export async function reconcileService(ctx: ReconcilerContext, key: ReconcileKey): Promise<ReconcileResult> {
  const obj = ctx.listers.services.get(key.namespace, key.name);
  if (!obj || obj.metadata.deletionTimestamp) return {};
  const svc = asServing<Service>(obj);
  const now = ctx.clock.now();
  let status: ServiceStatus = initializeServiceConditions(structuredClone(svc.status ?? {}), now);

  const cfgName = configurationName(svc);
  const cfgCached = ctx.listers.configurations.get(key.namespace, cfgName);
  let cfg: Configuration | undefined;
  if (cfgCached && !isControlledBy(asServing<Configuration>(cfgCached), 'Service', svc)) {
    status = markConfigurationNotOwned(status, now, cfgName);
  } else {
    const desired = makeConfiguration(svc, cfgCached ? asServing<Configuration>(cfgCached) : undefined);
    cfg = asServing<Configuration>(await ensureChild(ctx, 'Configuration', R.configurations, cfgCached, desired, obj));
  }

  const rName = routeName(svc);
  const routeCached = ctx.listers.routes.get(key.namespace, rName);
  let route: Route | undefined;
  if (routeCached && !isControlledBy(asServing<Route>(routeCached), 'Service', svc)) {
    status = markRouteNotOwned(status, now, rName);
  } else {
    route = asServing<Route>(await ensureChild(ctx, 'Route', R.routes, routeCached, makeRoute(svc), obj));
  }

  if (cfg) {
    if ((cfg.metadata?.generation ?? 0) !== (cfg.status?.observedGeneration ?? 0))
      status = markConfigurationNotReconciled(status, now);
    else status = propagateConfigurationStatus(status, now, cfg.status);
  }
  if (route) {
    if ((route.metadata?.generation ?? 0) !== (route.status?.observedGeneration ?? 0))
      status = markRouteNotReconciled(status, now);
    else {
      status = propagateRouteStatus(status, now, route.status);
      if (cfg && getCondition(route.status, 'Ready')?.status !== 'False' && trafficNotMigrated(route, cfg))
        status = markRouteNotYetReady(status, now);
    }
  }
  status.observedGeneration = svc.metadata?.generation ?? 0;
  status = keepTransitionTimes(svc.status, status);
  if (!jsonEqual(status, svc.status)) {
    await ctx.client.update(R.services, { ...obj, status }, 'status');
  }
  return {};
}
