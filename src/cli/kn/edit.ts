// kn's configuration edit flags (--image, --env, --env-value-from, --env-from, --mount, --volume, --port,
// --probe-*, --annotation, --scale-*, --revision-name, ...)
// applied to a Service as a pure function: (service, flags, now, random) → service. Messages are kn's.
import type { Container, EnvVar, Service } from '../../serving/types.js';
import { KnError } from './errors.js';
import { ANNOTATION_USER_IMAGE } from './format.js';
import { applyEnvFrom, applyMountsAndVolumes, applyProbe, applyProbeOptions } from './podspec.js';

export const ANNOTATION_UPDATE_TIMESTAMP = 'client.knative.dev/updateTimestamp';
const MIN_SCALE = 'autoscaling.knative.dev/min-scale';
const MAX_SCALE = 'autoscaling.knative.dev/max-scale';
const TARGET = 'autoscaling.knative.dev/target';
const WINDOW = 'autoscaling.knative.dev/window';
const UTILIZATION = 'autoscaling.knative.dev/target-utilization-percentage';
const METRIC = 'autoscaling.knative.dev/metric';
const ACTIVATION_SCALE = 'autoscaling.knative.dev/activation-scale';
const INITIAL_SCALE = 'autoscaling.knative.dev/initial-scale';
const AUTOSCALING_GROUP = 'autoscaling.knative.dev';
const VISIBILITY_LABEL = 'networking.knative.dev/visibility';

/** The edit flags as given; `undefined` means "not on the command line" (kn: not Changed). */
export interface EditFlags {
  image?: string;
  env?: string[];
  /** `NAME=cm:CONFIGMAP:KEY` / `NAME=secret:SECRET:KEY`; `NAME-` removes. */
  envValueFrom?: string[];
  /** The non-empty lines of the --env-file file (`NAME=value`), read by the command. */
  envFileLines?: string[];
  /** Which of --env / --env-value-from / --env-file each value came from, in command-line order. */
  envOrder?: EnvSource[];
  envFrom?: string[];
  mount?: string[];
  volume?: string[];
  port?: string;
  probeReadiness?: string;
  probeReadinessOpts?: string;
  probeLiveness?: string;
  probeLivenessOpts?: string;
  /** `service create -f FILE`: the Service came from a file; counts as a template change, as in kn. */
  filename?: string;
  revisionName?: string;
  annotations?: string[];
  annotationsService?: string[];
  annotationsRevision?: string[];
  labels?: string[];
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
}

/** True when any flag that changes the revision template was given (kn's AnyMutation). */
export function anyMutation(f: EditFlags): boolean {
  return Object.entries(f).some(
    ([k, v]) => k !== 'clusterLocal' && v !== undefined && !(Array.isArray(v) && v.length === 0),
  );
}

interface Pairs {
  set: Array<[string, string]>;
  remove: string[];
}

/** `K=V` sets, `K-` removes (when allowed); anything else is kn's "argument requires ..." error. */
export function parsePairs(values: string[], flag: string, allowRemove: boolean): Pairs {
  const out: Pairs = { set: [], remove: [] };
  for (const v of values) {
    const i = v.indexOf('=');
    if (i >= 0) out.set.push([v.slice(0, i), v.slice(i + 1)]);
    else if (allowRemove && v.endsWith('-')) out.remove.push(v.slice(0, -1));
    else
      throw new KnError(
        'SLUICE_ERR_KN_FLAG_FORMAT',
        `Invalid --${flag}: argument requires a value that contains the "=" character; got "${v}"`,
      );
  }
  return out;
}

/**
 * Expands a --revision-name template (`{{.Service}}`, `{{.Generation}}`, `{{.Random n}}`) and adds the
 * `<service>-` prefix if missing, as kn's GenerateRevisionName does. Generation is the next one.
 */
export function generateRevisionName(
  template: string,
  serviceName: string,
  generation: number,
  random: (n: number) => string,
): string {
  const res = template.replace(/\{\{\s*\.(\w+)(?:\s+(\d+))?\s*\}\}/g, (m, field: string, arg: string | undefined) => {
    if (field === 'Service') return serviceName;
    if (field === 'Generation') return String(generation + 1);
    if (field === 'Random') return random(Number(arg ?? '0'));
    throw new KnError(
      'SLUICE_ERR_KN_REVISION_NAME',
      `template: revisionName: can't evaluate field ${field} in type *serving.revisionTemplContext`,
    );
  });
  if (res === '') return res;
  const prefix = `${serviceName}-`;
  return res.startsWith(prefix) ? res : prefix + res;
}

