// The dashboard's HTTP surface under /dashboard on the brain's port:
//   GET  /dashboard/?token=T            redeem a one-time login token → session cookie, 303 to /dashboard/
//   GET  /dashboard/                    the page (401 and the sign-in form without a session)
//   POST /dashboard/login               token=BEARER (form): sign in as that Kubernetes user (SelfSubjectReview)
//   POST /dashboard/logout              end the session (CSRF header)
//   GET  /dashboard/api/access/NS/N     what the signed-in user may do to one rollout (SelfSubjectAccessReview)
//   GET  /dashboard/app.js|app.css      its script and styles (served here: no CDN, works offline)
//   GET  /dashboard/api/rollouts        the fleet rows
//   GET  /dashboard/api/rollouts/NS/N   one rollout's view
//   GET  /dashboard/api/events[?rollout=NS/N]   Server-Sent Events (ids, Last-Event-ID resume, keep-alives)
//   POST /dashboard/api/rollouts/NS/N/{promote|promote-full|pause|resume|abort|retry}   {reason?}
// No GET mutates. Every response carries the CSP; every POST needs the session, a same-origin Origin and the
// session's CSRF header; --read-only refuses them all. A session signed in with a bearer token sees only the
// namespaces it may list rollouts in, and acts with its own token, so the API server's RBAC authorizes each
// action (user-access.ts); the one-time-login session is the local admin's and acts with the dashboard's client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeApiError, type KubeClient } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import { appendRolloutCommand, REASON_MAX } from '../rollout/controller/commands.js';
import {
  COOKIE,
  LoginRedeemer,
  SESSION_TTL_MS,
  cookieValue,
  csrfMatches,
  csrfOf,
  loadOrCreateKey,
  mintLoginToken,
  mintSession,
  verifySession,
  type SessionClaims,
} from './auth.js';
import { DashboardError, DashboardErrorCode as C } from './errors.js';
import { RolloutHub, type HubEvent } from './hub.js';
import { checkOrigin, CSP, hostAllowed, isLoopback, securityHeaders } from './security.js';
import {
  asAccessError,
  openToken,
  parseBearer,
  sealToken,
  UserAccess,
  type ResourceAttributes,
} from './user-access.js';
import { ACTION_COMMAND, ACTION_NAMES, actionsOf, type ActionName, type FleetRow } from './view.js';

export interface DashboardOptions {
  client: KubeClient;
  /** Where the signing key and the used-token list live (the data directory). */
  dataDir: string;
  /** index.html, app.js, app.css. */
  assetsDir: string;
  /** The address the brain listens on (loopback: only loopback Host headers are served). */
  host: string;
  port: number;
  readOnly: boolean;
  now: () => number;
  log: Logger;
  /** SSE keep-alive comment interval (default 15 s, as argoproj/pkg does). */
  keepAliveMs?: number;
  coalesceMs?: number;
  /** How long a per-user access decision is reused (default ACCESS_TTL_MS). */
  accessTtlMs?: number;
  /** Show only this namespace's rollouts (a controller with a namespaced Role). */
  namespace?: string;
}

export interface Dashboard {
  /** true when the request was under /dashboard and has been answered. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** A fresh login URL for `user` on `baseUrl` (the controller URL). */
  loginUrl(baseUrl: string, user: string): string;
  readonly hub: RolloutHub;
  readonly access: UserAccess;
  /** Open SSE connections. */
  readonly streams: number;
  close(): void;
}

const BODY_LIMIT = 4096;
const ROLLOUTS = { group: 'delivery.sluice.dev', resource: 'rollouts' } as const;
/** Sessions ended by logout, until they would have expired (bounded: the oldest go first). */
const REVOKED_MAX = 10_000;

