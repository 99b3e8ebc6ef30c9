// Route → status (traffic, url, address, AllTrafficAssigned, IngressReady, CertificateProvisioned) and the
// data plane's routing table (pkg/reconciler/route). The decisions are serving's reconcileRoute; this file
// reads the caches, keeps the programmed ingress per Route (there is no Ingress object in embedded mode),
// programs the router with every Route's entry, writes the status once, and asks to be called back for
// the next step of a rollout-duration gradual rollout.
import { R } from '../../kube/index.js';
import { reconcileRoute as computeRoute } from '../route-reconcile.js';
import type { Configuration, Revision, Route } from '../types.js';
import { asServing, inNamespace, type ReconcilerContext } from './context.js';
import type { DataPlane, DataPlaneRoute, DataPlaneRouteTable } from './data-plane.js';
import { CONFIG_DOMAIN, CONFIG_NETWORK, networkConfigFromData, SYSTEM_NAMESPACE } from './network-config.js';
import { dataPlaneRoute } from './route-table.js';
import { jsonEqual, keepTransitionTimes } from './status-diff.js';
import { encodeKey, type ReconcileKey, type ReconcileResult } from './work-queue.js';

/**
 * The embedded ingress: what each Route programmed, and the serialized gradual rollout it is in (the
 * value Knative keeps in the Ingress's networking.internal.knative.dev/rollout annotation). In memory:
 * after a restart a rollout in progress completes at once.
 */
export class IngressTable {
  #routes = new Map<string, DataPlaneRoute>();
  #rollouts = new Map<string, string>();

  rollout(key: ReconcileKey): string | undefined {
    return this.#rollouts.get(encodeKey(key));
  }

  /** Records a Route's programming; true when the routing table changed. */
  set(key: ReconcileKey, route: DataPlaneRoute, rollout: string): boolean {
    const k = encodeKey(key);
    this.#rollouts.set(k, rollout);
    if (jsonEqual(this.#routes.get(k), route)) return false;
    this.#routes.set(k, route);
    return true;
  }

  delete(key: ReconcileKey): boolean {
    const k = encodeKey(key);
    this.#rollouts.delete(k);
    return this.#routes.delete(k);
  }

  /** Every Route, sorted by namespace/name so the table is deterministic. */
  table(): DataPlaneRouteTable {
    return { routes: [...this.#routes.keys()].sort().map((k) => this.#routes.get(k) as DataPlaneRoute) };
  }
}

export interface RouteDeps {
  dataPlane: Pick<DataPlane<unknown>, 'setRoutes'>;
  ingress: IngressTable;
}

export async function reconcileRoute(
  ctx: ReconcilerContext,
  deps: RouteDeps,
  key: ReconcileKey,
): Promise<ReconcileResult> {
  const obj = ctx.listers.routes.get(key.namespace, key.name);
  if (!obj || obj.metadata.deletionTimestamp) {
    if (deps.ingress.delete(key)) deps.dataPlane.setRoutes(deps.ingress.table());
    return {};
  }
  const route = asServing<Route>(obj);
  const cm = (name: string): Record<string, string> | undefined =>
    ctx.listers.configMaps.get(SYSTEM_NAMESPACE, name)?.['data'] as Record<string, string> | undefined;
  const network = networkConfigFromData(cm(CONFIG_DOMAIN), cm(CONFIG_NETWORK));
  const nowMs = ctx.clock.now();
  const prevRollout = deps.ingress.rollout(key);
  const result = computeRoute({
    route,
    configurations: inNamespace(ctx.listers.configurations, key.namespace).map((o) => asServing<Configuration>(o)),
    revisions: inNamespace(ctx.listers.revisions, key.namespace).map((o) => asServing<Revision>(o)),
    network,
    nowNs: nowMs * 1e6,
    // The router is programmed synchronously below, before the status is written: the ingress is ready.
    ingress: { ready: true, upToDate: true, ...(prevRollout !== undefined ? { rollout: prevRollout } : {}) },
  });
  if (result.ingress) {
    const entry = dataPlaneRoute(key.namespace, key.name, result.ingress);
    if (deps.ingress.set(key, entry, result.ingress.rolloutAnnotation.value)) {
      deps.dataPlane.setRoutes(deps.ingress.table());
      ctx.log.debug({ route: encodeKey(key), traffic: entry.traffic }, 'programmed the router');
    }
  }
  const status = keepTransitionTimes(route.status, result.status);
  if (!jsonEqual(status, route.status)) await ctx.client.update(R.routes, { ...obj, status }, 'status');
  return result.requeueAfterNs !== undefined
    ? { requeueAfterMs: Math.max(1, Math.ceil(result.requeueAfterNs / 1e6)) }
    : {};
}
