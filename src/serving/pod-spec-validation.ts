// Validation of a Revision's pod spec (Knative's ValidatePodSpec, pkg/apis/serving/k8s_validation.go) with the
// field masks of fieldmask.go under the config-features flags (features.ts): a field a mask drops is
// `must not set the field(s)`; flags decide which pod spec, volume, security context and capability fields pass.

import {
  CURRENT_FIELD,
  FieldError,
  errDisallowedFields,
  errGeneric,
  errInvalidValue,
  errMissingField,
  errMissingOneOf,
  errMultipleOneOf,
  errOutOfBoundsValue,
} from './field-error.js';
import { FEATURE_DEFAULTS, permits, securePodDefaultsOn, type PodSpecFeatures } from './features.js';
import { isDNS1123Label, isDNS1123Subdomain } from './k8s-names.js';
import { isRecord } from './json.js';
import type { Container, ContainerPort, Probe, RevisionSpec, Volume, VolumeMount } from './types.js';

export { FEATURE_DEFAULTS, type PodSpecFeatures } from './features.js';

const MAX_INT32 = 2147483647;
const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);
const RESERVED_SIDECAR_ENV = new Set(['K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);
/** Queue-proxy, activator and profiling ports that a user container cannot take. */
const RESERVED_PORTS = new Set([8012, 8013, 8022, 9090, 9091, 8008]);
const RESERVED_PATHS = new Set(['/', '/dev', '/dev/log']);
const REVISION_SPEC_KEYS = new Set([
  'containerConcurrency',
  'timeoutSeconds',
  'responseStartTimeoutSeconds',
  'idleTimeoutSeconds',
]);
const CONTAINER_KEYS = new Set([
  'name',
  'args',
  'command',
  'env',
  'workingDir',
  'envFrom',
  'image',
  'imagePullPolicy',
  'livenessProbe',
  'ports',
  'readinessProbe',
  'resources',
  'securityContext',
  'startupProbe',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'volumeMounts',
]);
const HANDLERS: ReadonlySet<string> = new Set(['httpGet', 'tcpSocket', 'exec', 'grpc']);
const PROBE_KEYS = new Set([
  'httpGet',
  'tcpSocket',
  'exec',
  'grpc',
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
  'terminationGracePeriodSeconds',
]);

/** Go's zero values are "not set" for apis.CheckDisallowedFields. */
function isSet(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== '';
}

/**
 * apis.CheckDisallowedFields: the keys a mask drops that hold a non-zero value. `pointers` names the Go pointer
 * fields, for which `false`, `0` and `""` are set values too (only null/absent is nil).
 */
function disallowedFields(
  obj: Record<string, unknown>,
  allowed: (key: string) => boolean,
  pointers: ReadonlySet<string> = NO_POINTERS,
): FieldError {
  const bad = Object.keys(obj)
    .filter((k) => !allowed(k) && (pointers.has(k) ? obj[k] !== undefined && obj[k] !== null : isSet(obj[k])))
    .sort();
  return bad.length > 0 ? errDisallowedFields(...bad) : FieldError.none;
}

const NO_POINTERS: ReadonlySet<string> = new Set();
const only =
  (...keys: string[]) =>
  (k: string): boolean =>
    keys.includes(k);
/** corev1.PodSpec's pointer fields. */
const POD_SPEC_POINTERS = new Set([
  'terminationGracePeriodSeconds',
  'activeDeadlineSeconds',
  'automountServiceAccountToken',
  'shareProcessNamespace',
  'runtimeClassName',
  'priority',
  'preemptionPolicy',
  'enableServiceLinks',
  'setHostnameAsFQDN',
  'hostUsers',
]);
/** corev1.SecurityContext and PodSecurityContext: every scalar is a pointer. */
const SECURITY_CONTEXT_POINTERS = new Set([
  'privileged',
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'readOnlyRootFilesystem',
  'allowPrivilegeEscalation',
  'procMount',
  'fsGroup',
  'fsGroupChangePolicy',
  'supplementalGroupsPolicy',
  'seLinuxChangePolicy',
]);

/** PodSpecMask: the fields a Revision may set, most behind a config-features flag. */
function podSpecAllowed(key: string, ps: RevisionSpec, f: PodSpecFeatures): boolean {
  if (REVISION_SPEC_KEYS.has(key)) return true;
  switch (key) {
    case 'serviceAccountName':
    case 'containers':
    case 'volumes':
    case 'imagePullSecrets':
    case 'enableServiceLinks':
      return true;
    case 'automountServiceAccountToken':
      return ps['automountServiceAccountToken'] === false;
    case 'securityContext':
      return permits(f.securityContext) || permits(f.securePodDefaults);
    default: {
      const flag = POD_SPEC_FLAGS[key];
      return flag !== undefined && permits(f[flag]);
    }
  }
}

const POD_SPEC_FLAGS: Readonly<Record<string, keyof PodSpecFeatures>> = {
  affinity: 'affinity',
  topologySpreadConstraints: 'topologySpreadConstraints',
  hostAliases: 'hostAliases',
  nodeSelector: 'nodeSelector',
  runtimeClassName: 'runtimeClassName',
  tolerations: 'tolerations',
  shareProcessNamespace: 'shareProcessNamespace',
  priorityClassName: 'priorityClassName',
  schedulerName: 'schedulerName',
  initContainers: 'initContainers',
  dnsPolicy: 'dnsPolicy',
  dnsConfig: 'dnsConfig',
  hostIPC: 'hostIPC',
  hostPID: 'hostPID',
  hostNetwork: 'hostNetwork',
};

/** ValidatePodSecurityContext with PodSecurityContextMask. */
function validatePodSecurityContext(sc: unknown, f: PodSpecFeatures): FieldError {
  if (!isRecord(sc)) return FieldError.none;
  const allowed = new Set<string>();
  if (securePodDefaultsOn(f) && isRecord(sc['seccompProfile'])) {
    // Only the profile type passes, and only RuntimeDefault or Unconfined: anything more differs from the mask.
    const sp = sc['seccompProfile'];
    const type = sp['type'];
    if ((type === 'RuntimeDefault' || type === 'Unconfined') && Object.keys(sp).every((k) => k === 'type'))
      allowed.add('seccompProfile');
  }
  if (permits(f.securityContext))
    for (const k of ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'supplementalGroups', 'seccompProfile'])
      allowed.add(k);
  let errs = disallowedFields(sc, (k) => allowed.has(k), SECURITY_CONTEXT_POINTERS);
  for (const field of ['runAsUser', 'runAsGroup', 'fsGroup']) {
    const v = sc[field];
    if (typeof v === 'number' && (v < 0 || v > MAX_INT32))
      errs = errs.also(errOutOfBoundsValue(v, 0, MAX_INT32, field));
  }
  const groups = sc['supplementalGroups'];
  if (Array.isArray(groups))
    groups.forEach((g, i) => {
      if (typeof g === 'number' && (g < 0 || g > MAX_INT32))
        errs = errs.also(errOutOfBoundsValue(g, 0, MAX_INT32, CURRENT_FIELD).viaFieldIndex('supplementalGroups', i));
    });
  return errs;
}

function validateVolumes(
  volumes: Volume[],
  mounted: Set<string>,
  f: PodSpecFeatures,
): [Map<string, Volume>, FieldError] {
  const byName = new Map<string, Volume>();
  let errs = FieldError.none;
  volumes.forEach((v, i) => {
    const name = v.name ?? '';
    if (byName.has(name))
      errs = errs.also(errGeneric(`duplicate volume name ${JSON.stringify(name)}`, 'name').viaIndex(i));
    if (!mounted.has(name))
      errs = errs.also(errGeneric(`volume with name ${JSON.stringify(name)} not mounted`, 'name').viaIndex(i));
    errs = errs.also(validateVolume(v, f).viaIndex(i));
    byName.set(name, v);
  });
  return [byName, errs];
}

/** The volume sources in Knative's order, each with the flag that lets it through VolumeSourceMask. */
const VOLUME_SOURCES: ReadonlyArray<[string, keyof PodSpecFeatures | undefined]> = [
  ['secret', undefined],
  ['configMap', undefined],
  ['projected', undefined],
  ['emptyDir', 'emptyDir'],
  ['persistentVolumeClaim', 'persistentVolumeClaim'],
  ['hostPath', 'hostPath'],
  ['csi', 'csi'],
  ['ephemeral', 'ephemeral'],
  ['image', 'imageVolumes'],
];

/** The "support is disabled" errors of sources whose flag must be Enabled, not only Allowed. */
const GATED_SOURCES: ReadonlyArray<[string, keyof PodSpecFeatures, string]> = [
  ['image', 'imageVolumes', 'Image'],
  ['emptyDir', 'emptyDir', 'EmptyDir'],
  ['hostPath', 'hostPath', 'HostPath'],
  ['csi', 'csi', 'CSI'],
  ['ephemeral', 'ephemeral', 'Ephemeral'],
];

function validateVolume(v: Volume, f: PodSpecFeatures): FieldError {
  const name = v.name ?? '';
  let errs = FieldError.none;
  const pvc = v['persistentVolumeClaim'];
  if (isRecord(pvc)) {
    const claim = typeof pvc['claimName'] === 'string' ? pvc['claimName'] : '';
    if (f.persistentVolumeClaim !== 'Enabled')
      errs = errs.also(
        new FieldError({
          message: `Persistent volume claim support is disabled, but found persistent volume claim ${claim}`,
        }),
      );
    if (pvc['readOnly'] !== true && f.persistentVolumeWrite !== 'Enabled')
      errs = errs.also(
        new FieldError({
          message: `Persistent volume write support is disabled, but found persistent volume claim ${claim} that is not read-only`,
        }),
      );
  }
  for (const [key, flag, label] of GATED_SOURCES)
    if (v[key] !== undefined && v[key] !== null && f[flag] !== 'Enabled')
      errs = errs.also(
        new FieldError({ message: `${label} volume support is disabled, but found ${label} volume ${name}` }),
      );
  // As Knative: a bad name replaces what was found so far.
  if (name === '') errs = errMissingField('name');
  else if (isDNS1123Label(name).length > 0) errs = errInvalidValue(name, 'name');
  const allowedSource = (k: string): boolean =>
    VOLUME_SOURCES.some(([key, flag]) => key === k && (flag === undefined || permits(f[flag])));
  errs = errs.also(disallowedFields(v, (k) => k === 'name' || allowedSource(k)));
  const specified: string[] = [];
  for (const kind of ['secret', 'configMap'] as const) {
    const src = v[kind];
    if (src === undefined || src === null) continue;
    specified.push(kind);
    // Knative validates the items under `items`, not under the source's own field.
    if (isRecord(src)) errs = errs.also(validateItems(src['items']));
  }
  const projected = v['projected'];
  if (projected !== undefined && projected !== null) {
    specified.push('projected');
    const sources = isRecord(projected) && Array.isArray(projected['sources']) ? projected['sources'] : [];
    sources.forEach((src, i) => {
      errs = errs.also(validateProjection(isRecord(src) ? src : {}).viaFieldIndex('projected', i));
    });
  }
  const emptyDir = v['emptyDir'];
  if (emptyDir !== undefined && emptyDir !== null) {
    specified.push('emptyDir');
    if (isRecord(emptyDir)) errs = errs.also(validateEmptyDir(emptyDir).viaField('emptyDir'));
  }
  for (const kind of ['persistentVolumeClaim', 'hostPath', 'csi', 'ephemeral'])
    if (v[kind] !== undefined && v[kind] !== null) specified.push(kind);
  const image = v['image'];
  if (image !== undefined && image !== null) {
    specified.push('image');
    errs = errs.also(validateImageVolume(isRecord(image) ? image : {}).viaField('image'));
  }
  if (specified.length === 0) {
    const paths = ['secret', 'configMap', 'projected'];
    for (const [key, flag] of VOLUME_SOURCES) if (flag !== undefined && f[flag] === 'Enabled') paths.push(key);
    errs = errs.also(errMissingOneOf(...paths));
  } else if (specified.length > 1) {
    errs = errs.also(errMultipleOneOf(...specified));
  }
  return errs;
}

/** KeyToPathMask (key, path, mode); key and path are required. */
function validateItems(items: unknown): FieldError {
  let errs = FieldError.none;
  if (!Array.isArray(items)) return errs;
  items.forEach((raw, i) => {
    const it = isRecord(raw) ? raw : {};
    let e = disallowedFields(it, only('key', 'path', 'mode'), new Set(['mode']));
    if (!isSet(it['key'])) e = e.also(errMissingField('key'));
    if (!isSet(it['path'])) e = e.also(errMissingField('path'));
    errs = errs.also(e.viaFieldIndex('items', i));
  });
  return errs;
}

/** validateProjectedVolumeSource: one of secret, configMap, serviceAccountToken, downwardAPI, each masked. */
function validateProjection(p: Record<string, unknown>): FieldError {
  let errs = disallowedFields(p, only('secret', 'configMap', 'serviceAccountToken', 'downwardAPI'));
  const specified: string[] = [];
  for (const kind of ['secret', 'configMap'] as const) {
    const src = p[kind];
    if (src === undefined || src === null) continue;
    specified.push(kind);
    const r = isRecord(src) ? src : {};
    let e = disallowedFields(r, only('name', 'items', 'optional'), new Set(['optional']));
    if (!isSet(r['name'])) e = e.also(errMissingField('name'));
    errs = errs.also(e.also(validateItems(r['items'])).viaField(kind));
  }
  const sat = p['serviceAccountToken'];
  if (sat !== undefined && sat !== null) {
    specified.push('serviceAccountToken');
    const r = isRecord(sat) ? sat : {};
    let e = disallowedFields(r, only('audience', 'expirationSeconds', 'path'), new Set(['expirationSeconds']));
    if (!isSet(r['path'])) e = e.also(errMissingField('path'));
    errs = errs.also(e.viaField('serviceAccountToken'));
  }
  const dapi = p['downwardAPI'];
  if (dapi !== undefined && dapi !== null) {
    specified.push('downwardAPI');
    const r = isRecord(dapi) ? dapi : {};
    let e = disallowedFields(r, only('items'));
    (Array.isArray(r['items']) ? r['items'] : []).forEach((raw, i) => {
      const vf = isRecord(raw) ? raw : {};
      let ve = disallowedFields(vf, only('fieldRef', 'resourceFieldRef', 'path', 'mode'), new Set(['mode']));
      const fr = vf['fieldRef'] !== undefined && vf['fieldRef'] !== null;
      const rfr = vf['resourceFieldRef'] !== undefined && vf['resourceFieldRef'] !== null;
      if (!fr && !rfr) ve = ve.also(errMissingOneOf('fieldRef', 'resourceFieldRef'));
      if (fr && rfr) ve = ve.also(errGeneric('Within a single item, cannot set both', 'resourceFieldRef', 'fieldRef'));
      if (!isSet(vf['path'])) ve = ve.also(errMissingField('path'));
      e = e.also(ve.viaFieldIndex('items', i));
    });
    errs = errs.also(e.viaField('downwardAPI'));
  }
  if (specified.length === 0)
    errs = errs.also(errMissingOneOf('secret', 'configMap', 'serviceAccountToken', 'downwardAPI'));
  else if (specified.length > 1) errs = errs.also(errMultipleOneOf(...specified));
  return errs;
}

function validateEmptyDir(d: Record<string, unknown>): FieldError {
  let errs = FieldError.none;
  const medium = typeof d['medium'] === 'string' ? d['medium'] : '';
  if (medium !== '' && medium !== 'Memory') errs = errs.also(errInvalidValue(medium, 'medium'));
  const size = d['sizeLimit'];
  if ((typeof size === 'string' && size.trim().startsWith('-')) || (typeof size === 'number' && size < 0))
    errs = errs.also(errInvalidValue(size, 'sizeLimit'));
  return errs;
}

/** validateImageVolumeSource: reference required, a known pullPolicy. */
function validateImageVolume(iv: Record<string, unknown>): FieldError {
  let errs = disallowedFields(iv, only('reference', 'pullPolicy'));
  if (!isSet(iv['reference'])) errs = errs.also(errMissingField('reference'));
  const pp = typeof iv['pullPolicy'] === 'string' ? iv['pullPolicy'] : '';
  if (!['IfNotPresent', 'Always', 'Never', ''].includes(pp)) errs = errs.also(errInvalidValue(pp, 'pullPolicy'));
  return errs;
}

/** EnvVarSourceMask and the key selector masks: fieldRef/resourceFieldRef only with the fieldref feature. */
function validateEnvValueFrom(src: unknown, fieldRef: boolean): FieldError {
  if (!isRecord(src)) return FieldError.none;
  const allowed = new Set(['configMapKeyRef', 'secretKeyRef', ...(fieldRef ? ['fieldRef', 'resourceFieldRef'] : [])]);
  let errs = disallowedFields(src, (k) => allowed.has(k));
  for (const sel of ['configMapKeyRef', 'secretKeyRef']) {
    const v = src[sel];
    if (isRecord(v))
      errs = errs.also(disallowedFields(v, (k) => k === 'key' || k === 'optional' || k === 'name').viaField(sel));
  }
  return errs;
}

function validateEnv(env: Container['env'], sidecar: boolean, fieldRef: boolean): FieldError {
  let errs = FieldError.none;
  (env ?? []).forEach((e, i) => {
    let ee = disallowedFields(e, (k) => k === 'name' || k === 'value' || k === 'valueFrom');
    const name = e.name ?? '';
    if (name === '') ee = ee.also(errMissingField('name'));
    else if ((sidecar ? RESERVED_SIDECAR_ENV : RESERVED_ENV).has(name)) {
      ee = ee.also(errGeneric(`${JSON.stringify(name)} is a reserved environment variable`, 'name'));
    }
    ee = ee.also(validateEnvValueFrom((e as Record<string, unknown>)['valueFrom'], fieldRef).viaField('valueFrom'));
    errs = errs.also(ee.viaIndex(i));
  });
  return errs;
}

function validateEnvFrom(envFrom: Container['envFrom']): FieldError {
  let errs = FieldError.none;
  (envFrom ?? []).forEach((ef, i) => {
    // EnvFromSourceMask, then the Secret/ConfigMap env source masks (name and optional).
    errs = errs.also(
      disallowedFields(ef, (k) => k === 'prefix' || k === 'configMapRef' || k === 'secretRef').viaIndex(i),
    );
    for (const ref of ['configMapRef', 'secretRef']) {
      const v = ef[ref];
      if (isRecord(v))
        errs = errs.also(
          disallowedFields(v, (k) => k === 'name' || k === 'optional')
            .viaField(ref)
            .viaIndex(i),
        );
    }
    const cm = ef['configMapRef'] !== undefined;
    const sm = ef['secretRef'] !== undefined;
    if (cm && sm) errs = errs.also(errMultipleOneOf('configMapRef', 'secretRef'));
    else if (!cm && !sm) errs = errs.also(errMissingOneOf('configMapRef', 'secretRef'));
  });
  return errs;
}

function validatePortBasic(p: ContainerPort): FieldError {
  let errs = disallowedFields(p, (k) => k === 'containerPort' || k === 'name' || k === 'protocol');
  const port = p.containerPort ?? 0;
  if (RESERVED_PORTS.has(port)) {
    errs = errs.also(
      errInvalidValue(
        `${port} is a reserved port`,
        'containerPort',
        `${port} is a reserved port, please use a different value`,
      ),
    );
  }
  if (port < 0 || port > 65535) errs = errs.also(errOutOfBoundsValue(port, 0, 65535, 'containerPort'));
  return errs;
}

function validateContainerPorts(ports: ContainerPort[] | undefined): FieldError {
  const user = ports?.[0];
  if (!user) return FieldError.none;
  let errs = validatePortBasic(user);
  if (user.protocol && user.protocol !== 'TCP') errs = errs.also(errInvalidValue(user.protocol, 'protocol'));
  const name = user.name ?? '';
  if (!['h2c', 'http1', ''].includes(name)) {
    errs = errs.also(
      new FieldError({
        message: `Port name ${name} is not allowed`,
        paths: [CURRENT_FIELD],
        details: "Name must be empty, or one of: 'h2c', 'http1'",
      }),
    );
  }
  return errs;
}

/**
 * `port` is the one serving port across all containers, defaulted to http/8080. As Knative, each handler's
 * ViaField applies to the errors gathered so far, not only the handler's own.
 */
function validateProbe(p: Probe | undefined, port: ContainerPort | undefined, isUser: boolean): FieldError {
  if (!p) return FieldError.none;
  let errs = disallowedFields(p, (k) => PROBE_KEYS.has(k), new Set(['terminationGracePeriodSeconds']));
  const handlers: string[] = [];
  const checkPort = (action: Record<string, unknown>, field: string): void => {
    const raw = action['port'];
    const str = typeof raw === 'string' ? raw : '';
    const num = typeof raw === 'number' ? raw : 0;
    const shown = typeof raw === 'string' ? raw : String(num);
    if (isUser) {
      if (str !== '' && str !== (port?.name ?? ''))
        errs = errs.also(errInvalidValue(shown, `${field}.port`, 'Probe port must match container port'));
    } else if (str === '' && num === 0) {
      errs = errs.also(errInvalidValue(shown, `${field}.port`, 'Probe port must be specified'));
    }
  };
  if (isRecord(p.httpGet)) {
    handlers.push('httpGet');
    errs = errs
      .also(disallowedFields(p.httpGet, only('host', 'path', 'scheme', 'httpHeaders', 'port')))
      .viaField('httpGet');
    checkPort(p.httpGet, 'httpGet');
  }
  if (isRecord(p.tcpSocket)) {
    handlers.push('tcpSocket');
    errs = errs.also(disallowedFields(p.tcpSocket, only('host', 'port'))).viaField('tcpSocket');
    checkPort(p.tcpSocket, 'tcpSocket');
  }
  if (isRecord(p.exec)) {
    handlers.push('exec');
    errs = errs.also(disallowedFields(p.exec, only('command'))).viaField('exec');
  }
  if (isRecord(p.grpc)) {
    handlers.push('gRPC');
    errs = errs.also(disallowedFields(p.grpc, only('port', 'service'), new Set(['service']))).viaField('grpc');
  }
  if (handlers.length === 0) errs = errs.also(errMissingOneOf('httpGet', 'tcpSocket', 'exec', 'grpc'));
  else if (handlers.length > 1) errs = errs.also(errMultipleOneOf(...handlers));
  return errs;
}

function validateReadinessProbe(p: Probe | undefined, port: ContainerPort | undefined, isUser: boolean): FieldError {
  if (!p) return FieldError.none;
  let errs = validateProbe(p, port, isUser);
  const period = p.periodSeconds ?? 0;
  const delay = p.initialDelaySeconds ?? 0;
  const success = p.successThreshold ?? 0;
  const failure = p.failureThreshold ?? 0;
  const timeout = p.timeoutSeconds ?? 0;
  if (period < 0) errs = errs.also(errOutOfBoundsValue(period, 0, MAX_INT32, 'periodSeconds'));
  if (delay < 0) errs = errs.also(errOutOfBoundsValue(delay, 0, MAX_INT32, 'initialDelaySeconds'));
  if (success < 1) errs = errs.also(errOutOfBoundsValue(success, 1, MAX_INT32, 'successThreshold'));
  if (period === 0) {
    if (failure !== 0)
      errs = errs.also(errGeneric('failureThreshold is disallowed when periodSeconds is zero', 'failureThreshold'));
    if (timeout !== 0)
      errs = errs.also(errGeneric('timeoutSeconds is disallowed when periodSeconds is zero', 'timeoutSeconds'));
  } else {
    if (timeout < 1) errs = errs.also(errOutOfBoundsValue(timeout, 1, MAX_INT32, 'timeoutSeconds'));
    if (failure < 1) errs = errs.also(errOutOfBoundsValue(failure, 1, MAX_INT32, 'failureThreshold'));
  }
  return errs;
}

/** go-containerregistry accepts `[registry/]path[:tag][@digest]` with lower-case repository paths. */
const IMAGE_RE =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

function validateVolumeMounts(
  mounts: VolumeMount[] | undefined,
  volumes: Map<string, Volume>,
  f: PodSpecFeatures,
): FieldError {
  let errs = FieldError.none;
  const seenPaths = new Set<string>();
  (mounts ?? []).forEach((vm, i) => {
    // VolumeMountMask: name, readOnly, mountPath, subPath, and mountPropagation behind its flag.
    const allowed = (k: string): boolean =>
      ['name', 'readOnly', 'mountPath', 'subPath'].includes(k) ||
      (k === 'mountPropagation' && permits(f.mountPropagation));
    errs = errs.also(disallowedFields(vm, allowed, new Set(['mountPropagation', 'recursiveReadOnly'])).viaIndex(i));
    const name = vm.name ?? '';
    const vol = volumes.get(name);
    if (!vol) errs = errs.also(errGeneric('volumeMount has no matching volume', 'name').viaIndex(i));
    const mp = vm.mountPath ?? '';
    const clean = cleanPath(mp);
    if (mp === '') errs = errs.also(errMissingField('mountPath').viaIndex(i));
    else if (RESERVED_PATHS.has(clean))
      errs = errs.also(errGeneric(`mountPath ${JSON.stringify(clean)} is a reserved path`, 'mountPath').viaIndex(i));
    else if (!mp.startsWith('/')) errs = errs.also(errInvalidValue(mp, 'mountPath').viaIndex(i));
    else if (seenPaths.has(clean))
      errs = errs.also(errInvalidValue(`${JSON.stringify(mp)} must be unique`, 'mountPath').viaIndex(i));
    seenPaths.add(clean);
    const present = (k: string): boolean => vol !== undefined && vol[k] !== undefined && vol[k] !== null;
    const writable = present('emptyDir') || present('persistentVolumeClaim') || present('ephemeral');
    if (!writable && !vm.readOnly) {
      errs = errs.also(errGeneric('volume mount should be readOnly for this type of volume', 'readOnly').viaIndex(i));
    }
    const propagation = vm['mountPropagation'];
    if (propagation !== undefined && propagation !== null) {
      if (f.mountPropagation !== 'Enabled')
        errs = errs.also(
          new FieldError({
            message: `Volume Mount Propagation support is disabled, but found volume mount ${name} with mount propagation`,
          }).viaIndex(i),
        );
      if (propagation !== 'None' && propagation !== 'HostToContainer')
        errs = errs.also(
          errGeneric('mount propagation should be set to None or HostToContainer', 'mountPropagation').viaIndex(i),
        );
    }
    const pvc = vol?.['persistentVolumeClaim'];
    if (isRecord(pvc) && pvc['readOnly'] === true && !vm.readOnly)
      errs = errs.also(errGeneric('volume is readOnly but volume mount is not', 'readOnly').viaIndex(i));
  });
  return errs;
}

/** Go's path.Clean for absolute and relative slash paths. */
function cleanPath(p: string): string {
  if (p === '') return '.';
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
    } else out.push(seg);
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined || '.';
}

