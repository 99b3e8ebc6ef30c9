// A real Prometheus over fixed series: samples written as OpenMetrics, turned into TSDB blocks with
// `promtool tsdb create-blocks-from openmetrics` (Debian's prometheus package, installed when missing), then served
// by the prometheus binary. Queries are evaluated at a fixed time, so expected values can be computed by hand.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrometheusBinary, startPrometheus, type PrometheusHandle } from '../../src/cli/prometheus-process.js';

export interface Series {
  name: string;
  labels: Record<string, string>;
  /** Increase per second (0: a constant series). */
  slope: number;
  start?: number;
}

/** `count` samples a second from `base` (Unix seconds), as OpenMetrics (families kept together, as it requires). */
export function openMetrics(series: readonly Series[], base: number, count: number): string {
  const lines: string[] = [];
  for (const name of [...new Set(series.map((s) => s.name))]) {
    for (const s of series.filter((x) => x.name === name)) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      for (let i = 0; i < count; i++) lines.push(`${name}{${labels}} ${(s.start ?? 0) + s.slope * i} ${base + i}`);
    }
  }
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}

/** A histogram whose every observation falls in (lower, upper]: `perSecond` observations a second. */
export function histogram(
  name: string,
  labels: Record<string, string>,
  bounds: readonly number[],
  upper: number,
  perSecond: number,
): Series[] {
  return [...bounds.map(String), '+Inf'].map((le) => ({
    name: `${name}_bucket`,
    labels: { ...labels, le },
    slope: le === '+Inf' || Number(le) >= upper ? perSecond : 0,
  }));
}

function promtool(): string {
  ensurePrometheusBinary(true); // promtool ships in the same Debian package
  for (const p of ['/usr/bin/promtool', '/usr/local/bin/promtool']) if (existsSync(p)) return p;
  return 'promtool';
}

export interface FixedPrometheus {
  prom: PrometheusHandle;
  stop(): Promise<void>;
}

/** Writes the blocks into a temp dir and starts Prometheus on them (no scrape targets). */
export async function prometheusWith(text: string): Promise<FixedPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-fixed-series-'));
  try {
    const input = join(dir, 'series.om');
    writeFileSync(input, text);
    const r = spawnSync(promtool(), ['tsdb', 'create-blocks-from', 'openmetrics', '-q', input, join(dir, 'data')], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `promtool: ${r.stderr}`);
    const prom = await startPrometheus({ targets: [], dataDir: dir, install: true });
    return {
      prom,
      async stop() {
        await prom.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
