// Role-based access control as kube-apiserver's RBAC authorizer decides it (plugin/pkg/auth/authorizer/rbac):
// pure functions from (request attributes, roles, bindings) to allow / no opinion, with the reason text
// kube-apiserver gives. No I/O here: `RbacPolicy` is a snapshot of the four RBAC kinds, taken by the caller.
import type { UserInfo } from './authn.js';

/** What is being asked, as kube-apiserver's RequestInfo + user (authorizer.Attributes). */
export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** Resource requests. */
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** Non-resource requests: the URL path. */
  path: string;
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export interface RoleLike {
  metadata: { name?: string; namespace?: string };
  rules?: PolicyRule[];
}

export interface BindingLike {
  metadata: { name?: string; namespace?: string };
  roleRef: RoleRef;
  subjects?: Subject[];
}

/** A snapshot of the RBAC objects. Roles and role bindings are keyed by namespace. */
export interface RbacPolicy {
  clusterRoles: Map<string, RoleLike>;
  roles: Map<string, Map<string, RoleLike>>;
  clusterRoleBindings: BindingLike[];
  roleBindings: Map<string, BindingLike[]>;
}

export interface Decision {
  allowed: boolean;
  /** kube-apiserver's reason: `RBAC: allowed by …`, or the errors met on the way (missing roles). */
  reason: string;
}

export const SYSTEM_MASTERS = 'system:masters';
const ALL = '*';

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.some((v) => v === ALL || v === verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === ALL || g === group);
}

/**
 * `resource` matches `resource` (no subresource), `resource/sub` matches a subresource request, `*` matches
 * everything and `*\/sub` matches that subresource of any resource. `pods` does not match `pods/log`.
 */
export function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === ALL || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

/** An empty resourceNames list allows every name; a list allows only those (never a request with no name). */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return names.includes(name);
}

/** `*`, an exact path, or a prefix ending in `*` (`/apis/*`). */
export function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === ALL || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))) return true;
  }
  return false;
}

export function ruleAllows(a: RequestAttributes, rule: PolicyRule): boolean {
  if (a.resourceRequest) {
    return (
      verbMatches(rule, a.verb) &&
      apiGroupMatches(rule, a.apiGroup) &&
      resourceMatches(rule, a.resource, a.subresource) &&
      resourceNameMatches(rule, a.name)
    );
  }
  return verbMatches(rule, a.verb) && nonResourceUrlMatches(rule, a.path);
}

/** `system:serviceaccount:NS:NAME`, the user name of a ServiceAccount's tokens. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * Whether a binding's subject names this user. A ServiceAccount subject without a namespace takes the
 * binding's (RoleBindings only); Group subjects match any of the user's groups.
 */
export function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return user.username === s.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns !== '' && user.username === serviceAccountUsername(ns, s.name);
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

/**
 * kube-apiserver's order: the privileged group, then ClusterRoleBindings, then the RoleBindings of the
 * request's namespace. The first rule that allows wins; a binding to a missing role is an error that goes
 * into the reason when nothing allows.
 */
export function authorize(a: RequestAttributes, p: RbacPolicy): Decision {
  if (a.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
  const errs: string[] = [];
  for (const b of p.clusterRoleBindings) {
    const s = (b.subjects ?? []).find((x) => subjectMatches(x, a.user, ''));
    if (!s) continue;
    if (b.roleRef.kind !== 'ClusterRole') continue;
    const role = p.clusterRoles.get(b.roleRef.name);
    if (!role) {
      errs.push(`clusterrole.rbac.authorization.k8s.io "${b.roleRef.name}" not found`);
      continue;
    }
    if ((role.rules ?? []).some((r) => ruleAllows(a, r)))
      return {
        allowed: true,
        reason: `RBAC: allowed by ClusterRoleBinding ${JSON.stringify(b.metadata.name ?? '')} of ClusterRole ${JSON.stringify(b.roleRef.name)} to ${describeSubject(s, '')}`,
      };
  }
  if (a.namespace) {
    for (const b of p.roleBindings.get(a.namespace) ?? []) {
      const s = (b.subjects ?? []).find((x) => subjectMatches(x, a.user, a.namespace));
      if (!s) continue;
      const role =
        b.roleRef.kind === 'ClusterRole'
          ? p.clusterRoles.get(b.roleRef.name)
          : b.roleRef.kind === 'Role'
            ? p.roles.get(a.namespace)?.get(b.roleRef.name)
            : undefined;
      if (!role) {
        errs.push(
          b.roleRef.kind === 'Role'
            ? `role.rbac.authorization.k8s.io "${b.roleRef.name}" not found`
            : `clusterrole.rbac.authorization.k8s.io "${b.roleRef.name}" not found`,
        );
        continue;
      }
      if ((role.rules ?? []).some((r) => ruleAllows(a, r)))
        return {
          allowed: true,
          reason: `RBAC: allowed by RoleBinding ${JSON.stringify(`${b.metadata.name ?? ''}/${a.namespace}`)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(s, a.namespace)}`,
        };
    }
  }
  return { allowed: false, reason: errs.length > 0 ? `RBAC: [${errs.join(', ')}]` : '' };
}

/**
 * kube-apiserver's 403 text (staging/.../endpoints/handlers/responsewriters/errors.go, forbiddenMessage and
 * apierrors.NewForbidden): `services.serving.knative.dev "hello" is forbidden: User "u" cannot patch resource
 * "services" in API group "serving.knative.dev" in the namespace "default"`.
 */
export function forbiddenMessage(a: RequestAttributes, reason: string): string {
  let msg: string;
  if (!a.resourceRequest)
    msg = `User ${JSON.stringify(a.user.username)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  else {
    const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const where = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope';
    msg = `User ${JSON.stringify(a.user.username)} cannot ${a.verb} resource ${JSON.stringify(res)} in API group ${JSON.stringify(a.apiGroup)} ${where}`;
  }
  if (reason) msg = `${msg}: ${reason}`;
  if (!a.resourceRequest) return `forbidden: ${msg}`;
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  return a.name ? `${qualified} ${JSON.stringify(a.name)} is forbidden: ${msg}` : `${qualified} is forbidden: ${msg}`;
}
