// Typed errors of the Serving reconcilers. The work queue retries every error except a TerminalError.
import { SluiceError, type SluiceErrorOptions } from '../../util/errors.js';

export type ReconcilerErrorCode =
  'SLUICE_ERR_RECONCILE' | 'SLUICE_ERR_RECONCILE_TERMINAL' | 'SLUICE_ERR_RECONCILE_PANIC';

export class ReconcilerError extends SluiceError {
  constructor(code: ReconcilerErrorCode, message: string, opts: SluiceErrorOptions = {}) {
    super(code, message, opts);
  }
}

/** A failure that retrying cannot fix (a malformed object); recorded, not retried until the object changes. */
export class TerminalError extends ReconcilerError {
  constructor(message: string, opts: SluiceErrorOptions = {}) {
    super('SLUICE_ERR_RECONCILE_TERMINAL', message, opts);
  }
}
