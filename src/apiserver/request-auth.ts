// The one hook the HTTP layer calls per request, in kube-apiserver's filter order: authenticate (401),
// impersonate (403 unless allowed to), authorize (403 with kube-apiserver's message), then the auth APIs that
// answer without storing anything. The HTTP layer passes the resulting user to admission.
import type { IncomingMessage } from 'node:http';
import { Authenticator, Unauthenticated, type UserInfo } from './authn.js';
import { RbacAuthorizer, forbidden } from './authorizer.js';
import { AuthApis, type AuthApiResult } from './auth-apis.js';
import { requestAttributes } from './request-info.js';
import { errors } from './status.js';
import type { Store } from './store.js';
import type { Clock } from '../util/clock.js';
import type { RequestAttributes } from './rbac.js';

/** Called once per authenticated request with the authorization decision (the audit log). */
export type AuditSink = (a: RequestAttributes, allowed: boolean, requestURI: string) => void;

export class RequestAuth {
  readonly authn: Authenticator;
  readonly authz: RbacAuthorizer;
  #apis: AuthApis;
  #clock: Clock;
  #audit: AuditSink | undefined;

  constructor(authn: Authenticator, store: Store, clock: Clock, audit?: AuditSink) {
    this.#audit = audit;
    this.authn = authn;
    this.authz = new RbacAuthorizer(store);
    this.#apis = new AuthApis(authn, this.authz, store);
    this.#clock = clock;
  }

  /** The user the request acts as, once it may; throws a 401 or 403 Status otherwise. */
  admit(req: IncomingMessage, url: URL): UserInfo {
    let user: UserInfo;
    try {
      user = this.authn.authenticate(req.headers.authorization, this.#clock.now());
    } catch (e) {
      if (e instanceof Unauthenticated) throw errors.unauthorized();
      throw e;
    }
    user = this.authz.impersonate(user, req.headers);
    const a = requestAttributes(req.method ?? 'GET', url.pathname, url.searchParams, user);
    if (!this.#audit) {
      this.authz.check(a);
      return user;
    }
    const d = this.authz.decide(a);
    this.#audit(a, d.allowed, req.url ?? '');
    if (!d.allowed) throw forbidden(a, d.reason);
    return user;
  }

  /** TokenRequest, access reviews and SelfSubjectReview; undefined for every other path. */
  serve(
    method: string,
    path: string,
    user: UserInfo,
    body: () => Promise<unknown>,
  ): Promise<AuthApiResult | undefined> {
    return this.#apis.serve(method, path, user, this.#clock.now(), body);
  }

  close(): void {
    this.authz.close();
  }
}

/**
 * An audit sink writing one JSON line per request, in the shape of kube-apiserver's audit.k8s.io/v1 Event at
 * level Metadata (user, verb, objectRef, the authorization decision). Lines are buffered by the stream.
 */
export function auditLine(a: RequestAttributes, allowed: boolean, requestURI: string, nowMs: number): string {
  return (
    JSON.stringify({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      stage: 'RequestReceived',
      requestURI,
      verb: a.verb,
      user: { username: a.user.username, groups: a.user.groups },
      ...(a.resourceRequest
        ? {
            objectRef: {
              resource: a.resource,
              ...(a.subresource ? { subresource: a.subresource } : {}),
              ...(a.namespace ? { namespace: a.namespace } : {}),
              ...(a.name ? { name: a.name } : {}),
              apiGroup: a.apiGroup,
              apiVersion: a.apiVersion,
            },
          }
        : {}),
      requestReceivedTimestamp: new Date(nowMs).toISOString(),
      annotations: { 'authorization.k8s.io/decision': allowed ? 'allow' : 'forbid' },
    }) + '\n'
  );
}
