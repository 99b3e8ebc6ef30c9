// kn's pod-spec flags that reach beyond the container's image and env: --env-from, --mount, --volume and the
// probe flags, applied to a RevisionSpec as pure functions. Semantics, ordering and messages are those of
// knative/client pkg/flags/podspec_helper.go (UpdateEnvFrom, UpdateVolumeMountsAndVolumes,
// UpdateReadinessProbe, ...), so the spec sent is the one kn sends.
import { createHash } from 'node:crypto';
import type { Container, Probe, RevisionSpec, Volume, VolumeMount } from '../../serving/types.js';
import { KnError } from './errors.js';

/** Go's %q for the strings kn quotes (ASCII names and paths; JSON escaping agrees with Go's there). */
const q = (s: string): string => JSON.stringify(s);

function fail(message: string): never {
  throw new KnError('SLUICE_ERR_KN_FLAG_FORMAT', message);
}

/** A `K=V` / `K-` list in kn's OrderedMapAndRemovalListFromArray: later values win, first position stays. */
export interface OrderedPairs {
  set: Map<string, string>;
  remove: string[];
}

export function orderedPairs(values: readonly string[], flag: string): OrderedPairs {
  const out: OrderedPairs = { set: new Map(), remove: [] };
  for (const v of values) {
    const i = v.indexOf('=');
    if (i >= 0) out.set.set(v.slice(0, i), v.slice(i + 1));
    else if (v.endsWith('-')) out.remove.push(v.slice(0, -1));
    else fail(`Invalid --${flag}: argument requires a value that contains the "=" character; got ${q(v)}`);
  }
  return out;
}

/**
 * The volume name kn generates for `--mount PATH=cm:NAME`: the path lower-cased with every other character
 * turned into '-', the first 4 bytes of its SHA-1 appended, prefixed `k-` when it would not start with an
 * alphanumeric, cut to 63 characters ending in `-n`. Example: `/mydir` → `mydir-` + 8 hex digits.
 */
export function generateVolumeName(path: string): string {
  let b = '';
  let idx = 0;
  for (const r of path) {
    if (/\p{Ll}|\p{Nd}|-/u.test(r)) b += r;
    else if (/\p{Lu}/u.test(r)) b += r.toLowerCase();
    else if (r === '/') b += idx !== 0 ? '-' : '';
    else b += '-';
    idx += Buffer.byteLength(r);
  }
  let name = `${b}-${createHash('sha1').update(path).digest('hex').slice(0, 8)}`;
  if (!/^[\p{L}\p{N}]/u.test(name)) name = `k-${name}`;
  if (name.length > 63) name = `${name.slice(0, 61)}-n`;
  return name;
}

// ---------------------------------------------------------------------------------------------------------
// Volume sources: `cm:NAME`, `config-map:NAME`, `secret:NAME`, `sc:NAME`, `ed:NAME[:type=Memory,size=1Gi]`,
// `emptyDir:…`, `pvc:CLAIM`, `persistentVolumeClaim:CLAIM`.

type SourceType = 'config-map' | 'secret' | 'emptyDir' | 'pvc';

interface SourceInfo {
  type: SourceType;
  name: string;
  medium?: string;
  sizeLimit?: string;
}

function sourceTypeOf(s: string): SourceType | undefined {
  switch (s) {
    case 'config-map':
    case 'cm':
      return 'config-map';
    case 'secret':
    case 'sc':
      return 'secret';
    case 'emptyDir':
    case 'ed':
      return 'emptyDir';
    case 'persistentVolumeClaim':
    case 'pvc':
      return 'pvc';
    default:
      return undefined;
  }
}

const UNSUPPORTED_VOLUME_TYPE = (t: string): string =>
  `unsupported volume type "${q(t)}"; supported volume types are "config-map or cm", "secret or sc", "volume or vo", and "emptyDir or ed"`;

/** A Kubernetes quantity (resource.ParseQuantity's grammar): a signed decimal and an optional suffix. */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

