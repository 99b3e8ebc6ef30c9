// dashboard: the live web view of every rollout and its API, served under /dashboard on the brain's HTTP port.
// One shared informer cache feeds Server-Sent Events; actions append commands to Rollouts through kube/.
// Login is a one-time token URL exchanged for an HttpOnly, SameSite=Strict session cookie (auth.ts).
export { startDashboard, type Dashboard, type DashboardOptions } from './server.js';
export { RolloutHub, resumePoint, CHART_POINTS } from './hub.js';
export { mintLoginToken, readKey, loadOrCreateKey, KEY_FILE } from './auth.js';
export { DashboardError, DashboardErrorCode } from './errors.js';
export { isLoopback } from './security.js';
export * from './view.js';
