// RBAC with the real kubectl: ServiceAccounts and `kubectl create token` (expiry: 401 once past it), roles and
// bindings applied from YAML, `kubectl auth can-i --as=…` per row, the same rows as real requests with the
// service account's token (kube-apiserver's exact 403 text), `kubectl auth whoami`, SubjectAccessReview, and
// impersonation refused to a non-admin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { ManualClock } from '../src/util/clock.js';
import { ROOT, kubectl, tempDir, removeDir, helloServiceYaml } from './support/procs.js';

let api: RunningApiServer;
let dir: string;
let cache: string;
let token: string;
const clock = new ManualClock(Date.now());
const k = (args: string[], input?: string) => kubectl(api.kubeconfigPath, cache, args, input);
const asSa = (args: string[], input?: string) => k(['--token', token, ...args], input);
const SA = 'system:serviceaccount:sluice-system:sluice';

const RBAC = `apiVersion: v1
kind: Namespace
metadata: {name: sluice-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sluice, namespace: sluice-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: knative-reader}
rules:
  - apiGroups: [serving.knative.dev]
    resources: [services, revisions]
    verbs: [get, list, watch]
  - apiGroups: [delivery.sluice.dev]
    resources: [rollouts/status]
    verbs: [update, patch]
  - nonResourceURLs: [/metrics]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sluice-reads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: knative-reader}
subjects: [{kind: ServiceAccount, name: sluice, namespace: sluice-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: hooks-secret, namespace: default}
rules:
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [hooks]
    verbs: [get]
  - apiGroups: [""]
    resources: [events]
    verbs: [create, deletecollection]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sluice-hooks, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: hooks-secret}
subjects: [{kind: ServiceAccount, name: sluice, namespace: sluice-system}]
`;

before(async () => {
  dir = await tempDir('sluice-rbac-');
  cache = join(dir, 'kubectl-cache');
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
    clock,
  });
  const r = await k(['apply', '-f', '-'], RBAC);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await k(['apply', '-f', '-'], helloServiceYaml('World'))).code, 0);
  const t = await k(['create', 'token', 'sluice', '-n', 'sluice-system', '--duration=20m']);
  assert.equal(t.code, 0, t.stderr);
  token = t.stdout.trim();
});
after(async () => {
  await api.close();
  await removeDir(dir);
});

interface Row {
  name: string;
  verb: string;
  resource: string;
  ns?: string;
  sub?: string;
  want: boolean;
  /** The same request made with the token; `forbidden` is the exact Status message when denied. */
  request?: string[];
  forbidden?: string;
}
const rows: Row[] = [
  {
    name: 'get ksvc by ClusterRoleBinding',
    verb: 'get',
    resource: 'ksvc',
    want: true,
    request: ['get', 'ksvc', 'hello', '-o', 'name'],
  },
  { name: 'watch ksvc', verb: 'watch', resource: 'ksvc', want: true },
  {
    name: 'list revisions in every namespace',
    verb: 'list',
    resource: 'revisions',
    ns: '--all-namespaces',
    want: true,
  },
  {
    name: 'patch ksvc is not granted',
    verb: 'patch',
    resource: 'ksvc',
    want: false,
    request: ['patch', 'ksvc', 'hello', '--type=merge', '-p', '{"metadata":{"labels":{"a":"b"}}}'],
    forbidden: `Error from server (Forbidden): services.serving.knative.dev "hello" is forbidden: User "${SA}" cannot patch resource "services" in API group "serving.knative.dev" in the namespace "default"`,
  },
  { name: 'routes are not in the rule', verb: 'get', resource: 'routes.serving.knative.dev', want: false },
  {
    name: 'rollouts/status subresource',
    verb: 'update',
    resource: 'rollouts.delivery.sluice.dev',
    sub: 'status',
    want: true,
  },
  {
    name: 'rollouts/status does not grant rollouts',
    verb: 'update',
    resource: 'rollouts.delivery.sluice.dev',
    want: false,
  },
  { name: 'the secret named in resourceNames', verb: 'get', resource: 'secrets/hooks', want: true },
  {
    name: 'another secret',
    verb: 'get',
    resource: 'secrets/db',
    want: false,
    request: ['get', 'secret', 'db'],
    forbidden: `Error from server (Forbidden): secrets "db" is forbidden: User "${SA}" cannot get resource "secrets" in API group "" in the namespace "default"`,
  },
  {
    name: 'listing secrets is not getting one',
    verb: 'list',
    resource: 'secrets',
    want: false,
    request: ['get', 'secrets'],
    forbidden: `Error from server (Forbidden): secrets is forbidden: User "${SA}" cannot list resource "secrets" in API group "" in the namespace "default"`,
  },
  { name: 'deletecollection from the Role', verb: 'deletecollection', resource: 'events', want: true },
  {
    name: 'the Role does not reach another namespace',
    verb: 'create',
    resource: 'events',
    ns: '-n=kube-system',
    want: false,
  },
  { name: 'a granted nonResourceURL', verb: 'get', resource: '/metrics', want: true },
  { name: 'discovery for every authenticated user', verb: 'get', resource: '/apis', want: true },
];