function emptyDirTypeAndSize(value: string): { medium?: string; sizeLimit?: string } {
  const formatErr = 'incorrect format to specify emptyDir type';
  const out: { medium?: string; sizeLimit?: string } = {};
  const parts = value.split(/,(.*)/s).slice(0, 2);
  for (const part of parts.length > 1 ? parts : [parts[0]!]) {
    const i = part.indexOf('=');
    if (i < 0) fail(formatErr);
    const [k, v] = [part.slice(0, i), part.slice(i + 1)];
    switch (k.toLowerCase()) {
      case 'type':
        if (out.medium !== undefined && parts.length > 1) fail(`cannot repeat the key ${q('type')}`);
        out.medium = v;
        break;
      case 'size':
        if (out.sizeLimit !== undefined && parts.length > 1) fail(`cannot repeat the key ${q('size')}`);
        if (!QUANTITY.test(v)) fail(formatErr);
        out.sizeLimit = v;
        break;
      default:
        fail(formatErr);
    }
  }
  return out;
}

/** kn's newVolumeSourceInfoWithSpecString: the value of `--volume NAME=…` and of `--env-from`. */
function sourceInfoFromSpec(spec: string): SourceInfo {
  const slices = spec.split(':');
  if (slices.length > 3) slices.splice(2, slices.length - 2, slices.slice(2).join(':'));
  if (slices.length < 2) {
    fail(
      `argument requires a value that contains the : character; got ${q(spec)}, [${slices.map((s) => q(s)).join(' ')}]`,
    );
  }
  const typeString = slices[0]!.trim();
  if (slices.length === 2) {
    const type = sourceTypeOf(typeString);
    if (!type)
      fail(
        `unsupported volume source type "${q(slices[0]!)}"; supported volume source types are "config-map" and "secret"`,
      );
    const name = slices[1]!.trim();
    if (name === '')
      fail(`the name of ${type === 'config-map' || type === 'secret' ? type : 'unknown'} cannot be an empty string`);
    return { type, name };
  }
  const type = sourceTypeOf(typeString);
  if (type === 'emptyDir') return { type, name: slices[1]!, ...emptyDirTypeAndSize(slices[2]!) };
  if (type) fail(`incorrect mount details for type ${q(typeString)}`);
  fail(UNSUPPORTED_VOLUME_TYPE(slices[0]!));
}

function setVolumeSource(v: Volume, info: SourceInfo): void {
  switch (info.type) {
    case 'config-map':
      delete v['secret'];
      v['configMap'] = { name: info.name };
      break;
    case 'secret':
      delete v['configMap'];
      v['secret'] = { secretName: info.name };
      break;
    case 'emptyDir': {
      const ed: Record<string, string> = {};
      if (info.medium) ed['medium'] = info.medium;
      if (info.sizeLimit !== undefined) ed['sizeLimit'] = info.sizeLimit;
      v['emptyDir'] = ed;
      break;
    }
    case 'pvc':
      v['persistentVolumeClaim'] = { claimName: info.name };
      break;
  }
}

// ---------------------------------------------------------------------------------------------------------
// --env-from cm:NAME | config-map:NAME | secret:NAME | sc:NAME, `…-` removes.

function envFromCanonical(e: Record<string, unknown>): string | undefined {
  const cm = e['configMapRef'] as { name?: string } | undefined;
  if (cm) return `config-map:${cm.name ?? ''}`;
  const sc = e['secretRef'] as { name?: string } | undefined;
  if (sc) return `secret:${sc.name ?? ''}`;
  return undefined;
}

function envFromSourceInfo(value: string): SourceInfo {
  const info = sourceInfoFromSpec(value);
  // kn dereferences a nil EnvFromSource here (a panic); say what is wrong instead.
  if (info.type !== 'config-map' && info.type !== 'secret')
    fail(
      `unsupported env source type "${q(value.split(':')[0]!)}"; supported source types are "config-map" ("cm") and "secret" ("sc")`,
    );
  return info;
}

