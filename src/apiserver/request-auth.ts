// The one hook the HTTP layer calls per request, in kube-apiserver's filter order: authenticate (401),
// impersonate (403 unless allowed to), authorize (403 with kube-apiserver's message), then the auth APIs that
// answer without storing anything. The HTTP layer passes the resulting user to admission.
import type { IncomingMessage } from 'node:http';
import { Authenticator, Unauthenticated, type UserInfo } from './authn.js';
import { RbacAuthorizer } from './authorizer.js';
import { AuthApis, type AuthApiResult } from './auth-apis.js';
import { requestAttributes } from './request-info.js';
import { errors } from './status.js';
import type { Store } from './store.js';
import type { Clock } from '../util/clock.js';

export class RequestAuth {
  readonly authn: Authenticator;
  readonly authz: RbacAuthorizer;
  #apis: AuthApis;
  #clock: Clock;

  constructor(authn: Authenticator, store: Store, clock: Clock) {
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
    this.authz.check(requestAttributes(req.method ?? 'GET', url.pathname, url.searchParams, user));
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
