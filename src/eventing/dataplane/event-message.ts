// A CloudEvent as the broker carries it: its context attributes and extensions exactly as received (every
// value a string, no attribute invented — the SDK's CloudEvent class would add `time`), plus the data bytes.
// The `cloudevents` SDK decides what is a valid event; this module keeps the wire form for forwarding.
import { HTTP, ValidationError, type CloudEvent } from 'cloudevents';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export interface EventMessage {
  /** Context attributes and extensions, lower-case names (datacontenttype included when known). */
  attributes: Record<string, string>;
  data: Buffer;
}

export class NotACloudEventError extends Error {
  override readonly name = 'NotACloudEventError';
}

const SPEC_VERSIONS = new Set(['1.0', '0.3']);
const STRUCTURED = 'application/cloudevents+json';

function header(h: IncomingHttpHeaders, k: string): string | undefined {
  const v = h[k];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Percent-decodes a binary-mode header value (CloudEvents HTTP binding §3.1.3.2). */
function unescapeHeader(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/**
 * Parses an HTTP request or response as a CloudEvent (binary or structured mode) and validates it with the
 * SDK. Throws NotACloudEventError saying what is wrong.
 */
export function parseEventMessage(headers: IncomingHttpHeaders, body: Buffer): EventMessage {
  const contentType = header(headers, 'content-type') ?? '';
  const text = body.toString('utf8');
  try {
    const e = HTTP.toEvent({ headers: headers as Record<string, string>, body: text }) as
      CloudEvent<unknown> | CloudEvent<unknown>[];
    (Array.isArray(e) ? e : [e]).forEach((x) => x.validate());
  } catch (err) {
    const why =
      err instanceof ValidationError
        ? `${err.message}: ${JSON.stringify(err.errors ?? [])}`
        : err instanceof Error
          ? err.message
          : String(err);
    throw new NotACloudEventError(`not a valid CloudEvent: ${why}`);
  }
  const attributes: Record<string, string> = {};
  let data: Buffer;
  if (contentType.toLowerCase().startsWith(STRUCTURED)) {
    const doc = JSON.parse(text) as Record<string, unknown>;
    for (const [k, v] of Object.entries(doc)) {
      if (k === 'data' || k === 'data_base64' || v === undefined || v === null) continue;
      attributes[k.toLowerCase()] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    if (typeof doc['data_base64'] === 'string') data = Buffer.from(doc['data_base64'], 'base64');
    else if (doc['data'] === undefined) data = Buffer.alloc(0);
    else if (typeof doc['data'] === 'string' && !isJsonType(attributes['datacontenttype']))
      data = Buffer.from(doc['data']);
    else data = Buffer.from(JSON.stringify(doc['data']));
  } else {
    for (const [k, v] of Object.entries(headers)) {
      if (!k.startsWith('ce-') || v === undefined) continue;
      attributes[k.slice(3)] = unescapeHeader(Array.isArray(v) ? v.join(',') : v);
    }
    if (contentType !== '') attributes['datacontenttype'] = contentType;
    data = body;
  }
  if (!SPEC_VERSIONS.has(attributes['specversion'] ?? '')) {
    throw new NotACloudEventError(
      `not a valid CloudEvent: unknown specversion ${JSON.stringify(attributes['specversion'] ?? '')}`,
    );
  }
  return { attributes, data };
}

const isJsonType = (ct: string | undefined): boolean => ct === undefined || /json/i.test(ct);

/** Binary mode: one `ce-` header per attribute, Content-Type from datacontenttype, the data as body. */
export function toBinary(m: EventMessage): { headers: OutgoingHttpHeaders; body: Buffer } {
  const headers: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(m.attributes)) {
    if (k === 'datacontenttype') headers['content-type'] = v;
    else headers[`ce-${k}`] = encodeHeader(v);
  }
  return { headers, body: m.data };
}

/** Structured mode (`delivery.format: json`). */
export function toStructured(m: EventMessage): { headers: OutgoingHttpHeaders; body: Buffer } {
  const doc: Record<string, unknown> = { ...m.attributes };
  if (m.data.length > 0) {
    if (isJsonType(m.attributes['datacontenttype'])) {
      try {
        doc['data'] = JSON.parse(m.data.toString('utf8'));
      } catch {
        doc['data_base64'] = m.data.toString('base64');
      }
    } else doc['data_base64'] = m.data.toString('base64');
  }
  return { headers: { 'content-type': `${STRUCTURED}; charset=utf-8` }, body: Buffer.from(JSON.stringify(doc)) };
}

/** Header values must be printable ASCII; everything else is percent-encoded as the binding says. */
function encodeHeader(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) && !v.includes('%') ? v : encodeURIComponent(v);
}

/** True when a response carries something that looks like an event (binary `ce-` headers or structured). */
export function looksLikeEvent(headers: IncomingHttpHeaders): boolean {
  if (headers['ce-specversion'] !== undefined) return true;
  return (header(headers, 'content-type') ?? '').toLowerCase().startsWith(STRUCTURED);
}