/** `--env-from` values in order; adds sources not yet present, then removes the `NAME-` ones. */
export function applyEnvFrom(c: Container, values: readonly string[]): void {
  const add: string[] = [];
  const remove: string[] = [];
  for (const v of values) {
    if (v === '-') fail('"-" is not a valid value for "--env-from"');
    if (v.endsWith('-')) remove.push(v.slice(0, -1));
    else add.push(v);
  }
  let envFrom = [...(c.envFrom ?? [])];
  const existing = new Set(envFrom.map(envFromCanonical).filter((x) => x !== undefined));
  for (const v of add) {
    const info = envFromSourceInfo(v);
    if (existing.has(`${info.type}:${info.name}`)) continue;
    envFrom.push(
      info.type === 'config-map' ? { configMapRef: { name: info.name } } : { secretRef: { name: info.name } },
    );
  }
  for (const v of remove) {
    const info = envFromSourceInfo(v);
    const i = envFrom.findIndex((e) => envFromCanonical(e) === `${info.type}:${info.name}`);
    if (i >= 0) envFrom = [...envFrom.slice(0, i), ...envFrom.slice(i + 1)];
  }
  if (envFrom.length > 0) c.envFrom = envFrom;
  else delete c.envFrom;
}

// ---------------------------------------------------------------------------------------------------------
// --mount PATH=cm:NAME[/subpath][:readOnly=BOOL] | PATH=VOLUME | PATH- and --volume NAME=SOURCE | NAME-.

interface MountInfo {
  volumeName: string;
  subPath: string;
  options: string;
}

function mountInfoOf(value: string): MountInfo {
  const colon = value.indexOf(':');
  const options = colon >= 0 ? value.slice(colon + 1) : '';
  const head = colon >= 0 ? value.slice(0, colon) : value;
  const slash = head.indexOf('/');
  if (slash < 0 || slash === head.length - 1)
    return { volumeName: slash < 0 ? head : head.slice(0, slash), subPath: '', options };
  return { volumeName: head.slice(0, slash), subPath: head.slice(slash + 1), options };
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  fail(`strconv.ParseBool: parsing ${q(v)}: invalid syntax`);
}

/** A mount is read-only unless its options say otherwise or it mounts an emptyDir or a PVC. */
function isReadOnly(volumeName: string, options: string, volumes: readonly Volume[]): boolean {
  if (options !== '') {
    let readOnly: string | undefined;
    for (const opt of options.split(',')) {
      const i = opt.indexOf('=');
      const key = i >= 0 ? opt.slice(0, i) : opt;
      if (key.toLowerCase() !== 'readonly') fail(`unknown mount option ${q(key)}`);
      // kn indexes past the end here (a panic) when there is no '='; name the option instead.
      if (i < 0) fail(`mount option ${q(key)} requires a value, e.g. readOnly=true`);
      readOnly = opt.slice(i + 1);
    }
    if (readOnly !== undefined && readOnly !== '') return parseBool(readOnly);
  }
  const v = volumes.find((x) => x.name === volumeName);
  if (v) return !(v['emptyDir'] !== undefined || v['persistentVolumeClaim'] !== undefined);
  return true;
}

function mountOf(name: string, readOnly: boolean, mountPath: string, subPath: string): VolumeMount {
  const m: VolumeMount = { name };
  if (readOnly) m.readOnly = true;
  m.mountPath = mountPath;
  if (subPath) m['subPath'] = subPath;
  return m;
}

