// `sluice service create|update|describe|list|delete`: kn's service commands against the Kubernetes API.
// Every client-side check (flags, traffic, referenced revisions) runs before anything is written.
import { Command, Option } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { KubeApiError, R, type KubeClient, type KubeObject } from '../../kube/index.js';
import type { Revision, Service } from '../../serving/types.js';
import { asList, changed, collect, connect, intArg, printObject, runAction, withKind, type KnIo } from './context.js';
import { anyMutation, applyEditFlags, randomConsonants, type EditFlags, type EnvSource } from './edit.js';
import { KnError } from './errors.js';
import {
  describeService,
  formatServiceList,
  LABEL_SERVICE,
  readyLine,
  revisionDescs,
  serviceUrlLines,
} from './format.js';
import { computeTraffic, referencedRevisions, splitSlice, type Target, type TrafficFlags } from './traffic.js';
import { waitForServiceReady } from './wait.js';
import { MAX_SERVICE_FILE_BYTES, serviceFromFile } from './service-file.js';
import { errorMessage } from '../../util/errors.js';
import { exportService } from './export.js';
import { stringify } from 'yaml';

const DEFAULT_WAIT_TIMEOUT_S = 600;

interface CommonOpts {
  namespace?: string;
  kubeconfig?: string;
}

interface EditOpts extends CommonOpts {
  image?: string;
  env?: string[];
  envValueFrom?: string[];
  envFile?: string;
  envFrom?: string[];
  mount?: string[];
  volume?: string[];
  port?: string;
  probeReadiness?: string;
  probeReadinessOpts?: string;
  probeLiveness?: string;
  probeLivenessOpts?: string;
  filename?: string;
  revisionName?: string;
  annotation?: string[];
  annotationService?: string[];
  annotationRevision?: string[];
  label?: string[];
  scale?: string;
  scaleMin?: number;
  scaleMax?: number;
  scaleTarget?: number;
  scaleMetric?: string;
  scaleActivation?: number;
  scaleInit?: number;
  scaleUtilization?: number;
  scaleWindow?: string;
  concurrencyLimit?: number;
  timeout?: number;
  clusterLocal?: boolean;
  wait: boolean;
  waitTimeout: number;
  waitWindow: number;
  tag?: string[];
  untag?: string[];
  traffic?: string[];
  force?: boolean;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <namespace>', 'Specify the namespace to operate in.')
    .option('--kubeconfig <path>', 'kubectl configuration file (default: $KUBECONFIG, else ./.sluice/kubeconfig)');
}

const PROBE_FORMAT =
  'Supported probe types are HTTGet, Exec and TCPSocket. Format: [http,https]:host:port:path, exec:cmd[,cmd,...], tcp:host:port.';
const PROBE_OPTS =
  'Common opts (comma separated, case insensitive): InitialDelaySeconds=<int_value>, FailureThreshold=<int_value>, SuccessThreshold=<int_value>, PeriodSeconds=<int_value>, TimeoutSeconds=<int_value>';

/** The order --env and --env-value-from values were given in, per command (kn reads os.Args for it). */
const envOrders = new WeakMap<Command, EnvSource[]>();

