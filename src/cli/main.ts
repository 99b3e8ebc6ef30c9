#!/usr/bin/env node
// The `sluice` command. Parses flags once and passes configuration down; nothing below reads process.env.
import { Command, Option } from 'commander';
import { userInfo } from 'node:os';
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import type { MetricFamilySetting } from '../rollout/analysis/families.js';

const program = new Command();
program
  .name('sluice')
  .description('Progressive delivery for Knative Serving, from Git, on a laptop or a cluster')
  .showHelpAfterError();

const LOG_LEVEL = (): Option =>
  new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error']).default('info');

interface GitCli {
  repo?: string | false;
  branch?: string;
  path?: string;
  poll: string;
  webhookSecretFile?: string;
  prune?: boolean;
}

/** The Git flags shared by `start` and `controller`; the webhook secret is read here, in the CLI, only. */
async function gitFlags(o: GitCli, defaultRepo: string | undefined) {
  const { loadWebhookSecret } = await import('../gitops/index.js');
  const repo = o.repo === false ? undefined : (o.repo ?? defaultRepo);
  const webhookSecret = await loadWebhookSecret({
    ...(o.webhookSecretFile ? { file: o.webhookSecretFile } : {}),
    env: process.env,
  });
  return {
    ...(repo ? { repo } : {}),
    ...(o.branch ? { branch: o.branch } : {}),
    ...(o.path ? { path: o.path } : {}),
    pollCron: o.poll === 'off' ? (false as const) : o.poll,
    ...(webhookSecret ? { webhookSecret } : {}),
    ...(o.prune ? { prune: true } : {}),
  };
}