/** Who a request is: the session, and for a token session the bearer token it acts with. */
interface Caller {
  s: SessionClaims;
  token?: string;
}
const VERBS: Record<string, ActionName> = {
  promote: 'Promote',
  'promote-full': 'Promote full',
  pause: 'Pause',
  resume: 'Resume',
  abort: 'Abort',
  retry: 'Retry',
};
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function startDashboard(o: DashboardOptions): Dashboard {
  const key = loadOrCreateKey(o.dataDir);
  const redeemer = new LoginRedeemer(key, o.dataDir, o.now());
  const access = new UserAccess({
    base: o.client,
    now: o.now,
    ...(o.accessTtlMs !== undefined ? { ttlMs: o.accessTtlMs } : {}),
  });
  const revoked = new Map<string, number>();
  const hub = new RolloutHub({
    client: o.client,
    now: o.now,
    log: o.log,
    ...(o.coalesceMs ? { coalesceMs: o.coalesceMs } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
  });
  hub.ready.catch((e: unknown) => o.log.warn({ err: String(e) }, 'dashboard cache failed to start'));
  const assets = new Map<string, { type: string; body: Buffer }>([
    ['app.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(o.assetsDir, 'app.js')) }],
    ['app.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(o.assetsDir, 'app.css')) }],
  ]);
  const indexHtml = readFileSync(join(o.assetsDir, 'index.html'), 'utf8');
  const streams = new Set<ServerResponse>();
  const keepAlive = setInterval(() => {
    for (const s of streams) s.write(':\n\n');
  }, o.keepAliveMs ?? 15_000);
  keepAlive.unref();

  const send = (
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    extra: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { ...securityHeaders(), 'Content-Type': type, ...extra });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, v: unknown): void =>
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(v));
  const fail = (res: ServerResponse, e: DashboardError): void =>
    json(res, e.status, { code: e.code, message: e.message });

  const session = (req: IncomingMessage): Caller | null => {
    const v = cookieValue(req.headers.cookie, COOKIE);
    const s = v ? verifySession(key, v, o.now()) : null;
    if (!s || revoked.has(s.sid)) return null;
    if (s.tok === undefined) return { s };
    const token = openToken(key, s.tok);
    return token ? { s, token } : null;
  };
  const cookieHeader = (value: string, maxAgeS: number): string =>
    `${COOKIE}=${value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}`;

  // The sign-in page posts a plain form to /dashboard/login: its CSP allows that one form target.
  const signInCsp = CSP.replace("form-action 'none'", "form-action 'self'");
  const unauthenticatedPage = (res: ServerResponse, why: string, status = 401): void =>
    send(
      res,
      status,
      'text/html; charset=utf-8',
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>Sluice — sign in</title><link rel="icon" href="data:,"></head><body><main><h1>Sign in to the Sluice dashboard</h1><p role="alert">${escapeHtml(why)}</p>` +
        `<h2>With a Kubernetes token</h2><form method="post" action="/dashboard/login"><p><label for="token">Bearer token (e.g. from <code>kubectl create token NAME</code>); you act as that user, within its RBAC roles</label></p><p><textarea id="token" name="token" rows="4" cols="60" maxlength="4096" autocomplete="off" spellcheck="false" required></textarea></p><p><button type="submit">Sign in</button></p></form>` +
        `<h2>As the local administrator</h2><p>Run <code>sluice dashboard</code> and open the URL it prints.</p></main></body></html>`,
      // With no-referrer, Chromium sends `Origin: null` on a form POST; same-origin keeps the real Origin (which
      // the login checks) and still sends nothing to other sites.
      { 'Content-Security-Policy': signInCsp, 'Referrer-Policy': 'same-origin' },
    );

  const page = (res: ServerResponse, c: Caller): void => {
    const html = indexHtml
      .replace('{{csrf}}', csrfOf(key, c.s))
      .replace('{{readOnly}}', o.readOnly ? 'true' : 'false')
      .replace('{{auth}}', c.token ? 'token' : 'admin')
      .replace('{{user}}', escapeHtml(c.s.user));
    send(res, 200, 'text/html; charset=utf-8', html);
  };

  /** For a token session, whether the API server allows `a` to that user; the local admin may do anything. */
  const may = async (c: Caller, a: ResourceAttributes): Promise<boolean> =>
    c.token === undefined ? true : access.can(c.token, a);
  const mayList = (c: Caller, namespace: string): Promise<boolean> => may(c, { verb: 'list', ...ROLLOUTS, namespace });
  const visibleRows = async (c: Caller, rows: FleetRow[]): Promise<FleetRow[]> => {
    if (c.token === undefined) return rows;
    const nss = [...new Set(rows.map((r) => r.namespace))];
    const ok = new Set<string>();
    await Promise.all(nss.map(async (ns) => (await mayList(c, ns)) && ok.add(ns)));
    return rows.filter((r) => ok.has(r.namespace));
  };
  const mustGet = async (c: Caller, ns: string, name: string): Promise<void> => {
    if (!(await may(c, { verb: 'get', ...ROLLOUTS, namespace: ns, name })))
      throw new DashboardError(C.Forbidden, 403, `${c.s.user} may not get rollouts in namespace ${ns} (RBAC)`);
  };

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const origin = checkOrigin(req.headers.origin, req.headers.host);
    if (!origin.ok) throw new DashboardError(C.CrossOrigin, 403, origin.reason);
    const body = await readBody(req, 2 * BODY_LIMIT);
    const type = String(req.headers['content-type'] ?? '');
    const field = type.startsWith('application/json')
      ? (() => {
          try {
            const t = (JSON.parse(body) as { token?: unknown } | null)?.token;
            return typeof t === 'string' ? t : '';
          } catch {
            return '';
          }
        })()
      : (new URLSearchParams(body).get('token') ?? '');
    let token: string;
    try {
      token = parseBearer(field);
    } catch (e) {
      return unauthenticatedPage(res, e instanceof Error ? e.message : String(e), 400);
    }
    let who;
    try {
      who = await access.whoami(token);
    } catch (e) {
      if (e instanceof DashboardError) return unauthenticatedPage(res, e.message, e.status);
      throw e;
    }
    o.log.info({ user: who.username }, 'dashboard sign-in with a bearer token');
    const cookie = cookieHeader(mintSession(key, who.username, o.now(), sealToken(key, token)), SESSION_TTL_MS / 1000);
    send(res, 303, 'text/plain', '', { Location: '/dashboard/', 'Set-Cookie': cookie });
  };

  const sse = (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    rolloutKey: string | undefined,
    c: Caller,
  ): void => {
    res.writeHead(200, {
      ...securityHeaders(),
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    streams.add(res);
    const write = (e: HubEvent): void => {
      res.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${e.data}\n\n`);
    };
    // EventSource sends Last-Event-ID on its own reconnects; a page reopening the stream (tab shown again)
    // passes it in the query, as EventSource cannot set headers.
    const header = req.headers['last-event-id'];
    const last = typeof header === 'string' ? header : (url.searchParams.get('lastEventId') ?? undefined);
    // A token session's fleet stream carries only the namespaces it may list. Checks are cached, but may wait
    // for the API server: a chain keeps the events in order.
    let chain = Promise.resolve();
    const send = !c.token
      ? write
      : (e: HubEvent): void => {
          chain = chain
            .then(async () => {
              if (e.event === 'snapshot') {
                const rows = await visibleRows(c, JSON.parse(e.data) as FleetRow[]);
                write({ ...e, data: JSON.stringify(rows) });
              } else if (rolloutKey !== undefined || (await mayList(c, (e.key ?? '').split('/')[0] ?? ''))) write(e);
            })
            .catch((err: unknown) => {
              o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'dashboard access check failed');
              if (err instanceof DashboardError && err.status === 401) res.end();
            });
        };
    const unsubscribe = hub.subscribe({ ...(rolloutKey ? { key: rolloutKey } : {}), send }, last);
    const end = (): void => {
      unsubscribe();
      streams.delete(res);
    };
    req.on('close', end);
    res.on('error', end);
  };

  const act = async (
    req: IncomingMessage,
    res: ServerResponse,
    c: Caller,
    ns: string,
    name: string,
    verb: string,
  ): Promise<void> => {
    const action = VERBS[verb];
    if (!action)
      throw new DashboardError(
        C.NotFound,
        404,
        `no action "${verb.slice(0, 40)}"; use one of ${Object.keys(VERBS).join(', ')}`,
      );
    const body = await readBody(req);
    let reason: string | undefined;
    if (body.length > 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new DashboardError(C.BadRequest, 400, 'the body must be JSON: {"reason": "..."}');
      }
      const r = (parsed as { reason?: unknown } | null)?.reason;
      if (r !== undefined && typeof r !== 'string')
        throw new DashboardError(C.BadRequest, 400, 'reason: must be a string');
      if (typeof r === 'string' && r.length > REASON_MAX)
        throw new DashboardError(C.BadRequest, 400, `reason: at most ${REASON_MAX} characters`);
      reason = typeof r === 'string' && r.trim() ? r.trim() : undefined;
    }
    // Someone who may not even read the rollout learns nothing about it (not its phase from a 409).
    await mustGet(c, ns, name);
    const ro = hub.rollout(`${ns}/${name}`);
    if (!ro) throw new DashboardError(C.NotFound, 404, `rollout ${ns}/${name} not found`);
    const view = actionsOf(ro).find((a) => a.name === action);
    if (view && !view.enabled) throw new DashboardError(C.Conflict, 409, view.why ?? `${action} is not possible now`);
    const cmd = ACTION_COMMAND[action];
    // A token session writes with the user's own token: the API server's RBAC (verb patch) decides.
    const client = c.token === undefined ? o.client : access.clientFor(c.token);
    try {
      const seq = await appendRolloutCommand(client, ns, name, {
        kind: cmd.kind,
        ...(cmd.full ? { full: true } : {}),
        by: `${c.s.user} (dashboard)`,
        ...(reason ? { reason } : {}),
      });
      o.log.info({ rollout: `${ns}/${name}`, action: verb, user: c.s.user, seq }, 'dashboard action');
      json(res, 202, { seq, action: verb, rollout: `${ns}/${name}` });
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 403)
        throw new DashboardError(C.Forbidden, 403, `the API server refused ${verb} on ${ns}/${name}: ${e.message}`);
      throw asAccessError(e, `${verb} ${ns}/${name}`);
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (!hostAllowed(req.headers.host, o.host))
      throw new DashboardError(C.CrossOrigin, 403, `host ${String(req.headers.host).slice(0, 100)} is not served here`);
    if (path === '/dashboard') {
      send(res, 308, 'text/plain', '', { Location: `/dashboard/${url.search}` });
      return;
    }
    if (path === '/dashboard/' && method === 'GET') {
      const token = url.searchParams.get('token');
      if (token) {
        const claims = redeemer.redeem(token, o.now());
        if (!claims) {
          const s = session(req);
          if (s) return void send(res, 303, 'text/plain', '', { Location: '/dashboard/' });
          return unauthenticatedPage(res, 'This login link was already used or has expired.');
        }
        const cookie = cookieHeader(mintSession(key, claims.user, o.now()), SESSION_TTL_MS / 1000);
        return send(res, 303, 'text/plain', '', { Location: '/dashboard/', 'Set-Cookie': cookie });
      }
      const s = session(req);
      if (!s) return unauthenticatedPage(res, 'You are not signed in (no valid session cookie).');
      return page(res, s);
    }
    if (path === '/dashboard/login') {
      if (method !== 'POST') return unauthenticatedPage(res, 'Sign in with a token or a login URL.');
      return login(req, res);
    }
    const s = session(req);
    if (!s)
      throw new DashboardError(
        C.Unauthenticated,
        401,
        'not signed in: run `sluice dashboard` and open the URL it prints',
      );
    if (path === '/dashboard/logout' && method === 'POST') {
      const origin = checkOrigin(req.headers.origin, req.headers.host);
      if (!origin.ok) throw new DashboardError(C.CrossOrigin, 403, origin.reason);
      const h = req.headers['x-sluice-csrf'];
      if (!csrfMatches(key, s.s, typeof h === 'string' ? h : undefined))
        throw new DashboardError(C.Csrf, 403, 'missing or wrong X-Sluice-CSRF header: reload the page');
      // The cookie is stateless: remember the session as ended until it would have expired anyway.
      revoked.set(s.s.sid, s.s.exp);
      const now = o.now();
      for (const [sid, exp] of revoked) if (exp < now || revoked.size > REVOKED_MAX) revoked.delete(sid);
      return send(res, 204, 'text/plain', '', { 'Set-Cookie': cookieHeader('', 0) });
    }
    const asset = /^\/dashboard\/(app\.js|app\.css)$/.exec(path);
    if (asset && method === 'GET') {
      const a = assets.get(asset[1] ?? '');
      if (a) return send(res, 200, a.type, a.body);
    }
    if (method === 'GET') {
      if (path === '/dashboard/api/rollouts')
        return json(res, 200, { id: hub.lastId, readOnly: o.readOnly, rows: await visibleRows(s, hub.rows()) });
      if (path === '/dashboard/api/events') {
        const k = url.searchParams.get('rollout') ?? undefined;
        if (k !== undefined && !validKey(k))
          throw new DashboardError(C.BadRequest, 400, 'rollout: expected NAMESPACE/NAME');
        if (k !== undefined) {
          const [ns = '', name = ''] = k.split('/');
          await mustGet(s, ns, name);
        }
        return sse(req, res, url, k, s);
      }
      const acc = /^\/dashboard\/api\/access\/([^/]+)\/([^/]+)$/.exec(path);
      if (acc) {
        const [, ns = '', name = ''] = acc;
        if (!NAME.test(ns) || !NAME.test(name)) throw new DashboardError(C.BadRequest, 400, 'bad namespace or name');
        // Every action is a patch of the Rollout (spec.commands), so one review answers for all six buttons.
        const patch = !o.readOnly && (await may(s, { verb: 'patch', ...ROLLOUTS, namespace: ns, name }));
        return json(res, 200, {
          rollout: `${ns}/${name}`,
          user: s.s.user,
          auth: s.token ? 'token' : 'admin',
          readOnly: o.readOnly,
          patch,
          actions: patch ? ACTION_NAMES : [],
        });
      }
      const one = /^\/dashboard\/api\/rollouts\/([^/]+)\/([^/]+)$/.exec(path);
      if (one) {
        await mustGet(s, one[1] ?? '', one[2] ?? '');
        const v = hub.view(`${one[1]}/${one[2]}`);
        if (!v) throw new DashboardError(C.NotFound, 404, `rollout ${one[1]}/${one[2]} not found`);
        return json(res, 200, { ...v, readOnly: o.readOnly });
      }
    }
    const post = /^\/dashboard\/api\/rollouts\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (post) {
      if (method !== 'POST') {
        res.setHeader('Allow', 'POST');
        throw new DashboardError(C.BadRequest, 405, 'actions are POST only');
      }
      const origin = checkOrigin(req.headers.origin, req.headers.host);
      if (!origin.ok) throw new DashboardError(C.CrossOrigin, 403, origin.reason);
      const h = req.headers['x-sluice-csrf'];
      if (!csrfMatches(key, s.s, typeof h === 'string' ? h : undefined))
        throw new DashboardError(C.Csrf, 403, 'missing or wrong X-Sluice-CSRF header: reload the page');
      if (o.readOnly)
        throw new DashboardError(C.ReadOnly, 403, 'the dashboard is read-only (--read-only): actions are refused');
      const [, ns = '', name = '', verb = ''] = post;
      if (!NAME.test(ns) || !NAME.test(name)) throw new DashboardError(C.BadRequest, 400, 'bad namespace or name');
      return act(req, res, s, ns, name, verb);
    }
    throw new DashboardError(C.NotFound, 404, `no page ${path.slice(0, 200)}`);
  };

  return {
    hub,
    access,
    get streams() {
      return streams.size;
    },
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
      if (url.pathname !== '/dashboard' && !url.pathname.startsWith('/dashboard/')) return false;
      route(req, res, url).catch((e: unknown) => {
        if (res.headersSent) return void res.end();
        if (e instanceof DashboardError) return fail(res, e);
        o.log.warn({ err: e instanceof Error ? e.message : String(e), path: url.pathname }, 'dashboard request failed');
        json(res, 500, { code: 'SLUICE_ERR_DASHBOARD_INTERNAL', message: e instanceof Error ? e.message : String(e) });
      });
      return true;
    },
    loginUrl(baseUrl, user) {
      return `${baseUrl.replace(/\/$/, '')}/dashboard/?token=${mintLoginToken(key, user, o.now())}`;
    },
    close() {
      clearInterval(keepAlive);
      for (const s of streams) s.end();
      streams.clear();
      hub.close();
    },
  };
}

function validKey(k: string): boolean {
  const i = k.indexOf('/');
  return i > 0 && NAME.test(k.slice(0, i)) && NAME.test(k.slice(i + 1));
}

function readBody(req: IncomingMessage, limit = BODY_LIMIT): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new DashboardError(C.BadRequest, 413, `body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export { isLoopback };