function addEditFlags(cmd: Command, update: boolean): Command {
  const unset = update ? ' To unset, specify the name followed by a "-" (e.g., NAME-).' : '';
  const order: EnvSource[] = [];
  envOrders.set(cmd, order);
  return cmd
    .option('--image <image>', 'Image to run.')
    .option(
      '-e, --env <NAME=value>',
      `Environment variable to set. NAME=value; you may provide this flag any number of times to set multiple environment variables.${unset}`,
      (v: string, prev: string[] | undefined) => {
        order.push('env');
        return collect(v, prev);
      },
    )
    .option(
      '--env-value-from <NAME=source>',
      `Add environment variable from a value of key in ConfigMap (prefix cm: or config-map:) or a Secret (prefix sc: or secret:). Example: --env-value-from NAME=cm:myconfigmap:key or --env-value-from NAME=secret:mysecret:key. You can use this flag multiple times.${update ? ' To unset a value from a ConfigMap/Secret key reference, append "-" to the key, e.g. --env-value-from ENV-.' : ''}`,
      (v: string, prev: string[] | undefined) => {
        order.push('env-value-from');
        return collect(v, prev);
      },
    )
    .option(
      '--env-file <path>',
      'Path to a file containing environment variables (e.g. --env-file=/home/knative/service1/env).',
      (v: string) => {
        order.push('env-file');
        return v;
      },
    )
    .option(
      '--env-from <source>',
      `Add environment variables from a ConfigMap (prefix cm: or config-map:) or a Secret (prefix secret:). Example: --env-from cm:myconfigmap or --env-from secret:mysecret. You can use this flag multiple times.${update ? ' To unset a ConfigMap/Secret reference, append "-" to the name, e.g. --env-from cm:myconfigmap-.' : ''}`,
      collect,
    )
    .option(
      '--mount <path=source>',
      'Mount a ConfigMap (prefix cm: or config-map:), a Secret (prefix secret: or sc:), an EmptyDir (prefix ed: or emptyDir:), a PersistentVolumeClaim (prefix pvc: or persistentVolumeClaim) or an existing Volume (without any prefix) on the specified directory. Example: --mount /mydir=cm:myconfigmap, --mount /mydir=secret:mysecret, --mount /mydir=emptyDir:myvol or --mount /mydir=myvolume. When a configmap or a secret is specified, a corresponding volume is automatically generated. You can mount a volume with readOnly config (true | false) also. Example: --mount /mydir=ed:ed1:readOnly=true. You can specify a volume subpath by following the volume name with slash separated path. Example: --mount /mydir=cm:myconfigmap/subpath/to/be/mounted. You can use this flag multiple times. For unmounting a directory, append "-", e.g. --mount /mydir-, which also removes any auto-generated volume.',
      collect,
    )
    .option(
      '--volume <name=source>',
      'Add a volume from a ConfigMap (prefix cm: or config-map:) a Secret (prefix secret: or sc:), an EmptyDir (prefix ed: or emptyDir:) or a PersistentVolumeClaim (prefix pvc: or persistentVolumeClaim). PersistentVolumeClaim only works if the feature gate is enabled in Knative Serving feature flags configuration. Example: --volume myvolume=cm:myconfigmap, --volume myvolume=secret:mysecret or --volume emptyDir:myvol:size=1Gi,type=Memory. You can use this flag multiple times. To unset a ConfigMap/Secret reference, append "-" to the name, e.g. --volume myvolume-.',
      collect,
    )
    .option('--probe-liveness <probe>', `Add liveness probe to Service deployment. ${PROBE_FORMAT}`)
    .option('--probe-liveness-opts <opts>', `Add common options to liveness probe. ${PROBE_OPTS}`)
    .option('--probe-readiness <probe>', `Add readiness probe to Service deployment. ${PROBE_FORMAT}`)
    .option('--probe-readiness-opts <opts>', `Add common options to readiness probe. ${PROBE_OPTS}`)
    .option(
      '-p, --port <port>',
      "The port where application listens on, in the format 'NAME:PORT', where 'NAME' is optional. Examples: '--port h2c:8080' , '--port 8080'.",
    )
    .option(
      '--revision-name <name>',
      'The revision name to set. Must start with the service name and a dash as a prefix. Accepts golang templates, allowing {{.Service}} for the service name, {{.Generation}} for the generation, and {{.Random [n]}} for n random consonants (e.g. {{.Service}}-{{.Random 5}}-{{.Generation}})',
    )
    .option('-a, --annotation <name=value>', `Annotations to set for both Service and Revision.${unset}`, collect)
    .option('--annotation-service <name=value>', `Service annotation to set.${unset}`, collect)
    .option('--annotation-revision <name=value>', `Revision annotation to set.${unset}`, collect)
    .option('-l, --label <name=value>', `Labels to set for both Service and Revision.${unset}`, collect)
    .option(
      '--scale <scale>',
      'Set the Minimum and Maximum number of replicas: --scale 5, --scale 1..5, --scale 1.., --scale ..5',
    )
    .option('--scale-min <n>', 'Minimum number of replicas.', intArg('scale-min'))
    .option('--scale-max <n>', 'Maximum number of replicas.', intArg('scale-max'))
    .option(
      '--scale-target <n>',
      'Recommendation for what metric value the PodAutoscaler should attempt to maintain.',
      intArg('scale-target'),
    )
    .option(
      '--scale-metric <metric>',
      'Set the name of the metric the PodAutoscaler should scale on. Example: --scale-metric rps (to scale on rps) or --scale-metric concurrency (to scale on concurrency). The default metric is concurrency.',
    )
    .option(
      '--scale-activation <n>',
      'Minimum non-zero value that a service should scale to.',
      intArg('scale-activation'),
    )
    .option(
      '--scale-init <n>',
      'Initial number of replicas with which a service starts. Can be 0 or a positive integer.',
      intArg('scale-init'),
    )
    .option(
      '--scale-utilization <n>',
      'Percentage of concurrent requests utilization before scaling up.',
      intArg('scale-utilization'),
    )
    .option('--scale-window <duration>', 'Duration to look back for making auto-scaling decisions (eg: 10s).')
    .option(
      '--concurrency-limit <n>',
      'Hard Limit of concurrent requests to be processed by a single replica.',
      intArg('concurrency-limit'),
    )
    .option(
      '--timeout <seconds>',
      'Duration in seconds that the request routing layer will wait for a request delivered to a container to begin replying',
      intArg('timeout'),
    )
    .option(
      '--cluster-local',
      'Specify that the service be private. (--no-cluster-local will make the service publicly available)',
    )
    .option('--no-cluster-local', 'Make the service publicly available.');
}