/** SecurityContextMask and CapabilitiesMask, then the uid/gid bounds. */
function validateSecurityContext(sc: Record<string, unknown> | undefined, f: PodSpecFeatures): FieldError {
  if (!sc) return FieldError.none;
  const allowed = (k: string): boolean =>
    [
      'capabilities',
      'readOnlyRootFilesystem',
      'runAsUser',
      'runAsGroup',
      'runAsNonRoot',
      'allowPrivilegeEscalation',
      'seccompProfile',
    ].includes(k) ||
    (k === 'privileged' && sc['privileged'] === false);
  let errs = disallowedFields(sc, allowed, SECURITY_CONTEXT_POINTERS);
  const caps = sc['capabilities'];
  if (isRecord(caps)) {
    const add = caps['add'];
    const addAllowed =
      f.addCapabilities === 'Enabled' ||
      (securePodDefaultsOn(f) && Array.isArray(add) && add.length === 1 && add[0] === 'NET_BIND_SERVICE');
    errs = errs.also(
      disallowedFields(caps, (k) => k === 'drop' || (k === 'add' && addAllowed)).viaField('capabilities'),
    );
  }
  for (const field of ['runAsUser', 'runAsGroup']) {
    const v = sc[field];
    if (typeof v === 'number' && (v < 0 || v > MAX_INT32))
      errs = errs.also(errOutOfBoundsValue(v, 0, MAX_INT32, field));
  }
  return errs;
}

