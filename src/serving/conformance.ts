// Runs one Knative Serving test vector (shared/conformance/FORMAT.md) through Sluice's Serving semantics.
// The case shape, not its id, selects what runs; every output is computed, never looked up.

import { admit, type AdmissionOperation } from './admission.js';
import { isRecord, deepEqual } from './json.js';
import { errorMessage } from '../util/errors.js';
import {
  allDomainsAndTags,
  networkConfig,
  parseConfigDomain,
  routeAddressURL,
  urlForTag,
  type NetworkConfig,
  type Visibility,
  lookupDomainForLabels,
  DEFAULT_DOMAIN,
} from './domains.js';
import { ingressSplits, statusTraffic } from './traffic.js';
import { reconcileRoute } from './route-reconcile.js';
import { observeReady, parseRollout, rolloutToJSON, step, stepParamsFor, stepRevisions } from './rollout.js';
import { makeConfiguration } from './resources/configuration.js';
import { makeRoute } from './resources/route.js';
import { makeRevision, revisionNameFor } from './resources/revision.js';
import { defaultRoute } from './defaults.js';
import { LABEL_CONFIGURATION } from './keys.js';
import type { Configuration, ConfigurationRollout, Revision, Rollout, Route, Service, TrafficTarget } from './types.js';

export interface ConformanceResult {
  id: string;
  ok: boolean;
  result: Record<string, unknown>;
}

type Input = Record<string, unknown>;
type Outcome = { ok: boolean; result: Record<string, unknown> };

const obj = (v: unknown): Input => (isRecord(v) ? v : {});
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

export function runConformanceCase(c: unknown): ConformanceResult {
  const rec = obj(c);
  const id = typeof rec['id'] === 'string' ? rec['id'] : '';
  try {
    const input = obj(rec['input']);
    const out = dispatch(String(rec['kind'] ?? ''), input);
    return { id, ...out };
  } catch (e) {
    return { id, ok: false, result: { error: `internal error: ${errorMessage(e)}` } };
  }
}

function dispatch(kind: string, input: Input): Outcome {
  switch (kind) {
    case 'traffic-validation':
    case 'service-validation':
      return runValidation(kind, input);
    case 'naming':
      return runNaming(input);
    case 'traffic-resolution':
      return input['service'] !== undefined ? runServiceToRoute(input) : runTrafficResolution(input);
    case 'rollout-steps':
      return runRolloutSteps(input);
    default:
      return { ok: false, result: { error: `unknown case kind ${JSON.stringify(kind)}` } };
  }
}

function runValidation(kind: string, input: Input): Outcome {
  const object = obj(input['object']);
  const k =
    object['kind'] === 'Service' ||
    object['kind'] === 'Route' ||
    object['kind'] === 'Configuration' ||
    object['kind'] === 'Revision'
      ? object['kind']
      : kind === 'service-validation'
        ? 'Service'
        : 'Route';
  const op: AdmissionOperation =
    String(input['operation'] ?? 'create').toUpperCase() === 'UPDATE' ? 'UPDATE' : 'CREATE';
  const r = admit(k, op, object, input['oldObject']);
  if (!r.ok) return { ok: false, result: { error: r.error.error(), paths: r.error.allPaths(), message: r.message } };
  const result: Record<string, unknown> = { object: r.object };
  if (k === 'Service' || k === 'Route') {
    const spec = obj(obj(r.object)['spec']);
    result['defaultedTraffic'] = spec['traffic'];
  }
  if (r.warnings.length > 0) result['warnings'] = r.warnings;
  return { ok: true, result };
}

/** The FORMAT.md `network` object (and optional config-domain data) as the reconciler's config. */
function toNetwork(n: unknown, configDomain?: unknown): NetworkConfig {
  const net = obj(n);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  let domains;
  if (isRecord(configDomain)) {
    domains = parseConfigDomain(
      Object.fromEntries(Object.entries(configDomain).map(([k, v]) => [k, typeof v === 'string' ? v : ''])),
    );
  } else if (typeof net['domain'] === 'string' && net['domain'] !== '') {
    domains = [{ domain: net['domain'], selector: {} }];
  } else {
    domains = parseConfigDomain(undefined);
  }
  return networkConfig({
    domains,
    domainTemplate: str(net['domainTemplate']),
    tagTemplate: str(net['tagTemplate']),
    defaultExternalScheme: str(net['defaultExternalScheme']),
    rolloutDurationSeconds: num(net['rolloutDurationSeconds']),
  });
}

