// What the kubelet's cAdvisor reports for a container, read from Linux /proc for a process and its
// descendants: cumulative CPU seconds (utime + stime) and resident memory. I/O only; the rates are worked out
// by CpuRate below from samples with the runtime's clock.
import { readFileSync } from 'node:fs';

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream architecture). */
const CLOCK_TICKS_PER_SECOND = 100;
/** A process tree deeper or wider than this is not walked further (a fork bomb must not stall the tick). */
const MAX_PROCESSES = 256;

export interface ProcUsage {
  cpuSeconds: number;
  rssBytes: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process exited between listing and reading
  }
}

/** utime + stime of one process in seconds; the comm field may hold spaces and parentheses, so split after it. */
export function parseStatCpuSeconds(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After comm: state(3) ppid(4) … utime(14) stime(15): indices 11 and 12 of `rest`.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** VmRSS of /proc/<pid>/status in bytes (0 for a zombie, which has none). */
export function parseStatusRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

function children(pid: number): number[] {
  const tasks = read(`/proc/${pid}/task/${pid}/children`);
  if (!tasks) return [];
  return tasks
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
}

/** Usage of `pid` and its live descendants; undefined when the process is gone or /proc is unreadable. */
export function readProcessTreeUsage(pid: number): ProcUsage | undefined {
  const rootStat = read(`/proc/${pid}/stat`);
  if (rootStat === undefined) return undefined;
  let cpuSeconds = 0;
  let rssBytes = 0;
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length > 0 && seen.size < MAX_PROCESSES) {
    const p = queue.shift() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    const stat = p === pid ? rootStat : read(`/proc/${p}/stat`);
    if (stat === undefined) continue;
    cpuSeconds += parseStatCpuSeconds(stat) ?? 0;
    rssBytes += parseStatusRssBytes(read(`/proc/${p}/status`) ?? '');
    queue.push(...children(p));
  }
  return { cpuSeconds, rssBytes };
}

/**
 * CPU cores used by one process over the trailing `windowMs` (metrics-server reports usage over its resolution,
 * 15 s by default). Needs two samples; a counter that goes back (a new process under the same id) restarts it.
 */
export class CpuRate {
  #samples: Array<{ at: number; cpuSeconds: number }> = [];
  constructor(readonly windowMs: number) {}

  record(at: number, cpuSeconds: number): void {
    const last = this.#samples[this.#samples.length - 1];
    if (last && cpuSeconds < last.cpuSeconds) this.#samples = [];
    this.#samples.push({ at, cpuSeconds });
    // Keep the newest sample at or before the window's start, so the rate spans the whole window.
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.windowMs) this.#samples.shift();
  }

  /** Cores, or undefined before two samples. */
  cores(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.at <= first.at) return undefined;
    return (last.cpuSeconds - first.cpuSeconds) / ((last.at - first.at) / 1000);
  }
}
