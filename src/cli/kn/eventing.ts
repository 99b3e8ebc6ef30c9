// `sluice broker|trigger|source binding`: kn's Eventing commands with kn's flags, messages and columns.
// Sinks and subjects are parsed as kn does (`ksvc:NAME`, `broker:NAME`, `svc:NAME`, a URL; `Kind:apiVersion:name`)
// and looked up before anything is written, so a missing sink fails the command as in kn.
import { Command, Option } from 'commander';
import { R, type KubeClient, type KubeObject, type ResourceRef } from '../../kube/index.js';
import type { Condition } from '../../serving/types.js';
import { ER } from '../../eventing/reconciler/resources.js';
import type { Broker, DeliverySpec, Destination, KReference, SinkBinding, Trigger } from '../../eventing/types.js';
import { asList, collect, connect, intArg, printObject, runAction, withKind, type KnIo } from './context.js';
import { KnError } from './errors.js';
import {
  conditionsValue,
  listAge,
  nonReadyReason,
  readyCondition,
  table,
  writeConditions,
  writeMetadata,
} from './format.js';
import { PrefixWriter } from './tabwriter.js';

interface Common {
  namespace?: string;
  kubeconfig?: string;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <namespace>', 'Specify the namespace to operate in.')
    .option('--kubeconfig <path>', 'kubectl configuration file (default: $KUBECONFIG, else ./.sluice/kubeconfig)');
}

function addList(cmd: Command): Command {
  return cmd
    .option('-A, --all-namespaces', 'If present, list the requested object(s) across all namespaces.')
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml.'))
    .option('--no-headers', "When using the default output format, don't print headers (default: print headers).");
}

const KSVC: ResourceRef = R.services;
const CORE_SVC: ResourceRef = { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true };

/** kn's sink flag: `ksvc:NAME[:NS]` or `NAME`, `broker:NAME`, `svc:NAME`/`service:NAME`, or an http(s) URL. */
export function parseSink(
  sink: string,
  namespace: string,
):
  | { uri: string }
  | { ref: Required<Pick<KReference, 'apiVersion' | 'kind' | 'name' | 'namespace'>>; resource: ResourceRef } {
  if (/^https?:\/\//.test(sink)) return { uri: sink };
  const parts = sink.split(':');
  const [prefix, name, ns] = parts.length === 1 ? ['ksvc', parts[0], undefined] : parts;
  if (!name) throw new KnError('SLUICE_ERR_KN_SINK', `sink ${JSON.stringify(sink)} has no name`);
  const on = ns ?? namespace;
  switch (prefix) {
    case 'ksvc':
      return { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name, namespace: on }, resource: KSVC };
    case 'broker':
      return {
        ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name, namespace: on },
        resource: ER.brokers,
      };
    case 'svc':
    case 'service':
      return { ref: { apiVersion: 'v1', kind: 'Service', name, namespace: on }, resource: CORE_SVC };
    default:
      throw new KnError(
        'SLUICE_ERR_KN_SINK',
        `unsupported sink prefix: '${prefix ?? ''}', please use one of the following: ksvc, broker, svc, service, or an http(s) URL`,
      );
  }
}

/** Resolves a --sink flag into a Destination, reading the referenced object first as kn does. */
async function sinkDestination(client: KubeClient, sink: string, namespace: string): Promise<Destination> {
  const p = parseSink(sink, namespace);
  if ('uri' in p) return { uri: p.uri };
  if (p.resource !== CORE_SVC) await client.get(p.resource, p.ref.namespace, p.ref.name);
  return { ref: p.ref };
}

/** kn's SINK column: `ksvc:NAME`, `broker:NAME`, `svc:NAME`, or the URI. */
export function sinkText(d: Destination | undefined, namespace: string): string {
  if (!d) return '';
  if (d.ref) {
    const prefix =
      d.ref.kind === 'Service' && d.ref.apiVersion === 'serving.knative.dev/v1'
        ? 'ksvc'
        : d.ref.kind === 'Broker'
          ? 'broker'
          : d.ref.kind === 'Service'
            ? 'svc'
            : `${(d.ref.kind ?? '').toLowerCase()}`;
    const ns = d.ref.namespace && d.ref.namespace !== namespace ? `:${d.ref.namespace}` : '';
    return `${prefix}:${d.ref.name ?? ''}${ns}${d.uri ? ` (${d.uri})` : ''}`;
  }
  return d.uri ?? '';
}