const CONSONANTS = 'bcdfghjklmnpqrstvwxyz';
/** kn's {{.Random n}}: n lower-case consonants, from `rand` (0 <= rand() < 1). */
export function randomConsonants(n: number, rand: () => number = Math.random): string {
  let s = '';
  for (let i = 0; i < n; i++) s += CONSONANTS[Math.floor(rand() * CONSONANTS.length)]!;
  return s;
}

function parsePort(port: string): { name?: string; containerPort: number } {
  const err = (): KnError =>
    new KnError(
      'SLUICE_ERR_KN_PORT',
      `the port specification '${port}' is not valid. Please provide in the format 'NAME:PORT', where 'NAME' is optional. Examples: '--port h2c:8080' , '--port 8080'.`,
    );
  const parts = port.split(/:(.*)/s).filter((p, i) => i < 2);
  const [name, num] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
  if (!/^[+-]?\d+$/.test(num)) throw err();
  const n = Number(num);
  if (n < -2147483648 || n > 2147483647) throw err();
  return name ? { name, containerPort: n } : { containerPort: n };
}

export type EnvSource = 'env' | 'env-value-from' | 'env-file';

/**
 * --env, --env-value-from and --env-file together, as kn's UpdateEnvVars: values in command-line order
 * (`envOrder`; else --env, then --env-value-from, then the file), a repeated name keeps its first position
 * and takes its last value, existing variables are replaced in place and new ones appended, then `NAME-`
 * removals. The file's lines go in where --env-file was given; kn ignores `NAME-` lines in the file.
 */
function applyEnv(c: Container, f: EditFlags): void {
  const envs = f.env ?? [];
  const froms = f.envValueFrom ?? [];
  const file = f.envFileLines ?? [];
  parsePairs(envs, 'env', true);
  parsePairs(froms, 'env-value-from', true);
  parsePairs(file, 'env', true);
  const given = f.envOrder?.filter((w, i, all) => w !== 'env-file' || all.indexOf('env-file') === i);
  const count = (w: EnvSource): number => (given ?? []).filter((x) => x === w).length;
  const fromArgs =
    given !== undefined &&
    count('env') === envs.length &&
    count('env-value-from') === froms.length &&
    count('env-file') === (f.envFileLines !== undefined ? 1 : 0);
  const order: EnvSource[] = fromArgs
    ? given
    : [
        ...envs.map(() => 'env' as const),
        ...froms.map(() => 'env-value-from' as const),
        ...(f.envFileLines !== undefined ? ['env-file' as const] : []),
      ];
  const pending = new Map<string, EnvVar>();
  const remove: string[] = [];
  let ie = 0;
  let iv = 0;
  for (const which of order) {
    if (which === 'env-file') {
      for (const line of file) {
        const i = line.indexOf('=');
        if (i >= 0) pending.set(line.slice(0, i), { name: line.slice(0, i), value: line.slice(i + 1) });
      }
      continue;
    }
    const raw = which === 'env' ? envs[ie++]! : froms[iv++]!;
    const i = raw.indexOf('=');
    if (i < 0) {
      remove.push(raw.slice(0, -1));
      continue;
    }
    const name = raw.slice(0, i);
    const value = raw.slice(i + 1);
    pending.set(name, which === 'env' ? { name, value } : { name, valueFrom: envVarSource(value) });
  }
  const env = [...(c.env ?? [])];
  for (let i = 0; i < env.length; i++) {
    const next = pending.get(env[i]!.name ?? '');
    if (next) {
      env[i] = next;
      pending.delete(next.name ?? '');
    }
  }
  env.push(...pending.values());
  c.env = env.filter((e) => !remove.includes(e.name ?? ''));
  if (c.env.length === 0) delete c.env;
}

/** kn's createEnvVarSource: `cm:NAME:KEY` / `config-map:…` / `secret:…` / `sc:…`. */
function envVarSource(spec: string): Record<string, unknown> {
  const parts = spec.split(':');
  const slices = parts.length > 3 ? [parts[0]!, parts[1]!, parts.slice(2).join(':')] : parts;
  const err = (m: string): KnError => new KnError('SLUICE_ERR_KN_FLAG_FORMAT', m);
  if (slices.length !== 3)
    throw err(
      `argument requires a value in form "resourceType:name:key" where "resourceType" can be one of "config-map" ("cm") or "secret" ("sc"); got ${JSON.stringify(spec)}`,
    );
  const [type, name, key] = [slices[0]!.trim(), slices[1]!.trim(), slices[2]!.trim()];
  let kind: string;
  let source: Record<string, unknown>;
  if (type === 'config-map' || type === 'cm') {
    kind = 'ConfigMap';
    source = { configMapKeyRef: { name, key } };
  } else if (type === 'secret' || type === 'sc') {
    kind = 'Secret';
    source = { secretKeyRef: { name, key } };
  } else {
    throw err(
      `unsupported env source type "${JSON.stringify(slices[0])}"; supported source types are "config-map" ("cm") and "secret" ("sc")`,
    );
  }
  if (name === '') throw err(`the name of ${kind} cannot be an empty string`);
  if (key === '') throw err(`the key referenced by resource ${kind} "${name}" cannot be an empty string`);
  return source;
}

