// Errors of the kn-style commands. Messages are kn's own words; callers match on `code`.
import { SluiceError, type SluiceErrorOptions } from '../../util/errors.js';

/** A client-side error: bad flags, a check that failed before anything was sent, or a failed wait. */
export class KnError extends SluiceError {
  constructor(code: string, message: string, opts: SluiceErrorOptions = {}) {
    super(code, message, opts);
  }
}
