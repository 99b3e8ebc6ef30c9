// `npm run chaos [-- --seed N --per-fault K --faults killStart,killBrain,...]`: the chaos suite of issue 11, with a
// fixed seed (default 11) so a run is repeatable, and a report: one line per trial and totals per fault — correct
// decisions, time to the decision, refused requests, orphans. Writes dist/chaos-report.json; the figures of the
// latest run are in docs/reliability.md.
import { writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plan, runTrial, type Fault, type TrialResult } from './trial.js';

const ALL: Fault[] = [
  'killStart',
  'killBrain',
  'killApiserver',
  'killPrometheus',
  'invalidPolicyThenKill',
  'gitUnreachable',
  'apiserverUnderLoad',
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const seed = Number(arg('seed') ?? 11);
const perFault = Number(arg('per-fault') ?? 4);
const faults = (arg('faults')?.split(',') ?? ALL) as Fault[];
const trials = plan(seed, faults, perFault);
process.stdout.write(`chaos: seed ${seed}, ${trials.length} trials (${faults.join(', ')})\n`);
const results: TrialResult[] = [];
for (const [i, t] of trials.entries()) {
  const r = await runTrial(t);
  results.push(r);
  process.stdout.write(
    `${String(i + 1).padStart(3)} ${r.fault.padEnd(22)} ${r.template.padEnd(4)} +${r.delaySeconds.toFixed(2)}s at ${r.atFault.padEnd(22)} → ${r.final.padEnd(34)} ${r.correct ? 'CORRECT' : 'WRONG'} decision ${r.toDecisionMs ?? '-'} ms, refused ${r.refused}, orphans ${r.orphans} (alive at 3 s: ${r.aliveAt3s}${r.aliveAt3sWhat.length ? ` ${r.aliveAt3sWhat.join(' | ')}` : ''})${r.restartMs !== null ? `, restart→up ${r.restartMs} ms` : ''}${r.error ? `  ERROR ${r.error}` : ''}\n`,
  );
  for (const c of r.checks) process.stdout.write(`      ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
}
process.stdout.write('\nfault                   trials correct  median ms to decision  max  refused  orphans\n');
for (const f of faults) {
  const rs = results.filter((r) => r.fault === f);
  const ms = rs.map((r) => r.toDecisionMs).filter((x): x is number => x !== null);
  process.stdout.write(
    `${f.padEnd(24)}${String(rs.length).padStart(6)} ${String(rs.filter((r) => r.correct).length).padStart(7)}  ${String(median(ms) ?? '-').padStart(21)} ${String(ms.length ? Math.max(...ms) : '-').padStart(5)} ${String(rs.reduce((a, r) => a + r.refused, 0)).padStart(8)} ${String(rs.reduce((a, r) => a + r.orphans, 0)).padStart(8)}\n`,
  );
}
const here = dirname(fileURLToPath(import.meta.url));
await writeFile(join(here, '..', '..', 'chaos-report.json'), JSON.stringify({ seed, results }, null, 2) + '\n');
process.exitCode = results.every((r) => r.correct && r.orphans === 0 && r.checks.every((c) => c.ok)) ? 0 : 1;
