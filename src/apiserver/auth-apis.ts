// The request-scoped authentication and authorization APIs kube-apiserver serves without storing anything:
// TokenRequest (`POST …/serviceaccounts/NAME/token`, `kubectl create token`), SelfSubjectAccessReview
// (`kubectl auth can-i`), SubjectAccessReview and LocalSubjectAccessReview (can *someone else* …), and
// SelfSubjectReview (`kubectl auth whoami`). Each answers 201 with the request echoed and a status.
import type { Authenticator, UserInfo } from './authn.js';
import type { RbacAuthorizer } from './authorizer.js';
import type { RequestAttributes } from './rbac.js';
import type { Store } from './store.js';
import { resourceId } from './store.js';
import { errors, StatusError } from './status.js';
import { isRecord } from './types.js';
import type { ResourceType } from './registry.js';

/** kube-apiserver's default and bounds for TokenRequest.spec.expirationSeconds. */
export const DEFAULT_TOKEN_SECONDS = 3600;
export const MIN_TOKEN_SECONDS = 600;
const MAX_TOKEN_SECONDS = 2 ** 32;

const AUTHZ = 'authorization.k8s.io';
const AUTHN = 'authentication.k8s.io';

/** The review kinds, for discovery (create only; nothing is stored). */
export function reviewTypes(): ResourceType[] {
  const t = (group: string, kind: string, plural: string, namespaced = false): ResourceType => ({
    group,
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: [],
    categories: [],
    verbs: ['create'],
    statusSubresource: false,
    builtin: true,
    hasGeneration: false,
    printerColumns: [],
  });
  return [
    t(AUTHZ, 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
    t(AUTHZ, 'SubjectAccessReview', 'subjectaccessreviews'),
    t(AUTHZ, 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true),
    t(AUTHN, 'SelfSubjectReview', 'selfsubjectreviews'),
  ];
}

export interface AuthApiResult {
  code: number;
  body: unknown;
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** SubjectAccessReviewSpec's attributes → RBAC request attributes for `user`. */
function reviewAttributes(spec: Record<string, unknown>, user: UserInfo, kind: string): RequestAttributes {
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  if (isRecord(ra)) {
    return {
      user,
      verb: str(ra.verb),
      resourceRequest: true,
      apiGroup: str(ra.group),
      apiVersion: str(ra.version),
      resource: str(ra.resource),
      subresource: str(ra.subresource),
      namespace: str(ra.namespace),
      name: str(ra.name),
      path: '',
    };
  }
  if (isRecord(nra)) {
    return {
      user,
      verb: str(nra.verb),
      resourceRequest: false,
      apiGroup: '',
      apiVersion: '',
      resource: '',
      subresource: '',
      namespace: '',
      name: '',
      path: str(nra.path),
    };
  }
  throw errors.invalid(kind, AUTHZ, '', [
    {
      field: 'spec.resourceAttributes',
      reason: 'FieldValueRequired',
      message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
    },
  ]);
}

export class AuthApis {
  constructor(
    private readonly authn: Authenticator,
    private readonly authz: RbacAuthorizer,
    private readonly store: Store,
  ) {}

  /**
   * Serves `path` if it is one of these APIs (the request is already authorized for it), else undefined.
   * `body` reads and parses the request body.
   */
  async serve(
    method: string,
    path: string,
    user: UserInfo,
    nowMs: number,
    body: () => Promise<unknown>,
  ): Promise<AuthApiResult | undefined> {
    const tok = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(path);
    const review =
      /^\/apis\/(authorization\.k8s\.io|authentication\.k8s\.io)\/v1\/(?:namespaces\/([^/]+)\/)?(selfsubjectaccessreviews|subjectaccessreviews|localsubjectaccessreviews|selfsubjectreviews)$/.exec(
        path,
      );
    if (!tok && !review) return undefined;
    if (method !== 'POST') throw errors.methodNotAllowed(method.toLowerCase(), path);
    const raw = await body();
    if (!isRecord(raw)) throw errors.badRequest('the request body must be a JSON or YAML object');
    if (tok) return this.#token(decodeURIComponent(tok[1]!), decodeURIComponent(tok[2]!), raw, nowMs);
    const [, group, ns, plural] = review as unknown as [string, string, string | undefined, string];
    if ((group === AUTHN) !== (plural === 'selfsubjectreviews')) throw errors.resourceNotFound(path);
    if ((plural === 'localsubjectaccessreviews') !== (ns !== undefined)) throw errors.resourceNotFound(path);
    const spec = isRecord(raw.spec) ? raw.spec : {};
    const meta = { creationTimestamp: timestamp(nowMs) };
    switch (plural) {
      case 'selfsubjectreviews':
        return {
          code: 201,
          body: {
            kind: 'SelfSubjectReview',
            apiVersion: `${AUTHN}/v1`,
            metadata: meta,
            status: {
              userInfo: {
                username: user.username,
                ...(user.uid ? { uid: user.uid } : {}),
                groups: user.groups,
                ...(user.extra ? { extra: user.extra } : {}),
              },
            },
          },
        };
      case 'selfsubjectaccessreviews':
        return this.#review('SelfSubjectAccessReview', meta, spec, user);
      default: {
        const kind = plural === 'subjectaccessreviews' ? 'SubjectAccessReview' : 'LocalSubjectAccessReview';
        const subject: UserInfo = {
          username: str(spec.user),
          groups: Array.isArray(spec.groups) ? spec.groups.filter((g): g is string => typeof g === 'string') : [],
          ...(str(spec.uid) ? { uid: str(spec.uid) } : {}),
        };
        if (!subject.username && subject.groups.length === 0)
          throw errors.invalid(kind, AUTHZ, '', [
            {
              field: 'spec.user',
              reason: 'FieldValueRequired',
              message: 'Required value: at least one of user or group must be specified',
            },
          ]);
        if (ns !== undefined) {
          const ra = isRecord(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
          if (ra && str(ra.namespace) !== ns)
            throw errors.invalid(kind, AUTHZ, '', [
              {
                field: 'spec.resourceAttributes.namespace',
                reason: 'FieldValueInvalid',
                message: `Invalid value: ${JSON.stringify(str(ra.namespace))}: must match metadata.namespace`,
              },
            ]);
        }
        return this.#review(kind, { ...meta, ...(ns !== undefined ? { namespace: ns } : {}) }, spec, subject);
      }
    }
  }

  #review(
    kind: string,
    metadata: Record<string, string>,
    spec: Record<string, unknown>,
    user: UserInfo,
  ): AuthApiResult {
    const d = this.authz.decide(reviewAttributes(spec, user, kind));
    return {
      code: 201,
      body: {
        kind,
        apiVersion: `${AUTHZ}/v1`,
        metadata,
        spec,
        status: { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) },
      },
    };
  }

  #token(ns: string, name: string, raw: Record<string, unknown>, nowMs: number): AuthApiResult {
    const sa = this.store.get(resourceId('', 'serviceaccounts'), ns, name);
    if (!sa) throw errors.notFound('serviceaccounts', '', name);
    const spec = isRecord(raw.spec) ? raw.spec : {};
    const exp =
      spec.expirationSeconds === undefined || spec.expirationSeconds === null
        ? DEFAULT_TOKEN_SECONDS
        : spec.expirationSeconds;
    const invalid = (message: string, value: unknown): StatusError =>
      errors.invalid('TokenRequest', AUTHN, name, [
        {
          field: 'spec.expirationSeconds',
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
        },
      ]);
    if (typeof exp !== 'number' || !Number.isInteger(exp)) throw invalid('must be an integer number of seconds', exp);
    if (exp < MIN_TOKEN_SECONDS) throw invalid('may not specify a duration less than 10 minutes', exp);
    if (exp > MAX_TOKEN_SECONDS) throw invalid('may not specify a duration larger than 2^32 seconds', exp);
    const audiences = Array.isArray(spec.audiences)
      ? spec.audiences.filter((a): a is string => typeof a === 'string')
      : [];
    const { token, claims } = this.authn.mint(
      { namespace: ns, name, uid: sa.metadata.uid ?? '' },
      audiences,
      nowMs,
      exp,
    );
    return {
      code: 201,
      body: {
        kind: 'TokenRequest',
        apiVersion: `${AUTHN}/v1`,
        metadata: { name, namespace: ns, creationTimestamp: timestamp(nowMs) },
        spec: { audiences: claims.aud, expirationSeconds: exp, boundObjectRef: null },
        status: { token, expirationTimestamp: timestamp(claims.exp * 1000) },
      },
    };
  }
}
