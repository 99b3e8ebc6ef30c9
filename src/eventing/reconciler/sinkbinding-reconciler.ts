// SinkBinding's two effects: K_SINK (and K_CE_OVERRIDES) injected into every container of the subject
// Knative Service's template — which, as on a cluster, rolls a new Revision — and the binding's status. As
// knative.dev/pkg's psbinding does, a finalizer lets the binding be undone (the variables removed) on delete.
import type { KubeObject } from '../../kube/index.js';
import { ConditionSet } from '../../serving/conditions.js';
import type { Resolution } from '../broker-lifecycle.js';
import type { SinkBinding, SinkBindingSpec, SinkBindingStatus } from '../types.js';

/** psbinding's finalizer: the binding's group-resource. */
export const SINKBINDING_FINALIZER = 'sinkbindings.sources.knative.dev';
/** The variables a SinkBinding owns in its subject's containers (removed again by Undo). */
const BINDING_ENV = new Set(['K_SINK', 'K_CE_OVERRIDES']);

export const SINKBINDING_CONDITIONS = ConditionSet.living('SinkProvided', 'BindingAvailable', 'OIDCIdentityCreated');

interface EnvVar {
  name: string;
  value?: string;
  [k: string]: unknown;
}
interface Container {
  env?: EnvVar[];
  [k: string]: unknown;
}

/** The subject with K_SINK set, or undefined when it already has it. */
export function withSink(
  svc: KubeObject,
  sinkUri: string,
  ceOverrides: SinkBindingSpec['ceOverrides'] | undefined,
): KubeObject | undefined {
  const spec = svc['spec'] as { template?: { spec?: { containers?: Container[] } } } | undefined;
  const containers = spec?.template?.spec?.containers ?? [];
  const want: EnvVar[] = [{ name: 'K_SINK', value: sinkUri }];
  if (ceOverrides) want.push({ name: 'K_CE_OVERRIDES', value: JSON.stringify(ceOverrides) });
  let changed = false;
  const next = containers.map((c) => {
    const env = [...(c.env ?? [])];
    for (const w of want) {
      const i = env.findIndex((e) => e.name === w.name);
      if (i < 0) {
        env.push(w);
        changed = true;
      } else if (env[i]?.value !== w.value) {
        env[i] = w;
        changed = true;
      }
    }
    return { ...c, env };
  });
  if (!changed) return undefined;
  const template = spec?.template ?? {};
  return { ...svc, spec: { ...spec, template: { ...template, spec: { ...template.spec, containers: next } } } };
}

/** The subject without the binding's variables (Knative's Undo), or undefined when it has none. */
export function withoutSink(svc: KubeObject): KubeObject | undefined {
  const spec = svc['spec'] as { template?: { spec?: { containers?: Container[] } } } | undefined;
  const containers = spec?.template?.spec?.containers ?? [];
  if (!containers.some((c) => (c.env ?? []).some((e) => BINDING_ENV.has(e.name)))) return undefined;
  const next = containers.map((c) => {
    if (c.env === undefined) return c;
    const { env, ...rest } = c;
    const kept = env.filter((e) => !BINDING_ENV.has(e.name));
    return kept.length > 0 ? { ...rest, env: kept } : rest;
  });
  const template = spec?.template ?? {};
  return { ...svc, spec: { ...spec, template: { ...template, spec: { ...template.spec, containers: next } } } };
}

export function reconcileSinkBindingStatus(
  sb: SinkBinding,
  sink: Resolution,
  subjectFound: boolean,
  now: number,
): SinkBindingStatus {
  const m = SINKBINDING_CONDITIONS.manage(sb.status?.conditions, now);
  m.initialize();
  m.markTrueWithReason('OIDCIdentityCreated', 'authentication-oidc feature disabled', '');
  const status: SinkBindingStatus = { ...(sb.status ?? {}) };
  if (sb.metadata?.generation !== undefined) status.observedGeneration = sb.metadata.generation;
  if ('uri' in sink) {
    status.sinkUri = sink.uri;
    m.markTrue('SinkProvided');
  } else {
    delete status.sinkUri;
    m.markFalse('SinkProvided', 'SinkNotFound', sink.error);
  }
  if (subjectFound) m.markTrue('BindingAvailable');
  else
    m.markFalse(
      'BindingAvailable',
      'SubjectMissing',
      `No Knative Service matches the subject of ${sb.metadata?.name ?? ''}`,
    );
  status.conditions = m.conditions;
  return status;
}
