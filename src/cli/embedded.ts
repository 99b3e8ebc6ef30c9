// Glue for the embedded default (Knative's admission hooks are in serving-admission.ts): the
// Serving reconcilers driving the local data plane through a KubeClient built from the written kubeconfig.
import { KubeClient, R, type KubeObject } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import { Runtime, revisionSpecFromKnative, type RevisionSpec as RunSpec } from '../runtime/index.js';
import type { ExportedMetricsFamily } from '../runtime/metrics.js';
import {
  CONFIG_AUTOSCALER,
  ServingController,
  SYSTEM_NAMESPACE,
  type DataPlane,
  type Listers,
} from '../serving/reconciler/index.js';
import { clusterAutoscalingFromData, neutralRuntimeConfig, withClusterAutoscaling } from './config-autoscaler.js';
import type { Clock } from '../util/clock.js';
import { withConfigSources } from './serving-config-sources.js';
import { startEmbeddedEventing } from '../eventing/embedded.js';

export { EMBEDDED_USERNAME, registerServingAdmission, requestUsername } from './serving-admission.js';

export interface EmbeddedServingOptions {
  kubeconfigPath: string;
  dataDir: string;
  routerPort: number;
  host: string;
  clock: Clock;
  log: Logger;
  /** Request metrics the router exports (default knative-opencensus). */
  metricsFamily?: ExportedMetricsFamily;
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
    ...(o.metricsFamily ? { metricsFamily: o.metricsFamily } : {}),
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
    return withConfigSources(withClusterAutoscaling(revisionSpecFromKnative(rev), config), rev, listers);
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
