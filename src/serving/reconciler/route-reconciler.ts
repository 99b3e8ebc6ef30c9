// Route → status (traffic, url, address, AllTrafficAssigned, IngressReady, CertificateProvisioned) and the
// data plane's routing table (pkg/reconciler/route). The decisions are serving's reconcileRoute; this file
// reads the caches, writes the Route's Ingress (networking.internal.knative.dev, with the rollout
// annotation, so a gradual rollout survives a restart), programs the router with every Route's entry,
// writes the status once, and asks to be called back for the next step of a rollout-duration rollout.
import { isConflict, isNotFound, R, type KubeObject } from '../../kube/index.js';
import { errorMessage } from '../../util/errors.js';
import { ANNOTATION_ROLLOUT } from '../keys.js';
import { makeIngress, readyIngressStatus } from '../resources/ingress.js';
import { reconcileRoute as computeRoute } from '../route-reconcile.js';
import type { Configuration, Revision, Route } from '../types.js';
import { asKube, asServing, inNamespace, isAlreadyExists, type ReconcilerContext } from './context.js';
import type { DataPlane, DataPlaneRoute, DataPlaneRouteTable } from './data-plane.js';
import { CONFIG_DOMAIN, CONFIG_NETWORK, networkConfigFromData, SYSTEM_NAMESPACE } from './network-config.js';
import { dataPlaneRoute } from './route-table.js';
import { jsonEqual, keepTransitionTimes } from './status-diff.js';
import { encodeKey, type ReconcileKey, type ReconcileResult } from './work-queue.js';

/**
 * The embedded ingress: what each Route programmed into the router, and the Ingress object last written for
 * it (whose networking.internal.knative.dev/rollout annotation holds the gradual rollout, as on Knative).
 * The object outlives a restart; this table is a cache that is fresher than the informer's right after a
 * write, and empty after a restart, when the informer's copy is read instead.
 */
export class IngressTable {
  #routes = new Map<string, DataPlaneRoute>();
  #objects = new Map<string, KubeObject>();

  object(key: ReconcileKey): KubeObject | undefined {
    return this.#objects.get(encodeKey(key));
  }

  remember(key: ReconcileKey, obj: KubeObject): void {
    this.#objects.set(encodeKey(key), obj);
  }

  /** Records a Route's programming; true when the routing table changed. */
  set(key: ReconcileKey, route: DataPlaneRoute): boolean {
    const k = encodeKey(key);
    if (jsonEqual(this.#routes.get(k), route)) return false;
    this.#routes.set(k, route);
    return true;
  }

  delete(key: ReconcileKey): boolean {
    const k = encodeKey(key);
    this.#objects.delete(k);
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
  const existing = newer(deps.ingress.object(key), ctx.listers.ingresses.get(key.namespace, key.name));
  const prevRollout = existing?.metadata.annotations?.[ANNOTATION_ROLLOUT];
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
    // Durable first: the rollout step is in the Ingress before the router serves it.
    await writeIngress(ctx, deps.ingress, key, existing, asKube(makeIngress(route, result.ingress)));
    const entry = dataPlaneRoute(key.namespace, key.name, result.ingress);
    if (deps.ingress.set(key, entry)) {
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

/** The copy with the higher resourceVersion (the table's right after our write, the informer's otherwise). */
function newer(a: KubeObject | undefined, b: KubeObject | undefined): KubeObject | undefined {
  if (!a || !b) return a ?? b;
  const rv = (o: KubeObject): number => Number(o.metadata.resourceVersion ?? 0);
  return rv(b) > rv(a) ? b : a;
}

const ingressSame = (a: KubeObject, b: KubeObject): boolean =>
  jsonEqual(a['spec'], b['spec']) &&
  jsonEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {}) &&
  jsonEqual(a.metadata.annotations ?? {}, b.metadata.annotations ?? {}) &&
  jsonEqual(a.metadata.ownerReferences ?? [], b.metadata.ownerReferences ?? []);

/** Creates or updates the Route's Ingress, then marks it ready (the router is programmed synchronously). */
async function writeIngress(
  ctx: ReconcilerContext,
  table: IngressTable,
  key: ReconcileKey,
  existing: KubeObject | undefined,
  desired: KubeObject,
): Promise<void> {
  let obj = existing;
  if (!obj) {
    const routeObj = ctx.listers.routes.get(key.namespace, key.name);
    const name = JSON.stringify(desired.metadata.name ?? '');
    try {
      obj = await ctx.client.create(R.ingresses, desired);
    } catch (e) {
      if (routeObj && !isAlreadyExists(e) && !isConflict(e))
        ctx.recorder.event(
          routeObj,
          R.routes,
          'Warning',
          'CreationFailed',
          `Failed to create Ingress: ${errorMessage(e)}`,
        );
      throw e;
    }
    if (routeObj) ctx.recorder.event(routeObj, R.routes, 'Normal', 'Created', `Created Ingress ${name}`);
  } else if (!ingressSame(obj, desired)) {
    const next: KubeObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        labels: desired.metadata.labels ?? {},
        annotations: desired.metadata.annotations ?? {},
        ownerReferences: desired.metadata.ownerReferences ?? [],
      },
      spec: desired['spec'],
    };
    try {
      obj = await ctx.client.update(R.ingresses, next);
    } catch (e) {
      // Deleted behind our back: the next try creates it from scratch.
      if (isNotFound(e)) table.delete(key);
      throw e;
    }
  }
  const generation = obj.metadata.generation ?? 0;
  const st = obj['status'] as { observedGeneration?: number } | undefined;
  if (st?.observedGeneration !== generation) {
    const status = readyIngressStatus(generation, new Date(ctx.clock.now()).toISOString());
    obj = await ctx.client.update(R.ingresses, { ...obj, status }, 'status');
  }
  table.remember(key, obj);
}
