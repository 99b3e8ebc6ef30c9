// The HTTP face of the API server: authentication, body limits, path routing, content negotiation
// (JSON, YAML bodies; Table output), list with selectors and pagination, and watch streams.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import type { Registry, ResourceType } from './registry.js';
import { groupVersion } from './registry.js';
import { resourceId, type Store, type StoreEvent } from './store.js';
import type { Resources, PatchType, WriteOptions, DeleteOptions } from './resources.js';
import { StatusError, errors } from './status.js';
import { isRecord, type KObject } from './types.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { toTable } from './table.js';
import { EXTRA_FIELD_SELECTORS } from './builtin.js';
import * as disc from './discovery.js';
import { decodeK8sProtobuf } from './protobuf.js';
import { LimitError, parseJsonBounded } from '../util/bounded-json.js';
import { YamlParser } from './yaml-offload.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface HttpOptions {
  token: string;
  tls: { certPem: string; keyPem: string };
  store: Store;
  registry: Registry;
  resources: Resources;
  clock: Clock;
  log: Logger;
  /** Interval of BOOKMARK events on watches that allow them. */
  bookmarkIntervalMs?: number;
}

interface Target {
  rt: ResourceType;
  namespace: string;
  name: string;
  subresource: string;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class ApiHttpServer {
  readonly server: Server;
  #o: HttpOptions;
  #tokenDigest: Buffer;
  #watches = new Set<ServerResponse>();
  readonly #yaml = new YamlParser();
  /**
   * The encoded watch lines of the event being fanned out, by event type and apiVersion: the store hands one
   * event to every watcher in turn, so it is serialized once rather than once per watcher. Only the latest
   * event is kept, so nothing is retained alongside the watch history.
   */
  #lineEvent: StoreEvent | undefined;
  #lines = new Map<string, string>();

  constructor(o: HttpOptions) {
    this.#o = o;
    this.#tokenDigest = digest(o.token);
    this.server = createServer({ cert: o.tls.certPem, key: o.tls.keyPem }, (req, res) => void this.#handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  async close(): Promise<void> {
    for (const w of this.#watches) w.end();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    await this.#yaml.close();
  }

  #authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m) return false;
    // Compare digests so the comparison is constant-time whatever the presented token's length.
    return timingSafeEqual(digest(m[1]!.trim()), this.#tokenDigest);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) return this.#text(res, 200, 'ok');
      if (!this.#authorized(req)) throw errors.unauthorized();
      await this.#route(req, res, url);
    } catch (e) {
      const se = e instanceof StatusError ? e : errors.internal(e instanceof Error ? e.message : String(e));
      if (!(e instanceof StatusError))
        this.#o.log.error({ err: e, method: req.method, path: url.pathname }, 'request failed');
      if (!res.headersSent) this.#json(res, se.code, se.toStatus());
      else res.end();
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const accept = req.headers.accept;
    const reg = this.#o.registry;
    if (req.method === 'GET') {
      if (p === '/version') return this.#json(res, 200, disc.versionInfo());
      if (p === '/api') {
        if (disc.wantsAggregated(accept)) return this.#json(res, 200, disc.aggregated(reg, true), disc.AGGREGATED_CT);
        return this.#json(res, 200, disc.legacyApiVersions(req.headers.host ?? ''));
      }
      if (p === '/apis') {
        if (disc.wantsAggregated(accept)) return this.#json(res, 200, disc.aggregated(reg, false), disc.AGGREGATED_CT);
        return this.#json(res, 200, disc.apiGroupList(reg));
      }
      if (p === '/openapi/v3') return this.#json(res, 200, disc.openapiRoot(reg));
      const oa = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(p);
      if (oa) {
        const [g, v] = oa[1] ? ['', 'v1'] : [oa[2]!, oa[3]!];
        return this.#json(res, 200, disc.openapiGroupVersion(reg, g, v));
      }
      if (p === '/api/v1') return this.#json(res, 200, disc.apiResourceList(reg, '', 'v1'));
      const gv = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p);
      if (gv) {
        const doc = disc.apiResourceList(reg, gv[1]!, gv[2]!);
        if (!doc) throw errors.resourceNotFound(p);
        return this.#json(res, 200, doc);
      }
      const g = /^\/apis\/([^/]+)$/.exec(p);
      if (g) {
        const vs = reg.groups().get(g[1]!);
        if (!vs) throw errors.resourceNotFound(p);
        return this.#json(res, 200, {
          kind: 'APIGroup',
          apiVersion: 'v1',
          name: g[1],
          versions: vs.map((v) => ({ groupVersion: `${g[1]}/${v}`, version: v })),
          preferredVersion: { groupVersion: `${g[1]}/${vs[0]}`, version: vs[0] },
        });
      }
    }
    const t = this.#target(p);
    if (!t) throw errors.resourceNotFound(p);
    const { rt, namespace, name, subresource } = t;
    if (subresource && !(subresource === 'status' && rt.statusSubresource)) throw errors.resourceNotFound(p);
    const q = url.searchParams;
    const wopts = (): WriteOptions => ({
      fieldManager: q.get('fieldManager') ?? managerFromAgent(req.headers['user-agent']),
      fieldValidation: (['Strict', 'Warn', 'Ignore'].includes(q.get('fieldValidation') ?? '')
        ? q.get('fieldValidation')
        : 'Warn') as WriteOptions['fieldValidation'],
      dryRun: q.get('dryRun') === 'All',
      subresource,
      user: req.headers['user-agent'] ?? '',
      warnings: [],
    });
    const r = this.#o.resources;
    const table = /as=Table/.test(accept ?? '');
    switch (req.method) {
      case 'GET': {
        if (name) {
          await this.#o.store.barrier();
          const o = r.get(rt, namespace, name);
          if (table)
            return this.#json(
              res,
              200,
              toTable(rt, [o], this.#o.clock.now(), q.get('includeObject'), {
                resourceVersion: o.metadata.resourceVersion ?? '',
              }),
            );
          return this.#json(res, 200, o);
        }
        if (q.get('watch') === 'true' || q.get('watch') === '1') return this.#watch(req, res, rt, namespace, q, table);
        return this.#list(res, rt, namespace, q, table);
      }
      case 'POST': {
        if (name) throw errors.methodNotAllowed('post', p);
        const opts = wopts();
        const body = await readBody(req);
        const o = await r.create(rt, namespace, await parseBody(this.#yaml, body, req.headers['content-type']), opts);
        return this.#json(res, 201, o, undefined, opts.warnings);
      }
      case 'PUT': {
        if (!name) throw errors.methodNotAllowed('put', p);
        const opts = wopts();
        const body = await readBody(req);
        const o = await r.update(
          rt,
          namespace,
          name,
          await parseBody(this.#yaml, body, req.headers['content-type']),
          opts,
        );
        return this.#json(res, 200, o, undefined, opts.warnings);
      }
      case 'PATCH': {
        if (!name) throw errors.methodNotAllowed('patch', p);
        const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const type: PatchType | undefined = (
          {
            'application/merge-patch+json': 'merge',
            'application/json-patch+json': 'json',
            'application/strategic-merge-patch+json': 'strategic',
            'application/apply-patch+yaml': 'apply',
            'application/apply-patch+json': 'apply',
          } as Record<string, PatchType>
        )[ct];
        if (!type)
          throw errors.notAcceptableMedia(
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${rt.builtin ? ', application/strategic-merge-patch+json' : ''}`,
          );
        const opts = { ...wopts(), force: q.get('force') === 'true' };
        if (type === 'apply') opts.fieldManager = q.get('fieldManager') ?? '';
        const body = await readBody(req);
        const parsed = await parseBody(this.#yaml, body, type === 'apply' ? 'application/yaml' : 'application/json');
        const o = await r.patch(rt, namespace, name, type, parsed, opts);
        return this.#json(res, 200, o, undefined, opts.warnings);
      }
      case 'DELETE': {
        const body = await readBody(req);
        const raw = body.length > 0 ? await parseBody(this.#yaml, body, req.headers['content-type']) : {};
        const dopts: DeleteOptions = {};
        const pp =
          (isRecord(raw) && typeof raw.propagationPolicy === 'string' ? raw.propagationPolicy : undefined) ??
          q.get('propagationPolicy') ??
          undefined;
        if (pp) {
          if (!['Background', 'Foreground', 'Orphan'].includes(pp))
            throw errors.badRequest(
              `propagationPolicy: Unsupported value: "${pp}": supported values: "Foreground", "Background", "Orphan"`,
            );
          dopts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
        }
        if (isRecord(raw) && raw.orphanDependents === true) dopts.propagationPolicy = 'Orphan';
        if (isRecord(raw) && isRecord(raw.preconditions))
          dopts.preconditions = raw.preconditions as DeleteOptions['preconditions'] & object;
        const dry =
          q.get('dryRun') === 'All' || (isRecord(raw) && Array.isArray(raw.dryRun) && raw.dryRun.includes('All'));
        if (!name) {
          // deletecollection
          await this.#o.store.barrier();
          const sel = parseLabelSelector(q.get('labelSelector'));
          const fsel = parseFieldSelector(
            q.get('fieldSelector'),
            EXTRA_FIELD_SELECTORS[`${rt.group}/${rt.plural}`] ?? [],
          );
          const items = this.#o.store
            .list(resourceId(rt.group, rt.plural), namespace)
            .filter((o) => sel(o.metadata.labels) && fsel(o));
          for (const o of items)
            await r.delete(rt, o.metadata.namespace ?? '', o.metadata.name ?? '', dopts, dry).catch(() => undefined);
          return this.#json(res, 200, { kind: rt.listKind, apiVersion: groupVersion(rt), metadata: {}, items: [] });
        }
        const o = await r.delete(rt, namespace, name, dopts, dry);
        return this.#json(res, 200, o);
      }
      default:
        throw errors.methodNotAllowed(req.method ?? '', p);
    }
  }

  #target(p: string): Target | undefined {
    const segs = p.split('/').filter(Boolean);
    let group: string, version: string, rest: string[];
    if (segs[0] === 'api' && segs.length >= 3) {
      group = '';
      version = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 4) {
      group = segs[1]!;
      version = segs[2]!;
      rest = segs.slice(3);
    } else return undefined;
    const reg = this.#o.registry;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const rt = reg.find(group, version, rest[2]!);
      if (rt && rt.namespaced) return { rt, namespace: rest[1]!, name: rest[3] ?? '', subresource: rest[4] ?? '' };
    }
    const rt = reg.find(group, version, rest[0]!);
    if (!rt) return undefined;
    if (rest.length > 3) return undefined;
    return { rt, namespace: '', name: rest[1] ?? '', subresource: rest[2] ?? '' };
  }

  async #list(res: ServerResponse, rt: ResourceType, ns: string, q: URLSearchParams, table: boolean): Promise<void> {
    await this.#o.store.barrier();
    const sel = parseLabelSelector(q.get('labelSelector'));
    const fsel = parseFieldSelector(q.get('fieldSelector'), EXTRA_FIELD_SELECTORS[`${rt.group}/${rt.plural}`] ?? []);
    let items = this.#o.store
      .list(resourceId(rt.group, rt.plural), ns)
      .filter((o) => sel(o.metadata.labels) && fsel(o));
    const rv = String(this.#o.store.resourceVersion);
    // `continue` is the last key served; pages are taken from the live state (not a snapshot at the first
    // page's resourceVersion, as etcd would serve), which is documented in the README.
    const cont = q.get('continue');
    if (cont) {
      let after: string;
      try {
        after = (JSON.parse(Buffer.from(cont, 'base64url').toString()) as { k: string }).k;
      } catch {
        throw errors.badRequest('continue key is not valid: illegal base64 data');
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}` > after);
    }
    const limit = Number(q.get('limit') ?? 0);
    let next: string | undefined;
    let remaining: number | undefined;
    if (limit > 0 && items.length > limit) {
      remaining = items.length - limit;
      items = items.slice(0, limit);
      const last = items[items.length - 1]!;
      next = Buffer.from(
        JSON.stringify({ k: `${last.metadata.namespace ?? ''}/${last.metadata.name ?? ''}`, rv }),
      ).toString('base64url');
    }
    const meta: { resourceVersion: string; continue?: string; remainingItemCount?: number } = { resourceVersion: rv };
    if (next) {
      meta.continue = next;
      meta.remainingItemCount = remaining!;
    }
    const r = this.#o.resources;
    const objs = items.map((o) => r.asVersion(rt, o));
    if (table) return this.#json(res, 200, toTable(rt, objs, this.#o.clock.now(), q.get('includeObject'), meta));
    this.#json(res, 200, { kind: rt.listKind, apiVersion: groupVersion(rt), metadata: meta, items: objs });
  }

  async #watch(
    req: IncomingMessage,
    res: ServerResponse,
    rt: ResourceType,
    ns: string,
    q: URLSearchParams,
    table: boolean,
  ): Promise<void> {
    const sel = parseLabelSelector(q.get('labelSelector'));
    const fsel = parseFieldSelector(q.get('fieldSelector'), EXTRA_FIELD_SELECTORS[`${rt.group}/${rt.plural}`] ?? []);
    const match = (o: KObject): boolean => sel(o.metadata.labels) && fsel(o);
    const rvParam = q.get('resourceVersion');
    // kube-apiserver parses the resourceVersion before it answers, so a malformed one is a 400, not a watch
    // that ends at once (which a client would take as normal and re-open in a loop).
    if (rvParam && !/^[0-9]{1,20}$/.test(rvParam))
      throw errors.badRequest(
        `invalid resource version: resourceVersion: Invalid value: ${JSON.stringify(rvParam)}: strconv.ParseUint: parsing ${JSON.stringify(rvParam)}: invalid syntax`,
      );
    await this.#o.store.barrier();
    const store = this.#o.store;
    const r = this.#o.resources;
    const now = (): number => this.#o.clock.now();
    const render = (o: KObject): unknown =>
      table
        ? toTable(rt, [r.asVersion(rt, o)], now(), q.get('includeObject'), {
            resourceVersion: o.metadata.resourceVersion ?? '',
          })
        : r.asVersion(rt, o);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    const write = (type: string, object: unknown): void => {
      res.write(JSON.stringify({ type, object }) + '\n');
    };
    const av = groupVersion(rt);
    const writeEvent = (type: string, ev: StoreEvent): void => {
      if (table) return write(type, render(ev.obj));
      if (this.#lineEvent !== ev) {
        this.#lineEvent = ev;
        this.#lines.clear();
      }
      const k = `${type} ${av}`;
      let line = this.#lines.get(k);
      if (line === undefined)
        this.#lines.set(k, (line = JSON.stringify({ type, object: r.asVersion(rt, ev.obj) }) + '\n'));
      res.write(line);
    };
    const rid = resourceId(rt.group, rt.plural);
    let from: number;
    const initial: KObject[] = [];
    if (!rvParam || rvParam === '0') {
      // rv 0 or none: the current state as synthetic ADDED events, then changes (kubectl drops the first event).
      for (const o of store.list(rid, ns))
        if (match(o)) {
          initial.push(o);
          write('ADDED', render(o));
        }
      from = store.resourceVersion;
    } else {
      from = Number(rvParam);
    }
    // Objects that start or stop matching a selector appear as ADDED / DELETED, as with kube-apiserver.
    const seen = new Map<string, boolean>();
    for (const o of initial) seen.set(`${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`, true);
    const onEvent = (ev: StoreEvent): void => {
      const k = `${ev.namespace}/${ev.name}`;
      const before = seen.get(k);
      if (ev.type === 'DELETED') {
        if (before === true || (before === undefined && match(ev.obj))) writeEvent('DELETED', ev);
        seen.delete(k);
        return;
      }
      const now = match(ev.obj);
      if (now) writeEvent(before === false ? 'ADDED' : ev.type, ev);
      else if (before === true) writeEvent('DELETED', ev);
      seen.set(k, now);
    };
    let unwatch: () => void;
    try {
      unwatch = store.watch({ resource: rid, namespace: ns, send: onEvent }, from);
    } catch (e) {
      if (e instanceof StatusError) {
        write('ERROR', e.toStatus());
        res.end();
        return;
      }
      throw e;
    }
    this.#watches.add(res);
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      unwatch();
      for (const t of timers) clearTimeout(t);
      this.#watches.delete(res);
      if (!res.writableEnded) res.end();
    };
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) timers.push(setTimeout(finish, timeout * 1000));
    if (q.get('allowWatchBookmarks') === 'true') {
      const every = this.#o.bookmarkIntervalMs ?? 60_000;
      const tick = (): void => {
        write('BOOKMARK', {
          kind: rt.kind,
          apiVersion: groupVersion(rt),
          metadata: { resourceVersion: String(store.resourceVersion) },
        });
        timers.push(setTimeout(tick, every));
      };
      timers.push(setTimeout(tick, every));
    }
    req.on('close', finish);
    res.on('close', finish);
  }