for (const r of rows) {
  test(`kubectl auth can-i --as=${SA}: ${r.name}`, async () => {
    const sub = r.sub ? [`--subresource=${r.sub}`] : [];
    const res = await k(['auth', 'can-i', r.verb, r.resource, ...sub, `--as=${SA}`, r.ns ?? '-n=default']);
    assert.equal(res.stdout.trim(), r.want ? 'yes' : 'no', res.stderr);
    assert.equal(res.code, r.want ? 0 : 1);
    // The token's own view agrees with the admin's impersonated one.
    const self = await asSa(['auth', 'can-i', r.verb, r.resource, ...sub, r.ns ?? '-n=default']);
    assert.equal(self.stdout.trim(), r.want ? 'yes' : 'no', self.stderr);
    if (r.request) {
      const q = await asSa(r.request);
      if (r.want) assert.equal(q.code, 0, q.stderr);
      else {
        assert.notEqual(q.code, 0);
        assert.equal(q.stderr.trim(), r.forbidden);
      }
    }
  });
}

test('kubectl auth whoami: the admin is system:masters, the token is the ServiceAccount', async () => {
  const admin = await k(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}']);
  assert.equal(admin.code, 0, admin.stderr);
  assert.match(admin.stdout, /system:masters/);
  const me = await asSa(['auth', 'whoami']);
  assert.match(me.stdout, new RegExp(`Username\\s+${SA}`));
  assert.match(
    me.stdout,
    /Groups\s+\[system:serviceaccounts system:serviceaccounts:sluice-system system:authenticated\]/,
  );
});

test('SubjectAccessReview answers for another user, with the binding as the reason', async () => {
  const sar = JSON.stringify({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: SA,
      resourceAttributes: { namespace: 'default', verb: 'get', group: '', resource: 'secrets', name: 'hooks' },
    },
  });
  const r = await k(['create', '-f', '-', '-o', 'jsonpath={.status.allowed} {.status.reason}'], sar);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'true RBAC: allowed by RoleBinding "sluice-hooks/default" of Role "hooks-secret" to ServiceAccount "sluice/sluice-system"',
  );
  // The ServiceAccount may not ask about others (no create on subjectaccessreviews).
  const denied = await asSa(['create', '-f', '-'], sar);
  assert.match(
    denied.stderr,
    /subjectaccessreviews\.authorization\.k8s\.io is forbidden: User ".*" cannot create resource "subjectaccessreviews" in API group "authorization\.k8s\.io" at the cluster scope/,
  );
});

test('only those allowed to impersonate may use --as', async () => {
  const r = await asSa(['get', 'ksvc', '--as=bob']);
  assert.notEqual(r.code, 0);
  assert.equal(
    r.stderr.trim(),
    `Error from server (Forbidden): users "bob" is forbidden: User "${SA}" cannot impersonate resource "users" in API group "" at the cluster scope`,
  );
});

