// `sluice rollout list|get|promote|abort|pause|resume|retry`: reads Rollout objects and appends commands to
// their spec.commands (each with the next seq, so the controller applies it exactly once).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { Informer, KubeClient, R } from '../kube/index.js';
import { appendRolloutCommand } from '../rollout/controller/commands.js';
import { sentenceOf } from '../dashboard/view.js';
import { LineScreen, paint, termStyle, type TermStyle } from './screen.js';
import type { CommandKind } from '../rollout/machine/types.js';
import type { AnalysisRunRecord, RolloutObject } from '../rollout/controller/types.js';

interface GlobalOpts {
  kubeconfig?: string;
  namespace: string;
}

/** `--kubeconfig`, else $KUBECONFIG, else ./.sluice/kubeconfig (what `sluice start` writes). */
export function resolveKubeconfig(flag: string | undefined, env: string | undefined = process.env.KUBECONFIG): string {
  const path = flag ?? (env ? env.split(':')[0] : undefined) ?? resolve('.sluice', 'kubeconfig');
  if (!existsSync(path))
    throw new Error(
      `no kubeconfig at ${path}; start Sluice with \`sluice start\` or pass --kubeconfig PATH (or set KUBECONFIG)`,
    );
  return path;
}

/** Appends a command to the Rollout's spec.commands (see appendRolloutCommand); returns its seq. */
export async function appendCommand(
  client: KubeClient,
  namespace: string,
  name: string,
  kind: CommandKind,
  full = false,
  by?: string,
  reason?: string,
): Promise<number> {
  return appendRolloutCommand(client, namespace, name, {
    kind,
    ...(full ? { full } : {}),
    ...(by ? { by } : {}),
    ...(reason ? { reason } : {}),
  });
}

