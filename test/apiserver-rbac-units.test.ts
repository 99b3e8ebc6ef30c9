// RBAC as kube-apiserver decides it, table-driven: the rule matcher (verbs, apiGroups, resources,
// subresources, resourceNames, `*`, nonResourceURLs), request attributes read from method/path/query, the
// binding walk (ClusterRoleBindings, RoleBindings to Roles and ClusterRoles, missing roles), the exact 403
// text, and ServiceAccount tokens (expiry, revocation by deleting the account).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  authorize,
  forbiddenMessage,
  ruleAllows,
  type PolicyRule,
  type RbacPolicy,
  type RequestAttributes,
} from '../src/apiserver/rbac.js';
import { requestAttributes } from '../src/apiserver/request-info.js';
import { Authenticator, Unauthenticated, serviceAccountUser, type UserInfo } from '../src/apiserver/authn.js';
import { Store } from '../src/apiserver/store.js';
import { tempDir, removeDir } from './support/procs.js';

const sa = serviceAccountUser('sluice-system', 'sluice', 'uid-1');
const bob: UserInfo = { username: 'bob', groups: ['devs', 'system:authenticated'] };

function res(verb: string, resource: string, o: Partial<RequestAttributes> = {}): RequestAttributes {
  return {
    user: sa,
    verb,
    resourceRequest: true,
    apiGroup: '',
    apiVersion: 'v1',
    resource,
    subresource: '',
    namespace: 'default',
    name: '',
    path: '',
    ...o,
  };
}
const nonRes = (verb: string, path: string): RequestAttributes => ({
  ...res(verb, ''),
  resourceRequest: false,
  namespace: '',
  apiVersion: '',
  path,
});