type ContainerKind = 'user' | 'sidecar' | 'init';

/** Knative's validate(): the checks every container gets, in its order. */
function validateContainerCommon(
  c: Container,
  volumes: Map<string, Volume>,
  kind: ContainerKind,
  f: PodSpecFeatures,
): FieldError {
  if (Object.keys(c).every((k) => !isSet(c[k]))) return errMissingField(CURRENT_FIELD);
  let errs = disallowedFields(c, (k) => CONTAINER_KEYS.has(k));
  if (c.name === 'queue-proxy')
    errs = errs.also(errGeneric(`${JSON.stringify(c.name)} is a reserved container name`, 'name'));
  errs = errs.also(validateEnv(c.env, kind !== 'user', permits(f.fieldRef)).viaField('env'));
  errs = errs.also(validateEnvFrom(c.envFrom).viaField('envFrom'));
  const image = c.image ?? '';
  if (image === '') errs = errs.also(errMissingField('image'));
  else if (!IMAGE_RE.test(image)) {
    errs = errs.also(
      new FieldError({
        message: 'Failed to parse image reference',
        paths: ['image'],
        details: `image: ${JSON.stringify(image)}, error: could not parse reference: ${image}`,
      }),
    );
  }
  if (kind === 'init') {
    let pe = FieldError.none;
    for (const p of c.ports ?? []) pe = pe.also(validatePortBasic(p));
    errs = errs.also(pe.viaField('ports'));
  } else errs = errs.also(validateContainerPorts(c.ports).viaField('ports'));
  // ResourceRequirementsMask: limits and requests (claims need a DRA driver Knative does not set up).
  if (isRecord(c.resources))
    errs = errs.also(disallowedFields(c.resources, only('limits', 'requests')).viaField('resources'));
  errs = errs.also(validateSecurityContext(c.securityContext, f).viaField('securityContext'));
  const tmp = c.terminationMessagePolicy ?? '';
  if (!['File', 'FallbackToLogsOnError', ''].includes(tmp))
    errs = errs.also(errInvalidValue(tmp, 'terminationMessagePolicy'));
  return errs.also(validateVolumeMounts(c.volumeMounts, volumes, f).viaField('volumeMounts'));
}

