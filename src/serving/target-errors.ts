// Why a traffic target cannot be routed yet. Missing and failed targets are failures (AllTrafficAssigned
// False); not-ready ones are waits (Unknown). Texts are Knative's (pkg/reconciler/route/traffic/errors.go).

import {
  markConfigurationFailed,
  markConfigurationNotReady,
  markMissingTrafficTarget,
  markRevisionFailed,
  markRevisionNotOwned,
  markRevisionNotReady,
} from './route-lifecycle.js';
import type { RouteStatus } from './types.js';

export type TargetError =
  | { kind: 'missing'; targetKind: 'Revision' | 'Configuration'; name: string }
  | { kind: 'unreadyConfiguration'; name: string; isFailure: boolean }
  | { kind: 'unreadyRevision'; name: string; isFailure: boolean }
  | { kind: 'revisionNotOwned'; revisionName: string; expectedService: string; actualService: string };

export function isTargetFailure(e: TargetError): boolean {
  switch (e.kind) {
    case 'missing':
    case 'revisionNotOwned':
      return true;
    default:
      return e.isFailure;
  }
}

export function targetErrorMessage(e: TargetError): string {
  const q = JSON.stringify;
  switch (e.kind) {
    case 'missing':
      return `${e.targetKind} ${q(e.name)} referenced in traffic not found`;
    case 'unreadyConfiguration':
      return `Configuration ${q(e.name)} not ready, isFailure=${String(e.isFailure)}`;
    case 'unreadyRevision':
      return `Revision ${q(e.name)} not ready, isFailure=${String(e.isFailure)}`;
    case 'revisionNotOwned':
      return e.actualService === ''
        ? `Revision ${q(e.revisionName)} does not belong to Service ${q(e.expectedService)}`
        : `Revision ${q(e.revisionName)} belongs to Service ${q(e.actualService)}, not Service ${q(e.expectedService)}`;
  }
}

/** Records the error on the Route's AllTrafficAssigned condition. */
export function markBadTrafficTarget(e: TargetError, status: RouteStatus | undefined, now: number): RouteStatus {
  switch (e.kind) {
    case 'missing':
      return markMissingTrafficTarget(status, now, e.targetKind, e.name);
    case 'unreadyConfiguration':
      return e.isFailure
        ? markConfigurationFailed(status, now, e.name)
        : markConfigurationNotReady(status, now, e.name);
    case 'unreadyRevision':
      return e.isFailure ? markRevisionFailed(status, now, e.name) : markRevisionNotReady(status, now, e.name);
    case 'revisionNotOwned':
      return markRevisionNotOwned(status, now, e.revisionName, e.expectedService, e.actualService);
  }
}
