// `sluice apiserver`: the embedded Kubernetes-compatible API server alone, with Knative Serving's admission and
// RolloutPolicy admission (the same checks as `sluice validate`).
import { join, resolve } from 'node:path';
import { Admission, startApiServer } from '../apiserver/index.js';
import { createLogger } from '../observability/logger.js';
import { systemClock } from '../util/clock.js';
import { registerServingAdmission } from './serving-admission.js';
import { registerPolicyAdmission } from './policy-admission.js';
import { packageRoot } from './package-root.js';
import { announce } from './process-lifecycle.js';
import { supervised } from './supervisor.js';

export interface ApiServerCommandOptions {
  data: string;
  apiPort: number;
  host: string;
  logLevel: string;
}

/** `sluice apiserver`: the embedded API server with Knative Serving's and RolloutPolicy admission. */
export async function startApiServerCommand(o: ApiServerCommandOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const data = resolve(o.data);
  const admission = new Admission();
  registerServingAdmission(admission);
  registerPolicyAdmission(admission);
  const api = await startApiServer({
    dataDir: data,
    port: o.apiPort,
    host: o.host,
    crdDirs: [join(packageRoot(), 'deploy', 'crds')],
    admission,
    clock: systemClock,
    log: log.child({ component: 'apiserver' }),
  });
  if (!supervised())
    process.stdout.write(`Sluice API server listening on ${api.url}\n  kubeconfig: ${api.kubeconfigPath}\n`);
  await announce(data, { api: api.url }, log, () => api.close());
}
