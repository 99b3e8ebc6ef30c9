// Base of every typed error in Sluice. Callers match on `code`, never on the message text.

export interface SluiceErrorOptions {
  cause?: unknown;
  /** A field path such as `spec.traffic[1].percent`. */
  path?: string;
  /** A file, and where in it, for manifests and policies. */
  file?: string;
  line?: number;
  column?: number;
}

export class SluiceError extends Error {
  readonly code: string;
  readonly path: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: string, message: string, opts: SluiceErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.path = opts.path;
    this.file = opts.file;
    this.line = opts.line;
    this.column = opts.column;
  }

  /** `file:line:column: message` when a position is known, else the message. */
  where(): string {
    if (!this.file) return this.message;
    const pos = [this.file, this.line, this.column].filter((p) => p !== undefined).join(':');
    return `${pos}: ${this.message}`;
  }
}

/** Narrow an unknown thrown value to a message. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
