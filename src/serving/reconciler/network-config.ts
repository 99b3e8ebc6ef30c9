// config-domain and config-network (namespace knative-serving) → the NetworkConfig the Route reconciler
// uses. Absent ConfigMaps or keys take Knative's defaults: domain svc.cluster.local, templates
// `{{.Name}}.{{.Namespace}}.{{.Domain}}` and `{{.Tag}}-{{.Name}}`, scheme http, rollout-duration 0.
import { networkConfig, parseConfigDomain, type NetworkConfig } from '../domains.js';
import { parseGoDuration } from '../go-duration.js';

export const SYSTEM_NAMESPACE = 'knative-serving';
export const CONFIG_DOMAIN = 'config-domain';
export const CONFIG_NETWORK = 'config-network';
/** Read by the embedded data plane's run specs, not by the Route reconciler; a change requeues Revisions. */
export const CONFIG_AUTOSCALER = 'config-autoscaler';

/** The first key present, as Knative accepts both `domain-template` and the legacy `domainTemplate`. */
function first(data: Record<string, string> | undefined, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = data?.[k];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

/** Whole seconds from `"120"` or a Go duration (`"2m"`); undefined when neither. */
export function parseSeconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const ns = parseGoDuration(v);
  return ns === undefined || ns < 0 ? undefined : Math.trunc(ns / 1e9);
}

export function networkConfigFromData(
  domainData: Record<string, string> | undefined,
  networkData: Record<string, string> | undefined,
): NetworkConfig {
  const partial: Partial<NetworkConfig> = { domains: parseConfigDomain(domainData) };
  const dt = first(networkData, 'domain-template', 'domainTemplate');
  if (dt !== undefined) partial.domainTemplate = dt;
  const tt = first(networkData, 'tag-template', 'tagTemplate');
  if (tt !== undefined) partial.tagTemplate = tt;
  const scheme = first(networkData, 'default-external-scheme', 'defaultExternalScheme');
  if (scheme !== undefined) partial.defaultExternalScheme = scheme;
  const rd = parseSeconds(first(networkData, 'rollout-duration', 'rolloutDuration'));
  if (rd !== undefined) partial.rolloutDurationSeconds = rd;
  return networkConfig(partial);
}
