// Typed errors of the dashboard, sent as JSON `{code, message}` with their HTTP status. Codes are stable
// (docs/errors.md); the page shows the message, which says what to do.
import { SluiceError } from '../util/errors.js';

export const DashboardErrorCode = {
  /** No valid session cookie: open a fresh URL from `sluice dashboard`. */
  Unauthenticated: 'SLUICE_ERR_DASHBOARD_UNAUTHENTICATED',
  /** A POST from another origin, without Origin, or for a Host this server does not serve. */
  CrossOrigin: 'SLUICE_ERR_DASHBOARD_CROSS_ORIGIN',
  /** A POST without the session's CSRF header. */
  Csrf: 'SLUICE_ERR_DASHBOARD_CSRF',
  /** The dashboard runs with --read-only. */
  ReadOnly: 'SLUICE_ERR_DASHBOARD_READ_ONLY',
  /** The API server refused the action for this user (RBAC). */
  Forbidden: 'SLUICE_ERR_DASHBOARD_FORBIDDEN',
  /** No such rollout, action or page. */
  NotFound: 'SLUICE_ERR_DASHBOARD_NOT_FOUND',
  /** The request body is too large, not JSON, or a field is wrong. */
  BadRequest: 'SLUICE_ERR_DASHBOARD_BAD_REQUEST',
  /** The action is not possible in the rollout's phase (the button says why). */
  Conflict: 'SLUICE_ERR_DASHBOARD_CONFLICT',
  /** `sluice dashboard` found no key or no controller URL in the data directory. */
  NoServer: 'SLUICE_ERR_DASHBOARD_NO_SERVER',
} as const;
export type DashboardErrorCode = (typeof DashboardErrorCode)[keyof typeof DashboardErrorCode];

export class DashboardError extends SluiceError {
  readonly status: number;
  constructor(code: DashboardErrorCode, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}