function addWaitFlags(cmd: Command, action: string, waitDefault = true): Command {
  cmd
    .option('--wait', `Wait for 'service ${action}' operation to be completed.${waitDefault ? ' (default true)' : ''}`)
    .option('--no-wait', `Do not wait for 'service ${action}' operation to be completed.`);
  cmd.setOptionValueWithSource('wait', waitDefault, 'default');
  return cmd
    .option(
      '--wait-timeout <seconds>',
      `Seconds to wait before giving up on waiting for service to be ${action === 'delete' ? 'deleted' : 'ready'}.`,
      intArg('wait-timeout'),
      DEFAULT_WAIT_TIMEOUT_S,
    )
    .option(
      '--wait-window <seconds>',
      'Seconds to wait for service to be ready after a false ready condition is returned',
      intArg('wait-window'),
      2,
    );
}

/** Reads --env-file as kn's GetEnvsFromFile does: every non-empty line. */
async function readEnvFile(io: KnIo, file: string): Promise<string[]> {
  try {
    const st = await stat(resolve(io.cwd, file));
    if (st.size > MAX_SERVICE_FILE_BYTES)
      throw new KnError(
        'SLUICE_ERR_KN_FILE',
        `Invalid --env-file: ${file} is larger than ${MAX_SERVICE_FILE_BYTES} bytes`,
      );
    const text = await readFile(resolve(io.cwd, file), 'utf8');
    return text.split(/\r?\n/).filter((l) => l !== '');
  } catch (e) {
    if (e instanceof KnError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new KnError(
      'SLUICE_ERR_KN_FILE',
      `Invalid --env-file: open ${file}: ${code === 'ENOENT' ? 'no such file or directory' : errorMessage(e)}`,
      { cause: e },
    );
  }
}

function editFlagsOf(cmd: Command, o: EditOpts, envFileLines?: string[]): EditFlags {
  const f: EditFlags = {};
  const set = <K extends keyof EditFlags>(key: K, opt: keyof EditOpts, v: EditFlags[K] | undefined): void => {
    if (changed(cmd, opt) && v !== undefined) f[key] = v;
  };
  set('image', 'image', o.image);
  set('env', 'env', o.env);
  set('envValueFrom', 'envValueFrom', o.envValueFrom);
  set('envFileLines', 'envFile', envFileLines);
  if (f.env !== undefined || f.envValueFrom !== undefined || f.envFileLines !== undefined)
    f.envOrder = [...(envOrders.get(cmd) ?? [])];
  set('envFrom', 'envFrom', o.envFrom);
  set('mount', 'mount', o.mount);
  set('volume', 'volume', o.volume);
  set('port', 'port', o.port);
  set('probeReadiness', 'probeReadiness', o.probeReadiness);
  set('probeReadinessOpts', 'probeReadinessOpts', o.probeReadinessOpts);
  set('probeLiveness', 'probeLiveness', o.probeLiveness);
  set('probeLivenessOpts', 'probeLivenessOpts', o.probeLivenessOpts);
  set('filename', 'filename', o.filename);
  set('revisionName', 'revisionName', o.revisionName);
  set('annotations', 'annotation', o.annotation);
  set('annotationsService', 'annotationService', o.annotationService);
  set('annotationsRevision', 'annotationRevision', o.annotationRevision);
  set('labels', 'label', o.label);
  set('scale', 'scale', o.scale);
  set('scaleMin', 'scaleMin', o.scaleMin);
  set('scaleMax', 'scaleMax', o.scaleMax);
  set('scaleTarget', 'scaleTarget', o.scaleTarget);
  set('scaleMetric', 'scaleMetric', o.scaleMetric);
  set('scaleActivation', 'scaleActivation', o.scaleActivation);
  set('scaleInit', 'scaleInit', o.scaleInit);
  set('scaleUtilization', 'scaleUtilization', o.scaleUtilization);
  set('scaleWindow', 'scaleWindow', o.scaleWindow);
  set('concurrencyLimit', 'concurrencyLimit', o.concurrencyLimit);
  set('timeout', 'timeout', o.timeout);
  set('clusterLocal', 'clusterLocal', o.clusterLocal);
  return f;
}

function trafficFlagsOf(o: EditOpts): TrafficFlags {
  return { traffic: splitSlice(o.traffic ?? []), tags: splitSlice(o.tag ?? []), untag: splitSlice(o.untag ?? []) };
}

async function listRevisionsOf(client: KubeClient, ns: string, service: string): Promise<Revision[]> {
  const list = await client.list<KubeObject>(R.revisions, ns, { labelSelector: `${LABEL_SERVICE}=${service}` });
  return list.items as unknown as Revision[];
}

/** Checks that revisions named in --traffic/--tag exist (or are the one this command creates). */
function checkReferencedRevisions(
  flags: TrafficFlags,
  spec: Target[],
  revisions: Revision[],
  creating: string | undefined,
  service: string,
  ns: string,
): void {
  const names = new Set(revisions.map((r) => r.metadata?.name ?? ''));
  if (creating) names.add(creating);
  for (const ref of referencedRevisions({ flags, specTraffic: spec })) {
    if (!names.has(ref)) {
      throw new KnError(
        'SLUICE_ERR_KN_NO_REVISION',
        `no revision or tag '${ref}' found for service '${service}' in namespace '${ns}' (see 'sluice revision list -s ${service}')`,
      );
    }
  }
}

async function waitAndReport(
  io: KnIo,
  client: KubeClient,
  ns: string,
  name: string,
  rv: string | undefined,
  o: EditOpts,
  originalRevision: string,
  verbDone: string,
): Promise<void> {
  io.out('\n');
  const ms = await waitForServiceReady(client, ns, name, rv, {
    timeoutMs: o.waitTimeout * 1000,
    errorWindowMs: o.waitWindow * 1000,
    clock: io.clock,
    out: io.out,
  });
  io.out(readyLine(ms));
  io.out('\n');
  let svc: Service;
  try {
    svc = (await client.get(R.services, ns, name)) as unknown as Service;
  } catch (e) {
    throw new KnError(
      'SLUICE_ERR_KN_GET',
      `cannot fetch service '${name}' in namespace '${ns}' for extracting the URL: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  io.out(serviceUrlLines(svc, name, verbDone, originalRevision));
}

/** Reads a -f file (relative to the working directory), refusing one too large to be an object. */
async function readServiceFile(io: KnIo, file: string): Promise<string> {
  const path = resolve(io.cwd, file);
  try {
    const st = await stat(path);
    if (st.size > MAX_SERVICE_FILE_BYTES)
      throw new KnError('SLUICE_ERR_KN_FILE', `${file}: file is larger than ${MAX_SERVICE_FILE_BYTES} bytes`);
    return await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof KnError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new KnError(
      'SLUICE_ERR_KN_FILE',
      code === 'ENOENT' ? `open ${file}: no such file or directory` : `open ${file}: ${errorMessage(e)}`,
      { cause: e },
    );
  }
}

function createCommand(io: KnIo): Command {
  const cmd = new Command('create')
    .usage('NAME --image IMAGE [flags]')
    .description('Create a service')
    .argument('[name]', 'name of the service');
  addCommon(cmd);
  addEditFlags(cmd, false);
  cmd
    .option('--force', 'Create service forcefully, replaces existing service if any.')
    .option(
      '-f, --filename <file>',
      'Create a service from file. The created service can be further modified by combining with other options. For example, -f /path/to/file --env NAME=value adds also an environment variable.',
    )
    .option(
      '--tag <revisionRef=tagName>',
      "Set tag (format: --tag revisionRef=tagName) where revisionRef can be a revision or '@latest' string representing latest ready revision. This flag can be specified multiple times.",
      collect,
    );
  addWaitFlags(cmd, 'create');
  cmd.addHelpText(
    'after',
    `
Examples:
  # Create a service 'hello' using image knativesamples/helloworld
  sluice service create hello --image knativesamples/helloworld

  # Create a service with multiple environment variables
  sluice service create s1 --env TARGET=v1 --env FROM=examples --image knativesamples/helloworld

  # Create or replace a service using --force flag
  sluice service create --force s1 --image knativesamples/helloworld

  # Create a service from a file, adding an environment variable
  sluice service create -f service.yaml --env TARGET=file

  # Environment from a ConfigMap, a Secret mounted as files, a readiness probe and a fixed scale
  sluice service create s2 --image knativesamples/helloworld --env-from cm:app-config \
    --mount /etc/secret=secret:app-secret --probe-readiness http::8080:/healthz --scale 1..5`,
  );
  cmd.action((nameArg: string | undefined, o: EditOpts, c: Command) =>
    runAction(io, c, async () => {
      let name = nameArg;
      const filename = changed(c, 'filename') ? (o.filename ?? '') : '';
      if (c.args.length !== 1 && filename === '')
        throw new KnError('SLUICE_ERR_KN_ARGS', "'service create' requires the service name given as single argument");
      if (!o.image && filename === '')
        throw new KnError(
          'SLUICE_ERR_KN_ARGS',
          "'service create' requires the image name to run provided with the --image option",
        );
      const { client, namespace } = connect(o, io);
      const edit = editFlagsOf(c, o, changed(c, 'envFile') ? await readEnvFile(io, o.envFile ?? '') : undefined);
      const base: Service =
        filename === ''
          ? { metadata: { name, namespace }, spec: { template: { spec: { containers: [{}] } } } }
          : serviceFromFile(await readServiceFile(io, filename), filename, name ?? '', namespace);
      name = base.metadata?.name ?? '';
      const service = applyEditFlags(base, edit, {
        nowIso: new Date(io.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
        random: (n) => randomConsonants(n, io.random),
        create: true,
      });
      const tf = trafficFlagsOf(o);
      if (tf.tags.length > 0) {
        const flags = { ...tf, traffic: ['@latest=100'] };
        checkReferencedRevisions(
          { ...flags, traffic: [] },
          [],
          [],
          service.spec?.template?.metadata?.name,
          name,
          namespace,
        );
        (service.spec ??= {}).traffic = computeTraffic({
          serviceName: name,
          specTraffic: [],
          statusTraffic: [],
          revisions: [],
          flags,
          trafficChanged: false,
          create: true,
          mutation: true,
        });
      }
      const existing = await client.tryGet(R.services, namespace, name);
      if (existing && !o.force) {
        throw new KnError(
          'SLUICE_ERR_KN_EXISTS',
          `cannot create service '${name}' in namespace '${namespace}' because the service already exists and no --force option was given`,
        );
      }
      let rv: string | undefined;
      let verbs: [string, string] = ['Creating', 'created'];
      if (existing) {
        verbs = ['Replacing', 'replaced'];
        const keep: Record<string, string> = {};
        for (const k of ['serving.knative.dev/creator', 'serving.knative.dev/lastModifier']) {
          const v = existing.metadata.annotations?.[k];
          if (v !== undefined) keep[k] = v;
        }
        const replacement = {
          ...service,
          metadata: {
            ...service.metadata,
            annotations: { ...(service.metadata?.annotations ?? {}), ...keep },
            resourceVersion: existing.metadata.resourceVersion,
          },
        };
        const cur = {
          metadata: { labels: existing.metadata.labels, annotations: existing.metadata.annotations },
          spec: existing['spec'],
        };
        if (
          isDeepStrictEqual(cur, {
            metadata: { labels: replacement.metadata.labels, annotations: replacement.metadata.annotations },
            spec: replacement.spec,
          })
        ) {
          io.out(`Service '${name}' replaced in namespace '${namespace}' (unchanged).\n`);
          return;
        }
        const updated = await client.update(R.services, replacement as unknown as KubeObject);
        rv = updated.metadata.resourceVersion;
      } else {
        const created = await client.create(R.services, service as unknown as KubeObject);
        rv = created.metadata.resourceVersion;
      }
      if (!o.wait) {
        io.out(`Service '${name}' ${verbs[1]} in namespace '${namespace}'.\n`);
        return;
      }
      io.out(`${verbs[0]} service '${name}' in namespace '${namespace}':\n`);
      await waitAndReport(io, client, namespace, name, rv, o, '', verbs[1]);
    }),
  );
  return cmd;
}

function updateCommand(io: KnIo): Command {
  const cmd = new Command('update')
    .usage('NAME [flags]')
    .description('Update a service')
    .argument('[name]', 'name of the service');
  addCommon(cmd);
  addEditFlags(cmd, true);
  cmd
    .option(
      '--traffic <revisionRef=percent>',
      "Set traffic distribution (format: --traffic revisionRef=percent) where revisionRef can be a revision or a tag or '@latest' string representing latest ready revision. This flag can be given multiple times with percent summing up to 100%.",
      collect,
    )
    .option(
      '--tag <revisionRef=tagName>',
      "Set tag (format: --tag revisionRef=tagName) where revisionRef can be a revision or '@latest' string representing latest ready revision. This flag can be specified multiple times.",
      collect,
    )
    .option(
      '--untag <tagName>',
      'Untag revision (format: --untag tagName). This flag can be specified multiple times.',
      collect,
    );
  addWaitFlags(cmd, 'update');
  cmd.addHelpText(
    'after',
    `
Examples:
  # Updates a service 'svc' with new environment variables
  sluice service update svc --env KEY1=VALUE1 --env KEY2=VALUE2

  # Assign tag 'latest' and 'stable' to revisions 'echo-v2' and 'echo-v1' respectively
  sluice service update svc --tag echo-v2=latest --tag echo-v1=stable

  # Split traffic 50/50 between two revisions
  sluice service update svc --traffic echo-v1=50 --traffic echo-v2=50

  # Add tag 'test' to echo-v3 revision with 10% traffic and rest to latest ready revision of service
  sluice service update svc --tag echo-v3=test --traffic test=10,@latest=90`,
  );
  cmd.action((name: string | undefined, o: EditOpts, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'service update' requires the service name given as single argument");
      const given = c.options.some((opt) => changed(c, opt.attributeName()));
      if (!given) throw new KnError('SLUICE_ERR_KN_ARGS', 'flag(s) not set\nUsage: update NAME');
      const { client, namespace } = connect(o, io);
      const edit = editFlagsOf(c, o, changed(c, 'envFile') ? await readEnvFile(io, o.envFile ?? '') : undefined);
      const tf = trafficFlagsOf(o);
      const trafficGiven = changed(c, 'traffic') || changed(c, 'tag') || changed(c, 'untag');
      let latestBefore = '';
      let result: KubeObject | undefined;
      let unchanged = false;
      for (let attempt = 0; ; attempt++) {
        const cur = (await client.get(R.services, namespace, name)) as unknown as Service & KubeObject;
        if (cur.metadata.deletionTimestamp)
          throw new KnError(
            'SLUICE_ERR_KN_DELETING',
            `can't update service ${name} because it has been marked for deletion`,
          );
        latestBefore = cur.status?.latestReadyRevisionName ?? '';
        const next = applyEditFlags(cur, edit, {
          nowIso: new Date(io.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
          random: (n) => randomConsonants(n, io.random),
          create: false,
        });
        if (trafficGiven) {
          const revisions = await listRevisionsOf(client, namespace, name);
          // An empty spec.traffic means what Knative's defaulting makes of it: 100% to @latest.
          const given = (cur.spec?.traffic ?? []) as Target[];
          const spec: Target[] = given.length > 0 ? given : [{ latestRevision: true, percent: 100 }];
          checkReferencedRevisions(tf, spec, revisions, next.spec?.template?.metadata?.name, name, namespace);
          (next.spec ??= {}).traffic = computeTraffic({
            serviceName: name,
            specTraffic: spec,
            statusTraffic: (cur.status?.traffic ?? []) as Target[],
            latestReadyRevisionName: latestBefore,
            revisions: revisions.map((r) => {
              const tags = r.metadata?.annotations?.['client.knative.dev/tags'];
              return tags === undefined
                ? { name: r.metadata?.name ?? '' }
                : { name: r.metadata?.name ?? '', tagsAnnotation: tags };
            }),
            flags: tf,
            trafficChanged: changed(c, 'traffic'),
            mutation: anyMutation(edit),
          });
        }
        if (isDeepStrictEqual(next.spec, cur.spec) && isDeepStrictEqual(next.metadata, cur.metadata)) {
          unchanged = true;
          break;
        }
        try {
          result = await client.update(R.services, next as unknown as KubeObject);
          break;
        } catch (e) {
          if (e instanceof KubeApiError && e.isConflict && attempt < 5) continue;
          throw e;
        }
      }
      if (unchanged || !result) {
        io.out(`Service '${name}' updated in namespace '${namespace}'.\nNo new revision has been created.\n`);
        return;
      }
      if (!o.wait) {
        io.out(`Service '${name}' updated in namespace '${namespace}'.\n`);
        return;
      }
      io.out(`Updating Service '${name}' in namespace '${namespace}':\n`);
      await waitAndReport(io, client, namespace, name, result.metadata.resourceVersion, o, latestBefore, 'updated');
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
    .description('Show details of a service')
    .argument('[name]', 'name of the service');
  addCommon(cmd);
  cmd
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml|url.'))
    .option('-v, --verbose', 'More output.');
  cmd.action((name: string | undefined, o: DescribeOpts, c: Command) =>
    runAction(io, c, async () => {
      if (!name)
        throw new KnError(
          'SLUICE_ERR_KN_ARGS',
          "'service describe' requires the service name given as single argument",
        );
      const { client, namespace } = connect(o, io);
      const svc = (await client.get(R.services, namespace, name)) as unknown as Service;
      if (o.output !== undefined) {
        if (o.output.toLowerCase() === 'url') io.out(`${svc.status?.url ?? ''}\n`);
        else printObject(io, o.output, withKind(R.services, svc));
        return;
      }
      const revisions = new Map<string, Revision>();
      for (const r of await listRevisionsOf(client, namespace, name)) revisions.set(r.metadata?.name ?? '', r);
      // Targets may name revisions outside the service's label set (e.g. created by hand).
      for (const t of svc.status?.traffic ?? []) {
        if (t.revisionName && !revisions.has(t.revisionName)) {
          const r = await client.tryGet(R.revisions, namespace, t.revisionName);
          if (r) revisions.set(t.revisionName, r as unknown as Revision);
        }
      }
      const details = o.verbose === true;
      io.out(describeService(svc, revisionDescs(svc, revisions, details), io.clock.now(), details));
    }),
  );
  return cmd;
}

interface ListOpts extends CommonOpts {
  allNamespaces?: boolean;
  output?: string;
  headers?: boolean;
}

function listCommand(io: KnIo): Command {
  const cmd = new Command('list')
    .alias('ls')
    .usage('[name] [flags]')
    .description('List services')
    .argument('[name]', 'only this service');
  addCommon(cmd);
  cmd
    .option(
      '-A, --all-namespaces',
      'If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.',
    )
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml.'))
    .option('--no-headers', "When using the default output format, don't print headers (default: print headers).");
  cmd.action((name: string | undefined, o: ListOpts, c: Command) =>
    runAction(io, c, async () => {
      if (c.args.length > 1) throw new KnError('SLUICE_ERR_KN_ARGS', "'kn service list' accepts maximum 1 argument");
      const { client, namespace } = connect(o, io);
      const list = await client.list(
        R.services,
        o.allNamespaces ? '' : namespace,
        name ? { fieldSelector: `metadata.name=${name}` } : {},
      );
      const items = list.items as unknown as Service[];
      if (o.output !== undefined) return printObject(io, o.output, asList(R.services, items));
      if (items.length === 0) {
        io.out('No services found.\n');
        return;
      }
      io.out(
        formatServiceList(items, io.clock.now(), {
          allNamespaces: o.allNamespaces === true,
          noHeaders: o.headers === false,
        }),
      );
    }),
  );
  return cmd;
}

interface DeleteOpts extends CommonOpts {
  all?: boolean;
  wait: boolean;
  waitTimeout: number;
}

function deleteCommand(io: KnIo): Command {
  const cmd = new Command('delete')
    .alias('rm')
    .usage('NAME [NAME ...] [flags]')
    .description('Delete services')
    .argument('[names...]', 'services to delete');
  addCommon(cmd);
  cmd.option('--all', 'Delete all services in a namespace.');
  addWaitFlags(cmd, 'delete', false);
  cmd.action((names: string[], o: DeleteOpts, c: Command) =>
    runAction(io, c, async () => {
      if (names.length === 0 && !o.all)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'service delete' requires the service name(s)");
      if (names.length > 0 && o.all)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'service delete' with --all flag requires no arguments");
      const { client, namespace } = connect(o, io);
      let targets = names;
      if (o.all) {
        targets = (await client.list(R.services, namespace)).items.map((s) => s.metadata.name ?? '');
        if (targets.length === 0) {
          io.out('No services found.\n');
          return;
        }
      }
      const errs: string[] = [];
      for (const n of targets) {
        try {
          await client.delete(R.services, namespace, n);
          if (o.wait) await waitGone(client, namespace, n, o.waitTimeout * 1000);
          io.out(`Service '${n}' successfully deleted in namespace '${namespace}'.\n`);
        } catch (e) {
          errs.push(e instanceof Error ? e.message : String(e));
        }
      }
      if (errs.length > 0) throw new KnError('SLUICE_ERR_KN_DELETE', errs.join('\nError: '));
    }),
  );
  return cmd;
}

async function waitGone(client: KubeClient, ns: string, name: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (await client.tryGet(R.services, ns, name)) {
    if (Date.now() > end)
      throw new KnError(
        'SLUICE_ERR_KN_WAIT_TIMEOUT',
        `timeout: service '${name}' not deleted after ${Math.trunc(timeoutMs / 1000)} seconds`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ExportOpts extends CommonOpts {
  withRevisions?: boolean;
  mode?: string;
  output?: string;
}

function exportCommand(io: KnIo): Command {
  const cmd = new Command('export')
    .usage('NAME [flags]')
    .description('Export a service and its revisions')
    .argument('[name]', 'name of the service');
  addCommon(cmd);
  cmd
    .option('--with-revisions', 'Export all routed revisions (Beta)')
    .option('--mode <mode>', 'Format for exporting all routed revisions. One of replay|export (Beta)')
    .addOption(new Option('-o, --output <format>', 'Output format. One of: json|yaml.'));
  cmd.addHelpText(
    'after',
    `
Examples:
  # Export a service in YAML format (Beta)
  sluice service export foo -n bar -o yaml

  # Export a service in JSON format (Beta)
  sluice service export foo -n bar -o json

  # Export a service with revisions (Beta)
  sluice service export foo --with-revisions --mode=export -n bar -o json

  # Export services in kubectl friendly format, as a list kind, one service item for each revision (Beta)
  sluice service export foo --with-revisions --mode=replay -n bar -o json`,
  );
  cmd.action((name: string | undefined, o: ExportOpts, c: Command) =>
    runAction(io, c, async () => {
      if (c.args.length !== 1 || !name)
        throw new KnError('SLUICE_ERR_KN_ARGS', "'kn service export' requires name of the service as single argument");
      if (o.output === undefined || o.output === '')
        throw new KnError('SLUICE_ERR_KN_ARGS', "'kn service export' requires output format");
      if (o.output !== 'json' && o.output !== 'yaml') return printObject(io, o.output, {});
      const { client, namespace } = connect(o, io);
      const svc = (await client.get(R.services, namespace, name)) as unknown as Service;
      const withRevisions = o.withRevisions === true;
      const revisions = withRevisions ? await listRevisionsOf(client, namespace, name) : [];
      // kn: any mode but `replay` is the Export format.
      const obj = exportService(svc, revisions, { withRevisions, mode: o.mode === 'replay' ? 'replay' : 'export' });
      // kn prints through sigs.k8s.io/yaml, which sorts keys; JSON keeps Go's field order.
      if (o.output === 'json') io.out(JSON.stringify(obj, null, 4) + '\n');
      else io.out(stringify(obj, { sortMapEntries: true }));
    }),
  );
  return cmd;
}

export function serviceCommand(io: KnIo): Command {
  const cmd = new Command('service').alias('ksvc').description('Manage Knative services (kn-compatible)');
  cmd.addCommand(createCommand(io));
  cmd.addCommand(updateCommand(io));
  cmd.addCommand(describeCommand(io));
  cmd.addCommand(listCommand(io));
  cmd.addCommand(deleteCommand(io));
  cmd.addCommand(exportCommand(io));
  return cmd;
}