interface RuleCase {
  name: string;
  rule: PolicyRule;
  attrs: RequestAttributes;
  want: boolean;
}
const KS = 'serving.knative.dev';
const ruleCases: RuleCase[] = [
  {
    name: 'exact verb, group and resource',
    rule: { verbs: ['patch'], apiGroups: [KS], resources: ['services'] },
    attrs: res('patch', 'services', { apiGroup: KS }),
    want: true,
  },
  {
    name: 'other verb',
    rule: { verbs: ['get'], apiGroups: [KS], resources: ['services'] },
    attrs: res('patch', 'services', { apiGroup: KS }),
    want: false,
  },
  {
    name: 'other group',
    rule: { verbs: ['get'], apiGroups: [''], resources: ['services'] },
    attrs: res('get', 'services', { apiGroup: KS }),
    want: false,
  },
  {
    name: 'core group is ""',
    rule: { verbs: ['get'], apiGroups: [''], resources: ['configmaps'] },
    attrs: res('get', 'configmaps'),
    want: true,
  },
  {
    name: 'verb *',
    rule: { verbs: ['*'], apiGroups: [KS], resources: ['services'] },
    attrs: res('deletecollection', 'services', { apiGroup: KS }),
    want: true,
  },
  {
    name: 'group * and resource *',
    rule: { verbs: ['list'], apiGroups: ['*'], resources: ['*'] },
    attrs: res('list', 'rollouts', { apiGroup: 'delivery.sluice.dev' }),
    want: true,
  },
  {
    name: 'watch is its own verb',
    rule: { verbs: ['get', 'list'], apiGroups: [KS], resources: ['routes'] },
    attrs: res('watch', 'routes', { apiGroup: KS }),
    want: false,
  },
  {
    name: 'resource does not grant its subresource',
    rule: { verbs: ['update'], apiGroups: ['d'], resources: ['rollouts'] },
    attrs: res('update', 'rollouts', { apiGroup: 'd', subresource: 'status' }),
    want: false,
  },
  {
    name: 'resource/subresource grants it',
    rule: { verbs: ['update'], apiGroups: ['d'], resources: ['rollouts/status'] },
    attrs: res('update', 'rollouts', { apiGroup: 'd', subresource: 'status' }),
    want: true,
  },
  {
    name: 'subresource does not grant the resource',
    rule: { verbs: ['update'], apiGroups: ['d'], resources: ['rollouts/status'] },
    attrs: res('update', 'rollouts', { apiGroup: 'd' }),
    want: false,
  },
  {
    name: "*/subresource grants any resource's",
    rule: { verbs: ['get'], apiGroups: [''], resources: ['*/status'] },
    attrs: res('get', 'namespaces', { subresource: 'status' }),
    want: true,
  },
  {
    name: '* grants subresources too',
    rule: { verbs: ['create'], apiGroups: [''], resources: ['*'] },
    attrs: res('create', 'serviceaccounts', { subresource: 'token', name: 'x' }),
    want: true,
  },
  {
    name: 'resourceNames: a listed name',
    rule: { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['hooks'] },
    attrs: res('get', 'secrets', { name: 'hooks' }),
    want: true,
  },
  {
    name: 'resourceNames: another name',
    rule: { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['hooks'] },
    attrs: res('get', 'secrets', { name: 'db' }),
    want: false,
  },
  {
    name: 'resourceNames: a list has no name',
    rule: { verbs: ['list'], apiGroups: [''], resources: ['secrets'], resourceNames: ['hooks'] },
    attrs: res('list', 'secrets'),
    want: false,
  },
  {
    name: 'nonResourceURLs exact',
    rule: { verbs: ['get'], nonResourceURLs: ['/version'] },
    attrs: nonRes('get', '/version'),
    want: true,
  },
  {
    name: 'nonResourceURLs prefix *',
    rule: { verbs: ['get'], nonResourceURLs: ['/apis/*'] },
    attrs: nonRes('get', '/apis/serving.knative.dev/v1'),
    want: true,
  },
  {
    name: 'nonResourceURLs prefix is not a parent',
    rule: { verbs: ['get'], nonResourceURLs: ['/apis/*'] },
    attrs: nonRes('get', '/apis'),
    want: false,
  },
  {
    name: 'nonResourceURLs other verb',
    rule: { verbs: ['get'], nonResourceURLs: ['*'] },
    attrs: nonRes('post', '/version'),
    want: false,
  },
  {
    name: 'a resource rule never grants a path',
    rule: { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
    attrs: nonRes('get', '/metrics'),
    want: false,
  },
];
for (const c of ruleCases) test(`rbac rule: ${c.name}`, () => assert.equal(ruleAllows(c.attrs, c.rule), c.want));

interface InfoCase {
  name: string;
  method: string;
  url: string;
  want: Partial<RequestAttributes>;
}
const infoCases: InfoCase[] = [
  {
    name: 'get one object',
    method: 'GET',
    url: '/apis/serving.knative.dev/v1/namespaces/default/services/hello',
    want: {
      verb: 'get',
      apiGroup: KS,
      resource: 'services',
      namespace: 'default',
      name: 'hello',
      resourceRequest: true,
    },
  },
  {
    name: 'list',
    method: 'GET',
    url: '/apis/serving.knative.dev/v1/namespaces/default/services?limit=500',
    want: { verb: 'list', name: '' },
  },
  {
    name: 'list across namespaces',
    method: 'GET',
    url: '/apis/serving.knative.dev/v1/services',
    want: { verb: 'list', namespace: '' },
  },
  {
    name: 'watch',
    method: 'GET',
    url: '/apis/serving.knative.dev/v1/namespaces/default/services?watch=true',
    want: { verb: 'watch' },
  },
  {
    name: 'watch one by field selector takes its name',
    method: 'GET',
    url: '/api/v1/namespaces/x/secrets?watch=1&fieldSelector=metadata.name%3Dhooks',
    want: { verb: 'watch', name: 'hooks', resource: 'secrets', apiGroup: '' },
  },
  {
    name: 'create',
    method: 'POST',
    url: '/api/v1/namespaces/default/configmaps',
    want: { verb: 'create', resource: 'configmaps' },
  },
  {
    name: 'update status subresource',
    method: 'PUT',
    url: '/apis/delivery.sluice.dev/v1alpha1/namespaces/d/rollouts/web/status',
    want: { verb: 'update', resource: 'rollouts', subresource: 'status', name: 'web' },
  },
  {
    name: 'patch',
    method: 'PATCH',
    url: '/apis/coordination.k8s.io/v1/namespaces/s/leases/l',
    want: { verb: 'patch', apiGroup: 'coordination.k8s.io', resource: 'leases' },
  },
  {
    name: 'delete one',
    method: 'DELETE',
    url: '/api/v1/namespaces/default/events/e1',
    want: { verb: 'delete', name: 'e1' },
  },
  {
    name: 'delete a collection',
    method: 'DELETE',
    url: '/api/v1/namespaces/default/events',
    want: { verb: 'deletecollection' },
  },
  {
    name: 'a namespace is in its own namespace',
    method: 'GET',
    url: '/api/v1/namespaces/prod',
    want: { resource: 'namespaces', name: 'prod', namespace: 'prod' },
  },
  {
    name: 'namespace status',
    method: 'PUT',
    url: '/api/v1/namespaces/prod/status',
    want: { resource: 'namespaces', name: 'prod', subresource: 'status' },
  },
  {
    name: 'TokenRequest',
    method: 'POST',
    url: '/api/v1/namespaces/s/serviceaccounts/sluice/token',
    want: { verb: 'create', resource: 'serviceaccounts', subresource: 'token', name: 'sluice' },
  },
  {
    name: 'discovery is a path',
    method: 'GET',
    url: '/apis/serving.knative.dev/v1',
    want: { resourceRequest: false, verb: 'get', path: '/apis/serving.knative.dev/v1' },
  },
  { name: 'version is a path', method: 'GET', url: '/version', want: { resourceRequest: false, path: '/version' } },
];
for (const c of infoCases)
  test(`request attributes: ${c.name}`, () => {
    const u = new URL(c.url, 'https://x');
    const a = requestAttributes(c.method, u.pathname, u.searchParams, sa);
    for (const [k, v] of Object.entries(c.want)) assert.equal(a[k as keyof RequestAttributes], v, k);
  });

const policy: RbacPolicy = {
  clusterRoles: new Map([
    [
      'sluice',
      { metadata: { name: 'sluice' }, rules: [{ verbs: ['get', 'patch'], apiGroups: [KS], resources: ['services'] }] },
    ],
    [
      'reader',
      { metadata: { name: 'reader' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] }] },
    ],
  ]),
  roles: new Map([
    [
      'team',
      new Map([
        [
          'events',
          {
            metadata: { name: 'events', namespace: 'team' },
            rules: [{ verbs: ['create'], apiGroups: [''], resources: ['events'] }],
          },
        ],
      ]),
    ],
  ]),
  clusterRoleBindings: [
    {
      metadata: { name: 'sluice' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'sluice' },
      subjects: [{ kind: 'ServiceAccount', name: 'sluice', namespace: 'sluice-system' }],
    },
    {
      metadata: { name: 'dangling' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'gone' },
      subjects: [{ kind: 'Group', name: 'devs' }],
    },
  ],
  roleBindings: new Map([
    [
      'team',
      [
        {
          metadata: { name: 'sa-events', namespace: 'team' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'events' },
          subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
        },
        {
          metadata: { name: 'bob-reads', namespace: 'team' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' },
          subjects: [{ kind: 'User', name: 'bob' }],
        },
      ],
    ],
  ]),
};
interface AuthzCase {
  name: string;
  attrs: RequestAttributes;
  want: boolean;
  reason?: string;
}
const authzCases: AuthzCase[] = [
  {
    name: 'system:masters may do anything',
    attrs: res('delete', 'namespaces', { user: { username: 'a', groups: ['system:masters'] } }),
    want: true,
    reason: '',
  },
  {
    name: 'ClusterRoleBinding to a ServiceAccount',
    attrs: res('patch', 'services', { apiGroup: KS, name: 'hello' }),
    want: true,
    reason:
      'RBAC: allowed by ClusterRoleBinding "sluice" of ClusterRole "sluice" to ServiceAccount "sluice/sluice-system"',
  },
  {
    name: 'the same account, a verb it lacks',
    attrs: res('delete', 'services', { apiGroup: KS, name: 'hello' }),
    want: false,
    reason: '',
  },
  {
    name: "RoleBinding subject without a namespace takes the binding's",
    attrs: res('create', 'events', { namespace: 'team', user: serviceAccountUser('team', 'bot', 'u') }),
    want: true,
    reason: 'RBAC: allowed by RoleBinding "sa-events/team" of Role "events" to ServiceAccount "bot/team"',
  },
  {
    name: 'a RoleBinding grants nothing in another namespace',
    attrs: res('create', 'events', { namespace: 'other', user: serviceAccountUser('team', 'bot', 'u') }),
    want: false,
  },
  {
    name: 'a RoleBinding grants nothing at cluster scope',
    attrs: res('create', 'events', { namespace: '', user: serviceAccountUser('team', 'bot', 'u') }),
    want: false,
  },
  {
    name: 'RoleBinding to a ClusterRole applies in its namespace',
    attrs: res('get', 'configmaps', { namespace: 'team', user: bob }),
    want: true,
    reason: 'RBAC: allowed by RoleBinding "bob-reads/team" of ClusterRole "reader" to User "bob"',
  },
  {
    name: 'a binding to a missing role is the reason',
    attrs: res('get', 'pods', { user: bob }),
    want: false,
    reason: 'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found]',
  },
];
for (const c of authzCases)
  test(`rbac authorize: ${c.name}`, () => {
    const d = authorize(c.attrs, policy);
    assert.equal(d.allowed, c.want);
    if (c.reason !== undefined) assert.equal(d.reason, c.reason);
  });

