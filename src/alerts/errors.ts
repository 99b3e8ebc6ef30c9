// Typed delivery errors. The dispatcher decides on `retryable` and `retryAfterMs`, never on the message.
import { SluiceError } from '../util/errors.js';

export type AlertErrorCode =
  | 'AlertHttpStatus' // the sink answered with a non-2xx status
  | 'AlertNetwork' // connection refused, reset, DNS, TLS
  | 'AlertTimeout' // the per-sink timeout fired
  | 'AlertSecretNotFound' // the SecretResolver has no such secret/key
  | 'AlertConfig' // the sink spec cannot work (no URL, bad URL)
  | 'AlertBrokerNotReady'; // type broker: the Broker is missing, not Ready, or has no address yet

export class AlertError extends SluiceError {
  /** Worth another attempt: network errors, timeouts, 408/425/429/5xx, secrets that may appear later. */
  readonly retryable: boolean;
  /** The sink asked for this wait (`Retry-After`), in ms. */
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;

  constructor(
    code: AlertErrorCode,
    message: string,
    o: { retryable: boolean; retryAfterMs?: number; status?: number; cause?: unknown },
  ) {
    super(code, message, o.cause === undefined ? {} : { cause: o.cause });
    this.retryable = o.retryable;
    this.retryAfterMs = o.retryAfterMs;
    this.status = o.status;
  }
}
