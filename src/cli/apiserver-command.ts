// `sluice apiserver`: the embedded Kubernetes-compatible API server alone, with Knative Serving's admission and
// RolloutPolicy admission (the same checks as `sluice validate`).
import { join, resolve } from 'node:path';
import { Admission, startApiServer, type KObject } from '../apiserver/index.js';
import { resourceId } from '../apiserver/store.js';
import { clusterServingConfig } from '../serving/cluster-config.js';
import { SYSTEM_NAMESPACE } from '../serving/reconciler/network-config.js';
import { registerEventingAdmission } from '../eventing/reconciler/admission-hooks.js';
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
  /** `--audit-log PATH`: one audit.k8s.io/v1 Event line per request. */
  auditLogPath?: string;
}

/** `sluice apiserver`: the embedded API server with Knative Serving's and RolloutPolicy admission. */
export async function startApiServerCommand(o: ApiServerCommandOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const data = resolve(o.data);
  const admission = new Admission();
  // Admission reads the knative-serving ConfigMaps from the store on every request: changes apply at once.
  let readConfigMap = (_name: string): Record<string, string> | undefined => undefined;
  registerServingAdmission(admission, () => clusterServingConfig((n) => readConfigMap(n)));
  registerPolicyAdmission(admission);
  // Eventing's webhooks read knative-eventing ConfigMaps (config-br-defaults, config-features) from the store.
  const live: { store?: { get(resource: string, namespace: string, name: string): KObject | undefined } } = {};
  registerEventingAdmission(admission, (ns, name) => live.store?.get('/configmaps', ns, name));
  const api = await startApiServer({
    dataDir: data,
    port: o.apiPort,
    host: o.host,
    crdDirs: [join(packageRoot(), 'deploy', 'crds')],
    admission,
    clock: systemClock,
    log: log.child({ component: 'apiserver' }),
    ...(o.auditLogPath ? { auditLogPath: resolve(o.auditLogPath) } : {}),
  });
  readConfigMap = (n) =>
    api.store.get(resourceId('', 'configmaps'), SYSTEM_NAMESPACE, n)?.['data'] as Record<string, string> | undefined;
  live.store = api.store;
  if (!supervised())
    process.stdout.write(`Sluice API server listening on ${api.url}\n  kubeconfig: ${api.kubeconfigPath}\n`);
  await announce(data, { api: api.url }, log, () => api.close());
}