/** `--filter k=v` values, with kn's errors; `k-` removes (update only). */
function parseFilters(values: string[], allowRemove: boolean): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const v of values) {
    if (allowRemove && v.endsWith('-') && !v.includes('=')) {
      remove.push(v.slice(0, -1));
      continue;
    }
    const i = v.indexOf('=');
    if (i < 0)
      throw new KnError(
        'SLUICE_ERR_KN_FILTER',
        `Invalid --filter: Argument requires a value that contains the "=" character as delimiter; got ${JSON.stringify(v)}`,
      );
    const key = v.slice(0, i);
    if (key === '') throw new KnError('SLUICE_ERR_KN_FILTER', 'Invalid --filter: The key is empty');
    if (key in set)
      throw new KnError(
        'SLUICE_ERR_KN_FILTER',
        // Go's %v of a []string: `[type=a type=b]`.
        `Invalid --filter: The key ${JSON.stringify(key)} has been duplicate in [${values.join(' ')}]`,
      );
    set[key] = v.slice(i + 1);
  }
  return { set, remove };
}

const obj = <T>(o: KubeObject): T => o as unknown as T;
const cmpNsName = (a: { metadata?: { namespace?: string; name?: string } }, b: typeof a): number =>
  (a.metadata?.namespace ?? '').localeCompare(b.metadata?.namespace ?? '') ||
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

interface DeliveryFlags {
  dlSink?: string;
  retry?: number;
  timeout?: string;
  backoffPolicy?: string;
  backoffDelay?: string;
  retryAfterMax?: string;
}

function addDeliveryFlags(cmd: Command): Command {
  return cmd
    .option('--dl-sink <sink>', 'The sink receiving event that could not be sent to a destination.')
    .option(
      '--retry <n>',
      'The minimum number of retries the sender should attempt when sending an event before moving it to the dead letter sink.',
      intArg('retry'),
    )
    .option('--timeout <duration>', 'The timeout of each single request. The value must be greater than 0.')
    .option('--backoff-policy <policy>', 'The retry backoff policy (linear, exponential).')
    .option('--backoff-delay <duration>', 'The delay before retrying.')
    .option(
      '--retry-after-max <duration>',
      'An optional upper bound on the duration specified in a "Retry-After" header when calculating backoff times for retrying 429 and 503 response codes.',
    );
}

async function deliveryFrom(
  client: KubeClient,
  f: DeliveryFlags,
  namespace: string,
  base: DeliverySpec | undefined,
): Promise<Record<string, unknown> | undefined> {
  const d: Record<string, unknown> = { ...(base ?? {}) };
  if (f.dlSink) d['deadLetterSink'] = await sinkDestination(client, f.dlSink, namespace);
  if (f.retry !== undefined && f.retry !== 0) d['retry'] = f.retry;
  if (f.timeout) d['timeout'] = f.timeout;
  if (f.backoffPolicy) d['backoffPolicy'] = f.backoffPolicy;
  if (f.backoffDelay) d['backoffDelay'] = f.backoffDelay;
  if (f.retryAfterMax) d['retryAfterMax'] = f.retryAfterMax;
  return Object.keys(d).length > 0 ? d : undefined;
}

// ------------------------------------------------------------------------------------------- broker

export function formatBrokerList(
  brokers: Broker[],
  nowMs: number,
  o: { allNamespaces?: boolean; noHeaders?: boolean },
): string {
  const rows = [...brokers]
    .sort(cmpNsName)
    .map((b) => [
      ...(o.allNamespaces ? [b.metadata?.namespace ?? ''] : []),
      b.metadata?.name ?? '',
      b.status?.address?.url ?? '',
      listAge(b.metadata?.['creationTimestamp'], nowMs),
      conditionsValue(b.status?.conditions as Condition[] | undefined),
      readyCondition(b.status?.conditions as Condition[] | undefined),
      nonReadyReason(b.status?.conditions as Condition[] | undefined),
    ]);
  return table(['NAME', 'URL', 'AGE', 'CONDITIONS', 'READY', 'REASON'], rows, o);
}

