// `sluice revision list|describe|delete`: kn's revision commands.
import { Command, Option } from 'commander';
import { R, type KubeClient, type KubeObject } from '../../kube/index.js';
import { LABEL_ROUTING_STATE } from '../../serving/keys.js';
import type { Revision, Service } from '../../serving/types.js';
import { asList, changed, connect, intArg, printObject, runAction, withKind, type KnIo } from './context.js';
import { KnError } from './errors.js';
import { describeRevision, formatRevisionList, LABEL_SERVICE } from './format.js';

const LABEL_GENERATION = 'serving.knative.dev/configurationGeneration';

interface CommonOpts {
  namespace?: string;
  kubeconfig?: string;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <namespace>', 'Specify the namespace to operate in.')
    .option('--kubeconfig <path>', 'kubectl configuration file (default: $KUBECONFIG, else ./.sluice/kubeconfig)');
}

interface ListOpts extends CommonOpts {
  service?: string;
  allNamespaces?: boolean;
  output?: string;
  headers?: boolean;
}

function listCommand(io: KnIo): Command {
  const cmd = new Command('list')
    .alias('ls')
    .usage('[name] [flags]')
    .description('List revisions for a given service.')
    .argument('[name]', 'only this revision');
  addCommon(cmd);
  cmd
    .option('-s, --service <service>', 'Service name')
    .option(
      '-A, --all-namespaces',
      'If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.',
    )
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml.'))
    .option('--no-headers', "When using the default output format, don't print headers (default: print headers).");
  cmd.addHelpText(
    'after',
    `
Examples:
  # List all revisions
  sluice revision list

  # List revisions for a service 'svc1' in namespace 'myapp'
  sluice revision list -s svc1 -n myapp

  # List all revisions in JSON output format
  sluice revision list -o json`,
  );
  cmd.action((name: string | undefined, o: ListOpts, c: Command) =>
    runAction(io, c, async () => {
      if (c.args.length > 1)
        throw new KnError(
          'SLUICE_ERR_KN_ARGS',
          `'kn revision list' accepts maximum 1 argument, not ${c.args.length} arguments as given`,
        );
      const { client, namespace } = connect(o, io);
      const ns = o.allNamespaces ? '' : namespace;
      const selectors: string[] = [];
      if (changed(c, 'service') && o.service !== undefined) {
        await client.get(R.services, namespace, o.service); // kn: the service must exist
        selectors.push(`${LABEL_SERVICE}=${o.service}`);
      }
      const list = await client.list(R.revisions, ns, {
        ...(selectors.length ? { labelSelector: selectors.join(',') } : {}),
        ...(name ? { fieldSelector: `metadata.name=${name}` } : {}),
      });
      const items = list.items as unknown as Revision[];
      if (o.output !== undefined) return printObject(io, o.output, asList(R.revisions, items));
      if (items.length === 0) {
        io.out('No revisions found.\n');
        return;
      }
      const services = new Map<string, Service>();
      for (const r of items) {
        const svc = r.metadata?.labels?.[LABEL_SERVICE];
        const key = `${r.metadata?.namespace ?? ''}/${svc ?? ''}`;
        if (!svc || services.has(key)) continue;
        const s = await client.tryGet(R.services, r.metadata?.namespace ?? namespace, svc);
        if (s) services.set(key, s as unknown as Service);
      }
      io.out(
        formatRevisionList(items, services, io.clock.now(), {
          allNamespaces: o.allNamespaces === true,
          noHeaders: o.headers === false,
        }),
      );
    }),
  );
  return cmd;
}

interface DescribeOpts extends CommonOpts {
  output?: string;
  verbose?: boolean;
}

function describeCommand(io: KnIo): Command {
  const cmd = new Command('describe')
    .usage('NAME [flags]')
    .description('Show details of a revision')
    .argument('[name]', 'name of the revision');
  addCommon(cmd);
  cmd
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml.'))
    .option('-v, --verbose', 'More output.');
  cmd.action((name: string | undefined, o: DescribeOpts, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError(
          'SLUICE_ERR_KN_ARGS',
          "'kn revision describe' requires name of the revision as single argument",
        );
      const { client, namespace } = connect(o, io);
      const rev = (await client.get(R.revisions, namespace, name)) as unknown as Revision;
      if (o.output !== undefined) return printObject(io, o.output, withKind(R.revisions, rev));
      const details = o.verbose === true;
      let svc: Service | undefined;
      const svcName = rev.metadata?.labels?.[LABEL_SERVICE];
      if (details && svcName) svc = (await client.get(R.services, namespace, svcName)) as unknown as Service;
      io.out(describeRevision(rev, svc, io.clock.now(), details));
    }),
  );
  return cmd;
}

interface DeleteOpts extends CommonOpts {
  prune?: string;
  pruneAll?: boolean;
  wait: boolean;
  waitTimeout: number;
  waitWindow: number;
}

const DEFAULT_WAIT_TIMEOUT_S = 600;

/**
 * The names `--prune`/`--prune-all` delete: Revisions whose routingState label is not `active` (no
 * route sends them traffic), in kn's revision-list order: namespace, service, newest generation, name.
 */