interface MsgCase {
  name: string;
  attrs: RequestAttributes;
  want: string;
}
const msgCases: MsgCase[] = [
  {
    name: "named object in a namespace (the issue's example)",
    attrs: res('patch', 'services', { apiGroup: KS, name: 'hello' }),
    want: 'services.serving.knative.dev "hello" is forbidden: User "system:serviceaccount:sluice-system:sluice" cannot patch resource "services" in API group "serving.knative.dev" in the namespace "default"',
  },
  {
    name: 'a list: no name',
    attrs: res('list', 'secrets'),
    want: 'secrets is forbidden: User "system:serviceaccount:sluice-system:sluice" cannot list resource "secrets" in API group "" in the namespace "default"',
  },
  {
    name: 'a subresource at cluster scope',
    attrs: res('update', 'namespaces', { name: 'x', subresource: 'status', namespace: '' }),
    want: 'namespaces "x" is forbidden: User "system:serviceaccount:sluice-system:sluice" cannot update resource "namespaces/status" in API group "" at the cluster scope',
  },
  {
    name: 'a path',
    attrs: nonRes('get', '/metrics'),
    want: 'forbidden: User "system:serviceaccount:sluice-system:sluice" cannot get path "/metrics"',
  },
];
for (const c of msgCases) test(`403 message: ${c.name}`, () => assert.equal(forbiddenMessage(c.attrs, ''), c.want));

