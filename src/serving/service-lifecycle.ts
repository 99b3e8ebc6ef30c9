// Service status transitions and propagation of Configuration and Route status (service_lifecycle.go).

import { ConditionSet, getCondition, withConditions } from './conditions.js';
import type { ConfigurationStatus, RouteStatus, ServiceStatus } from './types.js';

export const SERVICE_CONDITIONS = ConditionSet.living('ConfigurationsReady', 'RoutesReady');

type T = ServiceStatus;
const q = (s: string): string => JSON.stringify(s);
const on = (s: T | undefined, now: number, fn: Parameters<typeof withConditions>[3]): T =>
  withConditions(SERVICE_CONDITIONS, s, now, fn);

export const initializeServiceConditions = (s: T | undefined, now: number): T => on(s, now, (m) => m.initialize());

export const markConfigurationNotOwned = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) =>
    m.markFalse('ConfigurationsReady', 'NotOwned', `There is an existing Configuration ${q(name)} that we do not own.`),
  );

export const markRouteNotOwned = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) =>
    m.markFalse('RoutesReady', 'NotOwned', `There is an existing Route ${q(name)} that we do not own.`),
  );

export const markConfigurationNotReconciled = (s: T | undefined, now: number): T =>
  on(s, now, (m) =>
    m.markUnknown(
      'ConfigurationsReady',
      'OutOfDate',
      'The Configuration is still working to reflect the latest desired specification.',
    ),
  );

export const markRevisionNameTaken = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) =>
    m.markFalse(
      'RoutesReady',
      'RevisionNameTaken',
      `The revision name ${q(name)} is taken by a conflicting Revision, so traffic will not be migrated`,
    ),
  );

export const markRouteNotYetReady = (s: T | undefined, now: number): T =>
  on(s, now, (m) =>
    m.markUnknown('RoutesReady', 'TrafficNotMigrated', 'Traffic is not yet migrated to the latest revision.'),
  );

export const markRouteNotReconciled = (s: T | undefined, now: number): T =>
  on(s, now, (m) =>
    m.markUnknown(
      'RoutesReady',
      'OutOfDate',
      'The Route is still working to reflect the latest desired specification.',
    ),
  );

/** Copies latestCreated/ReadyRevisionName and mirrors Configuration Ready into ConfigurationsReady. */
export function propagateConfigurationStatus(s: T | undefined, now: number, cs: ConfigurationStatus | undefined): T {
  const next: T = { ...(s ?? {}) };
  delete next.latestCreatedRevisionName;
  delete next.latestReadyRevisionName;
  if (cs?.latestCreatedRevisionName) next.latestCreatedRevisionName = cs.latestCreatedRevisionName;
  if (cs?.latestReadyRevisionName) next.latestReadyRevisionName = cs.latestReadyRevisionName;
  const cc = getCondition(cs, 'Ready');
  if (!cc) return next;
  return on(next, now, (m) => {
    if (cc.status === 'True') m.markTrue('ConfigurationsReady');
    else if (cc.status === 'False') m.markFalse('ConfigurationsReady', cc.reason ?? '', cc.message ?? '');
    else m.markUnknown('ConfigurationsReady', cc.reason ?? '', cc.message ?? '');
  });
}

/** Copies url, address and traffic and mirrors Route Ready into RoutesReady. */
export function propagateRouteStatus(s: T | undefined, now: number, rs: RouteStatus | undefined): T {
  const next: T = { ...(s ?? {}) };
  delete next.url;
  delete next.address;
  delete next.traffic;
  if (rs?.url) next.url = rs.url;
  if (rs?.address) next.address = { ...rs.address };
  if (rs?.traffic) next.traffic = rs.traffic.map((t) => ({ ...t }));
  const rc = getCondition(rs, 'Ready');
  if (!rc) return next;
  return on(next, now, (m) => {
    if (rc.status === 'True') m.markTrue('RoutesReady');
    else if (rc.status === 'False') m.markFalse('RoutesReady', rc.reason ?? '', rc.message ?? '');
    else m.markUnknown('RoutesReady', rc.reason ?? '', rc.message ?? '');
  });
}