export function describeBroker(b: Broker, nowMs: number): string {
  const dw = new PrefixWriter();
  writeMetadata(dw, b.metadata, nowMs, false);
  dw.writeLine();
  const addr = dw.writeAttribute('Address', '');
  addr.writeAttribute('URL', b.status?.address?.url ?? '');
  dw.writeLine();
  writeConditions(dw, b.status?.conditions as Condition[] | undefined, nowMs, false);
  return dw.toString();
}

const CONFIG_KINDS: Record<string, { kind: string; apiVersion: string }> = {
  cm: { kind: 'ConfigMap', apiVersion: 'v1' },
  configmap: { kind: 'ConfigMap', apiVersion: 'v1' },
  sc: { kind: 'Secret', apiVersion: 'v1' },
  secret: { kind: 'Secret', apiVersion: 'v1' },
  rmq: { kind: 'RabbitmqCluster', apiVersion: 'rabbitmq.com/v1beta1' },
  rabbitmq: { kind: 'RabbitmqCluster', apiVersion: 'rabbitmq.com/v1beta1' },
  rabbitmqcluster: { kind: 'RabbitmqCluster', apiVersion: 'rabbitmq.com/v1beta1' },
};

/**
 * kn's `--broker-config`: `NAME` (a ConfigMap), `KIND:NAME`, `KIND:NAME:NAMESPACE` or `APIVERSION:KIND:NAME`,
 * `APIVERSION:KIND:NAME:NAMESPACE`; KIND is cm|configmap|sc|secret|rmq|rabbitmq|rabbitmqcluster where an
 * apiVersion is not given. No namespace: the webhook defaults it to the Broker's.
 */
export function brokerConfigRef(text: string): Record<string, string> {
  const parts = text.split(':');
  const slices = parts.length > 4 ? [...parts.slice(0, 3), parts.slice(3).join(':')] : parts;
  const known = (k: string | undefined) => CONFIG_KINDS[(k ?? '').toLowerCase()];
  const [a = '', b = '', c = '', d = ''] = slices;
  if (slices.length === 1) return { kind: 'ConfigMap', apiVersion: 'v1', name: a };
  if (slices.length === 2) {
    const k = known(a);
    if (!k)
      throw new KnError(
        'SLUICE_ERR_KN_ARGS',
        `APIVersion could not be determined for kind ${JSON.stringify(a)}. Provide config in format: "<apiVersion>:<kind>:<name>:<namespace>"`,
      );
    return { ...k, name: b };
  }
  if (slices.length === 3) {
    const k = known(a);
    return k ? { ...k, name: b, namespace: c } : { apiVersion: a, kind: b, name: c };
  }
  return { apiVersion: a, kind: b, name: c, namespace: d };
}

