// `sluice analysis run POLICY --service S`: every metric of a policy evaluated once, now (or at --time), against
// Prometheus, with the family detected, the PromQL sent, the value, the threshold and the verdict the rollout would
// reach — so a policy can be tried before a rollout depends on it. POLICY is a file (read offline, errors at
// file:line) or the name of a RolloutPolicy in the cluster.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { KubeClient, R } from '../kube/index.js';
import { AnalysisEngine } from '../rollout/analysis/engine.js';
import { METRIC_FAMILY_SETTINGS, type MetricFamilySetting } from '../rollout/analysis/families.js';
import { PrometheusClient } from '../rollout/analysis/prometheus.js';
import type { MetricResult } from '../rollout/analysis/result.js';
import { judgeRound } from '../rollout/machine/machine.js';
import { makePlan } from '../rollout/machine/plan.js';
import { formatPromDuration, parseDuration, parsePolicies, type RolloutPolicySpec } from '../rollout/policy/index.js';
import type { RolloutObject, ServiceObject } from '../rollout/controller/types.js';
import { resolveKubeconfig } from './rollout.js';

export interface AnalysisRunRow {
  metric: string;
  family?: string;
  query: string;
  value: number | null;
  threshold: { min?: number; max?: number } | null;
  status: MetricResult['status'];
  /** After the metric's no-data policy, as the rollout would decide on a first round. */
  verdict: 'pass' | 'fail' | 'hold';
  reason?: string;
  requests?: number;
}

export interface AnalysisRunReport {
  policy: string;
  namespace: string;
  service: string;
  revision: string;
  stableRevision: string;
  window: string;
  at: string;
  metrics: AnalysisRunRow[];
}

/** Pure: the rows of a report from a round's results and the policy (judged as a first round). */
export function reportRows(spec: RolloutPolicySpec, results: readonly MetricResult[], at: number): AnalysisRunRow[] {
  const plan = makePlan(spec).analysis;
  const judged = plan ? judgeRound({ revision: '', at, results: [...results] }, plan, {}) : null;
  const specs = spec.analysis?.metrics ?? [];
  return specs.map((m) => {
    const r = results.find((x) => x.metric === m.name);
    const s = judged?.summaries.find((x) => x.metric === m.name);
    const row: AnalysisRunRow = {
      metric: m.name,
      query: r?.query ?? '',
      value: r && (r.status === 'pass' || r.status === 'fail') ? r.value : null,
      threshold: m.thresholdRange ?? null,
      status: r?.status ?? 'noData',
      verdict: s?.verdict ?? 'hold',
    };
    if (r?.family) row.family = r.family;
    const reason = s?.reason ?? (r && 'reason' in r ? r.reason : undefined);
    if (reason) row.reason = reason;
    if (r?.status === 'noData' && r.requests !== undefined) row.requests = r.requests;
    return row;
  });
}

