// `sluice route list|describe`: kn's route commands.
import { Command, Option } from 'commander';
import { R } from '../../kube/index.js';
import type { Route } from '../../serving/types.js';
import { asList, connect, printObject, runAction, withKind, type KnIo } from './context.js';
import { KnError } from './errors.js';
import { describeRoute, formatRouteList } from './format.js';

interface Opts {
  namespace?: string;
  kubeconfig?: string;
  allNamespaces?: boolean;
  output?: string;
  verbose?: boolean;
  headers?: boolean;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <namespace>', 'Specify the namespace to operate in.')
    .option('--kubeconfig <path>', 'kubectl configuration file (default: $KUBECONFIG, else ./.sluice/kubeconfig)');
}

function listCommand(io: KnIo): Command {
  const cmd = new Command('list')
    .alias('ls')
    .usage('[name] [flags]')
    .description('List routes')
    .argument('[name]', 'only this route');
  addCommon(cmd);
  cmd
    .option('-A, --all-namespaces', 'If present, list the requested object(s) across all namespaces.')
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml.'))
    .option('--no-headers', "When using the default output format, don't print headers (default: print headers).");
  cmd.action((name: string | undefined, o: Opts, c: Command) =>
    runAction(io, c, async () => {
      if (c.args.length > 1)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'kn route list' accepts only one additional argument");
      const { client, namespace } = connect(o, io);
      const list = await client.list(
        R.routes,
        o.allNamespaces ? '' : namespace,
        name ? { fieldSelector: `metadata.name=${name}` } : {},
      );
      const items = list.items as unknown as Route[];
      if (o.output !== undefined) return printObject(io, o.output, asList(R.routes, items));
      if (items.length === 0) {
        io.out('No routes found.\n');
        return;
      }
      io.out(formatRouteList(items, { allNamespaces: o.allNamespaces === true, noHeaders: o.headers === false }));
    }),
  );
  return cmd;
}

function describeCommand(io: KnIo): Command {
  const cmd = new Command('describe')
    .usage('NAME [flags]')
    .description('Show details of a route')
    .argument('[name]', 'name of the route');
  addCommon(cmd);
  cmd
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml.'))
    .option('-v, --verbose', 'More output.');
  cmd.action((name: string | undefined, o: Opts, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'kn route describe' requires name of the route as single argument");
      const { client, namespace } = connect(o, io);
      const route = (await client.get(R.routes, namespace, name)) as unknown as Route;
      if (o.output !== undefined) return printObject(io, o.output, withKind(R.routes, route));
      io.out(describeRoute(route, io.clock.now(), o.verbose === true));
    }),
  );
  return cmd;
}

export function routeCommand(io: KnIo): Command {
  const cmd = new Command('route').alias('routes').description('Manage Knative routes (kn-compatible)');
  cmd.addCommand(listCommand(io));
  cmd.addCommand(describeCommand(io));
  return cmd;
}