function brokerCommand(io: KnIo): Command {
  const cmd = new Command('broker').alias('brokers').description('Manage message brokers (kn-compatible)');
  const create = addDeliveryFlags(
    addCommon(new Command('create').usage('NAME [flags]').description('Create a broker').argument('[name]')),
  )
    .option('--class <class>', "Broker class like 'MTChannelBasedBroker' or 'Kafka' (if available).")
    .option(
      '--broker-config <config>',
      'Reference to the broker configuration: NAME (a ConfigMap) or cm:|configmap:|secret: prefixed.',
    );
  create.action(
    (name: string | undefined, o: Common & DeliveryFlags & { class?: string; brokerConfig?: string }, c: Command) =>
      runAction(io, c, async () => {
        if (!name || c.args.length !== 1)
          throw new KnError('SLUICE_ERR_KN_ARGS', "'broker create' requires the broker name given as single argument");
        if (o.brokerConfig && !o.class)
          throw new KnError('SLUICE_ERR_KN_ARGS', 'cannot set broker-config without setting class');
        const { client, namespace } = connect(o, io);
        const spec: Record<string, unknown> = {};
        if (o.brokerConfig !== undefined) spec['config'] = brokerConfigRef(o.brokerConfig);
        try {
          const delivery = await deliveryFrom(client, o, namespace, undefined);
          if (delivery) spec['delivery'] = delivery;
          await client.create(ER.brokers, {
            metadata: {
              name,
              namespace,
              ...(o.class ? { annotations: { 'eventing.knative.dev/broker.class': o.class } } : {}),
            },
            spec,
          });
        } catch (e) {
          throw new KnError(
            'SLUICE_ERR_KN_CREATE',
            `cannot create broker '${name}' in namespace '${namespace}' because: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        io.out(`Broker '${name}' successfully created in namespace '${namespace}'.\n`);
      }),
  );
  const update = addDeliveryFlags(
    addCommon(new Command('update').usage('NAME [flags]').description('Update a broker').argument('[name]')),
  );
  update.action((name: string | undefined, o: Common & DeliveryFlags, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'broker update' requires the broker name given as single argument");
      if (!o.dlSink && o.retry === undefined && !o.timeout && !o.backoffPolicy && !o.backoffDelay && !o.retryAfterMax)
        throw new KnError('SLUICE_ERR_KN_ARGS', 'flag(s) not set\nUsage: update NAME');
      const { client, namespace } = connect(o, io);
      const cur = obj<Broker>(await client.get(ER.brokers, namespace, name));
      const delivery = await deliveryFrom(client, o, namespace, cur.spec?.delivery);
      await client.update(ER.brokers, {
        ...(cur as unknown as KubeObject),
        spec: { ...cur.spec, ...(delivery ? { delivery } : {}) },
      });
      io.out(`Broker '${name}' updated in namespace '${namespace}'.\n`);
    }),
  );
  const list = addList(addCommon(new Command('list').alias('ls').description('List brokers')));
  list.action((o: Common & { allNamespaces?: boolean; output?: string; headers?: boolean }, c: Command) =>
    runAction(io, c, async () => {
      const { client, namespace } = connect(o, io);
      const items = (await client.list(ER.brokers, o.allNamespaces ? '' : namespace)).items.map((i) => obj<Broker>(i));
      if (o.output !== undefined) return printObject(io, o.output, asList(ER.brokers, items));
      if (items.length === 0) return io.out('No brokers found.\n');
      io.out(
        formatBrokerList(items, io.clock.now(), {
          allNamespaces: o.allNamespaces === true,
          noHeaders: o.headers === false,
        }),
      );
    }),
  );
  const describe = addCommon(
    new Command('describe').usage('NAME [flags]').description('Describe broker').argument('[name]'),
  ).addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml|url.'));
  describe.action((name: string | undefined, o: Common & { output?: string }, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'kn broker describe' requires name of the broker as single argument");
      const { client, namespace } = connect(o, io);
      const b = obj<Broker>(await client.get(ER.brokers, namespace, name));
      if (o.output === 'url') return io.out(`${b.status?.address?.url ?? ''}\n`);
      if (o.output !== undefined) return printObject(io, o.output, withKind(ER.brokers, b));
      io.out(describeBroker(b, io.clock.now()));
    }),
  );
  const del = addCommon(new Command('delete').usage('NAME [flags]').description('Delete a broker').argument('[name]'));
  del.action((name: string | undefined, o: Common, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'broker delete' requires the broker name given as single argument");
      const { client, namespace } = connect(o, io);
      try {
        await client.delete(ER.brokers, namespace, name);
      } catch (e) {
        throw new KnError(
          'SLUICE_ERR_KN_DELETE',
          `cannot delete broker '${name}' in namespace '${namespace}' because: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      io.out(`Broker '${name}' successfully deleted in namespace '${namespace}'.\n`);
    }),
  );
  for (const s of [create, update, list, describe, del]) cmd.addCommand(s);
  return cmd;
}

// ------------------------------------------------------------------------------------------- trigger

export function formatTriggerList(
  triggers: Trigger[],
  nowMs: number,
  o: { allNamespaces?: boolean; noHeaders?: boolean },
): string {
  const rows = [...triggers]
    .sort(cmpNsName)
    .map((t) => [
      ...(o.allNamespaces ? [t.metadata?.namespace ?? ''] : []),
      t.metadata?.name ?? '',
      t.spec?.broker ?? '',
      sinkText(t.spec?.subscriber, t.metadata?.namespace ?? ''),
      listAge(t.metadata?.['creationTimestamp'], nowMs),
      conditionsValue(t.status?.conditions as Condition[] | undefined),
      readyCondition(t.status?.conditions as Condition[] | undefined),
      nonReadyReason(t.status?.conditions as Condition[] | undefined),
    ]);
  return table(['NAME', 'BROKER', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON'], rows, o);
}

export function describeTrigger(t: Trigger, nowMs: number, verbose: boolean): string {
  const dw = new PrefixWriter();
  writeMetadata(dw, t.metadata, nowMs, verbose);
  dw.writeAttribute('Broker', t.spec?.broker ?? '');
  const attrs = Object.entries(t.spec?.filter?.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (attrs.length > 0) {
    const f = dw.writeAttribute('Filter', '');
    for (const [k, v] of attrs) f.writeAttribute(k, v);
  }
  dw.writeLine();
  const sink = dw.writeAttribute('Sink', '');
  const s = t.spec?.subscriber;
  if (s?.ref) {
    sink.writeAttribute('Name', s.ref.name ?? '');
    if (s.ref.namespace && s.ref.namespace !== t.metadata?.namespace) sink.writeAttribute('Namespace', s.ref.namespace);
    sink.writeAttribute('Resource', `${s.ref.kind ?? ''} (${s.ref.apiVersion ?? ''})`);
  }
  if (s?.uri) sink.writeAttribute('URI', s.uri);
  dw.writeLine();
  writeConditions(dw, t.status?.conditions as Condition[] | undefined, nowMs, verbose);
  return dw.toString();
}

function triggerCommand(io: KnIo): Command {
  const cmd = new Command('trigger').alias('triggers').description('Manage event subscriptions (kn-compatible)');
  const create = addCommon(
    new Command('create').usage('NAME --sink SINK [flags]').description('Create a trigger').argument('[name]'),
  )
    .option('--broker <name>', 'Name of the Broker which the trigger associates with.', 'default')
    .option(
      '--filter <key=value>',
      'Key-value pair for exact CloudEvent attribute matching against incoming events, e.g type=dev.knative.foo',
      collect,
    )
    .requiredOption('-s, --sink <sink>', 'Addressable sink for events: ksvc:NAME, broker:NAME, svc:NAME, or a URL.');
  create.action(
    (name: string | undefined, o: Common & { broker: string; filter?: string[]; sink: string }, c: Command) =>
      runAction(io, c, async () => {
        if (!name || c.args.length !== 1)
          throw new KnError(
            'SLUICE_ERR_KN_ARGS',
            "'trigger create' requires the name of the trigger as single argument",
          );
        const { client, namespace } = connect(o, io);
        let filters: Record<string, string>;
        try {
          filters = parseFilters(o.filter ?? [], false).set;
        } catch (e) {
          throw new KnError(
            'SLUICE_ERR_KN_FILTER',
            `cannot create trigger '${name}' because ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        try {
          const subscriber = await sinkDestination(client, o.sink, namespace);
          await client.create(ER.triggers, {
            metadata: { name, namespace },
            spec: {
              broker: o.broker,
              filter: Object.keys(filters).length > 0 ? { attributes: filters } : {},
              subscriber,
            },
          });
        } catch (e) {
          throw new KnError(
            'SLUICE_ERR_KN_CREATE',
            `cannot create trigger '${name}' in namespace '${namespace}' because: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        io.out(`Trigger '${name}' successfully created in namespace '${namespace}'.\n`);
      }),
  );
  const update = addCommon(
    new Command('update').usage('NAME [flags]').description('Update a trigger').argument('[name]'),
  )
    .option('--filter <key=value>', 'Key-value pair for exact CloudEvent attribute matching; key- removes it.', collect)
    .option('-s, --sink <sink>', 'Addressable sink for events.');
  update.action((name: string | undefined, o: Common & { filter?: string[]; sink?: string }, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'trigger update' requires the name of the trigger as single argument");
      const { client, namespace } = connect(o, io);
      const cur = obj<Trigger>(await client.get(ER.triggers, namespace, name));
      const spec = { ...(cur.spec ?? {}) };
      if (o.filter) {
        const f = parseFilters(o.filter, true);
        const attrs = { ...(spec.filter?.attributes ?? {}), ...f.set };
        for (const r of f.remove) delete attrs[r];
        spec.filter = { attributes: attrs };
      }
      if (o.sink) spec.subscriber = await sinkDestination(client, o.sink, namespace);
      await client.update(ER.triggers, { ...(cur as unknown as KubeObject), spec });
      io.out(`Trigger '${name}' updated in namespace '${namespace}'.\n`);
    }),
  );
  const list = addList(addCommon(new Command('list').alias('ls').description('List triggers')));
  list.action((o: Common & { allNamespaces?: boolean; output?: string; headers?: boolean }, c: Command) =>
    runAction(io, c, async () => {
      const { client, namespace } = connect(o, io);
      const items = (await client.list(ER.triggers, o.allNamespaces ? '' : namespace)).items.map((i) =>
        obj<Trigger>(i),
      );
      if (o.output !== undefined) return printObject(io, o.output, asList(ER.triggers, items));
      if (items.length === 0) return io.out('No triggers found.\n');
      io.out(
        formatTriggerList(items, io.clock.now(), {
          allNamespaces: o.allNamespaces === true,
          noHeaders: o.headers === false,
        }),
      );
    }),
  );
  const describe = addCommon(
    new Command('describe').usage('NAME [flags]').description('Show details of a trigger').argument('[name]'),
  )
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml.'))
    .option('-v, --verbose', 'More output.');
  describe.action((name: string | undefined, o: Common & { output?: string; verbose?: boolean }, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError(
          'SLUICE_ERR_KN_ARGS',
          "'kn trigger describe' requires name of the trigger as single argument",
        );
      const { client, namespace } = connect(o, io);
      const t = obj<Trigger>(await client.get(ER.triggers, namespace, name));
      if (o.output !== undefined) return printObject(io, o.output, withKind(ER.triggers, t));
      io.out(describeTrigger(t, io.clock.now(), o.verbose === true));
    }),
  );
  const del = addCommon(new Command('delete').usage('NAME [flags]').description('Delete a trigger').argument('[name]'));
  del.action((name: string | undefined, o: Common, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'trigger delete' requires the name of the trigger as single argument");
      const { client, namespace } = connect(o, io);
      await client.delete(ER.triggers, namespace, name);
      io.out(`Trigger '${name}' deleted in namespace '${namespace}'.\n`);
    }),
  );
  for (const s of [create, update, list, describe, del]) cmd.addCommand(s);
  return cmd;
}

// ------------------------------------------------------------------------------------------- source binding

/** kn's --subject: `Kind:apiVersion:name` or `Kind:apiVersion:key1=value1,key2=value2`. */
export function parseSubject(s: string, namespace: string): NonNullable<SinkBinding['spec']>['subject'] {
  const parts = s.split(':');
  if (parts.length < 3 || parts.some((p) => p === ''))
    throw new KnError(
      'SLUICE_ERR_KN_SUBJECT',
      `invalid subject argument '${s}': not in format kind:api/version:nameOrSelector`,
    );
  const [kind = '', apiVersion = '', ...rest] = parts;
  const target = rest.join(':');
  if (target.includes('=')) {
    const matchLabels: Record<string, string> = {};
    for (const kv of target.split(',')) {
      const [k, v] = kv.split('=');
      matchLabels[k ?? ''] = v ?? '';
    }
    return { kind, apiVersion, namespace, selector: { matchLabels } };
  }
  return { kind, apiVersion, namespace, name: target };
}

function subjectText(s: NonNullable<SinkBinding['spec']>['subject']): string {
  if (!s) return '';
  const target =
    s.name ??
    Object.entries((s.selector?.['matchLabels'] ?? {}) as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  return `${s.kind ?? ''}:${s.apiVersion ?? ''}:${target}`;
}

function bindingCommand(io: KnIo): Command {
  const cmd = new Command('binding').description('Manage sink bindings (kn-compatible)');
  const create = addCommon(
    new Command('create')
      .usage('NAME --subject SUBJECT --sink SINK [flags]')
      .description('Create a sink binding')
      .argument('[name]'),
  )
    .requiredOption(
      '--subject <subject>',
      'Subject which emits cloud events, e.g. "Service:serving.knative.dev/v1:cloudevents-player".',
    )
    .requiredOption('-s, --sink <sink>', 'Addressable sink for events: ksvc:NAME, broker:NAME, svc:NAME, or a URL.')
    .option('--ce-override <key=value>', 'Cloud Event overrides to apply before sending event to sink.', collect);
  create.action(
    (name: string | undefined, o: Common & { subject: string; sink: string; ceOverride?: string[] }, c: Command) =>
      runAction(io, c, async () => {
        if (!name || c.args.length !== 1)
          throw new KnError('SLUICE_ERR_KN_ARGS', 'the name of the sink binding must be given as single argument');
        const { client, namespace } = connect(o, io);
        const sink = await sinkDestination(client, o.sink, namespace);
        const spec: Record<string, unknown> = { subject: parseSubject(o.subject, namespace), sink };
        if (o.ceOverride) spec['ceOverrides'] = { extensions: parseFilters(o.ceOverride, false).set };
        await client.create(ER.sinkBindings, { metadata: { name, namespace }, spec });
        io.out(`Sink binding '${name}' created in namespace '${namespace}'.\n`);
      }),
  );
  const list = addList(addCommon(new Command('list').alias('ls').description('List sink bindings')));
  list.action((o: Common & { allNamespaces?: boolean; output?: string; headers?: boolean }, c: Command) =>
    runAction(io, c, async () => {
      const { client, namespace } = connect(o, io);
      const items = (await client.list(ER.sinkBindings, o.allNamespaces ? '' : namespace)).items.map((i) =>
        obj<SinkBinding>(i),
      );
      if (o.output !== undefined) return printObject(io, o.output, asList(ER.sinkBindings, items));
      if (items.length === 0) return io.out('No sink binding found.\n');
      const rows = [...items]
        .sort(cmpNsName)
        .map((b) => [
          ...(o.allNamespaces ? [b.metadata?.namespace ?? ''] : []),
          b.metadata?.name ?? '',
          subjectText(b.spec?.subject),
          sinkText(b.spec?.sink, b.metadata?.namespace ?? ''),
          listAge(b.metadata?.['creationTimestamp'], io.clock.now()),
          conditionsValue(b.status?.conditions as Condition[] | undefined),
          readyCondition(b.status?.conditions as Condition[] | undefined),
          nonReadyReason(b.status?.conditions as Condition[] | undefined),
        ]);
      io.out(
        table(['NAME', 'SUBJECT', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON'], rows, {
          allNamespaces: o.allNamespaces === true,
          noHeaders: o.headers === false,
        }),
      );
    }),
  );
  const del = addCommon(
    new Command('delete').usage('NAME [flags]').description('Delete a sink binding').argument('[name]'),
  );
  del.action((name: string | undefined, o: Common, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError('SLUICE_ERR_KN_ARGS', 'the name of the sink binding must be given as single argument');
      const { client, namespace } = connect(o, io);
      await client.delete(ER.sinkBindings, namespace, name);
      io.out(`Sink binding '${name}' deleted in namespace '${namespace}'.\n`);
    }),
  );
  for (const s of [create, list, del]) cmd.addCommand(s);
  return cmd;
}

function sourceCommand(io: KnIo): Command {
  const cmd = new Command('source').alias('sources').description('Manage event sources (kn-compatible)');
  cmd.addCommand(bindingCommand(io));
  return cmd;
}

export function eventingCommands(io: KnIo): Command[] {
  return [brokerCommand(io), triggerCommand(io), sourceCommand(io)];
}