function pad(s: string, n: number): string {
  return s.length >= n ? s + ' ' : s + ' '.repeat(n - s.length);
}
function fmt(v: number | null): string {
  if (v === null) return '-';
  return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
function thresholdText(t: AnalysisRunRow['threshold']): string {
  if (!t) return '-';
  if (t.min !== undefined && t.max !== undefined) return `${t.min}..${t.max}`;
  if (t.min !== undefined) return `>= ${t.min}`;
  if (t.max !== undefined) return `<= ${t.max}`;
  return '-';
}

/** Pure: the report as text, a table then each metric's PromQL and reason. */
export function renderReport(r: AnalysisRunReport): string {
  const lines = [
    `Policy:    ${r.policy}`,
    `Revision:  ${r.namespace}/${r.revision} of ${r.service} (stable ${r.stableRevision}), window ${r.window}, at ${r.at}`,
  ];
  const mw = Math.max(6, ...r.metrics.map((m) => m.metric.length));
  const fw = Math.max(6, ...r.metrics.map((m) => (m.family ?? '-').length));
  lines.push(
    `${pad('METRIC', mw + 1)}${pad('FAMILY', fw + 1)}${pad('VALUE', 11)}${pad('THRESHOLD', 12)}${pad('STATUS', 8)}VERDICT`,
  );
  for (const m of r.metrics)
    lines.push(
      `${pad(m.metric, mw + 1)}${pad(m.family ?? '-', fw + 1)}${pad(fmt(m.value), 11)}${pad(thresholdText(m.threshold), 12)}${pad(m.status, 8)}${m.verdict}`,
    );
  for (const m of r.metrics) {
    lines.push('', `${m.metric}:`, `  query:  ${m.query || '(none sent)'}`);
    if (m.reason) lines.push(`  reason: ${m.reason}`);
  }
  return lines.join('\n') + '\n';
}

interface RunOpts {
  service: string;
  revision?: string;
  stableRevision?: string;
  window?: string;
  namespace: string;
  kubeconfig?: string;
  prometheusUrl?: string;
  data: string;
  metricsFamily: MetricFamilySetting;
  time?: string;
  output?: string;
}

function promUrl(o: RunOpts): string {
  if (o.prometheusUrl) return o.prometheusUrl;
  const file = join(resolve(o.data), 'endpoints.json');
  if (existsSync(file)) {
    const ep = JSON.parse(readFileSync(file, 'utf8')) as { prometheus?: string };
    if (ep.prometheus) return ep.prometheus;
  }
  throw new Error(
    `no Prometheus: pass --prometheus-url URL (or run it next to \`sluice start\`, whose ${file} names one)`,
  );
}

function evalTime(t: string | undefined): number {
  if (t === undefined) return Date.now();
  const n = /^[0-9]+(\.[0-9]+)?$/.test(t) ? Number(t) * 1000 : Date.parse(t);
  if (!Number.isFinite(n))
    throw new Error(`--time: expected RFC 3339 (2026-12-04T17:00:00Z) or Unix seconds; got ${t}`);
  return n;
}

async function run(policyArg: string, o: RunOpts): Promise<number> {
  let spec: RolloutPolicySpec;
  let source: string;
  let ns = o.namespace;
  let client: KubeClient | undefined;
  const kube = (): KubeClient => (client ??= KubeClient.fromFile(resolveKubeconfig(o.kubeconfig), 'sluice-cli'));
  if (existsSync(policyArg)) {
    const shown = relative(process.cwd(), policyArg) || policyArg;
    const parsed = parsePolicies(readFileSync(policyArg, 'utf8'), shown);
    if (parsed.errors.length > 0) {
      for (const e of parsed.errors) process.stderr.write(`${e.where()}\n`);
      return 1;
    }
    const p =
      parsed.policies.find((x) => x.policy.spec.targetRef?.name === o.service) ?? parsed.policies[0] ?? undefined;
    if (!p) throw new Error(`${shown}: no RolloutPolicy in the file`);
    spec = p.policy.spec;
    source = `${shown}:${p.line} (RolloutPolicy ${p.policy.metadata.namespace ?? ns}/${p.policy.metadata.name})`;
    ns = p.policy.metadata.namespace ?? ns;
  } else {
    const obj = await kube().tryGet<{ spec?: RolloutPolicySpec } & RolloutObject>(R.rolloutPolicies, ns, policyArg);
    if (!obj?.spec) throw new Error(`no file ${policyArg}, and no RolloutPolicy ${ns}/${policyArg} in the cluster`);
    spec = obj.spec;
    source = `RolloutPolicy ${ns}/${policyArg}`;
  }
  if (!spec.analysis || spec.analysis.metrics.length === 0) throw new Error(`${source} has no analysis metrics`);
  let revision = o.revision;
  let stable = o.stableRevision;
  if (revision === undefined || stable === undefined) {
    // The cluster knows the rollout's canary and stable revisions; without one, a given --revision is enough.
    try {
      const svc = await kube().tryGet<ServiceObject>(R.services, ns, o.service);
      const ro = await kube().tryGet<RolloutObject>(R.rollouts, ns, o.service);
      revision ??= ro?.status?.canaryRevision ?? svc?.status?.latestCreatedRevisionName;
      stable ??= ro?.status?.stableRevision ?? svc?.status?.latestReadyRevisionName;
    } catch (e) {
      if (revision === undefined) throw e;
    }
  }
  if (!revision) throw new Error(`service ${ns}/${o.service} has no revision yet; pass --revision`);
  const windowMs = parseDuration(o.window ?? spec.analysis.window ?? spec.analysis.interval);
  if (windowMs === undefined || windowMs <= 0)
    throw new Error(`--window: expected a duration such as 30s or 5m; got ${o.window ?? ''}`);
  const at = evalTime(o.time);
  const engine = new AnalysisEngine({ client: new PrometheusClient({ url: promUrl(o) }), family: o.metricsFamily });
  const rounds = await engine.run(
    [
      {
        key: 'run',
        namespace: ns,
        service: o.service,
        revision,
        stableRevision: stable ?? revision,
        metrics: spec.analysis.metrics,
        windowMs,
      },
    ],
    at,
  );
  const report: AnalysisRunReport = {
    policy: source,
    namespace: ns,
    service: o.service,
    revision,
    stableRevision: stable ?? revision,
    window: formatPromDuration(windowMs),
    at: new Date(at).toISOString(),
    metrics: reportRows(spec, rounds.get('run')?.results ?? [], at),
  };
  process.stdout.write(o.output === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderReport(report));
  return report.metrics.some((m) => m.verdict === 'fail') ? 1 : 0;
}

export function registerAnalysisCommands(program: Command): void {
  const a = program.command('analysis').description("try a policy's analysis before a rollout depends on it");
  a.command('run')
    .description('evaluate every metric of a policy once against Prometheus, now, and print value and verdict')
    .argument('<policy>', 'a policy file, or the name of a RolloutPolicy in the cluster')
    .requiredOption('--service <name>', 'the Knative Service whose revision is measured')
    .option('--revision <name>', "revision to measure (default: the rollout's canary, else the latest created)")
    .option('--stable-revision <name>', 'stable revision for canary-vs-stable judges (default: the pinned one)')
    .option('--window <duration>', "what {{interval}} renders to (default: the policy's window or interval)")
    .option('-n, --namespace <ns>', 'namespace (a policy file names its own)', 'default')
    .option('--kubeconfig <path>', 'kubeconfig (default: $KUBECONFIG, then ./.sluice/kubeconfig)')
    .option('--prometheus-url <url>', 'Prometheus (default: the one in <data>/endpoints.json of `sluice start`)')
    .option('--data <dir>', "`sluice start`'s data directory, for its Prometheus", './.sluice')
    .addOption(
      new Option('--metrics-family <family>', 'Knative request metrics for builtins (auto: detected)')
        .choices([...METRIC_FAMILY_SETTINGS])
        .default('auto'),
    )
    .option('--time <time>', 'evaluate at this time (RFC 3339 or Unix seconds) instead of now')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json']))
    .action(async (policy: string, o: RunOpts) => {
      process.exitCode = await run(policy, o);
    });
}