function validateUserContainer(
  c: Container,
  volumes: Map<string, Volume>,
  port: ContainerPort,
  f: PodSpecFeatures,
): FieldError {
  return validateProbe(c.livenessProbe, port, true)
    .viaField('livenessProbe')
    .also(validateReadinessProbe(c.readinessProbe, port, true).viaField('readinessProbe'))
    .also(validateProbe(c.startupProbe, port, true).viaField('startupProbe'))
    .also(validateContainerCommon(c, volumes, 'user', f));
}

function validateSidecarContainer(c: Container, volumes: Map<string, Volume>, f: PodSpecFeatures): FieldError {
  let errs = FieldError.none;
  if (f.multiContainerProbing === 'Enabled') {
    errs = errs
      .also(validateProbe(c.livenessProbe, undefined, false).viaField('livenessProbe'))
      .also(validateReadinessProbe(c.readinessProbe, undefined, false).viaField('readinessProbe'))
      .also(validateProbe(c.startupProbe, undefined, false).viaField('startupProbe'));
  } else {
    // Without multi-container probing a sidecar may set no probe field. The handler is Go's inline
    // ProbeHandler, whose JSON name is empty: Knative names it by the probe itself.
    for (const field of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      const p = c[field];
      if (!p) continue;
      const e = disallowedFields(p, (k) => HANDLERS.has(k), new Set(['terminationGracePeriodSeconds']));
      const handler = [...HANDLERS].some((k) => p[k] !== undefined && p[k] !== null);
      errs = errs.also((handler ? e.also(errDisallowedFields(CURRENT_FIELD)) : e).viaField(field));
    }
  }
  return errs.also(validateContainerCommon(c, volumes, 'sidecar', f));
}

