// Route status transitions with Knative's reasons and messages (route_lifecycle.go).

import { ConditionSet, withConditions } from './conditions.js';
import type { RouteStatus } from './types.js';

export const ROUTE_CONDITIONS = ConditionSet.living('AllTrafficAssigned', 'IngressReady', 'CertificateProvisioned');

export const EXTERNAL_DOMAIN_TLS_NOT_ENABLED_MESSAGE = 'external-domain-tls is not enabled';
export const TLS_NOT_ENABLED_FOR_CLUSTER_LOCAL_MESSAGE = 'TLS is not enabled for cluster-local';
/** The reason the reconciler uses when a host name cannot be built from the templates. */
export const ERROR_CONFIG_REASON = 'ErrorConfig';

type T = RouteStatus;
const q = (s: string): string => JSON.stringify(s);
const on = (s: T | undefined, now: number, fn: Parameters<typeof withConditions>[3]): T =>
  withConditions(ROUTE_CONDITIONS, s, now, fn);

export const initializeRouteConditions = (s: T | undefined, now: number): T => on(s, now, (m) => m.initialize());

export const markServiceNotOwned = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) =>
    m.markFalse('IngressReady', 'NotOwned', `There is an existing placeholder Service ${q(name)} that we do not own.`),
  );

export const markEndpointNotOwned = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) =>
    m.markFalse('IngressReady', 'NotOwned', `There is an existing placeholder Endpoint ${q(name)} that we do not own.`),
  );

export const markIngressRolloutInProgress = (s: T | undefined, now: number): T =>
  on(s, now, (m) =>
    m.markUnknown('IngressReady', 'RolloutInProgress', 'A gradual rollout of the latest revision(s) is in progress.'),
  );

export const markIngressNotConfigured = (s: T | undefined, now: number): T =>
  on(s, now, (m) => m.markUnknown('IngressReady', 'IngressNotConfigured', 'Ingress has not yet been reconciled.'));

export const markTrafficAssigned = (s: T | undefined, now: number): T =>
  on(s, now, (m) => m.markTrue('AllTrafficAssigned'));

export const markUnknownTrafficError = (s: T | undefined, now: number, msg: string): T =>
  on(s, now, (m) => m.markUnknown('AllTrafficAssigned', 'Unknown', msg));

export const markRevisionTargetTrafficError = (s: T | undefined, now: number, reason: string, msg: string): T =>
  on(s, now, (m) => m.markFalse('AllTrafficAssigned', reason, msg));

export const markConfigurationNotReady = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) =>
    m.markUnknown(
      'AllTrafficAssigned',
      'RevisionMissing',
      `Configuration ${q(name)} is waiting for a Revision to become ready.`,
    ),
  );

export const markConfigurationFailed = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) =>
    m.markFalse('AllTrafficAssigned', 'RevisionMissing', `Configuration ${q(name)} does not have any ready Revision.`),
  );

export const markRevisionNotReady = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) => m.markUnknown('AllTrafficAssigned', 'RevisionMissing', `Revision ${q(name)} is not yet ready.`));

export const markRevisionFailed = (s: T | undefined, now: number, name: string): T =>
  on(s, now, (m) =>
    m.markFalse('AllTrafficAssigned', 'RevisionMissing', `Revision ${q(name)} failed to become ready.`),
  );

export const markRevisionNotOwned = (
  s: T | undefined,
  now: number,
  revision: string,
  expectedService: string,
  actualService: string,
): T =>
  on(s, now, (m) =>
    m.markFalse(
      'AllTrafficAssigned',
      'RevisionNotOwned',
      actualService === ''
        ? `Revision ${q(revision)} does not belong to Service ${q(expectedService)}.`
        : `Revision ${q(revision)} belongs to Service ${q(actualService)}, not Service ${q(expectedService)}.`,
    ),
  );

/** `kind` is `Revision` or `Configuration`; the reason becomes `RevisionMissing`/`ConfigurationMissing`. */
export const markMissingTrafficTarget = (s: T | undefined, now: number, kind: string, name: string): T =>
  on(s, now, (m) =>
    m.markFalse('AllTrafficAssigned', `${kind}Missing`, `${kind} ${q(name)} referenced in traffic not found.`),
  );

export const markCertificateProvisionFailed = (s: T | undefined, now: number, cert: string, certReason: string): T =>
  on(s, now, (m) =>
    m.markFalse(
      'CertificateProvisioned',
      'CertificateProvisionFailed',
      `Certificate ${cert} fails to be provisioned: ${certReason}`,
    ),
  );

export const markCertificateReady = (s: T | undefined, now: number): T =>
  on(s, now, (m) => m.markTrue('CertificateProvisioned'));

export const markCertificateNotReady = (s: T | undefined, now: number, cert: string, certReason: string): T =>
  on(s, now, (m) =>
    m.markUnknown('CertificateProvisioned', 'CertificateNotReady', `Certificate ${cert} is not ready: ${certReason}`),
  );

export const markCertificateNotOwned = (s: T | undefined, now: number, cert: string): T =>
  on(s, now, (m) =>
    m.markFalse(
      'CertificateProvisioned',
      'CertificateNotOwned',
      `There is an existing certificate ${cert} that we don't own.`,
    ),
  );

/** Sluice's embedded ingress has no TLS: CertificateProvisioned is True with reason TLSNotEnabled. */
export const markTLSNotEnabled = (
  s: T | undefined,
  now: number,
  msg: string = EXTERNAL_DOMAIN_TLS_NOT_ENABLED_MESSAGE,
): T => on(s, now, (m) => m.markTrueWithReason('CertificateProvisioned', 'TLSNotEnabled', msg));

export const markHTTPDowngrade = (s: T | undefined, now: number, cert: string): T =>
  on(s, now, (m) =>
    m.markTrueWithReason('CertificateProvisioned', 'HTTPDowngrade', `Certificate ${cert} is not ready downgrade HTTP.`),
  );

/** Mirrors the Ingress's Ready condition into IngressReady; no condition yet means not configured. */
export function propagateIngressStatus(
  s: T | undefined,
  now: number,
  ingressReady: { status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string } | undefined,
): T {
  if (!ingressReady) return markIngressNotConfigured(s, now);
  return on(s, now, (m) => {
    if (ingressReady.status === 'True') m.markTrue('IngressReady');
    else if (ingressReady.status === 'False')
      m.markFalse('IngressReady', ingressReady.reason ?? '', ingressReady.message ?? '');
    else m.markUnknown('IngressReady', ingressReady.reason ?? '', ingressReady.message ?? '');
  });
}
