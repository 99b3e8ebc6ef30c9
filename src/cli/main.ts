#!/usr/bin/env node
// The `sluice` command. Parses flags once and passes configuration down; nothing below reads process.env.
import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { start } from './start.js';

const program = new Command();
program.name('sluice').description('Progressive delivery for Knative Serving, from Git, on a laptop or a cluster').showHelpAfterError();

program.command('start')
  .description('run the embedded default: API server, Knative Serving, router and rollout controller')
  .option('--data <dir>', 'data directory (store, kubeconfig, endpoints.json, logs)', './.sluice')
  .option('--api-port <port>', 'API server port (0 picks a free one)', '0')
  .option('--router-port <port>', 'router (data plane) port (0 picks a free one)', '0')
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error']).default('info'))
  .action(async (o: { data: string; apiPort: string; routerPort: string; host: string; logLevel: string }) => {
    await start({ data: o.data, apiPort: Number(o.apiPort), routerPort: Number(o.routerPort), host: o.host, logLevel: o.logLevel });
  });

program.command('apiserver')
  .description('run only the embedded Kubernetes-compatible API server (no Serving, no controller)')
  .option('--data <dir>', 'data directory', './.sluice')
  .option('--api-port <port>', 'port (0 picks a free one)', '0')
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error']).default('info'))
  .action(async (o: { data: string; apiPort: string; host: string; logLevel: string }) => {
    await start({ data: o.data, apiPort: Number(o.apiPort), host: o.host, logLevel: o.logLevel, apiOnly: true });
  });

program.command('conformance')
  .description('run Knative Serving test vectors (see shared/conformance/FORMAT.md); prints one JSON line per case')
  .argument('<file>', 'JSON array of cases')
  .action(async (file: string) => {
    const { runConformanceCase } = await import('../serving/conformance.js');
    const cases: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!Array.isArray(cases)) throw new Error(`${file}: expected a JSON array of cases`);
    for (const c of cases) process.stdout.write(JSON.stringify(runConformanceCase(c)) + '\n');
  });

(await import('./rollout.js')).registerRolloutCommands(program);

(await import('./kn/index.js')).registerKnCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
