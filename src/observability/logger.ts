// The pino logger every component uses. Secrets never reach a log line: known secret-bearing keys are
// censored by pino's redaction, and URLs with credentials are scrubbed by `redactUrl` before logging.
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-hub-signature-256"]',
  'headers["x-gitlab-token"]',
  'hmac',
  '*.hmac',
  'webhookSecret',
  '*.webhookSecret',
  'apiKey',
  '*.apiKey',
];

export interface LoggerConfig {
  level?: string;
  /** Where lines go; defaults to stderr so command output on stdout stays clean. */
  destination?: NodeJS.WritableStream;
  name?: string;
}

export function createLogger(cfg: LoggerConfig = {}): Logger {
  const opts: LoggerOptions = {
    level: cfg.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: cfg.name ? { component: cfg.name } : null,
  };
  return pino(opts, (cfg.destination ?? process.stderr) as DestinationStream);
}

/** A logger that drops everything; for tests and pure code paths that accept an optional logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Replace the userinfo of a URL (`https://user:token@host`) so it can be logged. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]+)@/i, '$1[REDACTED]@');
}