export function unreferencedRevisions(revisions: readonly Revision[]): string[] {
  const gen = (r: Revision): number => {
    const v = r.metadata?.labels?.[LABEL_GENERATION] ?? '';
    return /^[+-]?\d+$/.test(v) ? Number(v) : Number.NaN;
  };
  const sorted = [...revisions].sort((a, b) => {
    const an = a.metadata?.namespace ?? '';
    const bn = b.metadata?.namespace ?? '';
    if (an !== bn) return an < bn ? -1 : 1;
    const as = a.metadata?.labels?.[LABEL_SERVICE] ?? '';
    const bs = b.metadata?.labels?.[LABEL_SERVICE] ?? '';
    if (as !== bs) return as < bs ? -1 : 1;
    const byName = (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
    const ag = gen(a);
    const bg = gen(b);
    if (Number.isNaN(ag) || Number.isNaN(bg)) return byName;
    if (ag !== bg) return bg - ag;
    return byName;
  });
  return sorted
    .filter((r) => r.metadata?.labels?.[LABEL_ROUTING_STATE] !== 'active')
    .map((r) => r.metadata?.name ?? '');
}

async function waitRevisionGone(client: KubeClient, ns: string, name: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (await client.tryGet(R.revisions, ns, name)) {
    if (Date.now() > end)
      throw new KnError(
        'SLUICE_ERR_KN_WAIT_TIMEOUT',
        // kn's waitForEvent words a delete timeout this way too.
        `timeout: revision '${name}' not ready after ${Math.trunc(timeoutMs / 1000)} seconds`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

function deleteCommand(io: KnIo): Command {
  const cmd = new Command('delete')
    .alias('rm')
    .usage('NAME [NAME ...] [flags]')
    .description('Delete revisions')
    .argument('[names...]', 'revisions to delete');
  addCommon(cmd);
  cmd
    .option('--prune <service>', 'Remove unreferenced revisions for a given service in a namespace.')
    .option('--prune-all', 'Remove all unreferenced revisions in a namespace.')
    .option('--wait', "Wait for 'revision delete' operation to be completed.")
    .option('--no-wait', "Do not wait for 'revision delete' operation to be completed. (default true)");
  cmd.setOptionValueWithSource('wait', false, 'default');
  cmd
    .option(
      '--wait-timeout <seconds>',
      'Seconds to wait before giving up on waiting for revision to be deleted.',
      intArg('wait-timeout'),
      DEFAULT_WAIT_TIMEOUT_S,
    )
    .option(
      '--wait-window <seconds>',
      'Seconds to wait for revision to be deleted after a false ready condition is returned',
      intArg('wait-window'),
      2,
    );
  cmd.addHelpText(
    'after',
    `
Examples:
  # Delete a revision 'svc1-abcde' in default namespace
  sluice revision delete svc1-abcde

  # Delete all unreferenced revisions
  sluice revision delete --prune-all

  # Delete all unreferenced revisions for a given service 'mysvc'
  sluice revision delete --prune mysvc`,
  );
  cmd.action((args: string[], o: DeleteOpts, c: Command) =>
    runAction(io, c, async () => {
      const prune = changed(c, 'prune');
      const pruneAll = o.pruneAll === true;
      if (args.length < 1 && !pruneAll && !prune)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'kn revision delete' requires one or more revision name");
      if (args.length > 0 && pruneAll)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'kn revision delete' with --prune-all flag requires no arguments");
      const { client, namespace } = connect(o, io);
      let names = args;
      if (prune || pruneAll) {
        // kn: with --prune the names given are replaced by the unreferenced revisions of the service.
        const list = await client.list(
          R.revisions,
          namespace,
          prune ? { labelSelector: `${LABEL_SERVICE}=${o.prune ?? ''}` } : {},
        );
        names = unreferencedRevisions(list.items as unknown as Revision[]);
        if (names.length === 0) {
          io.out('No unreferenced revisions found.\n');
          return;
        }
      }
      const errs: string[] = [];
      for (const n of names) {
        try {
          const cur: KubeObject | undefined = await client.get(R.revisions, namespace, n);
          if (cur.metadata.deletionTimestamp)
            throw new KnError(
              'SLUICE_ERR_KN_DELETING',
              `can't delete revision '${n}' because it has been already marked for deletion`,
            );
          await client.delete(R.revisions, namespace, n);
          if (o.wait) await waitRevisionGone(client, namespace, n, o.waitTimeout * 1000);
          io.out(`Revision '${n}' deleted in namespace '${namespace}'.\n`);
        } catch (e) {
          errs.push(e instanceof Error ? e.message : String(e));
        }
      }
      if (errs.length > 0) throw new KnError('SLUICE_ERR_KN_DELETE', errs.join('\nError: '));
    }),
  );
  return cmd;
}

export function revisionCommand(io: KnIo): Command {
  const cmd = new Command('revision').alias('revisions').description('Manage Knative revisions (kn-compatible)');
  cmd.addCommand(listCommand(io));
  cmd.addCommand(describeCommand(io));
  cmd.addCommand(deleteCommand(io));
  return cmd;
}
