// Host names, URLs and visibility of Routes: config-domain selection by labels, the config-network domain
// and tag templates, and the cluster-local rules (pkg/reconciler/route/domains, config/domain.go, visibility).

import { parse as parseYaml } from 'yaml';
import { executeTemplate, TemplateError } from './go-template.js';
import { fqdnError } from './k8s-names.js';
import { LABEL_VISIBILITY, VISIBILITY_CLUSTER_LOCAL } from './keys.js';
import { isRecord } from './json.js';
import type { ObjectMeta, Route } from './types.js';

export const DEFAULT_DOMAIN_TEMPLATE = '{{.Name}}.{{.Namespace}}.{{.Domain}}';
export const DEFAULT_TAG_TEMPLATE = '{{.Tag}}-{{.Name}}';
export const CLUSTER_DOMAIN = 'cluster.local';
export const DEFAULT_DOMAIN = `svc.${CLUSTER_DOMAIN}`;

/** Text prefix of every host-building error, as Knative's domains.ErrDomainName. */
export const DOMAIN_NAME_ERROR = 'domain name error';

export class DomainNameError extends Error {
  override name = 'DomainNameError';
}

export interface DomainSelector {
  domain: string;
  /** Labels a Route must carry to get this domain; empty matches every Route. */
  selector: Record<string, string>;
}

/** The parts of config-network and config-domain the Route reconciler uses. */
export interface NetworkConfig {
  domains: DomainSelector[];
  domainTemplate: string;
  tagTemplate: string;
  defaultExternalScheme: string;
  /** config-network rollout-duration in seconds; a Route annotation overrides it. */
  rolloutDurationSeconds: number;
}

/**
 * Reads config-domain's data: keys are domains, values YAML `selector:` maps. Without an entry that has no
 * selector, Knative adds svc.cluster.local as the catch-all, which makes such Routes cluster-local.
 */
export function parseConfigDomain(data: Record<string, string> | undefined): DomainSelector[] {
  const out: DomainSelector[] = [];
  let hasDefault = false;
  for (const [domain, raw] of Object.entries(data ?? {})) {
    if (domain === '_example') continue;
    let selector: Record<string, string> = {};
    const parsed: unknown = raw.trim() === '' ? {} : parseYaml(raw);
    if (isRecord(parsed) && isRecord(parsed['selector'])) {
      selector = Object.fromEntries(Object.entries(parsed['selector']).map(([k, v]) => [k, String(v)]));
    }
    if (Object.keys(selector).length === 0) hasDefault = true;
    out.push({ domain, selector });
  }
  if (!hasDefault) out.push({ domain: DEFAULT_DOMAIN, selector: {} });
  return out;
}

export function networkConfig(partial: Partial<NetworkConfig> = {}): NetworkConfig {
  return {
    domains: partial.domains ?? parseConfigDomain(undefined),
    domainTemplate: partial.domainTemplate ?? DEFAULT_DOMAIN_TEMPLATE,
    tagTemplate: partial.tagTemplate ?? DEFAULT_TAG_TEMPLATE,
    defaultExternalScheme: partial.defaultExternalScheme ?? 'http',
    rolloutDurationSeconds: partial.rolloutDurationSeconds ?? 0,
  };
}

/** The most specific matching selector wins; ties go to the alphabetically first domain. */
export function lookupDomainForLabels(
  domains: readonly DomainSelector[],
  labels: Record<string, string> | undefined,
): string {
  if (labels?.[LABEL_VISIBILITY] === VISIBILITY_CLUSTER_LOCAL) return DEFAULT_DOMAIN;
  let domain = '';
  let specificity = -1;
  for (const d of domains) {
    const n = Object.keys(d.selector).length;
    const matches = Object.entries(d.selector).every(([k, v]) => labels?.[k] === v);
    if (!matches || n < specificity) continue;
    if (n > specificity || d.domain < domain) {
      domain = d.domain;
      specificity = n;
    }
  }
  return domain;
}

/** `{{.Tag}}-{{.Name}}` for a tag; the route name itself for the main host (tag ""). */
export function hostnameFromTemplate(cfg: NetworkConfig, name: string, tag: string): string {
  if (tag === '') return name;
  try {
    return executeTemplate(cfg.tagTemplate, { Name: name, Tag: tag }, 'tag-template', 'config.TagTemplateValues');
  } catch (e) {
    if (e instanceof TemplateError)
      throw new DomainNameError(`${DOMAIN_NAME_ERROR}: error executing the TagTemplate: ${e.message}`);
    throw e;
  }
}

