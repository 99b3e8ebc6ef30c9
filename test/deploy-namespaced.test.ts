// deploy/namespaced/, for a team without cluster-wide rights, with the real kubectl against the embedded API
// server: `kubectl apply -k` installs a Role, RoleBinding, ServiceAccount, Deployment and Service in the team's
// namespace and nothing cluster-scoped; `kubectl auth can-i --as=system:serviceaccount:my-team:sluice` shows the
// controller cannot act outside that namespace; and a `sluice controller --watch-namespace my-team` holding only
// that ServiceAccount's token governs a Service there (pins it, then takes a new template through a 20 % canary
// to promotion, no request refused), leaves other namespaces alone, and is refused outside its namespace with
// kube-apiserver's 403 message. The API server is `sluice apiserver` in its own process, as on a cluster.
// The overlay repeats deploy/controller.yaml's Deployment and ClusterRole (kustomize cannot use deploy/ as a base
// from inside it), so the first test keeps them alike.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { KubeClient, R } from '../src/kube/index.js';
import {
  ROOT,
  helloServiceYaml,
  kubectl,
  removeDir,
  startSluice,
  tempDir,
  waitFor,
  type SluiceProcess,
} from './support/procs.js';

const NS = 'my-team';
const SA = `system:serviceaccount:${NS}:sluice`;
let api: SluiceProcess;
let adminKubeconfig: string;
let dir: string;
let cache: string;
const k = (args: string[], input?: string) => kubectl(adminKubeconfig, cache, args, input);

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}
interface Doc {
  kind: string;
  metadata: { name: string };
  rules?: Rule[];
  spec?: { template: { spec: { containers: Array<Record<string, unknown> & { args: string[] }> } } };
}

async function docs(file: string): Promise<Doc[]> {
  return parseAllDocuments(await readFile(join(ROOT, 'deploy', file), 'utf8')).map((d) => d.toJS() as Doc);
}

/** "group/resource verb" for every combination a rule set grants. */
function grants(rules: Rule[]): string[] {
  const out = new Set<string>();
  for (const r of rules)
    for (const g of r.apiGroups ?? [])
      for (const res of r.resources ?? []) for (const v of r.verbs ?? []) out.add(`${g}/${res} ${v}`);
  return [...out].sort();
}

before(async () => {
  dir = await tempDir('sluice-namespaced-');
  cache = join(dir, 'kubectl-cache');
  // `sluice apiserver` as its own process: RBAC, and Knative's and the RolloutPolicy's admission, as on a cluster.
  api = await startSluice('apiserver', join(dir, 'api'));
  adminKubeconfig = join(api.dataDir, 'kubeconfig');
});
after(async () => {
  await api?.stop();
  await removeDir(dir);
});

test('deploy/namespaced repeats deploy/controller.yaml: the same Role rules (but the webhook configuration; with the alert Secrets), the same Deployment (but namespace flags and the admission port)', async () => {
  const cluster = await docs('controller.yaml');
  const team = [...(await docs('namespaced/controller.yaml')), ...(await docs('namespaced/role.yaml'))];
  // The controller's ClusterRole plus the alert Secrets' one (bound per namespace there, here in the one).
  const clusterRules = cluster
    .filter((d) => d.kind === 'ClusterRole' && ['sluice', 'sluice-alert-secrets'].includes(d.metadata.name))
    .flatMap((d) => d.rules!);
  const role = team.find((d) => d.kind === 'Role')!;
  assert.deepEqual(
    grants(role.rules!),
    grants(clusterRules.filter((r) => !r.apiGroups?.includes('admissionregistration.k8s.io'))),
  );
  const strip = (d: Doc) => {
    const c = { ...d.spec!.template.spec.containers[0]! };
    c.args = c.args.filter((a) => !/^--(namespace|watch-namespace|admission-port)=/.test(a));
    c.env = (c.env as Array<{ name: string }>).filter((e) => e.name !== 'SLUICE_NAMESPACE');
    c.ports = (c.ports as Array<{ name: string }>).filter((p) => p.name !== 'admission');
    return { ...d.spec, template: { ...d.spec!.template, spec: { ...d.spec!.template.spec, containers: [c] } } };
  };
  const dep = (ds: Doc[]) => ds.find((d) => d.kind === 'Deployment')!;
  assert.deepEqual(strip(dep(team)), strip(dep(cluster)));
});

