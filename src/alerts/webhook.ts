// Generic webhook sink: the event as JSON, signed so receivers can check origin and reject replays.
//   X-Sluice-Timestamp: <unix seconds at send time>
//   X-Sluice-Signature-256: sha256=<hex HMAC-SHA256(key, "<timestamp>.<body>")>
//   X-Sluice-Event: <type>, X-Sluice-Delivery: <event id, the same on every retry>
// Binding the timestamp into the MAC (as Stripe and Slack do) means an old request cannot be replayed with a
// fresh timestamp; GitHub's X-Hub-Signature-256 signs the body only and so cannot offer that.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertEvent } from './types.js';
import { toWireEvent } from './types.js';
import type { AlertSink, SendContext, SinkInit } from './sink.js';
import { requireUrl, resolveSecret, typeFilter } from './sink.js';
import { post } from './http.js';
import { redactSinkUrl } from './redact.js';

export const SIGNATURE_HEADER = 'X-Sluice-Signature-256';
export const TIMESTAMP_HEADER = 'X-Sluice-Timestamp';
export const EVENT_HEADER = 'X-Sluice-Event';
export const DELIVERY_HEADER = 'X-Sluice-Delivery';
/** Default replay window for `verifyWebhookSignature`, seconds. */
export const DEFAULT_TOLERANCE_SEC = 300;

/** `sha256=<hex>` over `<timestamp>.<body>`. */
export function signWebhook(secret: string, timestamp: string | number, body: string | Uint8Array): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `sha256=${mac.digest('hex')}`;
}

export type WebhookVerification = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

/**
 * Check a received webhook. `timestamp` and `header` are the raw X-Sluice-Timestamp and X-Sluice-Signature-256
 * values, `body` the raw bytes as received (not re-serialized JSON), `now` ms since the epoch. Rejects a
 * timestamp more than `toleranceSec` away from `now` (either side) as `stale`, and compares MACs in constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string | number | null | undefined,
  body: string | Uint8Array,
  header: string | null | undefined,
  now: number,
  toleranceSec: number = DEFAULT_TOLERANCE_SEC,
): WebhookVerification {
  if (timestamp === undefined || timestamp === null || header === undefined || header === null || header === '')
    return { ok: false, reason: 'missing' };
  const ts = String(timestamp).trim();
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'malformed' };
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!m) return { ok: false, reason: 'malformed' };
  if (Math.abs(now / 1000 - Number(ts)) > toleranceSec) return { ok: false, reason: 'stale' };
  const want = Buffer.from(signWebhook(secret, ts, body).slice('sha256='.length), 'hex');
  const got = Buffer.from(m[1]!.toLowerCase(), 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'mismatch' };
  return { ok: true };
}

export class WebhookSink implements AlertSink {
  readonly type = 'webhook' as const;
  readonly label: string;
  readonly #accepts: (t: string) => boolean;

  constructor(private readonly init: SinkInit) {
    this.label = `webhook ${init.spec.url ? redactSinkUrl(init.spec.url) : '(no url)'}`;
    this.#accepts = typeFilter(init.spec);
  }

  accepts(event: AlertEvent): boolean {
    return this.#accepts(event.type);
  }

  async send(event: AlertEvent, ctx: SendContext): Promise<void> {
    const url = requireUrl(this.init.spec.url, 'webhook');
    const key = await resolveSecret(this.init, 'hmac', ctx);
    const body = JSON.stringify(toWireEvent(event));
    const ts = String(Math.floor(ctx.now / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [TIMESTAMP_HEADER]: ts,
      [EVENT_HEADER]: event.type,
      [DELIVERY_HEADER]: event.id,
    };
    if (key !== undefined) headers[SIGNATURE_HEADER] = signWebhook(key, ts, body);
    await post(url, body, headers, ctx.signal, () => ctx.now);
  }
}