/** kn's UpdateVolumeMountsAndVolumes: volumes first (updated in place, new ones appended), then mounts, then removals. */
export function applyMountsAndVolumes(
  spec: RevisionSpec,
  c: Container,
  mountValues: readonly string[],
  volumeValues: readonly string[],
): void {
  const mounts = orderedPairs(mountValues, 'mount');
  const vols = orderedPairs(volumeValues, 'volume');

  const sources = new Map<string, SourceInfo>();
  const mountsToUpdate = new Map<string, MountInfo>();
  for (const [path, value] of mounts.set) {
    const colon = value.indexOf(':');
    if (colon < 0) {
      mountsToUpdate.set(path, mountInfoOf(value));
      continue;
    }
    const type = sourceTypeOf(value.slice(0, colon));
    if (!type) fail(UNSUPPORTED_VOLUME_TYPE(value.slice(0, colon)));
    const rest = value.slice(colon + 1);
    const generated = generateVolumeName(path);
    const info = mountInfoOf(rest);
    // For an emptyDir kn keeps the whole rest as the (unused) source name and no medium or size.
    sources.set(generated, { type, name: type === 'emptyDir' ? rest : info.volumeName });
    mountsToUpdate.set(path, { ...info, volumeName: generated });
  }
  for (const [name, value] of vols.set) sources.set(name, sourceInfoFromSpec(value));

  const volumes: Volume[] = (spec.volumes ?? []).map((v) => ({ ...v }));
  const seen = new Set<string>();
  for (const v of volumes) {
    const info = sources.get(v.name ?? '');
    if (info) {
      setVolumeSource(v, info);
      seen.add(v.name ?? '');
    }
  }
  for (const [name, info] of sources) {
    if (seen.has(name)) continue;
    const v: Volume = { name };
    setVolumeSource(v, info);
    volumes.push(v);
  }

  const original = c.volumeMounts ?? [];
  let volumeMounts: VolumeMount[] = original.map((m) => ({ ...m }));
  const updated = new Set<string>();
  for (const m of volumeMounts) {
    const info = mountsToUpdate.get(m.mountPath ?? '');
    if (!info) continue;
    if (!volumes.some((v) => v.name === info.volumeName)) fail(`There is no volume matched with ${q(info.volumeName)}`);
    if (isReadOnly(info.volumeName, info.options, volumes)) m.readOnly = true;
    else delete m.readOnly;
    m.name = info.volumeName;
    if (info.subPath) m['subPath'] = info.subPath;
    else delete m['subPath'];
    updated.add(m.mountPath ?? '');
  }
  for (const [path, info] of mountsToUpdate) {
    const readOnly = isReadOnly(info.volumeName, info.options, volumes);
    if (!updated.has(path)) volumeMounts.push(mountOf(info.volumeName, readOnly, path, info.subPath));
  }

  // Unmounting a path also drops the volume kn generated for it. kn looks at the container's mounts after
  // the in-place updates above (the slice shares its array), without the appended ones.
  const volumesToRemove = [...vols.remove];
  for (const path of mounts.remove) {
    for (const m of volumeMounts.slice(0, original.length)) {
      if (m.mountPath === path && m.name === generateVolumeName(path)) volumesToRemove.push(m.name);
    }
  }
  for (const path of mounts.remove) {
    const i = volumeMounts.findIndex((m) => m.mountPath === path);
    if (i >= 0) volumeMounts = [...volumeMounts.slice(0, i), ...volumeMounts.slice(i + 1)];
  }
  let remaining = volumes;
  for (const name of volumesToRemove) {
    const i = remaining.findIndex((v) => v.name === name);
    if (i < 0) continue;
    if (volumeMounts.some((m) => m.name === name))
      fail(`The volume ${q(name)} cannot be removed because it is mounted`);
    remaining = [...remaining.slice(0, i), ...remaining.slice(i + 1)];
  }

  if (volumeMounts.length > 0) c.volumeMounts = volumeMounts;
  else delete c.volumeMounts;
  if (remaining.length > 0) spec.volumes = remaining;
  else delete spec.volumes;
}

// ---------------------------------------------------------------------------------------------------------
// Probes: [http,https]:host:port:path | exec:cmd[,cmd,...] | tcp:host:port, and their options
// InitialDelaySeconds=N,FailureThreshold=N,SuccessThreshold=N,PeriodSeconds=N,TimeoutSeconds=N.

/** k8s intstr.Parse: an integer when it parses as one, else the string (a named port). */
function intOrString(s: string): number | string {
  return /^[+-]?\d+$/.test(s) ? Number(s) : s;
}

type ProbeHandler = Pick<Probe, 'exec' | 'httpGet' | 'tcpSocket' | 'grpc'>;

