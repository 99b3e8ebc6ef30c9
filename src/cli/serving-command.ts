// `sluice serving`: embedded Knative Serving alone — the reconcilers and the data plane (router, activator,
// revision processes and their metrics) — against the API server named by a kubeconfig.
import { resolve } from 'node:path';
import { createLogger } from '../observability/logger.js';
import { systemClock } from '../util/clock.js';
import { startEmbeddedServing } from './embedded.js';
import { announce } from './process-lifecycle.js';
import { supervised } from './supervisor.js';
import type { ExportedMetricsFamily } from '../runtime/metrics.js';

export interface ServingCommandOptions {
  kubeconfig: string;
  data: string;
  routerPort: number;
  host: string;
  logLevel: string;
  /** Request metrics the router exports (Knative ≤ 1.18's or ≥ 1.19's generation). */
  metricsFamily?: ExportedMetricsFamily;
}

/** `sluice serving`: Knative Serving's reconcilers and the data plane (router, revision processes). */
export async function startServingCommand(o: ServingCommandOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const serving = await startEmbeddedServing({
    kubeconfigPath: resolve(o.kubeconfig),
    dataDir: resolve(o.data),
    routerPort: o.routerPort,
    host: o.host,
    clock: systemClock,
    log,
    ...(o.metricsFamily ? { metricsFamily: o.metricsFamily } : {}),
  });
  if (!supervised()) process.stdout.write(`Sluice Serving: router on ${serving.routerUrl}\n`);
  await announce(o.data, { router: serving.routerUrl }, log, () => serving.close());
}
