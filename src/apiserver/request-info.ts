// What a request asks for, in RBAC's terms, as kube-apiserver's RequestInfoFactory reads it from the method,
// path and query: verb (get/list/watch/create/update/patch/delete/deletecollection), API group and version,
// resource, subresource, namespace and name; or a non-resource path. Pure.
import type { UserInfo } from './authn.js';
import type { RequestAttributes } from './rbac.js';

/** Namespace subresources: `/api/v1/namespaces/NS/status` is the namespace's status, not a resource "status". */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const METHOD_VERBS: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** A single path segment a name can be (kube-apiserver's path.IsValidPathSegmentName). */
function validSegmentName(s: string): boolean {
  return s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('%');
}

/** The name a list or watch is narrowed to by `fieldSelector=metadata.name=X` (RBAC's resourceNames apply). */
function exactName(fieldSelector: string | null): string {
  if (!fieldSelector) return '';
  for (const term of fieldSelector.split(',')) {
    const m = /^\s*metadata\.name\s*(==?)\s*(.*?)\s*$/.exec(term);
    if (m && validSegmentName(m[2]!)) return m[2]!;
  }
  return '';
}

export function requestAttributes(
  method: string,
  path: string,
  query: URLSearchParams,
  user: UserInfo,
): RequestAttributes {
  const base: RequestAttributes = {
    user,
    verb: method.toLowerCase(),
    resourceRequest: false,
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    path,
  };
  const segs = path.split('/').filter(Boolean);
  let parts: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    base.apiVersion = segs[1]!;
    parts = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    base.apiGroup = segs[1]!;
    base.apiVersion = segs[2]!;
    parts = segs.slice(3);
  } else {
    // /version, /api, /apis/GROUP/VERSION (discovery), /openapi/…, /healthz: non-resource URLs.
    return { ...base, apiGroup: '', apiVersion: '' };
  }
  const verb = METHOD_VERBS[method.toUpperCase()];
  if (!verb) return { ...base, apiGroup: '', apiVersion: '' };
  const a: RequestAttributes = { ...base, resourceRequest: true, verb };
  if (parts[0] === 'namespaces' && parts.length > 1) {
    a.namespace = parts[1]!;
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
  }
  a.resource = parts[0] ?? '';
  a.name = parts[1] ?? '';
  a.subresource = parts[2] ?? '';
  if (a.name === '' && a.verb === 'get') {
    const watch = query.get('watch');
    a.verb = watch === 'true' || watch === '1' ? 'watch' : 'list';
    a.name = exactName(query.get('fieldSelector'));
  }
  if (a.name === '' && a.verb === 'delete') a.verb = 'deletecollection';
  return a;
}
