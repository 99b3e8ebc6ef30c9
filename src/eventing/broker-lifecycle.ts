// The status Knative's MT channel-based Broker reconciler writes, as a pure function of the Broker and what the
// reconciler observed (trigger channel, ingress/filter endpoints, dead-letter sink resolution). TLS and OIDC
// are off, as in a default install, so the address is the shared http broker-ingress.
import { ConditionSet } from '../serving/conditions.js';
import {
  brokerAddressUrl,
  channelAddress,
  CHANNEL_ADDRESS_ANNOTATION,
  CHANNEL_API_VERSION_ANNOTATION,
  CHANNEL_KIND_ANNOTATION,
  CHANNEL_NAME_ANNOTATION,
  triggerChannelName,
} from './keys.js';
import type { Broker, BrokerStatus } from './types.js';

export const BROKER_CONDITIONS = ConditionSet.living(
  'IngressReady',
  'TriggerChannelReady',
  'FilterReady',
  'Addressable',
  'DeadLetterSinkResolved',
  'EventPoliciesReady',
);

export const DLS_NOT_CONFIGURED = {
  reason: 'DeadLetterSinkNotConfigured',
  message: 'No dead letter sink is configured.',
};
export const DLS_UNRESOLVED_REASON = "Unable to get the dead letter sink's URI";
export const OIDC_DISABLED = {
  reason: 'OIDCDisabled',
  message: 'Feature "authentication-oidc" must be enabled to support Authorization',
};

/** What resolving a Destination gave: its URI, or the resolver's error text. */
export type Resolution = { uri: string } | { error: string };

export interface BrokerObservation {
  /** The trigger channel exists and has an address (embedded: always, the channel is in-process). */
  channelReady?: boolean;
  /** broker-ingress / broker-filter endpoints are available (embedded: the router is up). */
  ingressReady?: boolean;
  filterReady?: boolean;
  /** Absent when spec.delivery.deadLetterSink is not set. */
  deadLetterSink?: Resolution;
}

export interface BrokerReconcileResult {
  status: BrokerStatus;
  /** Set when Knative's reconcile returns an error (it is requeued). */
  error?: string;
}

export function reconcileBrokerStatus(b: Broker, obs: BrokerObservation, now: number): BrokerReconcileResult {
  const ns = b.metadata?.namespace ?? '';
  const name = b.metadata?.name ?? '';
  const prev = b.status ?? {};
  const m = BROKER_CONDITIONS.manage(prev.conditions, now);
  m.initialize();
  const status: BrokerStatus = { ...prev };
  if (b.metadata?.generation !== undefined) status.observedGeneration = b.metadata.generation;

  if (obs.channelReady === false) {
    m.markFalse('TriggerChannelReady', 'NoAddress', 'Channel does not have an address.');
  } else {
    m.markTrue('TriggerChannelReady');
    status.annotations = {
      ...(prev.annotations ?? {}),
      [CHANNEL_ADDRESS_ANNOTATION]: channelAddress(ns, name),
      [CHANNEL_API_VERSION_ANNOTATION]: 'messaging.knative.dev/v1',
      [CHANNEL_KIND_ANNOTATION]: 'InMemoryChannel',
      [CHANNEL_NAME_ANNOTATION]: triggerChannelName(name),
    };
  }
  if (obs.filterReady === false)
    m.markFalse('FilterReady', 'EndpointSlicesUnavailable', 'EndpointSlices are unavailable.');
  else m.markTrue('FilterReady');
  if (obs.ingressReady === false)
    m.markFalse('IngressReady', 'EndpointSlicesUnavailable', 'EndpointSlices are unavailable.');
  else m.markTrue('IngressReady');

  let error: string | undefined;
  const dls = obs.deadLetterSink;
  if (dls && 'error' in dls) {
    m.markFalse('DeadLetterSinkResolved', DLS_UNRESOLVED_REASON, dls.error);
    delete status.deadLetterSinkUri;
    error = dls.error;
  } else if (dls) {
    m.markTrue('DeadLetterSinkResolved');
    status.deadLetterSinkUri = dls.uri;
  } else {
    m.markTrueWithReason('DeadLetterSinkResolved', DLS_NOT_CONFIGURED.reason, DLS_NOT_CONFIGURED.message);
    delete status.deadLetterSinkUri;
  }
  if (error === undefined) {
    status.address = { name: 'http', url: brokerAddressUrl(ns, name) };
    m.markTrue('Addressable');
    m.markTrueWithReason('EventPoliciesReady', OIDC_DISABLED.reason, OIDC_DISABLED.message);
  }
  status.conditions = m.conditions;
  return error === undefined ? { status } : { status, error };
}

/** Broker.IsReady(): Ready True and the status is of the current generation. */
export function isBrokerReady(b: Broker | undefined): boolean {
  if (!b) return false;
  const ready = b.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && (b.status?.observedGeneration ?? 0) === (b.metadata?.generation ?? 0);
}
