// The MT channel-based broker's data plane in one place: broker-ingress (Knative's status codes, TTL and
// knativearrivaltime), the in-memory channel's synchronous fan-out to every Trigger (202 only after all
// deliveries finished, 500 when one failed without a dead-letter sink, as Knative ≥ 1.13), broker-filter's
// filtering and subscriber call (Prefer: reply, Kn-Namespace, header pass-through), the dispatcher's retries
// with back-off and dead-lettering (knativeerrordest/code/data), and replies re-ingested into the same broker.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../util/clock.js';
import { backoffDelayMs, isFailure, isRetriable, maxRetries, timeoutMs } from '../delivery.js';
import { triggerFilter } from '../filter.js';
import {
  ARRIVAL_TIME_EXTENSION,
  CHANNEL_ADDRESS_ANNOTATION,
  ERROR_CODE_EXTENSION,
  ERROR_DATA_EXTENSION,
  ERROR_DATA_MAX_LENGTH,
  ERROR_DEST_EXTENSION,
  MAX_TTL,
  TTL_EXTENSION,
} from '../keys.js';
import { effectiveDelivery } from '../trigger-lifecycle.js';
import type { Broker, DeliverySpec, Trigger } from '../types.js';
import type { HttpResult, Sender } from './cluster-http.js';
import {
  looksLikeEvent,
  NotACloudEventError,
  parseEventMessage,
  toBinary,
  toStructured,
  type EventMessage,
} from './event-message.js';

export interface BrokerTopology {
  broker(namespace: string, name: string): Broker | undefined;
  /** Every Trigger of the broker, with its status as stored. */
  triggers(namespace: string, broker: string): Trigger[];
}

export interface BrokerDataPlaneOptions {
  topology: BrokerTopology;
  send: Sender;
  clock: Clock;
  log: Logger;
  /** Waits between retries; injectable so tests of the schedule need no real time. */
  sleep?: (ms: number) => Promise<void>;
  /** Request bodies above this are refused with 413. Default 4 MiB. */
  maxBodyBytes?: number;
}

export interface DeliveryOutcome {
  trigger: string;
  ok: boolean;
  /** Attempts at the subscriber (1 + retries used). */
  attempts: number;
  status: number;
  deadLettered: boolean;
}

/** Only these inbound headers travel on with the event (Knative's pass-through list). */
function passThrough(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (k === 'x-request-id' || k === 'retry-after' || k.startsWith('knative-') || k.startsWith('x-b3-')) out[k] = v;
  }
  return out;
}

const ALLOW = 'POST, OPTIONS';
const ASYNC_ANNOTATION = 'messaging.knative.dev/async-handler';

function reply(res: ServerResponse, status: number, body = ''): void {
  if (res.headersSent) return;
  res.writeHead(status, { allow: ALLOW, ...(body ? { 'content-type': 'text/plain; charset=utf-8' } : {}) });
  res.end(body);
}

