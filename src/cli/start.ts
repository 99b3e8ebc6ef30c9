// `sluice start`: the embedded default on one machine. Brings up the API server with Knative's admission,
// the data plane (router + revision processes) and the Serving reconcilers, then writes
// <data>/endpoints.json. `sluice apiserver` (apiOnly) runs the API server alone.
import { writeFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Admission, startApiServer } from '../apiserver/index.js';
import { createLogger } from '../observability/logger.js';
import { systemClock } from '../util/clock.js';
import { registerServingAdmission, startEmbeddedServing, type EmbeddedServing } from './embedded.js';
import { packageRoot } from './package-root.js';

export interface StartOptions {
  data: string;
  apiPort: number;
  /** Router port; 0 picks a free one. Ignored with apiOnly. */
  routerPort?: number;
  host: string;
  logLevel: string;
  /** Only the API server: `sluice apiserver`. */
  apiOnly?: boolean;
}

export async function start(o: StartOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const data = resolve(o.data);
  const clock = systemClock;
  const admission = new Admission();
  if (!o.apiOnly) registerServingAdmission(admission);
  const api = await startApiServer({
    dataDir: data, port: o.apiPort, host: o.host, crdDirs: [join(packageRoot(), 'deploy', 'crds')],
    admission, clock, log: log.child({ component: 'apiserver' }),
  });
  let serving: EmbeddedServing | undefined;
  if (!o.apiOnly) {
    try {
      serving = await startEmbeddedServing({ kubeconfigPath: api.kubeconfigPath, dataDir: data, routerPort: o.routerPort ?? 0, host: o.host, clock, log });
    } catch (e) {
      await api.close();
      throw e;
    }
  }
  const endpoints: Record<string, string> = { api: api.url };
  if (serving) endpoints['router'] = serving.routerUrl;
  const tmp = join(data, 'endpoints.json.tmp');
  await writeFile(tmp, JSON.stringify(endpoints, null, 2) + '\n');
  await rename(tmp, join(data, 'endpoints.json'));
  process.stdout.write(`Sluice API server listening on ${api.url}\n`);
  if (serving) process.stdout.write(`Sluice router listening on ${serving.routerUrl} (curl -H 'Host: hello.default.svc.cluster.local' ${serving.routerUrl})\n`);
  process.stdout.write(`  kubeconfig: ${api.kubeconfigPath}\n`);
  process.stdout.write(`  try: KUBECONFIG=${api.kubeconfigPath} kubectl get ksvc\n`);
  let stopping = false;
  const stop = async (sig: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down');
    try {
      // Reconcilers and revision processes first, so nothing writes to a closing API server.
      await serving?.close();
      await api.close();
    } catch (e) {
      log.error({ err: e }, 'error while shutting down');
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
