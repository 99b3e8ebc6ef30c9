// Knative's SetDefaults for Service, Configuration, Revision and Route. Each function returns a defaulted deep
// copy; the input is never changed. Defaults are Knative's out-of-the-box config-defaults values.

import { childName } from './names.js';
import { ANNOTATION_CREATOR, ANNOTATION_LAST_MODIFIER } from './keys.js';
import type {
  Configuration,
  ConfigurationSpec,
  Container,
  ObjectMeta,
  Revision,
  RevisionSpec,
  RevisionTemplateSpec,
  Route,
  RouteSpec,
  Service,
  TrafficTarget,
} from './types.js';
import { deepEqual } from './json.js';
import { FEATURE_DEFAULTS, type PodSpecFeatures } from './features.js';
import { defaultSecurityContext } from './secure-pod-defaults.js';

/** Knative's config-defaults, as shipped. */
export interface ServingDefaults {
  revisionTimeoutSeconds: number;
  maxRevisionTimeoutSeconds: number;
  revisionResponseStartTimeoutSeconds: number;
  revisionIdleTimeoutSeconds: number;
  containerConcurrency: number;
  containerConcurrencyMaxLimit: number;
  allowContainerConcurrencyZero: boolean;
  userContainerName: string;
  initContainerName: string;
  enableServiceLinks: boolean | undefined;
}

export const DEFAULTS: ServingDefaults = {
  revisionTimeoutSeconds: 300,
  maxRevisionTimeoutSeconds: 600,
  revisionResponseStartTimeoutSeconds: 0,
  revisionIdleTimeoutSeconds: 0,
  containerConcurrency: 0,
  containerConcurrencyMaxLimit: 1000,
  allowContainerConcurrencyZero: true,
  userContainerName: 'user-container',
  initContainerName: 'init-container',
  enableServiceLinks: false,
};

export interface DefaultingContext {
  /** UPDATE requests skip create-only defaults and compare with the stored object. */
  operation: 'CREATE' | 'UPDATE';
  /** The authenticated user, recorded in the creator/lastModifier annotations. */
  username?: string;
  defaults?: ServingDefaults;
  /** config-features: `secure-pod-defaults` fills in container security contexts. */
  features?: PodSpecFeatures;
}

const clone = <T>(v: T): T => structuredClone(v);

/** A target without a revision follows the latest; a missing percent means 0. */
export function defaultTrafficTarget(tt: TrafficTarget): TrafficTarget {
  const out = { ...tt };
  if (out.latestRevision === undefined) out.latestRevision = (out.revisionName ?? '') === '';
  if (out.percent === undefined || out.percent === null) out.percent = 0;
  return out;
}

/** `hasDefaultConfiguration` is true inside a Service, whose empty traffic means "all to latest". */
export function defaultRouteSpec(spec: RouteSpec | undefined, hasDefaultConfiguration: boolean): RouteSpec {
  const out: RouteSpec = { ...(spec ?? {}) };
  let traffic = out.traffic ?? [];
  if (traffic.length === 0 && hasDefaultConfiguration) traffic = [{ percent: 100, latestRevision: true }];
  if (traffic.length > 0 || out.traffic !== undefined) out.traffic = traffic.map(defaultTrafficTarget);
  return out;
}

function applyDefaultContainerNames(containers: Container[], taken: Set<string>, base: string): void {
  let nextSuffix = 0;
  for (const c of containers) {
    if (c.name) continue;
    let name = base;
    if (containers.length > 1 || taken.has(name)) {
      do {
        name = childName(base, `-${nextSuffix}`);
        nextSuffix++;
      } while (taken.has(name));
    }
    c.name = name;
  }
}

function defaultUserContainer(spec: RevisionSpec, c: Container, ctx: DefaultingContext): void {
  c.resources ??= {};
  if ((spec.containers?.length ?? 0) === 1 || (c.ports?.length ?? 0) > 0) {
    const probe = (c.readinessProbe ??= {});
    if (!probe.tcpSocket && !probe.httpGet && !probe.exec && !probe.grpc) probe.tcpSocket = { port: 0 };
  }
  const rp = c.readinessProbe;
  if (rp) {
    if (!rp.successThreshold) rp.successThreshold = 1;
    if (rp.periodSeconds) {
      if (!rp.failureThreshold) rp.failureThreshold = 3;
      if (!rp.timeoutSeconds) rp.timeoutSeconds = 1;
    }
  }
  for (const p of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
    if (p?.grpc && p.grpc['service'] === undefined) p.grpc['service'] = '';
  }
  const writable = new Set(
    (spec.volumes ?? [])
      .filter(
        (v) => v['emptyDir'] !== undefined || v['persistentVolumeClaim'] !== undefined || v['ephemeral'] !== undefined,
      )
      .map((v) => v.name ?? ''),
  );
  for (const vm of c.volumeMounts ?? []) if (!writable.has(vm.name ?? '')) vm.readOnly = true;
  if (
    spec.enableServiceLinks === undefined &&
    ctx.operation === 'CREATE' &&
    (ctx.defaults ?? DEFAULTS).enableServiceLinks !== undefined
  ) {
    spec.enableServiceLinks = (ctx.defaults ?? DEFAULTS).enableServiceLinks;
  }
}

