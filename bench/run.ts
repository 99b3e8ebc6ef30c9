// `npm run bench`: runs every bench/*.bench.ts module (compiled to dist/bench/*.bench.js, found at run time so
// new modules need no registration), one after another, prints a table of figures per module and writes all
// results to dist/bench-results.json. `npm run bench -- apiserver analysis` runs a subset.
//
// A module exports `async function run(): Promise<Record<string, number | string>>`. Keys are free-form; when a
// module reports a figure and a baseline of the same measurement in the same run, the runner prints their
// ratio. Baselines are recognised by name: for a key `<prefix>_<mode>_<metric>` where another key differs only
// in the mode (`batched` vs `perRollout`, `c16` vs `c1`, ...), see RATIO_PAIRS below. A module can also report
// ratios itself (keys ending in `_ratio` or `_x`).
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus, totalmem, release } from 'node:os';

type Figures = Record<string, number | string>;

interface BenchModule {
  run: () => Promise<Figures>;
}

interface ModuleResult {
  module: string;
  ok: boolean;
  seconds: number;
  figures: Figures;
  error?: string;
}

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const RESULTS = join(here, '..', 'bench-results.json'); // dist/bench-results.json

/** [mode, baseline mode]: a key containing `_<mode>_` is compared with the same key with `_<baseline>_`. */
const RATIO_PAIRS: Array<[string, string]> = [
  ['batched', 'perRollout'],
  ['c16', 'c1'],
  ['c64', 'c1'],
  ['compacted', 'wal'],
  ['wal', 'empty'],
  ['rbac', 'admin'],
  ['10pages', '0pages'],
  ['t10', 't1'],
  ['t100', 't1'],
];

function isBenchModule(m: unknown): m is BenchModule {
  return typeof m === 'object' && m !== null && typeof (m as { run?: unknown }).run === 'function';
}

function fmt(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** Ratios of figures to baselines measured in the same run. */
function ratios(f: Figures): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [k, v] of Object.entries(f)) {
    // Rates, per-operation costs and times make useful ratios; percentiles, utilisations and counts do not.
    if (typeof v !== 'number' || /_p\d+_|_ratio$|_cores$|_objects$|^phase_/.test(k)) continue;
    for (const [mode, base] of RATIO_PAIRS) {
      const needle = `_${mode}_`;
      const padded = `_${k}_`;
      if (!padded.includes(needle)) continue;
      const bk = padded.replace(needle, `_${base}_`).slice(1, -1);
      const b = f[bk];
      if (typeof b === 'number' && b !== 0) out.push([`${k} / ${bk}`, v / b]);
    }
  }
  return out;
}

function printTable(r: ModuleResult): void {
  const rows: Array<[string, string]> = Object.entries(r.figures).map(([k, v]) => [k, fmt(v)]);
  const w = Math.max(10, ...rows.map(([k]) => k.length));
  const line = '-'.repeat(w + 2 + Math.max(10, ...rows.map(([, v]) => v.length)));
  process.stdout.write(`\n== ${r.module} (${r.ok ? 'ok' : 'FAILED'}, ${r.seconds.toFixed(1)} s) ==\n${line}\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
  const rs = ratios(r.figures);
  if (rs.length > 0) {
    process.stdout.write(`${line}\nratios to a baseline measured in the same run:\n`);
    const rw = Math.max(...rs.map(([k]) => k.length));
    for (const [k, v] of rs) process.stdout.write(`${k.padEnd(rw)}  ${v.toFixed(2)}x\n`);
  }
  if (r.error) process.stdout.write(`error: ${r.error}\n`);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).map((a) => a.replace(/\.bench(\.[jt]s)?$/, ''));
  const all = (await readdir(here))
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.slice(0, -'.bench.js'.length))
    .sort();
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench module(s): ${unknown.join(', ')}; available: ${all.join(', ')}\n`);
    process.exit(2);
  }
  const chosen = wanted.length > 0 ? all.filter((m) => wanted.includes(m)) : all;
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
  };
  process.stdout.write(
    `sluice benchmarks: ${chosen.join(', ')} | ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memGiB} GiB, Node ${machine.node}\n`,
  );
  const results: ModuleResult[] = [];
  for (const name of chosen) {
    process.stdout.write(`running ${name} ...\n`);
    const t0 = performance.now();
    let r: ModuleResult;
    try {
      const mod: unknown = await import(pathToFileURL(join(here, `${name}.bench.js`)).href);
      if (!isBenchModule(mod)) throw new Error(`${name}.bench.js does not export run()`);
      const figures = await mod.run();
      r = { module: name, ok: true, seconds: (performance.now() - t0) / 1000, figures };
    } catch (e) {
      r = {
        module: name,
        ok: false,
        seconds: (performance.now() - t0) / 1000,
        figures: {},
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      };
    }
    results.push(r);
    printTable(r);
  }
  await mkdir(dirname(RESULTS), { recursive: true });
  const doc = {
    at: new Date().toISOString(),
    machine,
    modules: Object.fromEntries(
      results.map((r) => [
        r.module,
        {
          ok: r.ok,
          seconds: Math.round(r.seconds * 10) / 10,
          figures: r.figures,
          ratios: Object.fromEntries(ratios(r.figures)),
          ...(r.error ? { error: r.error } : {}),
        },
      ]),
    ),
  };
  await writeFile(RESULTS, JSON.stringify(doc, null, 2) + '\n');
  process.stdout.write(`\nresults written to ${RESULTS}\n`);
  // Modules may leave keep-alive sockets or timers behind; a benchmark run ends when its modules have.
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}

await main();
