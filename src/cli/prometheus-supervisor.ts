// The local Prometheus of `sluice start`, supervised the way revision processes are:
//   - it dies with its parent: started through runtime/reaper.js in its own process group with a stdin
//     lifeline, so even a `kill -9` of Sluice takes it down instead of leaving it writing into the live TSDB;
//   - a stale one on the same data directory (left by an older version, or a reaper killed with -9) is found
//     in /proc by its --storage.tsdb.path and stopped before a new one starts there;
//   - an exit is followed by a restart on the same port (so the URL the controller queries stays valid) with
//     exponential back-off (1 s doubling to 30 s, reset after 60 s up) and a Warning event.
// Meanwhile analysis sees "Prometheus unavailable", which each metric's onNoData rule turns into hold/fail/pass.
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import {
  freePort,
  prometheusPidsOn,
  startPrometheus,
  type PrometheusHandle,
  type PrometheusOptions,
} from './prometheus-process.js';

export interface SupervisedPrometheus {
  url: string;
  /** The pid of the prometheus binary now running (undefined while it is down). */
  pid(): number | undefined;
  restarts(): number;
  stop(): Promise<void>;
}

export interface PrometheusRestart {
  /** How the previous one ended, e.g. `signal SIGKILL` or `exit code 1`. */
  how: string;
  restart: number;
  delayMs: number;
}

export interface SuperviseOptions extends PrometheusOptions {
  log: Logger;
  /** Called before each restart (after the back-off is chosen); e.g. writes a Kubernetes Event. */
  onRestart?: (r: PrometheusRestart) => void;
  /** Called after each start (the first one too) once it is ready. */
  onStarted?: (pid: number | undefined) => void;
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
}

const DEFAULT_BACKOFF = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops every prometheus on `tsdbPath` (SIGTERM, then SIGKILL after 3 s); returns the pids it found. */
export async function stopStalePrometheus(tsdbPath: string, log: Logger): Promise<number[]> {
  const pids = prometheusPidsOn(tsdbPath);
  if (pids.length === 0) return pids;
  log.warn({ pids, tsdb: tsdbPath }, 'a stale Prometheus runs on this data directory; stopping it');
  for (const p of pids) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 3_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const p of pids.filter(alive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  while (pids.some(alive) && Date.now() < deadline + 2_000) await new Promise((r) => setTimeout(r, 50));
  return pids;
}

/** Next back-off: doubled, capped; back to the initial value after a run longer than resetAfterMs. Pure. */
export function nextBackoff(prevMs: number, upMs: number, b = DEFAULT_BACKOFF): number {
  if (prevMs === 0 || upMs >= b.resetAfterMs) return b.initialMs;
  return Math.min(b.maxMs, prevMs * 2);
}

export async function supervisePrometheus(o: SuperviseOptions): Promise<SupervisedPrometheus> {
  const tsdb = join(o.dataDir, 'data');
  await stopStalePrometheus(tsdb, o.log);
  const port = o.port || (await freePort());
  const b = o.backoff ?? DEFAULT_BACKOFF;
  let current: PrometheusHandle | undefined;
  let stopping = false;
  let restarts = 0;
  let delay = 0;
  let timer: NodeJS.Timeout | undefined;
  const launch = async (): Promise<PrometheusHandle> => {
    const h = await startPrometheus({ ...o, port, lifeline: true });
    const startedAt = Date.now();
    current = h;
    o.onStarted?.(h.pid());
    void h.exited.then((how) => {
      if (stopping || current !== h) return;
      current = undefined;
      delay = nextBackoff(delay, Date.now() - startedAt, b);
      restarts++;
      o.log.warn({ how, restart: restarts, inMs: delay }, 'Prometheus exited; restarting it');
      o.onRestart?.({ how, restart: restarts, delayMs: delay });
      const again = (): void => {
        timer = undefined;
        if (stopping) return;
        launch().catch((e: unknown) => {
          if (stopping) return;
          delay = nextBackoff(delay, 0, b);
          o.log.warn(
            { err: e instanceof Error ? e.message : String(e), inMs: delay },
            'Prometheus did not start; retrying',
          );
          timer = setTimeout(again, delay);
        });
      };
      timer = setTimeout(again, delay);
    });
    return h;
  };
  await launch();
  return {
    url: `http://127.0.0.1:${port}`,
    pid: () => current?.pid(),
    restarts: () => restarts,
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await current?.stop();
    },
  };
}
