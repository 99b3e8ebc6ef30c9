// `sluice rollout list|get|promote|abort|pause|resume|retry`: reads Rollout objects and appends commands to
// their spec.commands (each with the next seq, so the controller applies it exactly once).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { Informer, KubeClient, R } from '../kube/index.js';
import { appendRolloutCommand } from '../rollout/controller/commands.js';
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
function bar(pct: number): string {
  const n = Math.round((Math.max(0, Math.min(100, pct)) / 100) * BAR);
  return '█'.repeat(n) + '░'.repeat(BAR - n);
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

/** One screen: phase, step i/n, weights with bars, the last analysis values against thresholds, message. */
export function renderRollout(ro: RolloutObject, now: number): string {
  const st = ro.status ?? {};
  const lines: string[] = [];
  const ns = ro.metadata.namespace ?? 'default';
  lines.push(`Rollout:   ${ns}/${ro.metadata.name ?? ''}${st.policy ? `   (policy ${st.policy})` : ''}`);
  lines.push(`Phase:     ${st.phase ?? 'Unknown'}${st.strategy ? `   strategy ${st.strategy}` : ''}`);
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
      lines.push(`  ${pad(t.revisionName, w + 2)}${pad(`${t.percent}%`, 5)}${bar(t.percent)}  ${role}${tag}`.trimEnd());
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
        lines.push(
          `  ${pad(m.metric, mw + 1)}${pad(fmt(m.value), 11)}${pad(threshold(m), 14)}${pad(m.status, 8)}${m.verdict}${m.reason && m.status !== 'pass' ? `  (${m.reason})` : ''}`,
        );
      }
    }
  }
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
    .option('-w, --watch', 'keep showing it as it changes')
    .addOption(outOpt())
    .action(async (name: string, o: { watch?: boolean; output?: string }, cmd: Command) => {
      const { client, g } = clientOf(cmd);
      const show = (r: RolloutObject): void => {
        const out = output(o.output, r);
        if (out !== null) {
          process.stdout.write(out + (o.watch && o.output === 'yaml' ? '---\n' : ''));
          return;
        }
        const clear = o.watch && process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
        process.stdout.write(clear + renderRollout(r, Date.now()) + (o.watch && !clear ? '\n' : ''));
      };
      const first = await client.tryGet<RolloutObject>(R.rollouts, g.namespace, name);
      if (!first)
        throw new Error(
          `rollout "${name}" not found in namespace ${g.namespace}; a Rollout exists once a RolloutPolicy governs the Service (see \`sluice rollout list -A\`)`,
        );
      show(first);
      if (!o.watch) return;
      let lastRv = first.metadata.resourceVersion;
      const inf = new Informer<RolloutObject>(client, R.rollouts, {
        namespace: g.namespace,
        fieldSelector: `metadata.name=${name}`,
      });
      const onChange = (r: RolloutObject): void => {
        if (r.metadata.name !== name || r.metadata.resourceVersion === lastRv) return;
        lastRv = r.metadata.resourceVersion;
        show(r);
      };
      inf
        .onAdd(onChange)
        .onUpdate(onChange)
        .onDelete(() => {
          process.stdout.write(`rollout "${name}" was deleted\n`);
          inf.stop();
        });
      await inf.start();
      await new Promise<void>((res) => {
        const stop = (): void => {
          inf.stop();
          res();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

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
    c.action(async (name: string, o: { full?: boolean }, cmd: Command) => {
      const { client, g } = clientOf(cmd);
      const exists = await client.tryGet<RolloutObject>(R.rollouts, g.namespace, name);
      if (!exists) throw new Error(`rollout "${name}" not found in namespace ${g.namespace}`);
      const seq = await appendCommand(client, g.namespace, name, v.kind, o.full === true, process.env.USER);
      process.stdout.write(
        `rollout "${name}": ${v.kind}${o.full ? ' --full' : ''} requested (command ${seq}); see \`sluice rollout get ${name}\`\n`,
      );
    });
  }
}
