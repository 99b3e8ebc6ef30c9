// Errors from the Kubernetes API, typed by HTTP status and Status reason so callers branch on `code`.
import { SluiceError } from '../util/errors.js';

export class KubeApiError extends SluiceError {
  readonly status: number;
  readonly reason: string;
  readonly details: unknown;
  constructor(status: number, reason: string, message: string, details?: unknown) {
    super(`SLUICE_ERR_KUBE_${reason ? reason.toUpperCase() : status}`, message);
    this.status = status;
    this.reason = reason;
    this.details = details;
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409 && this.reason === 'Conflict';
  }
  get isAlreadyExists(): boolean {
    return this.status === 409 && this.reason === 'AlreadyExists';
  }
  get isGone(): boolean {
    return this.status === 410;
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof KubeApiError && e.isNotFound;
}
export function isConflict(e: unknown): boolean {
  return e instanceof KubeApiError && e.isConflict;
}