export interface ApplyOptions {
  /** RFC 3339 time for the update timestamp annotation. */
  nowIso: string;
  random: (n: number) => string;
  /** `service create` builds a fresh Service; update edits an existing one. */
  create: boolean;
}

/**
 * kn's `--scale`: `N` sets min and max to N, `MIN..MAX`, `MIN..` or `..MAX` set either or both. Numbers are
 * read as Go's strconv.Atoi reads them (a sign is allowed; the webhook rejects negatives).
 */
export function parseScale(scale: string): { min?: number; max?: number } {
  const atoi = (s: string): number => {
    if (!/^[+-]?\d+$/.test(s)) throw new KnError('SLUICE_ERR_KN_SCALE', `strconv.Atoi: parsing "${s}": invalid syntax`);
    return Number(s);
  };
  if (scale.includes('..')) {
    const parts = scale.split('..');
    const out: { min?: number; max?: number } = {};
    if (parts[0] !== '') out.min = atoi(parts[0]!);
    if (parts[1] !== '') out.max = atoi(parts[1]!);
    return out;
  }
  if (/^[+-]?\d+$/.test(scale)) return { min: Number(scale), max: Number(scale) };
  throw new KnError('SLUICE_ERR_KN_SCALE', 'Scale must be of the format x..y or x');
}