export class BrokerDataPlane {
  readonly #o: BrokerDataPlaneOptions;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(o: BrokerDataPlaneOptions) {
    this.#o = o;
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** broker-ingress: `POST /<namespace>/<broker>`. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    void this.#handle(req, res).catch((e: unknown) => {
      this.#o.log.error({ err: e instanceof Error ? e.message : String(e) }, 'broker ingress failed');
      reply(res, 500, 'internal error\n');
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') {
      req.resume();
      res.writeHead(200, { allow: ALLOW, 'webhook-allowed-origin': '*', 'webhook-allowed-rate': '*' });
      res.end();
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      return reply(res, 405);
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      req.resume();
      return reply(res, 404);
    }
    const parts = path.replace(/\/$/, '').split('/').slice(1);
    if (parts.length !== 2 || parts.some((p) => p === '')) {
      req.resume();
      return reply(res, 400, `the path must be /<namespace>/<broker>, got ${JSON.stringify(path)}\n`);
    }
    const [namespace = '', name = ''] = parts.map(decodeURIComponent);
    const body = await this.#readBody(req, res);
    if (body === undefined) return;
    let event: EventMessage;
    try {
      event = parseEventMessage(req.headers, body);
    } catch (e) {
      return reply(res, 400, `${e instanceof NotACloudEventError ? e.message : String(e)}\n`);
    }
    const broker = this.#o.topology.broker(namespace, name);
    if (!broker) return reply(res, 404, `broker ${namespace}/${name} not found\n`);
    const asyncHandler = broker.metadata?.annotations?.[ASYNC_ANNOTATION] === 'true';
    const work = this.ingest(namespace, name, event, passThrough(req.headers));
    if (asyncHandler) {
      work.catch(() => undefined);
      return reply(res, 202);
    }
    const r = await work;
    reply(res, r.status, r.message ? `${r.message}\n` : '');
  }

  async #readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    const max = this.#o.maxBodyBytes ?? 4 * 1024 * 1024;
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      req.resume();
      reply(res, 413, `event larger than ${max} bytes\n`);
      return undefined;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > max) {
        reply(res, 413, `event larger than ${max} bytes\n`);
        req.destroy();
        return undefined;
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  /**
   * An event enters the broker (from ingress or as a reply): TTL defaulted or decremented, arrival time set,
   * then delivered to every matching Trigger; resolves when all deliveries (with retries, dead-lettering and
   * replies) are done.
   */
  async ingest(
    namespace: string,
    name: string,
    event: EventMessage,
    headers: OutgoingHttpHeaders,
  ): Promise<{ status: number; message?: string; outcomes: DeliveryOutcome[] }> {
    const broker = this.#o.topology.broker(namespace, name);
    if (!broker) return { status: 404, message: `broker ${namespace}/${name} not found`, outcomes: [] };
    const attrs = { ...event.attributes };
    const raw = attrs[TTL_EXTENSION];
    const ttl = raw !== undefined && /^-?\d+$/.test(raw) ? Number(raw) : undefined;
    // Knative's TTLDefaulter: absent or not an integer → 255, otherwise one hop less (a reply carries the TTL
    // broker-filter received, so each round trip through a subscriber costs one). ≤ 0 stops the event.
    const next = ttl === undefined ? MAX_TTL : Math.max(0, ttl - 1);
    if (next <= 0) return { status: 400, message: `event TTL exhausted (${TTL_EXTENSION} ${raw ?? ''})`, outcomes: [] };
    attrs[TTL_EXTENSION] = String(next);
    // Ingress stamps every event it receives, replies included.
    attrs[ARRIVAL_TIME_EXTENSION] = new Date(this.#o.clock.now()).toISOString();
    // Knative's ingress needs only the trigger channel's address in the Broker's status: a Broker that is not
    // Ready for another reason (its dead-letter sink does not resolve, a spec change not yet observed) still
    // takes events.
    if (!broker.status?.annotations?.[CHANNEL_ADDRESS_ANNOTATION]) {
      return { status: 500, message: `broker ${namespace}/${name} has no channel address yet`, outcomes: [] };
    }
    const withTtl: EventMessage = { attributes: attrs, data: event.data };
    const triggers = this.#o.topology.triggers(namespace, name).filter((t) => t.status?.subscriberUri);
    const outcomes = await Promise.all(triggers.map((t) => this.#deliver(broker, t, withTtl, headers)));
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length > 0) {
      return {
        status: 500,
        message: `delivery failed for trigger(s) ${failed.map((f) => f.trigger).join(', ')}`,
        outcomes,
      };
    }
    return { status: 202, outcomes };
  }

  /** broker-filter + the channel dispatcher for one Trigger. */
  async #deliver(
    broker: Broker,
    t: Trigger,
    event: EventMessage,
    inbound: OutgoingHttpHeaders,
  ): Promise<DeliveryOutcome> {
    const ns = t.metadata?.namespace ?? '';
    const tname = t.metadata?.name ?? '';
    const base = { trigger: tname, attempts: 0, status: 200, deadLettered: false };
    // broker-filter removes the TTL before filtering and before the subscriber sees the event.
    const { [TTL_EXTENSION]: ttl, ...visible } = event.attributes;
    const verdict = triggerFilter(t.spec, visible);
    if (verdict === 'fail') return { ...base, ok: true };
    const delivery = effectiveDelivery(t, broker);
    const subscriber = t.status?.subscriberUri ?? '';
    const encode = delivery?.format === 'json' ? toStructured : toBinary;
    const msg = encode({ attributes: visible, data: event.data });
    const headers: OutgoingHttpHeaders = { ...inbound, ...msg.headers, prefer: 'reply', 'kn-namespace': ns };
    const { result, attempts } = await this.#withRetries(delivery, () =>
      this.#callSubscriber(subscriber, headers, msg.body, delivery),
    );
    // What failed, for the dead-letter extensions: the subscriber, or forwarding its reply to the broker.
    let failed: { dest: string; result: HttpResult } = { dest: subscriber, result };
    if (!isFailure(result.status)) {
      const reply = await this.#forwardReply(broker, result, ttl, delivery);
      if (reply === undefined || !isFailure(reply.status)) {
        return { ...base, ok: true, attempts, status: result.status };
      }
      failed = { dest: broker.status?.address?.url ?? '', result: reply };
    }
    const dls = t.status?.deadLetterSinkUri;
    if (!dls) return { ...base, ok: false, attempts, status: failed.result.status };
    // The dead-letter sink gets the channel's copy: TTL included, plus the error extensions.
    // Without a response Knative's dispatcher records code 500 and the body `dispatch error: <err>`.
    const noResponse = failed.result.status < 0;
    const errorBody = noResponse
      ? Buffer.from(`dispatch error: ${failed.result.error ?? 'no response'}`)
      : failed.result.body;
    const errorData = errorBody.toString('base64').slice(0, ERROR_DATA_MAX_LENGTH);
    const dead: EventMessage = {
      attributes: {
        ...event.attributes,
        [ERROR_DEST_EXTENSION]: failed.dest,
        [ERROR_CODE_EXTENSION]: String(noResponse ? 500 : failed.result.status),
        ...(errorData !== '' ? { [ERROR_DATA_EXTENSION]: errorData } : {}),
      },
      data: event.data,
    };
    const dm = toBinary(dead);
    const d = await this.#withRetries(delivery, () =>
      this.#o.send(dls, { ...inbound, ...dm.headers }, dm.body, timeoutMs(delivery)),
    );
    const ok = !isFailure(d.result.status);
    if (!ok) {
      this.#o.log.warn(
        { trigger: `${ns}/${tname}`, subscriber, deadLetterSink: dls, status: d.result.status },
        'event could not be delivered to the subscriber nor to the dead letter sink',
      );
    }
    return { ...base, ok, attempts, status: failed.result.status, deadLettered: ok };
  }

  /** One call; a 2xx whose body is neither empty nor a CloudEvent is turned into 502, as broker-filter does. */
  async #callSubscriber(
    url: string,
    headers: OutgoingHttpHeaders,
    body: Buffer,
    delivery: DeliverySpec | undefined,
  ): Promise<HttpResult> {
    const r = await this.#o.send(url, headers, body, timeoutMs(delivery));
    if (isFailure(r.status) || r.body.length === 0) return r;
    try {
      parseEventMessage(r.headers, r.body);
      return r;
    } catch {
      return {
        status: 502,
        headers: {},
        body: Buffer.from(
          'received a non-empty response not recognized as CloudEvent. The response MUST be either empty or a valid CloudEvent',
        ),
      };
    }
  }

  /**
   * A subscriber's reply goes back into the same broker with the TTL broker-filter received; like Knative's
   * dispatcher, forwarding it is retried with the Trigger's delivery settings. undefined: there was no reply.
   */
  async #forwardReply(
    broker: Broker,
    r: HttpResult,
    ttl: string | undefined,
    delivery: DeliverySpec | undefined,
  ): Promise<HttpResult | undefined> {
    if (r.body.length === 0 && !looksLikeEvent(r.headers)) return undefined;
    let event: EventMessage;
    try {
      event = parseEventMessage(r.headers, r.body);
    } catch {
      return undefined;
    }
    if (ttl !== undefined) event.attributes[TTL_EXTENSION] = ttl;
    const ns = broker.metadata?.namespace ?? '';
    const name = broker.metadata?.name ?? '';
    const { result } = await this.#withRetries(delivery, async () => {
      // The dispatcher sends the reply on with the answer's pass-through headers (knative-*, x-request-id, …).
      const res = await this.ingest(ns, name, event, passThrough(r.headers));
      return { status: res.status, headers: {}, body: Buffer.from(res.message ?? '') };
    });
    return result;
  }

  /** 1 + `retry` attempts, waiting backoffDelayMs between them, retrying only Knative's retriable statuses. */
  async #withRetries(
    delivery: DeliverySpec | undefined,
    call: () => Promise<HttpResult>,
  ): Promise<{ result: HttpResult; attempts: number }> {
    const retries = maxRetries(delivery);
    let attempts = 0;
    for (;;) {
      const result = await call();
      attempts++;
      const retry = attempts <= retries && isFailure(result.status) && isRetriable(result.status);
      if (!retry) return { result, attempts };
      const ra = Number(result.headers['retry-after']);
      await this.#sleep(
        backoffDelayMs(delivery, attempts, {
          statusCode: result.status,
          ...(Number.isFinite(ra) ? { retryAfterSeconds: ra } : {}),
        }),
      );
    }
  }
}
