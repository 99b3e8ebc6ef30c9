// Validation of a Revision's pod spec (Knative's ValidatePodSpec) with Knative's default feature flags:
// one user container (more only with ports set on exactly one), no init containers, secure-pod-defaults off.

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
import { isDNS1123Label, isDNS1123Subdomain } from './k8s-names.js';
import { isRecord } from './json.js';
import type { Container, ContainerPort, Probe, RevisionSpec, Volume, VolumeMount } from './types.js';

export interface PodSpecFeatures {
  multiContainer: boolean;
  initContainers: boolean;
  emptyDir: boolean;
  persistentVolumeClaim: boolean;
  fieldRef: boolean;
  securityContext: boolean;
  multiContainerProbing: boolean;
}

export const FEATURE_DEFAULTS: PodSpecFeatures = {
  multiContainer: true,
  initContainers: false,
  emptyDir: true,
  persistentVolumeClaim: false,
  fieldRef: false,
  securityContext: false,
  multiContainerProbing: false,
};

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

function disallowedFields(obj: Record<string, unknown>, allowed: (key: string) => boolean): FieldError {
  const bad = Object.keys(obj)
    .filter((k) => !allowed(k) && isSet(obj[k]))
    .sort();
  return bad.length > 0 ? errDisallowedFields(...bad) : FieldError.none;
}

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
      return ps.automountServiceAccountToken === false;
    case 'initContainers':
      return f.initContainers;
    case 'securityContext':
      return f.securityContext;
    default:
      return false;
  }
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
    let ve = FieldError.none;
    if (v['emptyDir'] !== undefined && !f.emptyDir) {
      ve = ve.also(
        new FieldError({ message: `EmptyDir volume support is disabled, but found EmptyDir volume ${name}` }),
      );
    }
    if (name === '') ve = errMissingField('name');
    else if (isDNS1123Label(name).length > 0) ve = errInvalidValue(name, 'name');
    const sources = ['secret', 'configMap', 'projected', 'emptyDir', 'persistentVolumeClaim'].filter(
      (s) => v[s] !== undefined,
    );
    if (sources.length === 0) {
      const paths = ['secret', 'configMap', 'projected'];
      if (f.emptyDir) paths.push('emptyDir');
      if (f.persistentVolumeClaim) paths.push('persistentVolumeClaim');
      ve = ve.also(errMissingOneOf(...paths));
    } else if (sources.length > 1) {
      ve = ve.also(errMultipleOneOf(...sources));
    }
    errs = errs.also(ve.viaIndex(i));
    byName.set(name, v);
  });
  return [byName, errs];
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

/** `port` is the one serving port across all containers, defaulted to http/8080. */
function validateProbe(p: Probe | undefined, port: ContainerPort | undefined, isUser: boolean): FieldError {
  if (!p) return FieldError.none;
  let errs = disallowedFields(p, (k) => PROBE_KEYS.has(k));
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
    checkPort(p.httpGet, 'httpGet');
  }
  if (isRecord(p.tcpSocket)) {
    handlers.push('tcpSocket');
    checkPort(p.tcpSocket, 'tcpSocket');
  }
  if (isRecord(p.exec)) handlers.push('exec');
  if (isRecord(p.grpc)) handlers.push('gRPC');
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

