// The pino logger every component uses. Secrets never reach a log line: known secret-bearing keys are
// censored by pino's redaction, and URLs with credentials are scrubbed by `redactUrl` before logging.
// On a terminal the lines are pretty-printed by pino's own pino-pretty; otherwise they are JSON, one object per
// line, and no key appears twice in a line: a child's bindings replace its parent's instead of being appended
// (pino appends, which gave `"component"` up to four times).
import {
  pino,
  type Logger,
  type LoggerOptions,
  type DestinationStream,
  type Bindings,
  type ChildLoggerOptions,
} from 'pino';
import pretty from 'pino-pretty';

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
  /** Human-readable lines (pino-pretty). Default: when writing to stderr and stderr is a terminal. */
  pretty?: boolean;
  /** With `pretty`: colours (default: pino-pretty's own detection, which honours NO_COLOR). */
  colorize?: boolean;
}

export function createLogger(cfg: LoggerConfig = {}): Logger {
  const opts: LoggerOptions = {
    level: cfg.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: null,
  };
  const isPretty = cfg.pretty ?? (cfg.destination === undefined && process.stderr.isTTY === true);
  const out = cfg.destination ?? process.stderr;
  const dest: DestinationStream = isPretty
    ? pretty({
        destination: out,
        sync: true,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss.l',
        ...(cfg.colorize !== undefined ? { colorize: cfg.colorize } : {}),
      })
    : (out as DestinationStream);
  const bare = pino(opts, dest);
  const make: MakeChild = (b, o) => bare.child(b, o);
  return uniqueBindings(make, make(cfg.name ? { component: cfg.name } : {}));
}

type MakeChild = (bindings: Bindings, options?: ChildLoggerOptions) => Logger;

/**
 * Makes `log.child(b)` build the child from the bare root with the parent's bindings merged with `b` (later
 * wins), so each key is serialized once per line.
 */
function uniqueBindings(make: MakeChild, l: Logger): Logger {
  const child = (bindings: Bindings, options?: ChildLoggerOptions): Logger =>
    uniqueBindings(make, make({ ...l.bindings(), ...bindings }, { level: l.level, ...options }));
  l.child = child as unknown as Logger['child'];
  return l;
}

/** A logger that drops everything; for tests and pure code paths that accept an optional logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Replace the userinfo of a URL (`https://user:token@host`) so it can be logged. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]+)@/i, '$1[REDACTED]@');
}
