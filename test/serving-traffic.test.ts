import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTrafficConfiguration, ingressSplits, statusTraffic } from '../src/serving/traffic.js';
import { targetErrorMessage } from '../src/serving/target-errors.js';
import { reconcileRoute } from '../src/serving/route-reconcile.js';
import { networkConfig, parseConfigDomain, urlForTag, lookupDomainForLabels } from '../src/serving/domains.js';
import type { Configuration, Revision, Route, TrafficTarget } from '../src/serving/types.js';

const cfg = (
  name: string,
  latestReady: string | undefined,
  readyStatus: 'True' | 'False' | 'Unknown' = 'True',
): Configuration => ({
  metadata: { name, namespace: 'test' },
  status: {
    conditions: [{ type: 'Ready', status: readyStatus }],
    ...(latestReady ? { latestReadyRevisionName: latestReady, latestCreatedRevisionName: latestReady } : {}),
  },
});
const rev = (name: string, config: string, readyStatus: 'True' | 'False' | 'Unknown' = 'True'): Revision => ({
  metadata: { name, namespace: 'test', labels: { 'serving.knative.dev/configuration': config } },
  status: { conditions: [{ type: 'Ready', status: readyStatus }] },
});
const route = (traffic: TrafficTarget[], labels: Record<string, string> = {}): Route => ({
  metadata: { name: 'test-route', namespace: 'test', labels },
  spec: { traffic },
});

const configurations = [
  cfg('good-config', 'good-revision-2'),
  cfg('unready-config', undefined, 'Unknown'),
  cfg('failed-config', undefined, 'False'),
];
const revisions = [
  rev('good-revision-1', 'good-config'),
  rev('good-revision-2', 'good-config'),
  rev('unready-revision', 'x', 'Unknown'),
  rev('failed-revision', 'x', 'False'),
];

interface ErrCase {
  name: string;
  traffic: TrafficTarget[];
  want: string;
}

const errCases: ErrCase[] = [
  {
    name: 'missing revision',
    traffic: [{ revisionName: 'nope', percent: 100 }],
    want: 'Revision "nope" referenced in traffic not found',
  },
  {
    name: 'missing configuration',
    traffic: [{ configurationName: 'nope', percent: 100 }],
    want: 'Configuration "nope" referenced in traffic not found',
  },
  {
    name: 'unready configuration',
    traffic: [{ configurationName: 'unready-config', percent: 100 }],
    want: 'Configuration "unready-config" not ready, isFailure=false',
  },
  {
    name: 'failed configuration',
    traffic: [{ configurationName: 'failed-config', percent: 100 }],
    want: 'Configuration "failed-config" not ready, isFailure=true',
  },
  {
    name: 'unready revision',
    traffic: [{ revisionName: 'unready-revision', percent: 100 }],
    want: 'Revision "unready-revision" not ready, isFailure=false',
  },
  {
    name: 'a failure beats an earlier wait',
    traffic: [
      { revisionName: 'unready-revision', percent: 50 },
      { revisionName: 'failed-revision', percent: 50 },
    ],
    want: 'Revision "failed-revision" not ready, isFailure=true',
  },
];

for (const c of errCases) {
  test(`buildTrafficConfiguration: ${c.name}`, () => {
    const { error } = buildTrafficConfiguration(route(c.traffic), configurations, revisions);
    assert.ok(error);
    assert.equal(targetErrorMessage(error), c.want);
  });
}

test('buildTrafficConfiguration: equal targets merge, tags get their own 100% split', () => {
  const r = route([
    { configurationName: 'good-config', percent: 50 },
    { revisionName: 'good-revision-2', percent: 50, tag: 'v2' },
    { revisionName: 'good-revision-1', percent: 0, tag: 'v1' },
  ]);
  const { config, error } = buildTrafficConfiguration(r, configurations, revisions);
  assert.equal(error, undefined);
  const splits = Object.fromEntries(
    [...ingressSplits(config, undefined)].map(([k, v]) => [k, v.map((s) => [s.revisionName, s.percent])]),
  );
  assert.deepEqual(splits, {
    '': [['good-revision-2', 100]],
    v2: [['good-revision-2', 100]],
    v1: [['good-revision-1', 100]],
  });
  const net = networkConfig({ domains: parseConfigDomain({ 'example.com': '' }) });
  const st = statusTraffic(config, undefined, (tag) => urlForTag(net, r, tag, 'ExternalIP'));
  assert.deepEqual(st, [
    { revisionName: 'good-revision-2', percent: 50, latestRevision: true },
    {
      tag: 'v2',
      revisionName: 'good-revision-2',
      percent: 50,
      latestRevision: false,
      url: 'http://v2-test-route.test.example.com',
    },
    {
      tag: 'v1',
      revisionName: 'good-revision-1',
      percent: 0,
      latestRevision: false,
      url: 'http://v1-test-route.test.example.com',
    },
  ]);
});

