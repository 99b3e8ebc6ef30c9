// `sluice start`: the embedded default on one machine. Brings up the API server (and, as later parts
// land, Serving, the data plane and the rollout controller), then writes <data>/endpoints.json.
import { writeFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startApiServer } from '../apiserver/index.js';
import { createLogger } from '../observability/logger.js';
import { packageRoot } from './package-root.js';

export interface StartOptions {
  data: string;
  apiPort: number;
  host: string;
  logLevel: string;
  /** Only the API server: `sluice apiserver`. */
  apiOnly?: boolean;
}

export async function start(o: StartOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const data = resolve(o.data);
  const api = await startApiServer({
    dataDir: data, port: o.apiPort, host: o.host, crdDirs: [join(packageRoot(), 'deploy', 'crds')],
    log: log.child({ component: 'apiserver' }),
  });
  const endpoints = { api: api.url };
  const tmp = join(data, 'endpoints.json.tmp');
  await writeFile(tmp, JSON.stringify(endpoints, null, 2) + '\n');
  await rename(tmp, join(data, 'endpoints.json'));
  process.stdout.write(`Sluice API server listening on ${api.url}\n`);
  process.stdout.write(`  kubeconfig: ${api.kubeconfigPath}\n`);
  process.stdout.write(`  try: KUBECONFIG=${api.kubeconfigPath} kubectl get ksvc\n`);
  let stopping = false;
  const stop = async (sig: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down');
    await api.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