test('kubectl apply -k deploy/namespaced: namespaced objects only; the ServiceAccount cannot act outside its namespace; the controller governs a Service inside it with no request refused', async () => {
  assert.equal((await k(['create', 'namespace', NS])).code, 0);
  const r = await k(['apply', '-k', join(ROOT, 'deploy', 'namespaced')]);
  assert.equal(r.code, 0, r.stderr);
  for (const line of [
    'serviceaccount/sluice created',
    'role.rbac.authorization.k8s.io/sluice created',
    'rolebinding.rbac.authorization.k8s.io/sluice created',
    'service/sluice created',
    'deployment.apps/sluice created',
  ])
    assert.ok(r.stdout.includes(line), `${line} in:\n${r.stdout}`);
  assert.doesNotMatch(r.stdout, /clusterrole|namespace\//, 'nothing cluster-scoped');
  const args = await k([
    'get',
    'deploy',
    'sluice',
    '-n',
    NS,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].args}',
  ]);
  assert.match(args.stdout, /--watch-namespace=\$\(SLUICE_NAMESPACE\)/);

  // Rows: [verb, resource, namespace flag, allowed?]
  const rows: Array<[string, string, string[], 'yes' | 'no']> = [
    ['patch', 'services.serving.knative.dev', ['-n', NS], 'yes'],
    ['watch', 'revisions.serving.knative.dev', ['-n', NS], 'yes'],
    ['create', 'rollouts.delivery.sluice.dev', ['-n', NS], 'yes'],
    ['update', 'rollouts.delivery.sluice.dev', ['-n', NS, '--subresource=status'], 'yes'],
    ['patch', 'rollouts.delivery.sluice.dev', ['-n', NS, '--subresource=status'], 'no'],
    ['update', 'leases.coordination.k8s.io', ['-n', NS], 'yes'],
    ['get', 'secrets', ['-n', NS], 'yes'],
    ['list', 'secrets', ['-n', NS], 'no'],
    ['patch', 'services.serving.knative.dev', ['-n', 'default'], 'no'],
    ['list', 'services.serving.knative.dev', ['--all-namespaces'], 'no'],
    ['watch', 'rollouts.delivery.sluice.dev', ['--all-namespaces'], 'no'],
    ['get', 'secrets', ['-n', 'default'], 'no'],
    ['create', 'leases.coordination.k8s.io', ['-n', 'default'], 'no'],
    ['patch', 'validatingwebhookconfigurations.admissionregistration.k8s.io', [], 'no'],
    ['create', 'clusterroles.rbac.authorization.k8s.io', [], 'no'],
    ['create', 'rolebindings.rbac.authorization.k8s.io', ['-n', NS], 'no'],
  ];
  for (const [verb, res, ns, want] of rows) {
    const c = await k(['auth', 'can-i', verb, res, ...ns, `--as=${SA}`]);
    assert.equal(c.stdout.trim(), want, `can-i ${verb} ${res} ${ns.join(' ')}: ${c.stdout}${c.stderr}`);
  }

  // The controller with only the ServiceAccount's token, next to Knative Serving (admin) in its own process.
  const tok = await k(['create', 'token', 'sluice', '-n', NS, '--duration=1h']);
  assert.equal(tok.code, 0, tok.stderr);
  const saKubeconfig = join(dir, 'sa.kubeconfig');
  const admin = await readFile(adminKubeconfig, 'utf8');
  await writeFile(saKubeconfig, admin.replace(/token: .*/, `token: ${tok.stdout.trim()}`), { mode: 0o600 });
  let serving: SluiceProcess | undefined;
  let controller: SluiceProcess | undefined;
  try {
    serving = await startSluice('serving', join(dir, 'serving'), ['--kubeconfig', adminKubeconfig]);
    controller = await startSluice('controller', join(dir, 'controller'), [
      '--kubeconfig',
      saKubeconfig,
      '--prometheus-url',
      'http://127.0.0.1:9',
      '--namespace',
      NS,
      '--watch-namespace',
      NS,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--work-dir',
      join(dir, 'controller', 'work'),
      '--lease-duration',
      '4',
      '--log-level',
      'info',
    ]);
    const policy = (ns: string) => `apiVersion: delivery.sluice.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: hello, namespace: ${ns}}
spec:
  targetRef: {name: hello}
  strategy: {canary: {steps: [{setWeight: 20}, {pause: {duration: 1s}}]}}
`;
    for (const ns of [NS, 'default']) {
      const a = await k(
        ['apply', '-f', '-'],
        policy(ns) + '---\n' + helloServiceYaml('v1').replace('namespace: default', `namespace: ${ns}`),
      );
      assert.equal(a.code, 0, a.stderr);
    }
    const client = KubeClient.fromFile(adminKubeconfig, 'test');
    await waitFor(
      `Rollout ${NS}/hello pinned at hello-00001`,
      async () => {
        const ro = (await client.tryGet(R.rollouts, NS, 'hello')) as
          { status?: { phase?: string; stableRevision?: string } } | undefined;
        return ro?.status?.phase === 'Succeeded' && ro.status.stableRevision === 'hello-00001';
      },
      90_000,
    ).catch((e: unknown) => {
      // The controller's own account of what it did (or was refused) is the useful part of this failure.
      throw new Error(`${String(e)}\ncontroller log:\n${controller!.output().slice(-4000)}`);
    });
    // A new template in my-team: a canary at 20 %, then promoted, by the controller holding only the Role.
    const v2 = await k(['apply', '-f', '-'], helloServiceYaml('v2').replace('namespace: default', `namespace: ${NS}`));
    assert.equal(v2.code, 0, v2.stderr);
    const seen = new Set<string>();
    await waitFor(
      `Rollout ${NS}/hello promotes hello-00002 after a canary`,
      async () => {
        const ro = (await client.tryGet(R.rollouts, NS, 'hello')) as
          | { status?: { phase?: string; stableRevision?: string; canaryRevision?: string; canaryWeight?: number } }
          | undefined;
        const st = ro?.status;
        if (st?.canaryRevision === 'hello-00002' && st.phase === 'Progressing') seen.add(`weight ${st.canaryWeight}`);
        return st?.phase === 'Succeeded' && st.stableRevision === 'hello-00002';
      },
      90_000,
      20,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\ncontroller log:\n${controller!.output().slice(-4000)}`);
    });
    assert.ok(seen.has('weight 20'), `the canary was seen at 20 % (${[...seen].join(', ') || 'never seen'})`);
    const traffic = await k(['get', 'ksvc', 'hello', '-n', NS, '-o', 'jsonpath={.spec.traffic}']);
    assert.deepEqual(
      (JSON.parse(traffic.stdout) as Array<{ revisionName?: string; percent?: number }>).map((t) => [
        t.revisionName,
        t.percent,
      ]),
      [['hello-00002', 100]],
    );

    // Real requests with the controller's token outside my-team: refused with kube-apiserver's 403 message.
    const sa = (args: string[]) => kubectl(saKubeconfig, cache, args);
    const forbidden: Array<[string[], string]> = [
      [
        // (kubectl patch reads the object first, so a refused patch shows as a refused get.)
        ['patch', 'ksvc', 'hello', '-n', 'default', '--type=merge', '-p', '{"metadata":{"labels":{"x":"y"}}}'],
        `services.serving.knative.dev "hello" is forbidden: User "${SA}" cannot get resource "services" in API group "serving.knative.dev" in the namespace "default"`,
      ],
      [
        ['get', 'rollouts.delivery.sluice.dev', '--all-namespaces'],
        `rollouts.delivery.sluice.dev is forbidden: User "${SA}" cannot list resource "rollouts" in API group "delivery.sluice.dev" at the cluster scope`,
      ],
      [
        ['get', 'secret', 'anything', '-n', 'default'],
        `secrets "anything" is forbidden: User "${SA}" cannot get resource "secrets" in API group "" in the namespace "default"`,
      ],
    ];
    for (const [args, message] of forbidden) {
      const r = await sa(args);
      assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} as ${SA} must fail`);
      assert.ok(r.stderr.includes(message), `kubectl ${args.join(' ')}: want «${message}» in:\n${r.stderr}`);
    }

    // The same Service and policy in default became Ready too, and the controller never looked at them.
    await waitFor('default/hello Ready', async () => {
      const s = (await client.tryGet(R.services, 'default', 'hello')) as
        { status?: { conditions?: Array<{ type: string; status: string }> } } | undefined;
      return s?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
    assert.equal(await client.tryGet(R.rollouts, 'default', 'hello'), undefined, 'no Rollout outside my-team');
    const log = controller.output();
    assert.doesNotMatch(log, /\b403\b|forbidden/i, 'no request of the controller was refused');
    const lease = await client.tryGet(R.leases, NS, 'sluice-controller');
    assert.ok(lease, `the Lease is in ${NS}`);
  } finally {
    await controller?.stop();
    await serving?.stop();
  }
});