interface DomainCase {
  name: string;
  data: Record<string, string> | undefined;
  labels: Record<string, string>;
  want: string;
}

const domainCases: DomainCase[] = [
  { name: 'no config-domain: cluster-local default', data: undefined, labels: {}, want: 'svc.cluster.local' },
  { name: 'default entry', data: { 'example.com': '' }, labels: {}, want: 'example.com' },
  {
    name: 'selector wins when it matches',
    data: { 'example.com': '', 'prod.com': 'selector:\n  app: prod\n' },
    labels: { app: 'prod' },
    want: 'prod.com',
  },
  {
    name: 'selector ignored when it does not match',
    data: { 'example.com': '', 'prod.com': 'selector:\n  app: prod\n' },
    labels: { app: 'dev' },
    want: 'example.com',
  },
  {
    name: 'visibility label forces cluster-local',
    data: { 'example.com': '' },
    labels: { 'networking.knative.dev/visibility': 'cluster-local' },
    want: 'svc.cluster.local',
  },
];

for (const c of domainCases) {
  test(`lookupDomainForLabels: ${c.name}`, () =>
    assert.equal(lookupDomainForLabels(parseConfigDomain(c.data), c.labels), c.want));
}

test('reconcileRoute: success sets url, address, traffic and conditions', () => {
  const net = networkConfig({ domains: parseConfigDomain({ 'example.com': '' }) });
  const res = reconcileRoute({
    route: route([{ configurationName: 'good-config', percent: 100 }]),
    configurations,
    revisions,
    network: net,
    nowNs: 1e18,
    ingress: { ready: true },
  });
  assert.equal(res.error, undefined);
  assert.equal(res.status.url, 'http://test-route.test.example.com');
  assert.deepEqual(res.status.address, { url: 'http://test-route.test.svc.cluster.local' });
  const byType = Object.fromEntries((res.status.conditions ?? []).map((c) => [c.type, [c.status, c.reason ?? '']]));
  assert.deepEqual(byType, {
    AllTrafficAssigned: ['True', ''],
    CertificateProvisioned: ['True', 'TLSNotEnabled'],
    IngressReady: ['True', ''],
    Ready: ['True', ''],
  });
});

test('reconcileRoute: a host that cannot be built fails AllTrafficAssigned with ErrorConfig', () => {
  const name = `t${'o'.repeat(64)}-long`;
  const r: Route = {
    metadata: { name, namespace: 'default' },
    spec: { traffic: [{ configurationName: 'good-config', percent: 100 }] },
  };
  const net = networkConfig({ domains: parseConfigDomain({ 'example.com': '' }) });
  const res = reconcileRoute({ route: r, configurations, revisions, network: net, nowNs: 1e18 });
  const c = res.status.conditions?.find((x) => x.type === 'AllTrafficAssigned');
  assert.equal(c?.status, 'False');
  assert.equal(c?.reason, 'ErrorConfig');
  assert.equal(
    c?.message,
    `domain name error: invalid domain name "${name}.default.example.com": url: Invalid value: "${name}": must be no more than 63 characters`,
  );
});

test('reconcileRoute: a tag whose host is too long for a DNS label fails AllTrafficAssigned with ErrorConfig', () => {
  const tag = `t${'a'.repeat(60)}`;
  const r: Route = {
    metadata: { name: 'hello', namespace: 'default', generation: 1 },
    spec: { traffic: [{ configurationName: 'good-config', percent: 100, tag }] },
  };
  const net = networkConfig({ domains: parseConfigDomain({ 'example.com': '' }) });
  const res = reconcileRoute({ route: r, configurations, revisions, network: net, nowNs: 1e18 });
  const c = res.status.conditions?.find((x) => x.type === 'AllTrafficAssigned');
  assert.equal(c?.status, 'False');
  assert.equal(c?.reason, 'ErrorConfig');
  assert.equal(
    c?.message,
    `domain name error: invalid domain name "${tag}-hello.default.example.com": url: Invalid value: "${tag}-hello": must be no more than 63 characters`,
  );
  assert.equal(res.ingress, undefined, 'nothing is programmed for a route whose hosts cannot be built');
});