const BAR = 20;
const PLAIN: TermStyle = { color: false, ascii: false, inPlace: false };
function bar(pct: number, style: TermStyle): string {
  const n = Math.round((Math.max(0, Math.min(100, pct)) / 100) * BAR);
  return style.ascii ? '#'.repeat(n) + '.'.repeat(BAR - n) : '█'.repeat(n) + '░'.repeat(BAR - n);
}
function pad(s: string, n: number): string {
  return s.length >= n ? s + ' ' : s + ' '.repeat(n - s.length);
}
function fmt(v: number | undefined): string {
  if (v === undefined) return '-';
  return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
function threshold(m: AnalysisRunRecord['metrics'][number]): string {
  if (m.min !== undefined && m.max !== undefined) return `${m.min}..${m.max}`;
  if (m.min !== undefined) return `>= ${m.min}`;
  if (m.max !== undefined) return `<= ${m.max}`;
  return '-';
}
function age(from: string | undefined, now: number): string {
  if (!from) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(from)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
const PHASE_COLOR: Record<string, 'green' | 'red' | 'yellow' | 'blue'> = {
  Succeeded: 'green',
  RolledBack: 'red',
  RollingBack: 'red',
  Aborted: 'red',
  Paused: 'yellow',
  Pending: 'yellow',
  Progressing: 'blue',
  Promoting: 'blue',
};
const STATUS_COLOR: Record<string, 'green' | 'red' | 'yellow'> = {
  pass: 'green',
  fail: 'red',
  noData: 'yellow',
  error: 'yellow',
};
/** The sentence's dash, in ASCII when asked. */
function ascii(s: string, style: TermStyle): string {
  return style.ascii ? s.replace(/—/g, '-').replace(/→/g, '->').replace(/[≥]/g, '>=').replace(/[≤]/g, '<=') : s;
}

/**
 * One screen: phase, the status sentence and what happens next, step i/n, weights with bars, the last analysis
 * values against thresholds, message. Colour and glyphs follow `style` (plain by default).
 */
export function renderRollout(ro: RolloutObject, now: number, style: TermStyle = PLAIN): string {
  const st = ro.status ?? {};
  const lines: string[] = [];
  const ns = ro.metadata.namespace ?? 'default';
  const phase = st.phase ?? 'Unknown';
  lines.push(`Rollout:   ${ns}/${ro.metadata.name ?? ''}${st.policy ? `   (policy ${st.policy})` : ''}`);
  lines.push(
    `Phase:     ${paint(style, PHASE_COLOR[phase] ?? 'bold', phase)}${st.strategy ? `   strategy ${st.strategy}` : ''}`,
  );
  if (st.phase) {
    const s = sentenceOf(ro, now);
    lines.push(`Status:    ${ascii(s.sentence, style)}`);
    if (s.next) lines.push(`Next:      ${ascii(s.next, style)}`);
  }
  if (st.totalSteps !== undefined)
    lines.push(`Step:      ${Math.min(st.currentStep ?? 0, st.totalSteps)}/${st.totalSteps}`);
  const traffic = st.traffic ?? [];
  if (traffic.length > 0) {
    lines.push('Traffic:');
    const w = Math.max(...traffic.map((t) => t.revisionName.length));
    for (const t of traffic) {
      const role =
        t.revisionName === st.stableRevision ? 'stable' : t.revisionName === st.canaryRevision ? 'canary' : '';
      const tag = t.tag && t.tag !== role ? `${role ? ' ' : ''}(tag ${t.tag})` : '';
      lines.push(
        `  ${pad(t.revisionName, w + 2)}${pad(`${t.percent}%`, 5)}${bar(t.percent, style)}  ${role}${tag}`.trimEnd(),
      );
    }
  } else if (st.stableRevision) {
    lines.push(`Stable:    ${st.stableRevision}`);
  }
  const a = st.analysis;
  const last = st.analysisRuns?.at(-1);
  if (a || last) {
    const head = a
      ? `failed checks ${a.consecutiveFailures} consecutive, ${a.totalFailures} total${a.holding ? '; holding for data' : ''}`
      : '';
    lines.push(
      `Analysis:  ${head}${last ? `${head ? '; ' : ''}last round ${age(last.at, now)} ago (${last.verdict})` : ''}`,
    );
    if (last && last.metrics.length > 0) {
      const mw = Math.max(6, ...last.metrics.map((m) => m.metric.length));
      lines.push(`  ${pad('METRIC', mw + 1)}${pad('VALUE', 11)}${pad('THRESHOLD', 14)}${pad('STATUS', 8)}VERDICT`);
      for (const m of last.metrics) {
        // Pad before painting, so colour codes do not shift the columns.
        const status =
          paint(style, STATUS_COLOR[m.status] ?? 'bold', m.status) + ' '.repeat(Math.max(1, 8 - m.status.length));
        lines.push(
          `  ${pad(m.metric, mw + 1)}${pad(fmt(m.value), 11)}${pad(threshold(m), 14)}${status}${m.verdict}${m.reason && m.status !== 'pass' ? `  (${m.reason})` : ''}`,
        );
      }
    }
  }
  const lastAction = [...(st.timeline ?? [])].reverse().find((e) => e.type === 'action');
  if (lastAction)
    lines.push(
      `Last action: ${lastAction.event} by ${lastAction.actor} ${age(lastAction.at, now)} ago${lastAction.reason ? ` (${lastAction.reason})` : ''}`,
    );
  if (st.message) lines.push(`Message:   ${st.message}`);
  return lines.join('\n') + '\n';
}

function output(o: string | undefined, value: unknown): string | null {
  if (o === 'json') return JSON.stringify(value, null, 2) + '\n';
  if (o === 'yaml') return stringify(value);
  return null;
}

function listTable(items: RolloutObject[], now: number, allNamespaces: boolean): string {
  const rows = items.map((r) => {
    const s = r.status ?? {};
    return [
      ...(allNamespaces ? [r.metadata.namespace ?? ''] : []),
      r.metadata.name ?? '',
      s.phase ?? 'Unknown',
      s.stableRevision ?? '',
      s.canaryRevision === s.stableRevision ? '' : (s.canaryRevision ?? ''),
      s.canaryWeight === undefined ? '' : `${s.canaryWeight}%`,
      s.totalSteps === undefined ? '' : `${Math.min(s.currentStep ?? 0, s.totalSteps)}/${s.totalSteps}`,
      age(r.metadata.creationTimestamp, now),
    ];
  });
  const head = [...(allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'STABLE', 'CANARY', 'WEIGHT', 'STEP', 'AGE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return (
    [head, ...rows]
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : pad(c, (widths[i] ?? 0) + 2)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/**
 * `get --watch`: JSON lines (-o json) or YAML documents (-o yaml) per change; on a terminal one screen redrawn
 * line by line (also every second, so ages move); otherwise append-only frames, one per change.
 */
async function watchRollout(
  client: KubeClient,
  namespace: string,
  name: string,
  first: RolloutObject,
  format: string | undefined,
  style: TermStyle,
): Promise<void> {
  const out = (s: string): boolean => process.stdout.write(s);
  const screen = style.inPlace && !format ? new LineScreen(out) : undefined;
  let current = first;
  let lastText = '';
  const show = (r: RolloutObject, changed: boolean): void => {
    if (format === 'json') {
      if (changed) out(JSON.stringify(r) + '\n');
      return;
    }
    if (format === 'yaml') {
      if (changed) out(stringify(r) + '---\n');
      return;
    }
    const text = renderRollout(r, Date.now(), style);
    if (screen) screen.draw(text);
    else if (changed && text !== lastText) out((lastText ? '\n' : '') + text);
    lastText = text;
  };
  show(first, true);
  let lastRv = first.metadata.resourceVersion;
  const inf = new Informer<RolloutObject>(client, R.rollouts, { namespace, fieldSelector: `metadata.name=${name}` });
  let finish: () => void = () => undefined;
  let deleted = false;
  const done = new Promise<void>((res) => (finish = res));
  const onChange = (r: RolloutObject): void => {
    if (r.metadata.name !== name || r.metadata.resourceVersion === lastRv) return;
    lastRv = r.metadata.resourceVersion;
    current = r;
    show(r, true);
  };
  inf
    .onAdd(onChange)
    .onUpdate(onChange)
    .onDelete(() => {
      deleted = true;
      finish();
    });
  const tick = screen ? setInterval(() => show(current, false), 1000) : undefined;
  const stop = (): void => finish();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await inf.start();
  await done;
  inf.stop();
  if (tick) clearInterval(tick);
  if (screen) {
    screen.stop();
    // Leave the last frame on the normal screen.
    if (lastText) out(lastText);
  }
  if (deleted && !format) out(`rollout "${name}" was deleted\n`);
}

export function registerRolloutCommands(program: Command): void {
  const ro = program
    .command('rollout')
    .description('inspect and steer rollouts (one Rollout per governed Service)')
    .option('--kubeconfig <path>', 'kubeconfig (default: $KUBECONFIG, then ./.sluice/kubeconfig)')
    .option('-n, --namespace <ns>', 'namespace', 'default');
  const clientOf = (cmd: Command): { client: KubeClient; g: GlobalOpts } => {
    const g = cmd.optsWithGlobals<GlobalOpts>();
    return { client: KubeClient.fromFile(resolveKubeconfig(g.kubeconfig), 'sluice-cli'), g };
  };
  const outOpt = (): Option => new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']);

  ro.command('list')
    .description('list rollouts')
    .option('-A, --all-namespaces', 'all namespaces')
    .addOption(outOpt())
    .action(async (o: { allNamespaces?: boolean; output?: string }, cmd: Command) => {
      const { client, g } = clientOf(cmd);
      const list = await client.list<RolloutObject>(R.rollouts, o.allNamespaces ? '' : g.namespace);
      const items = [...list.items].sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
      );
      const out = output(o.output, { apiVersion: 'v1', kind: 'List', items });
      if (out !== null) {
        process.stdout.write(out);
        return;
      }
      if (items.length === 0) {
        process.stdout.write(`No rollouts found${o.allNamespaces ? '' : ` in namespace ${g.namespace}`}.\n`);
        return;
      }
      process.stdout.write(listTable(items, Date.now(), o.allNamespaces === true));
    });

  ro.command('get')
    .description('show one rollout on one screen')
    .argument('<name>', "the Service's name")
    .option('-w, --watch', 'keep showing it as it changes (on a terminal: redraws only the lines that change)')
    .option('--no-color', 'no colours (also: NO_COLOR set, TERM=dumb)')
    .option('--ascii', 'ASCII glyphs only (also: TERM=dumb)')
    .addOption(outOpt())
    .action(
      async (name: string, o: { watch?: boolean; output?: string; color?: boolean; ascii?: boolean }, cmd: Command) => {
        const { client, g } = clientOf(cmd);
        const style = termStyle(
          { noColor: o.color === false, ascii: o.ascii === true },
          process.env,
          process.stdout.isTTY === true,
        );
        const first = await client.tryGet<RolloutObject>(R.rollouts, g.namespace, name);
        if (!first)
          throw new Error(
            `rollout "${name}" not found in namespace ${g.namespace}; a Rollout exists once a RolloutPolicy governs the Service (see \`sluice rollout list -A\`)`,
          );
        if (!o.watch) {
          process.stdout.write(
            o.output === 'json'
              ? JSON.stringify(first) + '\n'
              : (output(o.output, first) ?? renderRollout(first, Date.now(), style)),
          );
          return;
        }
        await watchRollout(client, g.namespace, name, first, o.output, style);
      },
    );

  const verbs: { kind: CommandKind; help: string }[] = [
    { kind: 'promote', help: 'skip the current step (with --full: all remaining steps, straight to 100 %)' },
    { kind: 'abort', help: 'stop the rollout and send all traffic back to the stable revision' },
    { kind: 'pause', help: 'hold the rollout at its current step' },
    { kind: 'resume', help: 'continue a paused rollout' },
    { kind: 'retry', help: 'start an aborted or rolled-back rollout again from its first step' },
  ];
  for (const v of verbs) {
    const c = ro.command(v.kind).description(v.help).argument('<name>', "the Service's name");
    if (v.kind === 'promote') c.option('--full', 'promote to 100 % now, skipping remaining steps and analysis');
    c.option('--reason <text>', "why (recorded in the rollout's timeline)");
    c.action(async (name: string, o: { full?: boolean; reason?: string }, cmd: Command) => {
      const { client, g } = clientOf(cmd);
      const exists = await client.tryGet<RolloutObject>(R.rollouts, g.namespace, name);
      if (!exists) throw new Error(`rollout "${name}" not found in namespace ${g.namespace}`);
      const seq = await appendCommand(client, g.namespace, name, v.kind, o.full === true, process.env.USER, o.reason);
      process.stdout.write(
        `rollout "${name}": ${v.kind}${o.full ? ' --full' : ''} requested (command ${seq}); see \`sluice rollout get ${name}\`\n`,
      );
    });
  }
}