function validateVolumeMounts(mounts: VolumeMount[] | undefined, volumes: Map<string, Volume>): FieldError {
  let errs = FieldError.none;
  const seenPaths = new Set<string>();
  (mounts ?? []).forEach((vm, i) => {
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
    const writable =
      vol !== undefined &&
      (vol['emptyDir'] !== undefined || vol['persistentVolumeClaim'] !== undefined || vol['ephemeral'] !== undefined);
    if (!writable && !vm.readOnly) {
      errs = errs.also(errGeneric('volume mount should be readOnly for this type of volume', 'readOnly').viaIndex(i));
    }
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

function validateSecurityContext(sc: Record<string, unknown> | undefined): FieldError {
  if (!sc) return FieldError.none;
  let errs = FieldError.none;
  for (const field of ['runAsUser', 'runAsGroup']) {
    const v = sc[field];
    if (typeof v === 'number' && (v < 0 || v > MAX_INT32))
      errs = errs.also(errOutOfBoundsValue(v, 0, MAX_INT32, field));
  }
  return errs;
}

function validateContainerCommon(
  c: Container,
  volumes: Map<string, Volume>,
  sidecar: boolean,
  f: PodSpecFeatures,
): FieldError {
  if (Object.keys(c).every((k) => !isSet(c[k]))) return errMissingField(CURRENT_FIELD);
  let errs = disallowedFields(c, (k) => CONTAINER_KEYS.has(k));
  if (c.name === 'queue-proxy')
    errs = errs.also(errGeneric(`${JSON.stringify(c.name)} is a reserved container name`, 'name'));
  errs = errs.also(validateEnv(c.env, sidecar, f.fieldRef).viaField('env'));
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
  errs = errs.also(validateContainerPorts(c.ports).viaField('ports'));
  errs = errs.also(validateSecurityContext(c.securityContext).viaField('securityContext'));
  const tmp = c.terminationMessagePolicy ?? '';
  if (!['File', 'FallbackToLogsOnError', ''].includes(tmp))
    errs = errs.also(errInvalidValue(tmp, 'terminationMessagePolicy'));
  return errs.also(validateVolumeMounts(c.volumeMounts, volumes).viaField('volumeMounts'));
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
    .also(validateContainerCommon(c, volumes, false, f));
}

function validateSidecarContainer(c: Container, volumes: Map<string, Volume>, f: PodSpecFeatures): FieldError {
  let errs = FieldError.none;
  if (f.multiContainerProbing) {
    errs = errs
      .also(validateProbe(c.livenessProbe, undefined, false).viaField('livenessProbe'))
      .also(validateReadinessProbe(c.readinessProbe, undefined, false).viaField('readinessProbe'))
      .also(validateProbe(c.startupProbe, undefined, false).viaField('startupProbe'));
  } else {
    // Without multi-container probing a sidecar probe may carry only the handler-less fields.
    for (const field of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      const p = c[field];
      if (p) errs = errs.also(disallowedFields(p, () => false).viaField(field));
    }
  }
  return errs.also(validateContainerCommon(c, volumes, true, f));
}

/** Knative's "Kubernetes default value is insecure" warnings; they never deny a request. */
export function securityWarnings(spec: RevisionSpec): FieldError {
  let errs = FieldError.none;
  const psc = isRecord(spec['securityContext']) ? spec['securityContext'] : {};
  const warn = (path: string): FieldError =>
    errGeneric('Kubernetes default value is insecure, Knative may default this to secure in a future release', path).at(
      'Warning',
    );
  (spec.containers ?? []).forEach((c, i) => {
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
    errs = errs.also(w.viaField('securityContext').viaFieldIndex('containers', i));
  });
  return errs;
}

/** Paths are relative to the RevisionSpec (`spec.template.spec` in a Service). */
export function validatePodSpec(spec: RevisionSpec, f: PodSpecFeatures = FEATURE_DEFAULTS): FieldError {
  let errs = disallowedFields(spec, (k) => podSpecAllowed(k, spec, f));
  const containers = spec.containers ?? [];
  const inits = spec.initContainers ?? [];
  const mounted = new Set([...inits, ...containers].flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name ?? '')));
  const [volumes, volErrs] = validateVolumes(spec.volumes ?? [], mounted, f);
  errs = errs.also(volErrs.viaField('volumes'));
  if (inits.length > 0 && !f.initContainers) {
    errs = errs.also(
      new FieldError({
        message: `pod spec support for init-containers is off, but found ${inits.length} init containers`,
      }),
    );
  }

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
  } else if (!f.multiContainer) {
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