function runNaming(input: Input): Outcome {
  if (input['serviceHistory'] !== undefined) return runServiceHistory(list<unknown>(input['serviceHistory']));
  if (input['service'] !== undefined) {
    const svc = admittedService(input['service']);
    const cfg = makeConfiguration(svc);
    cfg.metadata = { ...cfg.metadata, generation: num(input['configurationGeneration'], 1) };
    const rev = makeRevision(cfg, 0);
    return {
      ok: true,
      result: {
        configurationName: cfg.metadata?.name,
        routeName: makeRoute(svc).metadata?.name,
        revisionName: rev.metadata?.name,
        revisionLabelsInclude: rev.metadata?.labels ?? {},
        revisionLabels: rev.metadata?.labels ?? {},
      },
    };
  }
  if (input['configuration'] !== undefined) {
    const cfg = obj(input['configuration']) as Configuration;
    return { ok: true, result: { revisionName: revisionNameFor(cfg) } };
  }
  if (input['configurations'] !== undefined || input['revisions'] !== undefined) return runTrafficResolution(input);
  return runHosts(input);
}

function admittedService(raw: unknown): Service {
  const r = admit('Service', 'CREATE', raw);
  return (r.ok ? r.object : raw) as Service;
}

function runHosts(input: Input): Outcome {
  const route = obj(input['route']) as Route;
  const network = toNetwork(input['network'], input['configDomain']);
  const tag = typeof input['tag'] === 'string' ? input['tag'] : '';
  const names = Array.isArray(input['tags'])
    ? list<unknown>(input['tags']).map(String)
    : [
        '',
        ...(tag !== '' ? [tag] : []),
        ...(route.spec?.traffic ?? []).map((t) => t.tag ?? '').filter((t) => t !== '' && t !== tag),
      ];
  const routeLocal = lookupDomainForLabels(network.domains, route.metadata?.labels) === DEFAULT_DOMAIN;
  const localTags = new Set(list<unknown>(input['clusterLocalTags']).map(String));
  const visibility = new Map<string, Visibility>(
    names.map((n) => [n, routeLocal || localTags.has(n) ? 'ClusterLocal' : 'ExternalIP']),
  );
  if (!visibility.has(tag)) visibility.set(tag, routeLocal || localTags.has(tag) ? 'ClusterLocal' : 'ExternalIP');
  try {
    return {
      ok: true,
      result: {
        url: urlForTag(network, route, tag, visibility.get(tag) ?? 'ExternalIP'),
        hosts: allDomainsAndTags(network, route, names, visibility),
        address: routeAddressURL(route),
        visibility: Object.fromEntries(visibility),
      },
    };
  } catch (e) {
    return { ok: false, result: { error: errorMessage(e) } };
  }
}

/** Successive applies of one Service manifest: the Configuration's generation moves only with its spec. */
function runServiceHistory(history: unknown[]): Outcome {
  let stored: Service | undefined;
  let cfg: Configuration | undefined;
  const generations: number[] = [];
  const created: string[] = [];
  const latest: string[] = [];
  let lastApplied: unknown;
  for (const raw of history) {
    const merged = stored ? applyManifest(stored, lastApplied, raw) : raw;
    lastApplied = raw;
    const r = admit('Service', stored ? 'UPDATE' : 'CREATE', merged, stored);
    if (!r.ok) return { ok: false, result: { error: r.error.error(), paths: r.error.allPaths() } };
    stored = r.object as Service;
    const desired = makeConfiguration(stored, cfg);
    const generation = !cfg
      ? 1
      : deepEqual(cfg.spec, desired.spec)
        ? (cfg.metadata?.generation ?? 1)
        : (cfg.metadata?.generation ?? 1) + 1;
    cfg = { ...desired, metadata: { ...desired.metadata, generation } };
    generations.push(generation);
    const name = revisionNameFor(cfg);
    if (!created.includes(name)) created.push(name);
    latest.push(name);
  }
  return {
    ok: true,
    result: {
      configurationGenerations: generations,
      revisionsCreated: created,
      latestCreatedRevisionNameAfterEach: latest,
    },
  };
}

