// The Route reconciler's decisions as one pure function (after pkg/reconciler/route/route.go ReconcileKind):
// resolve traffic, compute URLs and the address, step a gradual rollout, and set every condition. The caller
// reads the objects, calls this, then writes the status and programs the router with `ingress`.

import {
  allDomainsAndTags,
  DomainNameError,
  routeAddressURL,
  routeVisibility,
  urlForTag,
  type NetworkConfig,
  type Visibility,
} from './domains.js';
import {
  buildRollout,
  buildTrafficConfiguration,
  ingressSplits,
  statusTraffic,
  type IngressSplit,
  type TrafficConfig,
} from './traffic.js';
import { markBadTrafficTarget, targetErrorMessage, type TargetError } from './target-errors.js';
import { observeReady, parseRollout, rolloutDone, serializeRollout, step } from './rollout.js';
import {
  ERROR_CONFIG_REASON,
  EXTERNAL_DOMAIN_TLS_NOT_ENABLED_MESSAGE,
  markIngressNotConfigured,
  markIngressRolloutInProgress,
  markRevisionTargetTrafficError,
  markTLSNotEnabled,
  markTrafficAssigned,
  propagateIngressStatus,
} from './route-lifecycle.js';
import { getCondition } from './conditions.js';
import { parseGoDuration } from './go-duration.js';
import { ANNOTATION_ROLLOUT, ANNOTATION_ROLLOUT_DURATION, getByPriority } from './keys.js';
import type { Configuration, Revision, Rollout, Route, RouteStatus } from './types.js';

/** What is known about the Route's ingress (the embedded router's programming for this Route). */
export interface IngressState {
  /** The rollout annotation last written (JSON string or parsed). */
  rollout?: Rollout | string;
  /** The ingress serves its current programming. */
  ready: boolean;
  /** False while the ingress has not yet observed its latest spec. */
  upToDate?: boolean;
}

export interface RouteReconcileInput {
  route: Route;
  configurations: readonly Configuration[];
  revisions: readonly Revision[];
  network: NetworkConfig;
  /** Unix nanoseconds; conditions are stamped with the same instant. */
  nowNs: number;
  /** Absent when no ingress exists yet. */
  ingress?: IngressState;
  /** Tags (or "") whose placeholder Service is labelled cluster-local. */
  clusterLocalTags?: ReadonlySet<string>;
}

export interface IngressProgram {
  /** Traffic name → splits; a rolling target is expanded into its revisions. */
  splits: Map<string, IngressSplit[]>;
  /** host → traffic name. */
  hosts: Record<string, string>;
  visibility: Map<string, Visibility>;
  rollout: Rollout;
  /** The value for the networking.internal.knative.dev/rollout annotation. */
  rolloutAnnotation: { key: string; value: string };
}

export interface RouteReconcileResult {
  status: RouteStatus;
  /** Set when traffic could not be assigned; `message` is the target or domain error's text. */
  error?: { kind: 'target'; target: TargetError; message: string } | { kind: 'domain'; message: string };
  /** Whether status.traffic was recomputed (false when a target could not be resolved). */
  statusTrafficUpdated: boolean;
  /** Present when the ingress should be (re)programmed. */
  ingress?: IngressProgram;
  /** When to reconcile again for the next rollout step, relative to now; undefined when not needed. */
  requeueAfterNs?: number;
  traffic?: TrafficConfig;
}

/** Route annotation first, then config-network's rollout-duration. */
export function rolloutDurationSeconds(route: Route, network: NetworkConfig): number {
  const [, v] = getByPriority(route.metadata?.annotations, ANNOTATION_ROLLOUT_DURATION);
  const d = v === '' ? undefined : parseGoDuration(v);
  const secs = d === undefined ? 0 : Math.trunc(d / 1e9);
  return secs === 0 ? network.rolloutDurationSeconds : secs;
}

export function reconcileRoute(input: RouteReconcileInput): RouteReconcileResult {
  const { route, network, nowNs } = input;
  const now = Math.floor(nowNs / 1e6);
  let status: RouteStatus = structuredClone(route.status ?? {});
  if ((route.metadata?.generation ?? 0) !== (status.observedGeneration ?? 0))
    status = markIngressNotConfigured(status, now);
  status.observedGeneration = route.metadata?.generation ?? 0;

  const { config, error } = buildTrafficConfiguration(route, input.configurations, input.revisions);
  const visibility = routeVisibility(network, route, input.clusterLocalTags);
  const url = (tag: string): string => urlForTag(network, route, tag, visibility.get(tag) ?? 'ExternalIP');
  try {
    status.url = url('');
  } catch (e) {
    if (!(e instanceof DomainNameError)) throw e;
    status = markRevisionTargetTrafficError(status, now, ERROR_CONFIG_REASON, e.message);
    return { status, error: { kind: 'domain', message: e.message }, statusTrafficUpdated: false, traffic: config };
  }
  if (error) {
    status = markBadTrafficTarget(error, status, now);
    return {
      status,
      error: { kind: 'target', target: error, message: targetErrorMessage(error) },
      statusTrafficUpdated: false,
      traffic: config,
    };
  }

  let hosts: Record<string, string>;
  try {
    status.traffic = statusTraffic(config, undefined, url);
    hosts = allDomainsAndTags(network, route, [...config.targets.keys()], visibility);
  } catch (e) {
    if (!(e instanceof DomainNameError)) throw e;
    // A tag's host too long for a DNS name: Knative's reconcileKind marks ErrorConfig for ErrDomainName.
    status = markRevisionTargetTrafficError(status, now, ERROR_CONFIG_REASON, e.message);
    return { status, error: { kind: 'domain', message: e.message }, statusTrafficUpdated: false, traffic: config };
  }
  status = markTrafficAssigned(status, now);
  status.address = { url: routeAddressURL(route) };
  status = markTLSNotEnabled(status, now, EXTERNAL_DOMAIN_TLS_NOT_ENABLED_MESSAGE);

  const current = buildRollout(config);
  let effective = current;
  let requeueAfterNs: number | undefined;
  if (input.ingress) {
    const rd = rolloutDurationSeconds(route, network);
    if (rd > 0) {
      let prev =
        typeof input.ingress.rollout === 'string' ? parseRollout(input.ingress.rollout) : input.ingress.rollout;
      if (prev && input.ingress.ready && getCondition(route.status, 'IngressReady')?.status !== 'True') {
        prev = observeReady(prev, nowNs, rd);
      }
      const stepped = step(current, prev, nowNs);
      effective = stepped.rollout;
      if (stepped.nextStepTimeNs > 0) requeueAfterNs = stepped.nextStepTimeNs - nowNs;
    }
  }
  const inProgress = !rolloutDone(effective);
  if (!input.ingress || input.ingress.upToDate === false) status = markIngressNotConfigured(status, now);
  else if (!inProgress)
    status = propagateIngressStatus(status, now, { status: input.ingress.ready ? 'True' : 'Unknown' });
  if (inProgress) {
    status = markIngressRolloutInProgress(status, now);
    status.traffic = statusTraffic(config, effective, url);
  }
  const result: RouteReconcileResult = {
    status,
    statusTrafficUpdated: true,
    traffic: config,
    ingress: {
      splits: ingressSplits(config, effective),
      hosts,
      visibility,
      rollout: effective,
      rolloutAnnotation: { key: ANNOTATION_ROLLOUT, value: serializeRollout(effective) },
    },
  };
  if (requeueAfterNs !== undefined) result.requeueAfterNs = requeueAfterNs;
  return result;
}