export function defaultRevisionSpec(spec: RevisionSpec | undefined, ctx: DefaultingContext): RevisionSpec {
  const d = ctx.defaults ?? DEFAULTS;
  const out: RevisionSpec = clone(spec ?? {});
  if (!out.timeoutSeconds) out.timeoutSeconds = d.revisionTimeoutSeconds;
  if (
    out.idleTimeoutSeconds === undefined &&
    d.revisionIdleTimeoutSeconds !== 0 &&
    d.revisionIdleTimeoutSeconds < out.timeoutSeconds
  ) {
    out.idleTimeoutSeconds = d.revisionIdleTimeoutSeconds;
  }
  if (
    out.responseStartTimeoutSeconds === undefined &&
    d.revisionResponseStartTimeoutSeconds !== 0 &&
    d.revisionResponseStartTimeoutSeconds < out.timeoutSeconds
  ) {
    out.responseStartTimeoutSeconds = d.revisionResponseStartTimeoutSeconds;
  }
  if (out.containerConcurrency === undefined) out.containerConcurrency = d.containerConcurrency;
  const containers = out.containers ?? [];
  const inits = out.initContainers ?? [];
  const taken = new Set([...containers, ...inits].map((c) => c.name ?? ''));
  applyDefaultContainerNames(containers, taken, d.userContainerName);
  applyDefaultContainerNames(inits, taken, d.initContainerName);
  for (const c of containers) defaultUserContainer(out, c, ctx);
  for (const c of [...containers, ...inits])
    defaultSecurityContext(out['securityContext'], c, ctx.features ?? FEATURE_DEFAULTS);
  return out;
}

export function defaultRevisionTemplate(
  t: RevisionTemplateSpec | undefined,
  ctx: DefaultingContext,
): RevisionTemplateSpec {
  const out: RevisionTemplateSpec = clone(t ?? {});
  out.spec = defaultRevisionSpec(out.spec, ctx);
  return out;
}

/**
 * A template whose bring-your-own name did not change is left alone on update, so that new defaults
 * never alter a named, immutable Revision.
 */
export function defaultConfigurationSpec(
  spec: ConfigurationSpec | undefined,
  ctx: DefaultingContext,
  previous?: ConfigurationSpec,
): ConfigurationSpec {
  const out: ConfigurationSpec = clone(spec ?? {});
  const newName = out.template?.metadata?.name ?? '';
  const oldName = previous?.template?.metadata?.name ?? '';
  if (previous && newName !== '' && newName === oldName) return out;
  out.template = defaultRevisionTemplate(out.template, ctx);
  return out;
}

/** Records who created and last changed the spec, as Knative's SetUserInfo does. */
function setUserInfo(meta: ObjectMeta, oldSpec: unknown, newSpec: unknown, ctx: DefaultingContext): ObjectMeta {
  if (!ctx.username) return meta;
  const annotations = { ...(meta.annotations ?? {}) };
  if (ctx.operation === 'UPDATE') {
    if (deepEqual(oldSpec, newSpec)) return { ...meta, annotations };
    annotations[ANNOTATION_LAST_MODIFIER] = ctx.username;
  } else {
    annotations[ANNOTATION_CREATOR] = ctx.username;
    annotations[ANNOTATION_LAST_MODIFIER] = ctx.username;
  }
  return { ...meta, annotations };
}

export function defaultService(svc: Service, ctx: DefaultingContext, old?: Service): Service {
  const out = clone(svc);
  const cfg = defaultConfigurationSpec(
    { template: out.spec?.template },
    ctx,
    old?.spec ? { template: old.spec.template } : undefined,
  );
  const route = defaultRouteSpec({ traffic: out.spec?.traffic }, true);
  out.spec = { ...(out.spec ?? {}), ...cfg, ...route };
  if (cfg.template === undefined) delete out.spec.template;
  out.metadata = setUserInfo(out.metadata ?? {}, old?.spec, out.spec, ctx);
  return out;
}

export function defaultConfiguration(c: Configuration, ctx: DefaultingContext, old?: Configuration): Configuration {
  const out = clone(c);
  out.spec = defaultConfigurationSpec(out.spec, ctx, old?.spec);
  if (!out.metadata?.ownerReferences) out.metadata = setUserInfo(out.metadata ?? {}, old?.spec, out.spec, ctx);
  return out;
}

export function defaultRoute(r: Route, ctx: DefaultingContext, old?: Route): Route {
  const out = clone(r);
  out.spec = defaultRouteSpec(out.spec, false);
  if (!out.metadata?.ownerReferences) out.metadata = setUserInfo(out.metadata ?? {}, old?.spec, out.spec, ctx);
  return out;
}

/** Revisions are immutable: only a create is defaulted. */
export function defaultRevision(r: Revision, ctx: DefaultingContext): Revision {
  const out = clone(r);
  if (ctx.operation === 'UPDATE') return out;
  out.spec = defaultRevisionSpec(out.spec, ctx);
  return out;
}
