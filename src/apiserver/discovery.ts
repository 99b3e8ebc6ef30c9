// Discovery documents in both forms kubectl reads (legacy and aggregated v2), and the OpenAPI v3 documents
// kubectl fetches to decide that validation happens on the server (`fieldValidation=Strict`).
import { createHash } from 'node:crypto';
import { groupVersion, type Registry, type ResourceType } from './registry.js';
import { toJsonSchema } from './schema.js';

export const AGGREGATED_CT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function wantsAggregated(accept: string | undefined): boolean {
  return (
    !!accept &&
    /as=APIGroupDiscoveryList/.test(accept) &&
    /v=v2(;|,|$)/.test(accept.split(',').find((p) => p.includes('APIGroupDiscoveryList')) ?? '')
  );
}

export function versionInfo(): Record<string, string> {
  // Minor 32: the kubectl dispatcher on these machines then runs its built-in v1.32 client.
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-sluice',
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'node',
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}

export function legacyApiVersions(host: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }],
  };
}

export function apiGroupList(reg: Registry): object {
  const groups = [...reg.groups()]
    .filter(([g]) => g !== '')
    .map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    }));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiResourceList(reg: Registry, group: string, version: string): object | undefined {
  const types = reg.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: object[] = [];
  for (const t of types) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
    });
    if (t.statusSubresource)
      resources.push({
        name: `${t.plural}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

function discoveryResource(t: ResourceType): object {
  const kind = { group: t.group, version: t.version, kind: t.kind };
  return {
    resource: t.plural,
    responseKind: kind,
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: t.verbs,
    ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length ? { categories: t.categories } : {}),
    ...(t.statusSubresource
      ? { subresources: [{ subresource: 'status', responseKind: kind, verbs: ['get', 'patch', 'update'] }] }
      : {}),
  };
}

/** Aggregated discovery for `/api` (core) or `/apis` (every named group). */
export function aggregated(reg: Registry, core: boolean): object {
  const items = [...reg.groups()]
    .filter(([g]) => (core ? g === '' : g !== ''))
    .map(([name, versions]) => ({
      metadata: core ? { creationTimestamp: null } : { name, creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v,
        freshness: 'Current',
        resources: reg
          .all()
          .filter((t) => t.group === name && t.version === v)
          .map(discoveryResource),
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function openapiRoot(reg: Registry): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [g, vs] of reg.groups()) {
    for (const v of vs) {
      const doc = JSON.stringify(openapiGroupVersion(reg, g, v));
      const hash = createHash('sha512').update(doc).digest('hex').slice(0, 32).toUpperCase();
      paths[gvPath(g, v)] = { serverRelativeURL: `/openapi/v3/${gvPath(g, v)}?hash=${hash}` };
    }
  }
  return { paths };
}

function schemaName(t: ResourceType): string {
  const rev = t.group ? t.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${rev}.${t.version}.${t.kind}`;
}

/** One group-version's OpenAPI v3: a path per resource whose PATCH declares `fieldValidation`. */
export function openapiGroupVersion(reg: Registry, group: string, version: string): object {
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = {};
  const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
    name,
    in: 'query',
    schema: { type: name === 'force' ? 'boolean' : 'string' },
  }));
  for (const t of reg.all().filter((x) => x.group === group && x.version === version)) {
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const base = `/${gvPath(group, version)}/${t.namespaced ? 'namespaces/{namespace}/' : ''}${t.plural}`;
    const ref = { $ref: `#/components/schemas/${schemaName(t)}` };
    const patchTypes = t.builtin
      ? [
          'application/json-patch+json',
          'application/merge-patch+json',
          'application/strategic-merge-patch+json',
          'application/apply-patch+yaml',
        ]
      : ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
    const op = (action: string, extra: object = {}): object => ({
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      responses: { '200': { content: { 'application/json': { schema: ref } } } },
      ...extra,
    });
    paths[base] = {
      get: op('list'),
      post: op('post', { parameters: params, requestBody: { content: { '*/*': { schema: ref } } } }),
    };
    paths[`${base}/{name}`] = {
      get: op('get'),
      put: op('put', { parameters: params, requestBody: { content: { '*/*': { schema: ref } } } }),
      patch: op('patch', {
        parameters: params,
        requestBody: { content: Object.fromEntries(patchTypes.map((ct) => [ct, { schema: { type: 'object' } }])) },
      }),
      delete: op('delete'),
    };
    schemas[schemaName(t)] = t.schema
      ? { ...toJsonSchema(t.schema), 'x-kubernetes-group-version-kind': [gvk] }
      : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, 'x-kubernetes-group-version-kind': [gvk] };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: `${groupVersion({ group, version })}` },
    paths,
    components: { schemas },
  };
}
