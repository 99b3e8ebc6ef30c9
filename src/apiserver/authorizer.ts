// RBAC over the store: keeps a snapshot of Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, rebuilt
// only when one of them changes (a store watch marks it stale), so a request pays for a few map lookups and
// the rule walk, not for listing bindings. Also the impersonation check (`kubectl --as`), and the default
// cluster roles kube-apiserver bootstraps (cluster-admin, system:discovery, system:basic-user, …).
import type { Store } from './store.js';
import { resourceId } from './store.js';
import type { KObject } from './types.js';
import { isRecord } from './types.js';
import { StatusError } from './status.js';
import { SYSTEM_AUTHENTICATED, type UserInfo } from './authn.js';
import {
  authorize,
  forbiddenMessage,
  type BindingLike,
  type Decision,
  type RbacPolicy,
  type RequestAttributes,
  type RoleLike,
} from './rbac.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
const RBAC_RESOURCES = ['clusterroles', 'roles', 'clusterrolebindings', 'rolebindings'] as const;

function asRole(o: KObject): RoleLike {
  return { metadata: o.metadata, rules: Array.isArray(o.rules) ? (o.rules as RoleLike['rules']) : [] };
}

function asBinding(o: KObject): BindingLike | undefined {
  if (!isRecord(o.roleRef)) return undefined;
  return {
    metadata: o.metadata,
    roleRef: o.roleRef as unknown as BindingLike['roleRef'],
    subjects: Array.isArray(o.subjects) ? (o.subjects as BindingLike['subjects']) : [],
  };
}

export class RbacAuthorizer {
  #store: Store;
  #policy: RbacPolicy | undefined;
  #unwatch: Array<() => void> = [];

  constructor(store: Store) {
    this.#store = store;
    for (const r of RBAC_RESOURCES) {
      this.#unwatch.push(
        store.watch(
          { resource: resourceId(RBAC_GROUP, r), namespace: '', send: () => (this.#policy = undefined) },
          store.resourceVersion,
        ),
      );
    }
  }

  close(): void {
    for (const u of this.#unwatch) u();
  }

  /** The policy as stored now (rebuilt after any RBAC write). */
  policy(): RbacPolicy {
    if (this.#policy) return this.#policy;
    const s = this.#store;
    const p: RbacPolicy = {
      clusterRoles: new Map(),
      roles: new Map(),
      clusterRoleBindings: [],
      roleBindings: new Map(),
    };
    for (const o of s.list(resourceId(RBAC_GROUP, 'clusterroles'), ''))
      p.clusterRoles.set(o.metadata.name ?? '', asRole(o));
    for (const o of s.list(resourceId(RBAC_GROUP, 'roles'), '')) {
      const ns = o.metadata.namespace ?? '';
      if (!p.roles.has(ns)) p.roles.set(ns, new Map());
      p.roles.get(ns)!.set(o.metadata.name ?? '', asRole(o));
    }
    for (const o of s.list(resourceId(RBAC_GROUP, 'clusterrolebindings'), '')) {
      const b = asBinding(o);
      if (b) p.clusterRoleBindings.push(b);
    }
    for (const o of s.list(resourceId(RBAC_GROUP, 'rolebindings'), '')) {
      const b = asBinding(o);
      if (!b) continue;
      const ns = o.metadata.namespace ?? '';
      p.roleBindings.set(ns, [...(p.roleBindings.get(ns) ?? []), b]);
    }
    this.#policy = p;
    return p;
  }

  decide(a: RequestAttributes): Decision {
    return authorize(a, this.policy());
  }

  /** Throws kube-apiserver's 403 Status unless the request is allowed. */
  check(a: RequestAttributes): void {
    const d = this.decide(a);
    if (!d.allowed) throw forbidden(a, d.reason);
  }

  /**
   * `Impersonate-User` / `Impersonate-Group` / `Impersonate-Uid` headers (kubectl --as, --as-group,
   * --as-uid): the requester needs `impersonate` on users, serviceaccounts, groups and uids; the request then
   * runs as the impersonated user. Returns the requester when nothing is impersonated.
   */
  impersonate(requester: UserInfo, headers: Record<string, string | string[] | undefined>): UserInfo {
    const one = (h: string): string | undefined => {
      const v = headers[h];
      return Array.isArray(v) ? v[0] : v;
    };
    const many = (h: string): string[] => {
      const v = headers[h];
      return v === undefined ? [] : Array.isArray(v) ? v : v.split(',').map((x) => x.trim());
    };
    const username = one('impersonate-user');
    const groups = many('impersonate-group');
    const uid = one('impersonate-uid');
    if (username === undefined) {
      if (groups.length > 0 || uid !== undefined)
        throw new StatusError(
          500,
          'InternalError',
          'Internal error occurred: requested impersonation of groups or uid without a user',
        );
      return requester;
    }
    const attrs = (resource: string, name: string, group = '', namespace = ''): RequestAttributes => ({
      user: requester,
      verb: 'impersonate',
      resourceRequest: true,
      apiGroup: group,
      apiVersion: '',
      resource,
      subresource: '',
      namespace,
      name,
      path: '',
    });
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
    this.check(sa ? attrs('serviceaccounts', sa[2]!, '', sa[1]!) : attrs('users', username));
    for (const g of groups) this.check(attrs('groups', g));
    if (uid !== undefined) this.check(attrs('uids', uid, 'authentication.k8s.io'));
    let gs = [...groups];
    if (gs.length === 0 && sa) gs = ['system:serviceaccounts', `system:serviceaccounts:${sa[1]!}`];
    if (username !== 'system:anonymous' && !gs.includes(SYSTEM_AUTHENTICATED) && !gs.includes('system:unauthenticated'))
      gs.push(SYSTEM_AUTHENTICATED);
    return { username, groups: gs, ...(uid !== undefined ? { uid } : {}) };
  }
}

export function forbidden(a: RequestAttributes, reason: string): StatusError {
  return new StatusError(403, 'Forbidden', forbiddenMessage(a, reason), {
    ...(a.name ? { name: a.name } : {}),
    group: a.apiGroup,
    kind: a.resource,
  });
}

/** The cluster roles and bindings kube-apiserver creates at start (bootstrappolicy), the ones kubectl relies on. */
export function bootstrapPolicy(): KObject[] {
  const role = (name: string, rules: unknown[]): KObject => ({
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: {
      name,
      labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
      annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
    },
    rules,
  });
  const binding = (name: string, groups: string[]): KObject => ({
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: {
      name,
      labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
      annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
    subjects: groups.map((g) => ({ apiGroup: RBAC_GROUP, kind: 'Group', name: g })),
  });
  const info = ['/healthz', '/livez', '/readyz', '/version', '/version/'];
  return [
    role('cluster-admin', [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ]),
    binding('cluster-admin', ['system:masters']),
    role('system:discovery', [
      { nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', ...info], verbs: ['get'] },
    ]),
    binding('system:discovery', [SYSTEM_AUTHENTICATED]),
    role('system:public-info-viewer', [{ nonResourceURLs: info, verbs: ['get'] }]),
    binding('system:public-info-viewer', [SYSTEM_AUTHENTICATED, 'system:unauthenticated']),
    role('system:basic-user', [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
      { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
    ]),
    binding('system:basic-user', [SYSTEM_AUTHENTICATED]),
  ];
}
