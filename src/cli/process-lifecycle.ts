// What every Sluice server process does around its work: announce where it listens (supervised: to the
// supervisor over IPC; standalone: into <data>/endpoints.json), and shut down cleanly on SIGTERM/SIGINT.
import { readFile, writeFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { reportReady, supervised } from './supervisor.js';

export interface GitFlags {
  repo?: string;
  branch?: string;
  path?: string;
  pollCron?: string | false;
  webhookSecret?: string;
  prune?: boolean;
}

export /** Merges `endpoints` into <data>/endpoints.json (atomically: write a temp file, rename). */
async function writeEndpoints(data: string, endpoints: Record<string, unknown>, merge = true): Promise<void> {
  let cur: Record<string, unknown> = {};
  if (merge) {
    try {
      cur = JSON.parse(await readFile(join(data, 'endpoints.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      /* none yet */
    }
  }
  const tmp = join(data, `endpoints.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify({ ...cur, ...endpoints }, null, 2) + '\n');
  await rename(tmp, join(data, 'endpoints.json'));
}

export function onSignals(log: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (sig: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down');
    try {
      await close();
    } catch (e) {
      log.error({ err: e }, 'error while shutting down');
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** Standalone: write the keys this part serves into endpoints.json. Supervised: tell the supervisor instead. */
export async function announce(
  data: string | undefined,
  endpoints: Record<string, string>,
  log: Logger,
  close: () => Promise<void>,
): Promise<void> {
  onSignals(log, close);
  if (supervised()) return reportReady(endpoints, close);
  if (data) await writeEndpoints(resolve(data), endpoints);
}
