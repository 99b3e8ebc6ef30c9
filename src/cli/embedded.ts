// Glue for the embedded default: Knative's admission webhooks as API server admission hooks, and the
// Serving reconcilers driving the local data plane through a KubeClient built from the written kubeconfig.
import { StatusError, type Admission, type AdmissionRequest, type KObject } from '../apiserver/index.js';
import { KubeClient, R, type KubeObject } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import { Runtime, revisionSpecFromKnative, type RevisionSpec as RunSpec } from '../runtime/index.js';
import {
  admit,
  defaultConfiguration,
  defaultRevision,
  defaultRoute,
  defaultService,
  GROUP,
  type DefaultingContext,
  type ServingKind,
} from '../serving/index.js';
import {
  CONFIG_AUTOSCALER,
  ServingController,
  SYSTEM_NAMESPACE,
  type DataPlane,
  type Listers,
} from '../serving/reconciler/index.js';
import { clusterAutoscalingFromData, neutralRuntimeConfig, withClusterAutoscaling } from './config-autoscaler.js';
import type { Clock } from '../util/clock.js';
import { startEmbeddedEventing } from '../eventing/embedded.js';

/**
 * The user recorded in serving.knative.dev/creator and lastModifier. The embedded API server has one
 * bearer token, so every request is this user (the request's user agent names a program, not a person).
 */
export const EMBEDDED_USERNAME = 'sluice-admin';

const SERVING_RESOURCES: ReadonlyArray<[plural: string, kind: ServingKind]> = [
  ['services', 'Service'],
  ['configurations', 'Configuration'],
  ['revisions', 'Revision'],
  ['routes', 'Route'],
];

function defaulted(kind: ServingKind, req: AdmissionRequest): KObject {
  const ctx: DefaultingContext = { operation: req.operation, username: EMBEDDED_USERNAME };
  const old = req.oldObject as never;
  const o = req.object as never;
  switch (kind) {
    case 'Service':
      return defaultService(o, ctx, old) as unknown as KObject;
    case 'Configuration':
      return defaultConfiguration(o, ctx, old) as unknown as KObject;
    case 'Route':
      return defaultRoute(o, ctx, old) as unknown as KObject;
    case 'Revision':
      return defaultRevision(o, ctx) as unknown as KObject;
  }
}

/**
 * Registers Knative's defaulting (mutate) and validation (validate) webhooks for serving.knative.dev. A
 * denial is a 400 BadRequest whose message is Knative's, so kubectl prints
 * `admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: …`.
 * The API server does not run admission for status writes, as Knative skips them.
 */
export function registerServingAdmission(admission: Admission): void {
  for (const [plural, kind] of SERVING_RESOURCES) {
    admission.register(GROUP, plural, {
      mutate: (req) => defaulted(kind, req),
      validate: (req) => {
        const r = admit(kind, req.operation, req.object, req.oldObject, { username: EMBEDDED_USERNAME });
        if (!r.ok) throw new StatusError(400, 'BadRequest', r.message);
      },
    });
  }
}

export interface EmbeddedServingOptions {
  kubeconfigPath: string;
  dataDir: string;
  routerPort: number;
  host: string;
  clock: Clock;
  log: Logger;
}

export interface EmbeddedServing {
  runtime: Runtime;
  controller: ServingController<RunSpec>;
  routerUrl: string;
  close(): Promise<void>;
}

/** Starts the data plane (router + revision processes, logs under `<data>/logs`) and the reconcilers. */
export async function startEmbeddedServing(o: EmbeddedServingOptions): Promise<EmbeddedServing> {
  const client = KubeClient.fromFile(o.kubeconfigPath, 'sluice-serving');
  // Knative's config-autoscaler: the scale rates are read once here; everything else per revision, live
  // (see config-autoscaler.ts).
  const atStart = clusterAutoscalingFromData(
    (await client.tryGet(R.configMaps, SYSTEM_NAMESPACE, CONFIG_AUTOSCALER))?.['data'] as
      Record<string, string> | undefined,
  );
  const runtime = new Runtime({
    dataDir: o.dataDir,
    clock: o.clock,
    logger: o.log.child({ component: 'runtime' }),
    autoscaler: neutralRuntimeConfig(atStart.config),
  });
  const { url: routerUrl } = await runtime.listen(o.routerPort, o.host);
  const dataPlane: DataPlane<RunSpec> = runtime;
  const log = o.log.child({ component: 'serving' });
  let warned = '';
  const toRunSpec = (rev: KubeObject, listers: Listers): RunSpec => {
    const cm = listers.configMaps.get(SYSTEM_NAMESPACE, CONFIG_AUTOSCALER);
    const { config, warnings } = clusterAutoscalingFromData(cm?.['data'] as Record<string, string> | undefined);
    const w = warnings.join('; ');
    if (w !== '' && w !== warned) log.warn({ configMap: `${SYSTEM_NAMESPACE}/${CONFIG_AUTOSCALER}` }, w);
    warned = w;
    return withClusterAutoscaling(revisionSpecFromKnative(rev), config);
  };
  const controller = new ServingController<RunSpec>({ client, dataPlane, toRunSpec, clock: o.clock, log });
  await controller.start();
  const eventing = await startEmbeddedEventing({
    client,
    router: runtime.router,
    routerUrl,
    clock: o.clock,
    log: o.log,
  });
  return {
    runtime,
    controller,
    routerUrl,
    async close() {
      await eventing.close();
      controller.stop();
      await runtime.close();
    },
  };
}
