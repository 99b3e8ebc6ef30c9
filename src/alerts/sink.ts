// The contract between the dispatcher and a sink. A sink renders and sends one event per call; the dispatcher
// owns queues, retries, timeouts, de-duplication and logging.
import type { AlertEvent, AlertSinkSpec, AlertSinkType } from './types.js';
import { AlertError } from './errors.js';
import type { SecretResolver } from './secrets.js';

export interface SendContext {
  /** Aborts on the per-sink timeout or when the dispatcher closes. */
  signal: AbortSignal;
  /** Wall-clock ms, from the dispatcher's Clock. */
  now: number;
  /** 1-based attempt number for this event. */
  attempt: number;
  /** Register a value to be scrubbed from every log line about this sink (secrets, secret URLs). */
  sensitive(value: string): void;
}

export interface AlertSink {
  readonly type: AlertSinkType;
  /** Safe to log: the URL redacted. */
  readonly label: string;
  /** Whether this sink wants the event at all (type filter). Checked at notify time. */
  accepts(event: AlertEvent): boolean;
  /** Send one event. Rejects with AlertError (retryable or not). */
  send(event: AlertEvent, ctx: SendContext): Promise<void>;
  /** Stateful sinks (Alertmanager): re-send what is still firing, every `resendIntervalMs`. */
  readonly resendIntervalMs?: number;
  hasPending?(now: number): boolean;
  resend?(ctx: SendContext): Promise<void>;
}

/** Shared construction input. */
export interface SinkInit {
  spec: AlertSinkSpec;
  /** The policy's namespace: where secrets are looked up. */
  namespace: string;
  secrets: SecretResolver;
}

/** The `events:` filter of a spec; absent or empty means all. */
export function typeFilter(spec: AlertSinkSpec): (type: string) => boolean {
  const ev = spec.events;
  if (!ev || ev.length === 0) return () => true;
  const set = new Set(ev);
  return (t) => set.has(t);
}

/** Resolve `spec.secretRef` with `defaultKey`; undefined when the spec has none. */
export async function resolveSecret(init: SinkInit, defaultKey: string, ctx: SendContext): Promise<string | undefined> {
  const ref = init.spec.secretRef;
  if (!ref) return undefined;
  const v = await init.secrets.resolve(init.namespace, { name: ref.name, key: ref.key ?? defaultKey });
  ctx.sensitive(v);
  return v;
}

export function requireUrl(url: string | undefined, what: string): string {
  if (!url)
    throw new AlertError('AlertConfig', `${what}: no url (set url, or secretRef for Slack)`, { retryable: false });
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new AlertError('AlertConfig', `${what}: url is not an http(s) URL`, { retryable: false });
  }
  return url;
}
