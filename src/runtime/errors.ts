// Typed errors of the data plane. Callers match on `code`.
import { SluiceError, type SluiceErrorOptions } from '../util/errors.js';

export type RuntimeErrorCode =
  | 'SLUICE_ERR_IMAGE_TABLE'
  | 'SLUICE_ERR_REVISION_SPEC'
  | 'SLUICE_ERR_RUNTIME_CLOSED'
  | 'SLUICE_ERR_ANNOTATION'
  | 'SLUICE_ERR_VOLUME';

export class RuntimeError extends SluiceError {
  constructor(code: RuntimeErrorCode, message: string, opts: SluiceErrorOptions = {}) {
    super(code, message, opts);
  }
}
