// CloudEvents 1.0 over HTTP. The SDK encodes (`HTTP.binary` / `HTTP.structured`); we send with fetch ourselves
// because the SDK's httpTransport resolves for any status code and never retries.
//   type    dev.sluice.rollout.<event, lower-case>   e.g. dev.sluice.rollout.rolledback
//   source  /apis/delivery.sluice.dev/v1alpha1/namespaces/<ns>/rollouts/<name>
//   subject the Service's name; id the event id (reused on retries, as the spec allows); data the WireEvent.
import { CloudEvent, HTTP } from 'cloudevents';
import type { AlertEvent, WireEvent } from './types.js';
import { rolloutPath, toWireEvent } from './types.js';
import type { AlertSink, SendContext, SinkInit } from './sink.js';
import { requireUrl, resolveSecret, typeFilter } from './sink.js';
import { post } from './http.js';
import { redactSinkUrl } from './redact.js';
import { AlertError } from './errors.js';

export const CE_TYPE_PREFIX = 'dev.sluice.rollout.';

export function cloudEventType(e: Pick<AlertEvent, 'type'>): string {
  return `${CE_TYPE_PREFIX}${e.type.toLowerCase()}`;
}

/** The CloudEvent for one alert event; `severity` is also an extension attribute, for Knative Trigger filters. */
export function toCloudEvent(e: AlertEvent): CloudEvent<WireEvent> {
  return new CloudEvent<WireEvent>({
    specversion: '1.0',
    id: e.id,
    type: cloudEventType(e),
    source: rolloutPath(e),
    subject: e.service,
    time: new Date(e.time).toISOString(),
    datacontenttype: 'application/json',
    data: toWireEvent(e),
    severity: e.severity,
  });
}

/** Encode with the SDK; headers flattened to strings, body as a string. */
export function encodeCloudEvent(
  e: AlertEvent,
  mode: 'binary' | 'structured',
): { headers: Record<string, string>; body: string } {
  const ce = toCloudEvent(e);
  const msg = mode === 'structured' ? HTTP.structured(ce) : HTTP.binary(ce);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) {
    if (v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  const b: unknown = msg.body;
  let body: string;
  if (typeof b === 'string') body = b;
  else if (Buffer.isBuffer(b)) body = b.toString('utf8');
  else if (b === undefined || b === null) body = '';
  else body = JSON.stringify(b);
  return { headers, body };
}

export class CloudEventsSink implements AlertSink {
  readonly type = 'cloudevents' as const;
  readonly label: string;
  readonly #accepts: (t: string) => boolean;
  readonly #mode: 'binary' | 'structured';

  constructor(private readonly init: SinkInit) {
    this.#mode = init.spec.mode ?? 'binary';
    this.label = `cloudevents/${this.#mode} ${init.spec.url ? redactSinkUrl(init.spec.url) : '(no url)'}`;
    this.#accepts = typeFilter(init.spec);
  }

  accepts(event: AlertEvent): boolean {
    return this.#accepts(event.type);
  }

  async send(event: AlertEvent, ctx: SendContext): Promise<void> {
    const url = requireUrl(this.init.spec.url, 'cloudevents');
    const token = await resolveSecret(this.init, 'token', ctx);
    let enc: { headers: Record<string, string>; body: string };
    try {
      enc = encodeCloudEvent(event, this.#mode);
    } catch (e) {
      throw new AlertError('AlertConfig', `cannot encode CloudEvent: ${e instanceof Error ? e.message : String(e)}`, {
        retryable: false,
        cause: e,
      });
    }
    const headers = { ...enc.headers };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    await post(url, enc.body, headers, ctx.signal, () => ctx.now);
  }
}