/** The Git work tree the command runs in, if any: `sluice start` follows it by default. */
function enclosingRepo(): string | undefined {
  const r = spawnSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const withGit = (c: Command): Command =>
  c
    .option('--repo <path|url>', 'Git repository to follow (local path, file://, https or ssh URL)')
    .option('--no-repo', 'do not follow any Git repository')
    .option('--branch <name>', "branch to follow (default: the remote's default branch)")
    .option('--path <dir>', 'only manifests under this directory of the repository')
    .option('--poll <cron>', 'poll schedule (node-cron, seconds allowed) or "off" for webhooks only', '*/10 * * * * *')
    .option('--webhook-secret-file <path>', 'shared secret for POST /hooks/git (else $SLUICE_WEBHOOK_SECRET)')
    .option('--prune', 'delete objects Sluice applied from Git once Git no longer declares them')
    .option('--policies <dir>', 'also read RolloutPolicy YAML from this directory')
    .option('--prometheus-url <url>', 'Prometheus to query for analysis (start: default is a local one it starts)');

withGit(
  program
    .command('start')
    .description('run the embedded default: API server, Knative Serving, router, Prometheus and the rollout controller')
    .option('--data <dir>', 'data directory (store, kubeconfig, endpoints.json, logs)', './.sluice')
    .option('--api-port <port>', 'API server port (0 picks a free one)', '0')
    .option('--router-port <port>', 'router (data plane) port (0 picks a free one)', '0')
    .option('--port <port>', 'controller port: POST /hooks/git, /metrics (0 picks a free one)', '0')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--quickstart-broker', 'create the Broker example-broker in namespace default, as `kn quickstart` does')
    .option('--read-only', 'dashboard: show rollouts but hide the action buttons and refuse every action')
    .addOption(
      new Option(
        '--metrics-family <family>',
        "request metrics the router exports: Knative ≤ 1.18's OpenCensus series or Knative ≥ 1.19's OpenTelemetry ones",
      )
        .choices(['knative-opencensus', 'knative-otel'])
        .default('knative-opencensus'),
    )
    .addOption(LOG_LEVEL()),
).action(
  async (
    o: GitCli & {
      readOnly?: boolean;
      data: string;
      apiPort: string;
      routerPort: string;
      port: string;
      host: string;
      logLevel: string;
      policies?: string;
      prometheusUrl?: string;
      metricsFamily: 'knative-opencensus' | 'knative-otel';
      quickstartBroker?: boolean;
    },
  ) => {
    const git = await gitFlags(o, enclosingRepo());
    const { start } = await import('./start.js');
    await start({
      ...(o.quickstartBroker ? { quickstartBroker: true } : {}),
      data: o.data,
      apiPort: Number(o.apiPort),
      routerPort: Number(o.routerPort),
      port: Number(o.port),
      host: o.host,
      logLevel: o.logLevel,
      readOnly: o.readOnly === true,
      ...git,
      ...(o.policies ? { policiesDir: o.policies } : {}),
      ...(o.prometheusUrl ? { prometheusUrl: o.prometheusUrl } : {}),
      metricsFamily: o.metricsFamily,
    });
  },
);

withGit(
  program
    .command('controller')
    .description('run only the rollout controller, alerts and Git source against a cluster running Knative')
    .option(
      '--kubeconfig <path>',
      'kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)',
    )
    .option('--port <port>', 'port for POST /hooks/git, /metrics, /healthz', '8080')
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--work-dir <dir>', 'where the Git working clone lives', './.sluice-controller')
    .option('--namespace <ns>', 'namespace of the leader-election Lease and the GitOps status', 'default')
    .option(
      '--watch-namespace <ns>',
      'watch and act in this namespace only (for a namespaced Role; deploy/namespaced); default: all namespaces',
    )
    .option('--read-only', 'dashboard: show rollouts but hide the action buttons and refuse every action')
    .addOption(
      new Option(
        '--metrics-family <family>',
        'Knative request metrics for builtin checks (auto: detected per namespace)',
      )
        .choices(['auto', 'knative-opencensus', 'knative-otel', 'knative-otel-target-info'])
        .default('auto'),
    )
    .option(
      '--admission-port <port>',
      'serve the RolloutPolicy validating admission webhook (HTTPS) on this port; off when not given',
    )
    .option(
      '--admission-service <name>',
      'the Service in front of the admission webhook (certificate names)',
      'sluice-webhook',
    )
    .option('--data <dir>', 'write the controller URL into <dir>/endpoints.json')
    .option('--advertise-url <url>', "where other replicas reach this one's port (default: the listening URL)")
    .option(
      '--lease-duration <seconds>',
      'leader-election Lease duration; a follower takes over this long after the leader stops renewing',
      '15',
    )
    .addOption(
      new Option('--identity <id>', 'leader-election identity (default: host name + random suffix)').hideHelp(),
    )
    .addOption(LOG_LEVEL()),
).action(
  async (
    o: GitCli & {
      readOnly?: boolean;
      kubeconfig?: string;
      port: string;
      host: string;
      workDir: string;
      namespace: string;
      watchNamespace?: string;
      logLevel: string;
      policies?: string;
      prometheusUrl?: string;
      metricsFamily: MetricFamilySetting;
      admissionPort?: string;
      admissionService: string;
      data?: string;
      identity?: string;
      advertiseUrl?: string;
      leaseDuration: string;
    },
  ) => {
    if (!o.prometheusUrl)
      throw new Error('sluice controller needs --prometheus-url (the Prometheus that scrapes your Knative revisions)');
    const git = await gitFlags(o, undefined);
    const { startController } = await import('./controller-command.js');
    await startController({
      prometheusUrl: o.prometheusUrl,
      port: Number(o.port),
      host: o.host,
      logLevel: o.logLevel,
      workDir: o.workDir,
      namespace: o.namespace,
      ...(o.watchNamespace ? { watchNamespace: o.watchNamespace } : {}),
      readOnly: o.readOnly === true,
      metricsFamily: o.metricsFamily,
      leaseDurationSec: Number(o.leaseDuration),
      ...(o.advertiseUrl ? { advertiseUrl: o.advertiseUrl } : {}),
      ...git,
      ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
      ...(o.policies ? { policiesDir: o.policies } : {}),
      ...(o.data ? { data: o.data } : {}),
      ...(o.identity ? { identity: o.identity } : {}),
      ...(o.admissionPort !== undefined
        ? { admission: { port: Number(o.admissionPort), service: o.admissionService } }
        : {}),
    });
  },
);

program
  .command('dashboard')
  .description("print a fresh one-time login URL of the dashboard (served on the controller's port)")
  .option('--data <dir>', 'data directory of `sluice start` (or the --work-dir of `sluice controller`)', './.sluice')
  .option('--url <url>', "the controller's URL (default: `controller` in <data>/endpoints.json)")
  .action(async (o: { data: string; url?: string }) => {
    const { dashboardUrl } = await import('./dashboard.js');
    process.stdout.write(
      dashboardUrl({ data: o.data, user: userInfo().username, ...(o.url ? { url: o.url } : {}) }) + '\n',
    );
  });

program
  .command('apiserver')
  .description(
    "run only the embedded Kubernetes-compatible API server, with Knative Serving's and RolloutPolicy admission",
  )
  .option('--data <dir>', 'data directory', './.sluice')
  .option('--api-port <port>', 'port (0 picks a free one)', '0')
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .option(
    '--audit-log <path>',
    'append one audit.k8s.io/v1 Event (JSON line) per request: user, verb, object, decision',
  )
  .addOption(LOG_LEVEL())
  .action(async (o: { data: string; apiPort: string; host: string; logLevel: string; auditLog?: string }) => {
    const { startApiServerCommand } = await import('./apiserver-command.js');
    await startApiServerCommand({
      data: o.data,
      apiPort: Number(o.apiPort),
      host: o.host,
      logLevel: o.logLevel,
      ...(o.auditLog ? { auditLogPath: o.auditLog } : {}),
    });
  });

program
  .command('serving')
  .description('run only embedded Knative Serving: reconcilers, router, activator and revision processes')
  .option('--kubeconfig <path>', 'kubeconfig of the API server (default: <data>/kubeconfig)')
  .option('--data <dir>', 'data directory (revision logs, endpoints.json)', './.sluice')
  .option('--router-port <port>', 'router port (0 picks a free one)', '0')
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .addOption(
    new Option(
      '--metrics-family <family>',
      "request metrics the router exports: Knative ≤ 1.18's OpenCensus series or Knative ≥ 1.19's OpenTelemetry ones",
    )
      .choices(['knative-opencensus', 'knative-otel'])
      .default('knative-opencensus'),
  )
  .addOption(LOG_LEVEL())
  .action(
    async (o: {
      kubeconfig?: string;
      data: string;
      routerPort: string;
      host: string;
      logLevel: string;
      metricsFamily: 'knative-opencensus' | 'knative-otel';
    }) => {
      const { startServingCommand } = await import('./serving-command.js');
      await startServingCommand({
        kubeconfig: o.kubeconfig ?? `${o.data}/kubeconfig`,
        data: o.data,
        routerPort: Number(o.routerPort),
        host: o.host,
        logLevel: o.logLevel,
        metricsFamily: o.metricsFamily,
      });
    },
  );

program
  .command('validate')
  .description(
    'check Knative Services, RolloutPolicies, ConfigMaps, Brokers, Triggers and SinkBindings without a server',
  )
  .argument('<paths...>', 'files or directories')
  .option('-n, --namespace <ns>', 'namespace for manifests that name none', 'default')
  .action(async (paths: string[], o: { namespace: string }) => {
    const { validatePaths } = await import('./validate.js');
    const r = await validatePaths(paths, o.namespace);
    for (const p of r.problems) process.stderr.write(`${p}\n`);
    for (const w of r.warnings) process.stderr.write(`${w}\n`);
    if (r.problems.length > 0) {
      process.stderr.write(`${r.problems.length} problem(s) in ${r.files} file(s)\n`);
      process.exitCode = 1;
    } else process.stdout.write(`${r.files} file(s), ${r.objects} object(s): valid\n`);
  });

program
  .command('conformance')
  .description(
    'run Knative Serving and Eventing test vectors (see shared/conformance/FORMAT.md); prints one JSON line per case',
  )
  .argument('<file>', 'JSON array of cases')
  .action(async (file: string) => {
    const { runConformanceCase } = await import('../serving/conformance.js');
    const { runEventingConformanceCase } = await import('../eventing/conformance.js');
    const cases: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!Array.isArray(cases)) throw new Error(`${file}: expected a JSON array of cases`);
    for (const c of cases)
      process.stdout.write(JSON.stringify(runEventingConformanceCase(c) ?? runConformanceCase(c)) + '\n');
  });

// The server commands are what `sluice start` runs as its children; they skip loading the client commands
// (the Kubernetes client and kn's formatting take seconds of CPU on a busy machine, once per child).
const SERVER_COMMANDS = ['start', 'apiserver', 'serving', 'controller'];
if (!SERVER_COMMANDS.includes(process.argv[2] ?? '')) {
  (await import('./rollout.js')).registerRolloutCommands(program);
  (await import('./analysis.js')).registerAnalysisCommands(program);
  (await import('./kn/index.js')).registerKnCommands(program);
}

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