test('ServiceAccount tokens: valid until exp, 401 after, after the account is deleted, or when tampered with', async () => {
  const dir = await tempDir();
  try {
    const { store } = await Store.open({ dir: join(dir, 'store') });
    const authn = await Authenticator.open(dir, 'admin-token', store);
    const t0 = Date.UTC(2026, 0, 1);
    assert.deepEqual(authn.authenticate('Bearer admin-token', t0).groups, ['system:masters', 'system:authenticated']);
    await store.put('/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'sluice', namespace: 'ns', uid: 'u1' },
    });
    const { token } = authn.mint({ namespace: 'ns', name: 'sluice', uid: 'u1' }, [], t0, 600);
    assert.equal(authn.authenticate(`Bearer ${token}`, t0 + 599_000).username, 'system:serviceaccount:ns:sluice');
    assert.throws(() => authn.authenticate(`Bearer ${token}`, t0 + 600_000), Unauthenticated);
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), exp: 9e9 }),
    ).toString('base64url');
    assert.throws(
      () => authn.authenticate(`Bearer ${h}.${forged}.${s}`, t0),
      Unauthenticated,
      'a changed claim breaks the signature',
    );
    const other = authn.mint({ namespace: 'ns', name: 'sluice', uid: 'u1' }, ['vault'], t0, 600);
    assert.throws(
      () => authn.authenticate(`Bearer ${other.token}`, t0),
      Unauthenticated,
      'a token for another audience',
    );
    await store.delete('/serviceaccounts', 'ns', 'sluice');
    const fresh = authn.mint({ namespace: 'ns', name: 'sluice', uid: 'u1' }, [], t0, 600);
    assert.throws(() => authn.authenticate(`Bearer ${fresh.token}`, t0), Unauthenticated, 'the account is gone');
    assert.throws(() => authn.authenticate('Bearer nope', t0), Unauthenticated);
    assert.throws(() => authn.authenticate(undefined, t0), Unauthenticated);
    // The signing key survives a restart: tokens stay valid.
    await store.put('/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'sluice', namespace: 'ns', uid: 'u2' },
    });
    const again = authn.mint({ namespace: 'ns', name: 'sluice', uid: 'u2' }, [], t0, 600);
    const reopened = await Authenticator.open(dir, 'admin-token', store);
    assert.equal(reopened.authenticate(`Bearer ${again.token}`, t0).uid, 'u2');
    await store.close();
  } finally {
    await removeDir(dir);
  }
});