/** The full host for `name` under the Route's labels; cluster-local Routes always use the default template. */
export function domainNameFromTemplate(cfg: NetworkConfig, meta: ObjectMeta, name: string): string {
  const labels = meta.labels ?? {};
  const domain = lookupDomainForLabels(cfg.domains, labels);
  const tmpl = labels[LABEL_VISIBILITY] === VISIBILITY_CLUSTER_LOCAL ? DEFAULT_DOMAIN_TEMPLATE : cfg.domainTemplate;
  let host: string;
  try {
    host = executeTemplate(
      tmpl,
      {
        Name: name,
        Namespace: meta.namespace ?? '',
        Domain: domain,
        Annotations: meta.annotations ?? {},
        Labels: labels,
      },
      'domain-template',
      'config.DomainTemplateValues',
    );
  } catch (e) {
    if (e instanceof TemplateError)
      throw new DomainNameError(`${DOMAIN_NAME_ERROR}: error executing the DomainTemplate: ${e.message}`);
    throw e;
  }
  const bad = fqdnError(host);
  if (bad !== undefined)
    throw new DomainNameError(`${DOMAIN_NAME_ERROR}: invalid domain name ${JSON.stringify(host)}: ${bad}`);
  return host;
}

export type Visibility = 'ExternalIP' | 'ClusterLocal';

/**
 * Visibility per traffic name ("" and each tag). A Route is cluster-local when its labels select
 * svc.cluster.local; a tag is also cluster-local when its placeholder Service is labelled so
 * (`clusterLocalTags`).
 */
export function routeVisibility(
  cfg: NetworkConfig,
  route: Route,
  clusterLocalTags: ReadonlySet<string> = new Set(),
): Map<string, Visibility> {
  const routeLocal = lookupDomainForLabels(cfg.domains, route.metadata?.labels) === DEFAULT_DOMAIN;
  const names = new Set(['', ...(route.spec?.traffic ?? []).map((t) => t.tag ?? '')]);
  const out = new Map<string, Visibility>();
  for (const n of names) out.set(n, routeLocal || clusterLocalTags.has(n) ? 'ClusterLocal' : 'ExternalIP');
  return out;
}

function withVisibility(meta: ObjectMeta, clusterLocal: boolean): ObjectMeta {
  const labels = { ...(meta.labels ?? {}) };
  if (clusterLocal) labels[LABEL_VISIBILITY] = VISIBILITY_CLUSTER_LOCAL;
  else delete labels[LABEL_VISIBILITY];
  return { ...meta, labels };
}

/** The host a traffic name (tag, or "" for the main host) is served on, honouring its visibility. */
export function hostForTag(cfg: NetworkConfig, route: Route, tag: string, visibility: Visibility): string {
  const meta = route.metadata ?? {};
  return domainNameFromTemplate(
    cfg,
    withVisibility(meta, visibility === 'ClusterLocal'),
    hostnameFromTemplate(cfg, meta.name ?? '', tag),
  );
}

/** `http` for cluster-local hosts, the configured external scheme otherwise. */
export function urlForTag(cfg: NetworkConfig, route: Route, tag: string, visibility: Visibility): string {
  const scheme = visibility === 'ClusterLocal' ? 'http' : cfg.defaultExternalScheme;
  return `${scheme}://${hostForTag(cfg, route, tag, visibility)}`;
}

/** host → tag for every traffic name, as GetAllDomainsAndTags. */
export function allDomainsAndTags(
  cfg: NetworkConfig,
  route: Route,
  names: readonly string[],
  visibility: ReadonlyMap<string, Visibility>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) out[hostForTag(cfg, route, n, visibility.get(n) ?? 'ExternalIP')] = n;
  return out;
}

/** The Route's cluster-local address: its placeholder Kubernetes Service. */
export const routeAddressURL = (route: Route): string =>
  `http://${route.metadata?.name ?? ''}.${route.metadata?.namespace ?? ''}.svc.${CLUSTER_DOMAIN}`;

/** A host on the cluster domain is never exposed externally. */
export const isClusterLocalHost = (host: string): boolean => host.endsWith(CLUSTER_DOMAIN);