/**
 * What `kubectl apply` sends for a custom resource: a JSON merge patch from the last applied manifest to
 * the new one (removed keys become null), applied onto the live object. Lists are replaced whole.
 */
export function applyManifest(live: unknown, lastApplied: unknown, manifest: unknown): unknown {
  return mergePatch(live, threeWayPatch(lastApplied, manifest));
}

function threeWayPatch(prev: unknown, next: unknown): unknown {
  if (!isRecord(next) || !isRecord(prev)) return next;
  const patch: Input = {};
  for (const k of Object.keys(prev)) if (!(k in next)) patch[k] = null;
  for (const [k, v] of Object.entries(next)) {
    if (deepEqual(prev[k], v)) continue;
    patch[k] = isRecord(v) && isRecord(prev[k]) ? threeWayPatch(prev[k], v) : v;
  }
  return patch;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const out: Input = isRecord(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function splitsJSON(splits: Map<string, { revisionName: string; percent: number }[]>): Record<string, unknown> {
  return Object.fromEntries(
    [...splits].map(([k, v]) => [k, v.map((s) => ({ revisionName: s.revisionName, percent: s.percent }))]),
  );
}

function runTrafficResolution(input: Input): Outcome {
  let route = obj(input['route']) as Route;
  const previous = input['previousStatusTraffic'];
  if (Array.isArray(previous))
    route = { ...route, status: { ...(route.status ?? {}), traffic: previous as TrafficTarget[] } };
  const network = toNetwork(input['network'], input['configDomain']);
  const configurations = list<Configuration>(input['configurations']);
  const revisions = list<Revision>(input['revisions']);
  const nowNs = num(input['nowNs'], 1.7e18);
  const res = reconcileRoute({ route, configurations, revisions, network, nowNs, ingress: undefined });
  const status: Record<string, unknown> = { ...res.status };
  if (res.error) {
    return {
      ok: false,
      result: {
        error: res.error.message,
        conditions: res.status.conditions ?? [],
        statusTrafficUpdated: res.statusTrafficUpdated,
        status,
      },
    };
  }
  let splits = res.ingress?.splits ?? new Map();
  const given = input['rollout'] !== undefined ? parseRolloutLoose(input['rollout']) : undefined;
  if (given && res.traffic) {
    const url = (tag: string): string =>
      urlForTag(network, route, tag, res.ingress?.visibility.get(tag) ?? 'ExternalIP');
    status['traffic'] = statusTraffic(res.traffic, given, url);
    splits = ingressSplits(res.traffic, given);
  }
  return {
    ok: true,
    result: {
      status,
      ingressSplits: splitsJSON(splits),
      conditions: res.status.conditions ?? [],
      statusTrafficUpdated: true,
      hosts: res.ingress?.hosts,
    },
  };
}

/** Test vectors give rollouts as objects and may skip validation-relevant fields. */
function parseRolloutLoose(v: unknown): Rollout {
  const cfgs = list<Input>(obj(v)['configurations']).map((c): ConfigurationRollout => {
    const cr: ConfigurationRollout = {
      configurationName: String(c['configurationName'] ?? ''),
      percent: num(c['percent']),
      revisions: list<Input>(c['revisions']).map((r) => ({
        revisionName: String(r['revisionName'] ?? ''),
        percent: num(r['percent']),
      })),
      stepParams: {},
    };
    if (typeof c['tag'] === 'string' && c['tag'] !== '') cr.tag = c['tag'];
    const sp = obj(c['stepParams']);
    for (const k of ['starttime', 'nextStepTime', 'stepDuration', 'stepSize'] as const)
      if (num(sp[k]) !== 0) cr.stepParams[k] = num(sp[k]);
    return cr;
  });
  return { configurations: cfgs };
}

function runServiceToRoute(input: Input): Outcome {
  const svc = admittedService(input['service']);
  const route = makeRoute(svc);
  const cfg = makeConfiguration(svc);
  return {
    ok: true,
    result: {
      configurationName: cfg.metadata?.name,
      routeName: route.metadata?.name,
      routeLabels: route.metadata?.labels ?? {},
      routeAnnotationsInclude: route.metadata?.annotations ?? {},
      routeAnnotations: route.metadata?.annotations ?? {},
      routeControllerOwner: route.metadata?.ownerReferences?.[0],
      routeSpecTraffic: route.spec?.traffic ?? [],
      configurationLabels: cfg.metadata?.labels ?? {},
      configurationAnnotations: cfg.metadata?.annotations ?? {},
    },
  };
}

function configurationRolloutJSON(c: ConfigurationRollout): unknown {
  const ro = rolloutToJSON({ configurations: [c] });
  return list<unknown>(ro['configurations'])[0];
}

function runRolloutSteps(input: Input): Outcome {
  const nowNs = num(input['nowNs']);
  switch (input['mode']) {
    case 'step': {
      const prev = parseRolloutLoose(input['previous']);
      const cur = parseRolloutLoose(input['current']);
      const { rollout, nextStepTimeNs } = step(cur, prev, nowNs);
      return { ok: true, result: { rollout: rolloutToJSON(rollout), nextStepTimeNs } };
    }
    case 'stepRevisions': {
      const cr = parseRolloutLoose({ configurations: [input['configurationRollout']] }).configurations?.[0];
      if (!cr) return { ok: false, result: { error: 'configurationRollout missing' } };
      return { ok: true, result: { configurationRollout: configurationRolloutJSON(stepRevisions(cr, nowNs)) } };
    }
    case 'observeReady': {
      const ro = parseRolloutLoose({ configurations: [input['configurationRollout']] });
      const out = observeReady(ro, nowNs, num(input['rolloutDurationSeconds'])).configurations?.[0];
      return {
        ok: true,
        result: {
          stepParams: out ? obj(configurationRolloutJSON(out))['stepParams'] : {},
          configurationRollout: out && configurationRolloutJSON(out),
        },
      };
    }
    case 'timeline':
      return runTimeline(input);
    case 'route':
      return runRolloutRoute(input);
    default:
      return { ok: false, result: { error: `unknown rollout-steps mode ${JSON.stringify(input['mode'])}` } };
  }
}

/**
 * Simulates a rollout from `oldRevision` to `newRevision`: the new revision becomes latest ready at t=0,
 * the ingress reports ready after `ingressReadyAfterNs`, and each requeue fires exactly at nextStepTime.
 */
function runTimeline(input: Input): Outcome {
  const T0 = 1e12; // A non-zero clock base: Knative ignores rollouts that start at 0.
  const duration = num(input['rolloutDurationSeconds']);
  const percent = num(input['configurationPercent'], 100);
  const oldRev = String(input['oldRevision'] ?? '');
  const newRev = String(input['newRevision'] ?? '');
  const readyAfter = num(input['ingressReadyAfterNs']);
  const configurationName = String(input['configurationName'] ?? 'config');
  const prev: Rollout = {
    configurations: [{ configurationName, percent, revisions: [{ revisionName: oldRev, percent }], stepParams: {} }],
  };
  const cur: Rollout = {
    configurations: [{ configurationName, percent, revisions: [{ revisionName: newRev, percent }], stepParams: {} }],
  };
  const traffic = (ro: Rollout): { revisionName: string; percent: number }[] =>
    (ro.configurations?.[0]?.revisions ?? []).map((r) => ({ revisionName: r.revisionName, percent: r.percent }));
  const steps: Record<string, unknown>[] = [];
  let { rollout: eff, nextStepTimeNs: next } = step(cur, prev, T0);
  steps.push({ atNs: 0, traffic: traffic(eff) });
  const readyAt = T0 + readyAfter;
  eff = observeReady(eff, readyAt, duration);
  ({ rollout: eff, nextStepTimeNs: next } = step(cur, eff, readyAt));
  steps.push({ atNs: readyAfter, traffic: traffic(eff), event: 'ingress-ready (ObserveReady)' });
  const firstStepAt = next;
  let count = 0;
  let completesAt = readyAfter;
  for (let guard = 0; next > 0 && guard < 100000; guard++) {
    const at = next;
    ({ rollout: eff, nextStepTimeNs: next } = step(cur, eff, at));
    count++;
    completesAt = at - T0;
    steps.push({ atNs: at - T0, traffic: traffic(eff) });
  }
  const p = stepParamsFor(readyAfter, duration, percent);
  return {
    ok: true,
    result: {
      stepParams: { ...p, firstStepAtNs: firstStepAt > 0 ? firstStepAt - T0 : 0 },
      numberOfSteps: count,
      completesAtNs: completesAt,
      steps,
    },
  };
}

/** A Route reconcile with rollout enabled, the ingress holding the rollout of the previous status. */
function runRolloutRoute(input: Input): Outcome {
  const network = toNetwork(input['network'], input['configDomain']);
  const cfgIn = obj(input['configuration']) as Configuration;
  const cfgName = cfgIn.metadata?.name ?? '';
  const configuration: Configuration = {
    ...cfgIn,
    status: { ...(cfgIn.status ?? {}), conditions: cfgIn.status?.conditions ?? [{ type: 'Ready', status: 'True' }] },
  };
  const revisions: Revision[] = list<unknown>(input['readyRevisions']).map((n) => ({
    metadata: {
      name: String(n),
      namespace: cfgIn.metadata?.namespace ?? '',
      labels: { [LABEL_CONFIGURATION]: cfgName },
    },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  }));
  const route = defaultRoute(obj(input['route']) as Route, { operation: 'CREATE' });
  const previous = list<TrafficTarget>(input['previousStatusTraffic']);
  const withPrev: Route = { ...route, status: { ...(route.status ?? {}), traffic: previous } };
  const prevRollout =
    input['previousRollout'] !== undefined
      ? parseRolloutLoose(input['previousRollout'])
      : rolloutFromStatus(route, previous);
  const nowNs = num(input['nowNs'], 1.7e18);
  const res = reconcileRoute({
    route: withPrev,
    configurations: [configuration],
    revisions,
    network,
    nowNs,
    ingress: { rollout: prevRollout, ready: input['ingressReady'] !== false },
  });
  if (res.error)
    return {
      ok: false,
      result: { error: res.error.message, conditions: res.status.conditions ?? [], status: res.status },
    };
  const annotation = res.ingress?.rolloutAnnotation;
  return {
    ok: true,
    result: {
      status: res.status,
      ingressRolloutAnnotation: annotation
        ? { key: annotation.key, value: JSON.parse(annotation.value) as unknown }
        : undefined,
      requeueAfterNs: res.requeueAfterNs ?? 0,
      ingressSplits: splitsJSON(res.ingress?.splits ?? new Map()),
    },
  };
}

/** The rollout a steady Route had: each latest target's share on the revisions its status listed. */
function rolloutFromStatus(route: Route, previous: TrafficTarget[]): Rollout {
  const cfgs: ConfigurationRollout[] = [];
  for (const tt of route.spec?.traffic ?? []) {
    if (!(tt.latestRevision ?? !tt.revisionName) || !tt.configurationName || !tt.percent) continue;
    const tag = tt.tag ?? '';
    const revs = previous
      .filter((p) => (p.tag ?? '') === tag && p.latestRevision !== false && (p.percent ?? 0) > 0)
      .map((p) => ({ revisionName: p.revisionName ?? '', percent: p.percent ?? 0 }));
    const cr: ConfigurationRollout = {
      configurationName: tt.configurationName,
      percent: tt.percent,
      revisions: revs,
      stepParams: {},
    };
    if (tag) cr.tag = tag;
    cfgs.push(cr);
  }
  return parseRollout(JSON.stringify(rolloutToJSON({ configurations: cfgs }))) ?? { configurations: cfgs };
}
