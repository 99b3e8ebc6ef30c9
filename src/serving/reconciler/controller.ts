// Wires the four reconcilers to informers and work queues. Events only name keys: every handler maps an
// object to the keys whose desired state may depend on it (a Revision → itself, its Configuration and the
// Routes that target it; a Route → itself, its Service and the Revisions in its traffic; …), and each
// reconciler re-reads the caches. The data plane's 'status' events requeue the Revision they name.
import {
  Informer,
  isConflict,
  KubeEventRecorder,
  R,
  type KubeClient,
  type KubeObject,
  type ResourceRef,
} from '../../kube/index.js';
import { errorMessage } from '../../util/errors.js';
import { silentLogger, type Logger } from '../../observability/logger.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { LABEL_CONFIGURATION, LABEL_ROUTE, LABEL_SERVICE } from '../keys.js';
import type { Route } from '../types.js';
import { reconcileConfiguration } from './configuration-reconciler.js';
import {
  asServing,
  isAlreadyExists,
  type KubeWriter,
  type Lister,
  type Listers,
  type ReconcilerContext,
} from './context.js';
import type { DataPlane } from './data-plane.js';
import { CONFIG_AUTOSCALER, SYSTEM_NAMESPACE } from './network-config.js';
import { CONFIG_DEPLOYMENT } from '../cluster-config.js';
import { referencedSources } from '../config-sources.js';
import { reconcileRevision } from './revision-reconciler.js';
import { IngressTable, reconcileRoute } from './route-reconciler.js';
import { reconcileService } from './service-reconciler.js';
import { WorkQueue, type ReconcileKey } from './work-queue.js';

export interface ServingControllerOptions<Spec> {
  /** Informers list and watch through it; reconcilers write through `writer` (default: the same client). */
  client: KubeClient;
  writer?: KubeWriter;
  dataPlane: DataPlane<Spec>;
  /** A stored Revision → the data plane's spec; may read the knative-serving ConfigMaps (config-autoscaler). */
  toRunSpec: (revision: KubeObject, listers: Listers) => Spec;
  clock?: Clock;
  log?: Logger;
  /** Concurrent reconciles per kind. Default 4. */
  workers?: number;
  /** Re-deliver every cached object this often so missed causes still converge. Default 5 min; 0 never. */
  resyncMs?: number;
}

const keyOf = (o: KubeObject): ReconcileKey => ({ namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '' });

/** The controlling owner of `kind`, else the name in `label`. */
function ownerName(o: KubeObject, kind: string, label: string): string | undefined {
  const ref = (o.metadata.ownerReferences ?? []).find((r) => r.controller === true && r.kind === kind);
  return ref?.name ?? o.metadata.labels?.[label];
}