/** validateInitContainers: off unless Enabled; errors are reported under `containers[i]`, as Knative does. */
function validateInitContainers(
  inits: Container[],
  containers: Container[],
  volumes: Map<string, Volume>,
  f: PodSpecFeatures,
): FieldError {
  if (inits.length === 0) return FieldError.none;
  if (f.initContainers !== 'Enabled')
    return new FieldError({
      message: `pod spec support for init-containers is off, but found ${inits.length} init containers`,
    });
  const names = new Set(containers.map((c) => c.name ?? ''));
  let errs = FieldError.none;
  inits.forEach((c, i) => {
    if (names.has(c.name ?? ''))
      errs = errs.also(
        errGeneric(`duplicate container name ${JSON.stringify(c.name ?? '')}`, 'name').viaFieldIndex('containers', i),
      );
    let ce = FieldError.none;
    for (const field of ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'])
      if (c[field] !== undefined && c[field] !== null)
        ce = ce.also(errGeneric('field not allowed in an init container', field));
    errs = errs.also(ce.also(validateContainerCommon(c, volumes, 'init', f)).viaFieldIndex('containers', i));
  });
  return errs;
}

/**
 * Knative's "Kubernetes default value is insecure" warnings for containers and init containers; they never deny
 * a request, and secure-pod-defaults (which fills these in) silences them.
 */
export function securityWarnings(spec: RevisionSpec, f: PodSpecFeatures = FEATURE_DEFAULTS): FieldError {
  let errs = FieldError.none;
  if (securePodDefaultsOn(f)) return errs;
  const psc = isRecord(spec['securityContext']) ? spec['securityContext'] : {};
  const warn = (path: string): FieldError =>
    errGeneric('Kubernetes default value is insecure, Knative may default this to secure in a future release', path).at(
      'Warning',
    );
  const check = (c: Container): FieldError => {
    const sc = c.securityContext ?? {};
    let w = FieldError.none;
    if (psc['runAsNonRoot'] === undefined && sc['runAsNonRoot'] === undefined) w = w.also(warn('runAsNonRoot'));
    if (sc['allowPrivilegeEscalation'] === undefined) w = w.also(warn('allowPrivilegeEscalation'));
    const scSeccomp = isRecord(sc['seccompProfile']) ? sc['seccompProfile'] : undefined;
    const pscSeccomp = isRecord(psc['seccompProfile']) ? psc['seccompProfile'] : undefined;
    if (!scSeccomp && !pscSeccomp) w = w.also(warn('seccompProfile'));
    else if (!pscSeccomp?.['type'] && !scSeccomp?.['type']) w = w.also(warn('seccompProfile.type'));
    const caps = isRecord(sc['capabilities']) ? sc['capabilities'] : undefined;
    if (!caps) w = w.also(warn('capabilities'));
    else if (caps['drop'] === undefined) w = w.also(warn('capabilities.drop'));
    else if (Array.isArray(caps['drop']) && caps['drop'][0] === 'all') {
      w = w.also(errInvalidValue('all', 'capabilities.drop', "Must be spelled as 'ALL'").at('Warning'));
    }
    return w.viaField('securityContext');
  };
  (spec.containers ?? []).forEach((c, i) => (errs = errs.also(check(c).viaFieldIndex('containers', i))));
  (spec.initContainers ?? []).forEach((c, i) => (errs = errs.also(check(c).viaFieldIndex('initContainers', i))));
  return errs;
}

/** Paths are relative to the RevisionSpec (`spec.template.spec` in a Service). */
export function validatePodSpec(spec: RevisionSpec, f: PodSpecFeatures = FEATURE_DEFAULTS): FieldError {
  let errs = disallowedFields(spec, (k) => podSpecAllowed(k, spec, f), POD_SPEC_POINTERS);
  errs = errs.also(validatePodSecurityContext(spec['securityContext'], f).viaField('securityContext'));
  const containers = spec.containers ?? [];
  const inits = spec.initContainers ?? [];
  const mounted = new Set([...inits, ...containers].flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name ?? '')));
  const [volumes, volErrs] = validateVolumes(spec.volumes ?? [], mounted, f);
  errs = errs.also(volErrs.viaField('volumes'));
  errs = errs.also(validateInitContainers(inits, containers, volumes, f));

  let portCount = 0;
  let port: ContainerPort = {};
  for (const c of containers) {
    if ((c.ports?.length ?? 0) > 0) {
      portCount += c.ports?.length ?? 0;
      port = { ...(c.ports?.[0] ?? {}) };
    }
  }
  if (!port.name) port.name = 'http';
  if (!port.containerPort) port.containerPort = 8080;
  if (portCount === 0 && containers.length > 1) errs = errs.also(errMissingField('ports').viaField('containers[*]'));
  if (portCount > 1) {
    errs = errs.also(
      new FieldError({
        message: 'more than one container port is set',
        paths: ['ports'],
        details: 'Only a single port is allowed across all containers',
      }).viaField('containers[*]'),
    );
  }

  if (containers.length === 0) errs = errs.also(errMissingField('containers'));
  else if (containers.length === 1) {
    errs = errs.also(validateUserContainer(containers[0] ?? {}, volumes, port, f).viaFieldIndex('containers', 0));
  } else if (f.multiContainer !== 'Enabled') {
    errs = errs.also(new FieldError({ message: `multi-container is off, but found ${containers.length} containers` }));
  } else {
    const names = new Set<string>();
    containers.forEach((c, i) => {
      const name = c.name ?? '';
      if (names.has(name))
        errs = errs.also(
          errGeneric(`duplicate container name ${JSON.stringify(name)}`, 'name').viaFieldIndex('containers', i),
        );
      else names.add(name);
      const ce =
        (c.ports?.length ?? 0) === 0
          ? validateSidecarContainer(c, volumes, f)
          : validateUserContainer(c, volumes, port, f);
      errs = errs.also(ce.viaFieldIndex('containers', i));
    });
  }
  const sa = spec.serviceAccountName ?? '';
  if (sa !== '') for (const m of isDNS1123Subdomain(sa)) errs = errs.also(errInvalidValue(sa, 'serviceAccountName', m));
  return errs;
}
