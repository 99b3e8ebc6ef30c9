// The API server under benchmark, in its own process (forked by apiserver.bench.ts with --expose-gc), so the
// load generator does not share its event loop and its memory can be measured alone. It is the same
// `startApiServer` that `sluice apiserver` runs, with the same CRDs; over the IPC channel it reports the
// store's fdatasync count and the process's memory after a forced GC, which HTTP does not expose.
//
// argv: <dataDir> [compactAtBytes]
import { join } from 'node:path';
import { startApiServer } from '../src/apiserver/index.js';
import { createLogger } from '../src/observability/logger.js';
import { packageRoot } from '../src/cli/package-root.js';

export interface ServerStats {
  syncs: number;
  objects: number;
  rv: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** process.cpuUsage(), user + system, in microseconds. */
  cpuMicros: number;
}

export type ChildMessage =
  { type: 'ready'; url: string; token: string; caPem: string } | { type: 'stats'; id: number; stats: ServerStats };

export type ParentMessage = { cmd: 'stats'; id: number; gc: boolean } | { cmd: 'close' };

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: apiserver-server.js <dataDir> [compactAtBytes]');
const compactAtBytes = process.argv[3] ? Number(process.argv[3]) : undefined;
const api = await startApiServer({
  dataDir,
  port: 0,
  crdDirs: [join(packageRoot(), 'deploy', 'crds')],
  log: createLogger({ level: 'warn', name: 'apiserver-bench' }),
  ...(compactAtBytes ? { compactAtBytes } : {}),
});

const gc = (globalThis as { gc?: () => void }).gc;

function send(m: ChildMessage): void {
  process.send?.(m);
}

process.on('message', (m: ParentMessage) => {
  if (m.cmd === 'close') {
    void api.close().then(() => process.exit(0));
    return;
  }
  if (m.gc && gc) {
    gc();
    gc();
  }
  const mu = process.memoryUsage();
  const cpu = process.cpuUsage();
  send({
    type: 'stats',
    id: m.id,
    stats: {
      syncs: api.store.syncs,
      objects: api.store.count(),
      rv: api.store.resourceVersion,
      rss: mu.rss,
      heapUsed: mu.heapUsed,
      external: mu.external,
      arrayBuffers: mu.arrayBuffers,
      cpuMicros: cpu.user + cpu.system,
    },
  });
});
process.on('disconnect', () => void api.close().then(() => process.exit(0)));
send({ type: 'ready', url: api.url, token: api.token, caPem: api.caPem });