  #json(
    res: ServerResponse,
    code: number,
    body: unknown,
    contentType = 'application/json',
    warnings: string[] = [],
  ): void {
    const data = JSON.stringify(body);
    const headers: Record<string, string | string[]> = {
      'Content-Type': contentType,
      'Content-Length': String(Buffer.byteLength(data)),
      'Cache-Control': 'no-cache, private',
    };
    if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
    res.end(data);
  }

  #text(res: ServerResponse, code: number, body: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain' });
    res.end(body);
  }
}

/** kube-apiserver names a manager after the client's user agent (`kubectl-client-side-apply`, `kubectl-edit`). */
function managerFromAgent(ua: string | undefined): string {
  const name = (ua ?? 'unknown').split('/')[0] ?? 'unknown';
  return name.slice(0, 128);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw errors.tooLarge(MAX_BODY_BYTES);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    const b = c as Buffer;
    n += b.length;
    if (n > MAX_BODY_BYTES) {
      req.resume();
      throw errors.tooLarge(MAX_BODY_BYTES);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

async function parseBody(yaml: YamlParser, buf: Buffer, contentType: string | undefined): Promise<unknown> {
  if (
    (contentType ?? '').includes('protobuf') ||
    (buf.length >= 4 && buf.subarray(0, 4).toString('latin1') === 'k8s\0')
  ) {
    return decodeK8sProtobuf(buf);
  }
  const text = buf.toString('utf8');
  if (text.trim() === '') throw errors.badRequest('the request body is empty; an object was expected');
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('yaml')) {
    try {
      return await yaml.parse(text);
    } catch (e) {
      if (e instanceof LimitError) throw errors.badRequest(`the request body is not accepted: ${e.message}`);
      throw errors.badRequest(
        `the request body is not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
      );
    }
  }
  try {
    return parseJsonBounded(text);
  } catch (e) {
    if (e instanceof LimitError) throw errors.badRequest(`the request body is not accepted: ${e.message}`);
    throw errors.badRequest(`the request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}