test('unknown and expired tokens get 401; kubectl create token enforces the 10 minute minimum', async () => {
  const bogus = await k(['--token', 'not-a-token', 'get', 'ksvc']);
  assert.match(bogus.stderr, /You must be logged in to the server \(Unauthorized\)/);
  const short = await k(['create', 'token', 'sluice', '-n', 'sluice-system', '--duration=1m']);
  assert.match(
    short.stderr,
    /spec\.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/,
  );
  const missing = await k(['create', 'token', 'nobody', '-n', 'sluice-system']);
  assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
    exp: number;
    iat: number;
    sub: string;
  };
  assert.equal(claims.exp - claims.iat, 20 * 60, '--duration=20m');
  assert.equal(claims.sub, SA);
  clock.advance(20 * 60 * 1000 + 1000);
  const expired = await asSa(['get', 'ksvc', 'hello']);
  assert.match(expired.stderr, /You must be logged in to the server \(Unauthorized\)/);
  assert.equal((await k(['get', 'ksvc', 'hello', '-o', 'name'])).code, 0, 'the admin token does not expire');
});

test('kubectl apply -k deploy/ installs the controller as written: RBAC, ServiceAccount, apps/v1 Deployment, Service', async () => {
  const r = await k(['apply', '-k', join(ROOT, 'deploy')]);
  assert.equal(r.code, 0, r.stderr);
  for (const line of [
    'clusterrole.rbac.authorization.k8s.io/sluice created',
    'clusterrolebinding.rbac.authorization.k8s.io/sluice created',
    'deployment.apps/sluice created',
    'service/sluice created',
  ])
    assert.ok(r.stdout.includes(line), `${line} in:\n${r.stdout}`);
  const img = await k([
    'get',
    'deploy',
    'sluice',
    '-n',
    'sluice-system',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  ]);
  assert.equal(img.stdout, 'sluice:dev', img.stderr);
  // The ServiceAccount now holds the controller's role: patching a Knative Service is allowed.
  const can = await k(['auth', 'can-i', 'patch', 'ksvc', `--as=${SA}`]);
  assert.equal(can.stdout.trim(), 'yes');
  // Least privilege by default: the --prune rights (deploy/prune.yaml) are not part of the kustomization, and
  // alert Secrets are readable (by name) only in the namespace bound to sluice-alert-secrets.
  assert.doesNotMatch(r.stdout, /sluice-prune/);
  assert.ok(r.stdout.includes('rolebinding.rbac.authorization.k8s.io/sluice-alert-secrets created'), r.stdout);
  for (const [verb, res, ns, want] of [
    ['delete', 'services.serving.knative.dev', '-A', 'no'],
    ['delete', 'rolloutpolicies.delivery.sluice.dev', '-A', 'no'],
    ['list', 'configmaps', '-A', 'no'],
    ['get', 'secrets', '-A', 'no'],
    ['get', 'secrets', '--namespace=kube-system', 'no'],
    ['get', 'secrets', '--namespace=default', 'yes'],
    ['list', 'secrets', '--namespace=default', 'no'],
  ]) {
    const c = await k(['auth', 'can-i', verb!, res!, ns!, `--as=${SA}`]);
    assert.equal(c.stdout.trim(), want, `${verb} ${res} ${ns}`);
  }
  const pr = await k(['apply', '-f', join(ROOT, 'deploy', 'prune.yaml')]);
  assert.equal(pr.code, 0, pr.stderr);
  const del = await k(['auth', 'can-i', 'delete', 'services.serving.knative.dev', '-A', `--as=${SA}`]);
  assert.equal(del.stdout.trim(), 'yes', 'deploy/prune.yaml grants delete');
  assert.equal(
    (await k(['apply', '-k', join(ROOT, 'deploy')])).stdout.includes('deployment.apps/sluice unchanged'),
    true,
  );
});