export class ServingController<Spec> {
  readonly queues: { services: WorkQueue; configurations: WorkQueue; revisions: WorkQueue; routes: WorkQueue };
  readonly ingress = new IngressTable();
  readonly #informers: {
    services: Informer;
    configurations: Informer;
    revisions: Informer;
    routes: Informer;
    ingresses: Informer;
    configMaps: Informer;
    secrets: Informer;
  };
  readonly #o: ServingControllerOptions<Spec>;
  readonly #recorders: KubeEventRecorder[] = [];
  readonly #log: Logger;

  constructor(o: ServingControllerOptions<Spec>) {
    this.#o = o;
    this.#log = o.log ?? silentLogger();
    const resyncMs = o.resyncMs ?? 300_000;
    const inf = (r: typeof R.services, extra: { namespace?: string } = {}): Informer =>
      new Informer(o.client, r, { resyncMs, log: this.#log, ...extra });
    this.#informers = {
      services: inf(R.services),
      configurations: inf(R.configurations),
      revisions: inf(R.revisions),
      routes: inf(R.routes),
      ingresses: inf(R.ingresses),
      configMaps: inf(R.configMaps),
      secrets: inf(R.secrets),
    };
    const listers: Listers = this.#informers;
    const ctx = (name: string): ReconcilerContext => {
      const log = this.#log.child({ reconciler: name });
      const recorder = new KubeEventRecorder(o.writer ?? o.client, {
        component: `${name}-controller`,
        clock: o.clock ?? systemClock,
        onError: (err, ev) => log.debug({ err: String(err), reason: ev.reason }, 'event not recorded'),
      });
      this.#recorders.push(recorder);
      return { client: o.writer ?? o.client, listers, clock: o.clock ?? systemClock, log, recorder };
    };
    // Like Knative's generated reconcilers, an error from a reconcile is also a Warning Event
    // `InternalError` on the object; conflicts and already-exists are a stale cache, retried quietly.
    const q = (
      name: string,
      lister: Lister,
      ref: ResourceRef,
      c: ReconcilerContext,
      fn: (k: ReconcileKey) => Promise<{ requeueAfterMs?: number }>,
    ): WorkQueue =>
      new WorkQueue({
        name,
        reconcile: async (k) => {
          try {
            return await fn(k);
          } catch (e) {
            const obj = lister.get(k.namespace, k.name);
            if (obj && !isConflict(e) && !isAlreadyExists(e))
              c.recorder.event(obj, ref, 'Warning', 'InternalError', errorMessage(e));
            throw e;
          }
        },
        workers: o.workers ?? 4,
        log: this.#log,
      });
    const sctx = ctx('service'),
      cctx = ctx('configuration'),
      vctx = ctx('revision'),
      rctx = ctx('route');
    this.queues = {
      services: q('service', listers.services, R.services, sctx, (k) => reconcileService(sctx, k)),
      configurations: q('configuration', listers.configurations, R.configurations, cctx, (k) =>
        reconcileConfiguration(cctx, k),
      ),
      revisions: q('revision', listers.revisions, R.revisions, vctx, (k) =>
        reconcileRevision(vctx, { dataPlane: o.dataPlane, toRunSpec: o.toRunSpec }, k),
      ),
      routes: q('route', listers.routes, R.routes, rctx, (k) =>
        reconcileRoute(rctx, { dataPlane: o.dataPlane, ingress: this.ingress }, k),
      ),
    };
    this.#wire();
  }

  /** Routes of a namespace whose spec targets the Configuration or the Revision. */
  #routesTargeting(ns: string, configuration: string | undefined, revision: string | undefined): KubeObject[] {
    return this.#informers.routes.list().filter((r) => {
      if (r.metadata.namespace !== ns) return false;
      const route = asServing<Route>(r);
      const targets = [...(route.spec?.traffic ?? []), ...(route.status?.traffic ?? [])];
      return targets.some(
        (t) =>
          (revision !== undefined && t.revisionName === revision) ||
          (configuration !== undefined && t.configurationName === configuration),
      );
    });
  }

  #wire(): void {
    const { services, configurations, revisions, routes, ingresses, configMaps, secrets } = this.#informers;
    const each = (inf: Informer, fn: (o: KubeObject) => void): void => {
      inf
        .onAdd(fn)
        .onUpdate((o, old) => {
          fn(old);
          fn(o);
        })
        .onDelete(fn);
      inf.onError((e) => this.#log.debug({ err: String(e) }, 'informer error; resuming'));
    };
    each(services, (o) => this.queues.services.add(keyOf(o)));
    each(configurations, (o) => {
      const ns = o.metadata.namespace ?? '';
      this.queues.configurations.add(keyOf(o));
      const svc = ownerName(o, 'Service', LABEL_SERVICE);
      if (svc) this.queues.services.add({ namespace: ns, name: svc });
      for (const r of this.#routesTargeting(ns, o.metadata.name, undefined)) this.queues.routes.add(keyOf(r));
    });
    each(revisions, (o) => {
      const ns = o.metadata.namespace ?? '';
      this.queues.revisions.add(keyOf(o));
      const cfg = ownerName(o, 'Configuration', LABEL_CONFIGURATION);
      if (cfg) this.queues.configurations.add({ namespace: ns, name: cfg });
      for (const r of this.#routesTargeting(ns, cfg, o.metadata.name)) this.queues.routes.add(keyOf(r));
    });
    each(routes, (o) => {
      const ns = o.metadata.namespace ?? '';
      this.queues.routes.add(keyOf(o));
      const svc = ownerName(o, 'Service', LABEL_SERVICE);
      if (svc) this.queues.services.add({ namespace: ns, name: svc });
      const route = asServing<Route>(o);
      const named = new Set(
        [...(route.status?.traffic ?? []), ...(route.spec?.traffic ?? [])]
          .map((t) => t.revisionName ?? '')
          .filter((n) => n !== ''),
      );
      for (const n of named) this.queues.revisions.add({ namespace: ns, name: n });
      // The latest revisions of followed configurations change routing state too.
      for (const t of route.spec?.traffic ?? []) {
        const c = t.configurationName ? configurations.get(ns, t.configurationName) : undefined;
        const st = c?.['status'] as
          { latestCreatedRevisionName?: string; latestReadyRevisionName?: string } | undefined;
        for (const n of [st?.latestCreatedRevisionName, st?.latestReadyRevisionName])
          if (n) this.queues.revisions.add({ namespace: ns, name: n });
      }
    });
    // An Ingress changed or deleted behind our back is put back by its Route.
    each(ingresses, (o) => {
      const route = ownerName(o, 'Route', LABEL_ROUTE);
      if (route) this.queues.routes.add({ namespace: o.metadata.namespace ?? '', name: route });
    });
    // A ConfigMap or Secret a Revision reads (env, envFrom, volumes): the Revision re-resolves it — a missing
    // one that appears lets it start, a changed one reaches new processes (and volumes).
    const requeueReaders = (o: KubeObject, kind: 'configMaps' | 'secrets'): void => {
      const ns = o.metadata.namespace ?? '';
      for (const r of revisions.list())
        if (r.metadata.namespace === ns && referencedSources(r['spec'])[kind].has(o.metadata.name ?? ''))
          this.queues.revisions.add(keyOf(r));
    };
    each(configMaps, (o) => {
      requeueReaders(o, 'configMaps');
      if (o.metadata.namespace !== SYSTEM_NAMESPACE) return;
      for (const r of routes.list()) this.queues.routes.add(keyOf(r));
      // config-autoscaler and config-deployment feed every Revision's run spec (see cli/config-autoscaler.ts).
      if (o.metadata.name === CONFIG_AUTOSCALER || o.metadata.name === CONFIG_DEPLOYMENT)
        for (const r of revisions.list()) this.queues.revisions.add(keyOf(r));
    });
    each(secrets, (o) => requeueReaders(o, 'secrets'));
    this.#o.dataPlane.on('status', (s) => this.queues.revisions.add({ namespace: s.namespace, name: s.name }));
  }

  /** Starts the informers; resolves once every cache has its first list (and work has been queued). */
  async start(): Promise<void> {
    await Promise.all(Object.values(this.#informers).map((i) => i.start()));
    this.#log.info('serving reconcilers started');
  }

  stop(): void {
    for (const i of Object.values(this.#informers)) i.stop();
    for (const q of Object.values(this.queues)) q.stop();
  }

  /** Resolves when every queue is empty and nothing runs (pending requeue timers aside). */
  async whenIdle(): Promise<void> {
    for (;;) {
      await Promise.all(Object.values(this.queues).map((q) => q.whenIdle()));
      if (Object.values(this.queues).every((q) => q.length === 0)) break;
    }
    await Promise.all(this.#recorders.map((r) => r.flush()));
  }
}
