// Issue 11, problem 1: a RolloutPolicy is checked when it is written, and the last good one survives restarts.
// Through `sluice start` with the real kubectl: a policy with bad PromQL or a semantic error is refused with 422
// naming the field (non-zero exit), RolloutPolicy status says which generation is in force, and a restart with
// an invalid policy in the store (written past admission, as a store from an older version or a cluster webhook
// with failurePolicy Ignore would hold it) still rolls the next template out under the last good policy: a
// canary answering 500s starts at the good policy's 20 % (the invalid one says 30 %) and is rolled back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Admission, startApiServer } from '../src/apiserver/index.js';
import { KubeClient, R } from '../src/kube/index.js';
import { policyDenial } from '../src/cli/policy-admission.js';
import type { PolicyObjectStatus, RolloutObject } from '../src/rollout/controller/types.js';
import {
  helloServiceYaml,
  kubectl,
  removeDir,
  startSluice,
  tempDir,
  waitFor,
  type SluiceProcess,
} from './support/procs.js';
import { startTraffic, type Traffic } from './support/traffic.js';

const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
const SUCCESS_RATE = `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or sum(rate(revision_request_count{${SEL}}[{{interval}}])) * 0) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
const FIVE_HUNDRED = `require('http').createServer((q, s) => { s.statusCode = 500; s.end('bad') }).listen(process.env.PORT)`;

interface PolicyOpts {
  firstWeight?: number;
  query?: string;
  onNoData?: string;
  noDataTimeout?: string | null;
}
function policy(o: PolicyOpts = {}): Record<string, unknown> {
  const metric: Record<string, unknown> = {
    name: 'success-rate',
    query: o.query ?? SUCCESS_RATE,
    thresholdRange: { min: 0.99 },
    onNoData: o.onNoData ?? 'hold',
  };
  if (o.noDataTimeout !== null) metric.noDataTimeout = o.noDataTimeout ?? '30s';
  return {
    apiVersion: 'delivery.sluice.dev/v1alpha1',
    kind: 'RolloutPolicy',
    metadata: { name: 'hello', namespace: 'default' },
    spec: {
      targetRef: { name: 'hello' },
      strategy: {
        canary: { steps: [{ setWeight: o.firstWeight ?? 20 }, { analysis: {} }, { setWeight: 50 }, { analysis: {} }] },
      },
      analysis: { interval: '1s', window: '4s', failureLimit: 2, metrics: [metric] },
      rollback: { to: 'pinned' },
    },
  };
}
const BAD_PROMQL = policy({ firstWeight: 30, query: `(${SUCCESS_RATE}` });
const BAD_SEMANTIC = policy({ firstWeight: 30, onNoData: 'fail' });

interface Row {
  name: string;
  obj: Record<string, unknown>;
  /** The field the 422 names; none: accepted. */
  field?: string;
}
const rows: Row[] = [
  { name: 'a valid policy is admitted', obj: policy() },
  {
    name: 'unbalanced parenthesis in PromQL names the query',
    obj: BAD_PROMQL,
    field: 'spec.analysis.metrics[0].query',
  },
  {
    name: 'noDataTimeout without onNoData: hold names noDataTimeout',
    obj: BAD_SEMANTIC,
    field: 'spec.analysis.metrics[0].noDataTimeout',
  },
  { name: 'onNoData: fail without noDataTimeout is admitted', obj: policy({ onNoData: 'fail', noDataTimeout: null }) },
];
for (const r of rows)
  test(`policy admission: ${r.name}`, () => {
    const d = policyDenial(r.obj as never);
    if (!r.field) return assert.equal(d, null, d?.message);
    assert.ok(d, 'denied');
    assert.equal(d.code, 422);
    assert.equal(d.reason, 'Invalid');
    assert.ok(
      d.details?.causes?.some((c) => c.field === r.field),
      `causes ${JSON.stringify(d.details?.causes)} name ${r.field}`,
    );
  });

let dir: string;
let data: string;
let cache: string;
let sluice: SluiceProcess;
let traffic: Traffic | undefined;
const kc = (args: string[], input?: string) => kubectl(join(data, 'kubeconfig'), cache, args, input);
const client = (): KubeClient => KubeClient.fromFile(join(data, 'kubeconfig'), 'faults-test');
const json = (...objs: unknown[]): string => objs.map((o) => JSON.stringify(o)).join('\n');
const rolloutOf = (): Promise<RolloutObject | undefined> =>
  client().tryGet<RolloutObject>(R.rollouts, 'default', 'hello');
const readyOf = async (): Promise<{ gen?: number; st?: PolicyObjectStatus }> => {
  const p = await client().tryGet(R.rolloutPolicies, 'default', 'hello');
  return { gen: p?.metadata.generation, st: (p as { status?: PolicyObjectStatus } | undefined)?.status };
};

before(async () => {
  dir = await tempDir('sluice-faults-policy-');
  data = join(dir, 'data');
  cache = join(dir, 'kubectl-cache');
  sluice = await startSluice('start', data);
});
after(async () => {
  await traffic?.stop();
  await sluice?.stop();
  await removeDir(dir);
});

test('kubectl apply of an invalid policy fails naming the field; status says which generation is in force', async () => {
  let r = await kc(
    ['apply', '-f', '-'],
    json(policy(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }),
  );
  assert.equal(r.code, 0, r.stderr);
  r = await kc(['apply', '-f', '-'], helloServiceYaml('v1'));
  assert.equal(r.code, 0, r.stderr);
  await waitFor(
    'hello-00001 pinned',
    async () => (await rolloutOf())?.status?.stableRevision === 'hello-00001',
    30_000,
  );
  for (const [bad, field] of [
    [BAD_PROMQL, 'spec.analysis.metrics[0].query'],
    [BAD_SEMANTIC, 'spec.analysis.metrics[0].noDataTimeout'],
  ] as const) {
    r = await kc(['apply', '-f', '-'], json(bad));
    assert.notEqual(r.code, 0, `kubectl apply of an invalid policy exits non-zero: ${r.stdout}`);
    assert.match(r.stderr, /is invalid/);
    assert.ok(r.stderr.includes(field), `${r.stderr} names ${field}`);
  }
  const { gen, st } = await waitFor('RolloutPolicy status', async () => {
    const s = await readyOf();
    return s.st?.observedGeneration === s.gen ? s : undefined;
  });
  assert.equal(gen, 1, 'the invalid edits were never stored');
  assert.equal(st?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  const get = await kc(['get', 'rolloutpolicies']);
  assert.match(get.stdout, /READY\s+REASON/);
  assert.match(get.stdout, /hello\s+hello\s+1s\s+True\s+Valid/);
  const ro = await rolloutOf();
  assert.equal(ro?.status?.governingPolicy?.generation, 1, 'the Rollout records the policy it is governed by');
});

test('the Git webhook answers wrong methods with 405 and Allow: POST', async () => {
  for (const method of ['GET', 'PUT']) {
    const r = await fetch(`${sluice.endpoints.controller ?? ''}/hooks/git`, { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'POST');
  }
});

test('restart with an invalid stored policy: the next template is rolled out (and back) under the last good one', async () => {
  await sluice.stop();
  // Write the invalid policy past admission: an API server on the same data without the policy check.
  const api = await startApiServer({
    dataDir: data,
    port: 0,
    crdDirs: [join(import.meta.dirname, '..', '..', 'deploy', 'crds')],
    admission: new Admission(),
  });
  try {
    const c = KubeClient.fromFile(api.kubeconfigPath, 'old-version');
    const cur = await c.get(R.rolloutPolicies, 'default', 'hello');
    await c.update(R.rolloutPolicies, { ...cur, spec: BAD_PROMQL.spec } as never);
  } finally {
    await api.close();
  }
  sluice = await startSluice('start', data);
  const { st } = await waitFor(
    'RolloutPolicy Ready=False',
    async () => {
      const s = await readyOf();
      return s.gen === 2 && s.st?.observedGeneration === 2 ? s : undefined;
    },
    20_000,
  );
  const ready = st?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, 'InvalidSpec');
  assert.match(ready?.message ?? '', /spec\.analysis\.metrics\[0\]\.query/);
  traffic = startTraffic(data, 'hello.default.svc.cluster.local');
  const r = await kc(
    ['apply', '-f', '-'],
    helloServiceYaml('bad').replace(
      '          env:',
      `          command: ["node", "-e", ${JSON.stringify(FIVE_HUNDRED)}]\n          env:`,
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  const weights = new Set<number>();
  const done = await waitFor(
    'the 500 canary rolled back',
    async () => {
      const ro = await rolloutOf();
      if (ro?.status?.canaryRevision === 'hello-00002' && ro.status.phase === 'Progressing')
        weights.add(ro.status.canaryWeight ?? 0);
      return ro?.status?.canaryRevision === 'hello-00002' && ro.status.phase === 'RolledBack' ? ro : undefined;
    },
    40_000,
  );
  assert.equal(done.status?.stableRevision, 'hello-00001');
  assert.ok(!weights.has(30), `the invalid policy's 30 % was never used: ${[...weights].join(',')}`);
  assert.equal(done.status?.governingPolicy?.generation, 1);
});
