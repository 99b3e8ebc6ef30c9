// A real Prometheus for integration tests and benchmarks: the same process manager `sluice start` uses,
// with a temp data dir that is removed on stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startPrometheus as startProcess,
  ensurePrometheusBinary,
  freePort,
  type PrometheusHandle,
} from '../../src/cli/prometheus-process.js';

export { ensurePrometheusBinary, freePort, type PrometheusHandle };

export interface StartOptions {
  /** `host:port` of each scrape target (e.g. a prom-client exporter served by the test). */
  targets: string[];
  metricsPath?: string;
  scrapeInterval?: string;
  readyTimeoutMs?: number;
}

/** Polls `cond` every `everyMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  cond: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startPrometheus(opts: StartOptions): Promise<PrometheusHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-prom-'));
  try {
    const h = await startProcess({ ...opts, dataDir });
    return {
      ...h,
      async stop() {
        await h.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}
