// The knative-serving ConfigMaps that Knative's webhook reads, as the settings admission uses: config-defaults
// (timeouts, container concurrency, container names, service links), config-features (the pod spec feature
// flags, features.ts) and config-autoscaler (the class, the max-scale-limit and allow-zero-initial-scale that
// annotation validation depends on). Pure: the caller passes each ConfigMap's data as it is now, so admission
// follows a change at once. A value that does not parse keeps Knative's default for that key (Knative's own
// webhook refuses such a ConfigMap instead).
import { AUTOSCALER_DEFAULTS, type AutoscalerConfig } from './autoscaling-annotations.js';
import { DEFAULTS, type ServingDefaults } from './defaults.js';
import { parseFeatures, type PodSpecFeatures } from './features.js';

export const CONFIG_DEFAULTS = 'config-defaults';
export const CONFIG_FEATURES = 'config-features';
export const CONFIG_AUTOSCALER_NAME = 'config-autoscaler';
export const CONFIG_DEPLOYMENT = 'config-deployment';

export interface ClusterServingConfig {
  defaults: ServingDefaults;
  features: PodSpecFeatures;
  autoscaler: AutoscalerConfig;
}

type Data = Record<string, string> | undefined;

const int = (d: Data, key: string): number | undefined => {
  const v = d?.[key]?.trim();
  return v !== undefined && /^[+-]?\d+$/.test(v) ? Number(v) : undefined;
};
const bool = (d: Data, key: string): boolean | undefined => {
  const v = d?.[key]?.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
};
/** A container name template without template actions is the name itself; others keep the default. */
const plainName = (d: Data, key: string): string | undefined => {
  const v = d?.[key]?.trim();
  return v && !v.includes('{{') ? v : undefined;
};

function set<T, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

export function clusterServingConfig(cm: (name: string) => Data): ClusterServingConfig {
  const d = cm(CONFIG_DEFAULTS);
  const defaults: ServingDefaults = { ...DEFAULTS };
  set(defaults, 'revisionTimeoutSeconds', int(d, 'revision-timeout-seconds'));
  set(defaults, 'maxRevisionTimeoutSeconds', int(d, 'max-revision-timeout-seconds'));
  set(defaults, 'revisionResponseStartTimeoutSeconds', int(d, 'revision-response-start-timeout-seconds'));
  set(defaults, 'revisionIdleTimeoutSeconds', int(d, 'revision-idle-timeout-seconds'));
  set(defaults, 'containerConcurrency', int(d, 'container-concurrency'));
  set(defaults, 'containerConcurrencyMaxLimit', int(d, 'container-concurrency-max-limit'));
  set(defaults, 'allowContainerConcurrencyZero', bool(d, 'allow-container-concurrency-zero'));
  set(defaults, 'userContainerName', plainName(d, 'container-name-template'));
  set(defaults, 'initContainerName', plainName(d, 'init-container-name-template'));
  set(defaults, 'enableServiceLinks', bool(d, 'enable-service-links'));

  const features = parseFeatures(cm(CONFIG_FEATURES));

  const a = cm(CONFIG_AUTOSCALER_NAME);
  const autoscaler: AutoscalerConfig = { ...AUTOSCALER_DEFAULTS };
  const cls = a?.['pod-autoscaler-class']?.trim();
  if (cls) autoscaler.podAutoscalerClass = cls;
  set(autoscaler, 'maxScaleLimit', int(a, 'max-scale-limit'));
  set(autoscaler, 'allowZeroInitialScale', bool(a, 'allow-zero-initial-scale'));
  return { defaults, features, autoscaler };
}