/** Returns a copy of `service` with the flags applied. Throws KnError with kn's message on bad input. */
export function applyEditFlags(service: Service, f: EditFlags, o: ApplyOptions): Service {
  const svc = structuredClone(service);
  const meta = (svc.metadata ??= {});
  const spec = (svc.spec ??= {});
  const template = (spec.template ??= {});
  const tmeta = (template.metadata ??= {});
  const tspec = (template.spec ??= {});
  const containers = (tspec.containers ??= []);
  if (containers.length === 0) containers.push({});
  const c: Container =
    containers.length === 1 ? containers[0]! : (containers.find((x) => (x.ports ?? []).length > 0) ?? containers[0]!);
  const mutation = anyMutation(f);
  const tAnn = (): Record<string, string> => (tmeta.annotations ??= {});

  // kn's ResolvePodSpec order: env, env-from, mounts and volumes, image, port, probes.
  if (f.env !== undefined || f.envValueFrom !== undefined || f.envFileLines !== undefined) applyEnv(c, f);
  if (f.envFrom !== undefined) applyEnvFrom(c, f.envFrom);
  if (f.mount !== undefined || f.volume !== undefined) applyMountsAndVolumes(tspec, c, f.mount ?? [], f.volume ?? []);
  if (f.image !== undefined) c.image = f.image;
  if (f.port !== undefined) c.ports = [parsePort(f.port)];
  if (f.probeLiveness !== undefined) applyProbe(c, 'livenessProbe', f.probeLiveness);
  if (f.probeLivenessOpts !== undefined) applyProbeOptions(c, 'livenessProbe', f.probeLivenessOpts);
  if (f.probeReadiness !== undefined) applyProbe(c, 'readinessProbe', f.probeReadiness);
  if (f.probeReadinessOpts !== undefined) applyProbeOptions(c, 'readinessProbe', f.probeReadinessOpts);

  if (f.revisionName !== undefined && f.revisionName !== '') {
    const name = generateRevisionName(f.revisionName, meta.name ?? '', meta.generation ?? 0, o.random);
    if (mutation) tmeta.name = name;
  }
  if (mutation) tAnn()[ANNOTATION_UPDATE_TIMESTAMP] = o.nowIso;
  // kn's lock-to-digest bookkeeping: remember the image as the user gave it. A fresh Service carries the
  // annotation as a placeholder; one read from -f only when the file has it.
  const placeholder = o.create && f.filename === undefined;
  if (mutation && (placeholder || tmeta.annotations?.[ANNOTATION_USER_IMAGE] !== undefined)) {
    const image = c.image ?? '';
    if (!image.includes('@') || tAnn()[ANNOTATION_USER_IMAGE] === undefined) tAnn()[ANNOTATION_USER_IMAGE] = image;
  }

  if (f.scale !== undefined) {
    if (f.scaleMax !== undefined)
      throw new KnError('SLUICE_ERR_KN_SCALE', 'only --scale or --scale-max can be specified');
    if (f.scaleMin !== undefined)
      throw new KnError('SLUICE_ERR_KN_SCALE', 'only --scale or --scale-min can be specified');
    const { min, max } = parseScale(f.scale);
    if (min !== undefined) tAnn()[MIN_SCALE] = String(min);
    if (max !== undefined) tAnn()[MAX_SCALE] = String(max);
  }
  if (f.scaleMin !== undefined) tAnn()[MIN_SCALE] = String(f.scaleMin);
  if (f.scaleMax !== undefined) tAnn()[MAX_SCALE] = String(f.scaleMax);
  if (f.scaleWindow !== undefined) {
    if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(f.scaleWindow)) {
      throw new KnError(
        'SLUICE_ERR_KN_SCALE',
        `invalid duration for 'scale-window': time: invalid duration "${f.scaleWindow}"`,
      );
    }
    tAnn()[WINDOW] = f.scaleWindow;
  }
  if (f.scaleTarget !== undefined) tAnn()[TARGET] = String(f.scaleTarget);
  if (f.scaleMetric !== undefined) tAnn()[METRIC] = f.scaleMetric;
  if (f.scaleActivation !== undefined) tAnn()[ACTIVATION_SCALE] = String(f.scaleActivation);
  if (f.scaleUtilization !== undefined) tAnn()[UTILIZATION] = String(f.scaleUtilization);
  if (f.concurrencyLimit !== undefined) {
    if (f.concurrencyLimit < 0)
      throw new KnError(
        'SLUICE_ERR_KN_CONCURRENCY',
        `invalid concurrency-limit ${f.concurrencyLimit} (must not be less than 0)`,
      );
    tspec.containerConcurrency = f.concurrencyLimit;
  }
  if (f.timeout !== undefined) tspec.timeoutSeconds = f.timeout;

  if (f.clusterLocal !== undefined) {
    const labels = (meta.labels ??= {});
    if (f.clusterLocal) labels[VISIBILITY_LABEL] = 'cluster-local';
    else delete labels[VISIBILITY_LABEL];
  }

  if (f.labels !== undefined) {
    const { set, remove } = parsePairs(f.labels, 'label', !o.create);
    for (const target of [(meta.labels ??= {}), (tmeta.labels ??= {})]) {
      for (const [k, v] of set) target[k] = v;
      for (const k of remove) delete target[k];
    }
  }
  if (f.annotations !== undefined || f.annotationsService !== undefined || f.annotationsRevision !== undefined) {
    const all = parsePairs(f.annotations ?? [], 'annotation', !o.create);
    const rev = parsePairs(f.annotationsRevision ?? [], 'annotation-revision', !o.create);
    const svcOnly = parsePairs(f.annotationsService ?? [], 'annotation-service', !o.create);
    for (const [k] of svcOnly.set) {
      if (k.startsWith(AUTOSCALING_GROUP)) {
        throw new KnError(
          'SLUICE_ERR_KN_ANNOTATION',
          `service can not have auto-scaling related annotation: ${k} , please update using '--annotation-revision'`,
        );
      }
    }
    const ta = tAnn();
    for (const [k, v] of [...all.set, ...rev.set]) ta[k] = v;
    for (const k of [...all.remove, ...rev.remove]) delete ta[k];
    const sa = (meta.annotations ??= {});
    // Autoscaling annotations belong on the revision template only.
    for (const [k, v] of all.set) if (!k.startsWith(AUTOSCALING_GROUP)) sa[k] = v;
    for (const [k, v] of svcOnly.set) sa[k] = v;
    for (const k of [...all.remove, ...svcOnly.remove]) delete sa[k];
    if (Object.keys(sa).length === 0) delete meta.annotations;
  }
  if (f.scaleInit !== undefined) {
    if ((f.annotations ?? []).some((a) => a.includes(INITIAL_SCALE)))
      throw new KnError(
        'SLUICE_ERR_KN_SCALE',
        `only one of the --scale-init or --annotation ${INITIAL_SCALE} can be specified`,
      );
    tAnn()[INITIAL_SCALE] = String(f.scaleInit);
  }
  if (tmeta.annotations && Object.keys(tmeta.annotations).length === 0) delete tmeta.annotations;
  if (tmeta.labels && Object.keys(tmeta.labels).length === 0) delete tmeta.labels;
  if (meta.labels && Object.keys(meta.labels).length === 0) delete meta.labels;
  if (Object.keys(tmeta).length === 0) delete template.metadata;
  return svc;
}