export function resolveProbeHandler(probe: string): ProbeHandler {
  if (probe.length === 0) fail('no probe parameters detected');
  const parts = probe.split(':');
  if (parts.length > 4) fail('too many probe parameters provided, please check the format');
  switch (parts[0]) {
    case 'http':
    case 'https': {
      if (parts.length !== 4) fail("unexpected probe format, please use 'http:host:port:path'");
      const httpGet: Record<string, unknown> = {};
      if (parts[3]) httpGet['path'] = parts[3];
      // kn: an empty port is the zero IntOrString, serialized as `port: 0`.
      httpGet['port'] = parts[2] ? intOrString(parts[2]) : 0;
      if (parts[1]) httpGet['host'] = parts[1];
      if (parts[0] === 'https') httpGet['scheme'] = 'HTTPS';
      return { httpGet };
    }
    case 'exec':
      if (parts.length !== 2) fail("unexpected probe format, please use 'exec:<exec_command>[,<exec_command>,...]'");
      if (parts[1]!.length === 0) fail('at least one command parameter is required for Exec probe');
      return { exec: { command: parts[1]!.split(',') } };
    case 'tcp': {
      if (parts.length !== 3) fail("unexpected probe format, please use 'tcp:host:port");
      const tcpSocket: Record<string, unknown> = { port: parts[2] ? intOrString(parts[2]) : 0 };
      if (parts[1]) tcpSocket['host'] = parts[1];
      return { tcpSocket };
    }
    default:
      fail(`unsupported probe type '${parts[0]!}'; supported types: http, https, exec, tcp`);
  }
}

const PROBE_OPTIONS: Record<string, keyof Probe> = {
  initialdelayseconds: 'initialDelaySeconds',
  timeoutseconds: 'timeoutSeconds',
  periodseconds: 'periodSeconds',
  successthreshold: 'successThreshold',
  failurethreshold: 'failureThreshold',
};

/** Go's strconv.ParseInt(s, 0, 32): base prefixes 0x, 0o, 0b, a leading 0 for octal, '_' between digits. */
function parseInt32Base0(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!.replace(/_/g, '');
  let n: number;
  if (/^0[xXoObB]/.test(body)) n = Number(body);
  else if (body.length > 1 && body.startsWith('0')) n = Number.parseInt(body.slice(1), 8);
  else n = Number(body);
  if (m[1] === '-') n = -n;
  return Number.isSafeInteger(n) && n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

export function resolveProbeOptions(probe: Probe, options: string): void {
  const given = new Map<string, string>();
  const all = options.split(',');
  for (const o of all) {
    const i = o.indexOf('=');
    if (i < 0) fail(`Argument requires a value that contains the ${q('=')} character as delimiter; got ${q(o)}`);
    const k = o.slice(0, i);
    if (k === '') fail('The key is empty');
    if (given.has(k)) fail(`The key ${q(k)} has been duplicate in [${all.join(' ')}]`);
    given.set(k, o.slice(i + 1));
  }
  for (const [k, v] of given) {
    const n = parseInt32Base0(v.trim());
    if (n === undefined) fail(`not a nummeric value for parameter '${k}'`);
    const field = PROBE_OPTIONS[k.trim().toLowerCase()];
    if (!field) fail(`not a valid probe parameter name '${k}'`);
    (probe as Record<string, unknown>)[field] = n;
  }
}

/** `--probe-readiness` / `--probe-liveness`: replaces the handler, keeps the options already set. */
export function applyProbe(c: Container, kind: 'readinessProbe' | 'livenessProbe', value: string): void {
  const handler = resolveProbeHandler(value);
  const probe: Probe = { ...(c[kind] ?? {}) };
  for (const k of ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const) delete probe[k];
  c[kind] = { ...handler, ...probe };
}

/** `--probe-readiness-opts` / `--probe-liveness-opts`. */
export function applyProbeOptions(c: Container, kind: 'readinessProbe' | 'livenessProbe', value: string): void {
  const probe: Probe = { ...(c[kind] ?? {}) };
  resolveProbeOptions(probe, value);
  c[kind] = probe;
}
