// The status Knative's MT broker Trigger reconciler writes, as a pure function of the Trigger, its Broker as
// stored, and what resolving the subscriber and dead-letter sink gave. The embedded data plane plays the part
// of the generated Subscription: it is ready as soon as the subscriber resolves.
import { ConditionSet } from '../serving/conditions.js';
import { DLS_NOT_CONFIGURED, DLS_UNRESOLVED_REASON, isBrokerReady, type Resolution } from './broker-lifecycle.js';
import { BROKER_CLASS_KEY, CHANNEL_ADDRESS_ANNOTATION, MT_BROKER_CLASS } from './keys.js';
import type { Broker, DeliverySpec, Trigger, TriggerStatus } from './types.js';

export const TRIGGER_CONDITIONS = ConditionSet.living(
  'BrokerReady',
  'SubscriptionReady',
  'DependencyReady',
  'SubscriberResolved',
  'DeadLetterSinkResolved',
  'OIDCIdentityCreated',
);

export const SUBSCRIBER_UNRESOLVED_REASON = "Unable to get the Subscriber's URI";

export interface TriggerObservation {
  /** The Trigger's Broker as stored; null when it does not exist. */
  broker: Broker | null;
  subscriber?: Resolution;
  deadLetterSink?: Resolution;
  /** The Subscription's Ready condition; null when not reconciled yet. */
  subscription?: { ready: { status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string } } | null;
}

export interface TriggerReconcileResult {
  status: TriggerStatus;
  error?: string;
  /** The Broker is of another class: Knative leaves such Triggers alone (no status update). */
  ignored?: boolean;
}

export function reconcileTriggerStatus(t: Trigger, obs: TriggerObservation, now: number): TriggerReconcileResult {
  const prev = t.status ?? {};
  const m = TRIGGER_CONDITIONS.manage(prev.conditions, now);
  m.initialize();
  if (!m.get('OIDCIdentityCreated') || m.get('OIDCIdentityCreated')?.status === 'Unknown') {
    m.markTrueWithReason(
      'OIDCIdentityCreated',
      'authentication-oidc feature not yet supported for this Broker class',
      '',
    );
  }
  const status: TriggerStatus = { ...prev };
  if (t.metadata?.generation !== undefined) status.observedGeneration = t.metadata.generation;
  const done = (error?: string): TriggerReconcileResult => {
    status.conditions = m.conditions;
    return error === undefined ? { status } : { status, error };
  };
  const brokerName = t.spec?.broker ?? '';
  const b = obs.broker;
  if (!b) {
    m.markFalse('BrokerReady', 'BrokerDoesNotExist', `Broker ${JSON.stringify(brokerName)} does not exist`);
    return done();
  }
  if (b.metadata?.annotations?.[BROKER_CLASS_KEY] !== MT_BROKER_CLASS) return { status: prev, ignored: true };
  const bc = b.status?.conditions?.find((c) => c.type === 'Ready');
  if (!bc) m.markUnknown('BrokerReady', 'BrokerNotConfigured', 'Broker has not yet been reconciled.');
  else if (bc.status === 'True') m.markTrue('BrokerReady');
  else if (bc.status === 'False') m.markFalse('BrokerReady', bc.reason ?? '', bc.message ?? '');
  else m.markUnknown('BrokerReady', bc.reason ?? '', bc.message ?? '');
  if (!isBrokerReady(b)) return done();
  if (!b.status?.annotations?.[CHANNEL_ADDRESS_ANNOTATION]) {
    const msg = `Failed to get broker ${JSON.stringify(brokerName)} annotations: channel address annotation missing`;
    m.markFalse('BrokerReady', 'MissingBrokerChannel', msg);
    return done(msg);
  }
  m.markTrueWithReason('OIDCIdentityCreated', 'authentication-oidc feature disabled', '');

  const sub = obs.subscriber;
  if (!sub || 'error' in sub) {
    const msg = sub && 'error' in sub ? sub.error : 'subscriber not resolved';
    m.markFalse('SubscriberResolved', SUBSCRIBER_UNRESOLVED_REASON, msg);
    delete status.subscriberUri;
    return done(msg);
  }
  status.subscriberUri = sub.uri;
  m.markTrue('SubscriberResolved');

  const tdls = obs.deadLetterSink;
  if (t.spec?.delivery?.deadLetterSink) {
    if (!tdls || 'error' in tdls) {
      const msg = tdls && 'error' in tdls ? tdls.error : 'dead letter sink not resolved';
      delete status.deadLetterSinkUri;
      m.markFalse('DeadLetterSinkResolved', DLS_UNRESOLVED_REASON, msg);
      return done(msg);
    }
    status.deadLetterSinkUri = tdls.uri;
    m.markTrue('DeadLetterSinkResolved');
  } else if (b.spec?.delivery?.deadLetterSink) {
    if (b.status?.deadLetterSinkUri) {
      status.deadLetterSinkUri = b.status.deadLetterSinkUri;
      m.markTrue('DeadLetterSinkResolved');
    } else {
      delete status.deadLetterSinkUri;
      m.markFalse('DeadLetterSinkResolved', `Broker ${brokerName} didn't set status.deadLetterSinkURI`, '');
      return done(`broker ${brokerName} didn't set status.deadLetterSinkURI`);
    }
  } else {
    delete status.deadLetterSinkUri;
    m.markTrueWithReason('DeadLetterSinkResolved', DLS_NOT_CONFIGURED.reason, DLS_NOT_CONFIGURED.message);
  }

  const s = obs.subscription;
  if (!s) m.markUnknown('SubscriptionReady', 'SubscriptionNotConfigured', 'Subscription has not yet been reconciled.');
  else if (s.ready.status === 'True') m.markTrue('SubscriptionReady');
  else if (s.ready.status === 'False') m.markFalse('SubscriptionReady', s.ready.reason ?? '', s.ready.message ?? '');
  else m.markUnknown('SubscriptionReady', s.ready.reason ?? '', s.ready.message ?? '');

  m.markTrue('DependencyReady');
  return done();
}

/** The delivery a Trigger's events get: the Trigger's own spec.delivery if any, else the Broker's (whole). */
export function effectiveDelivery(t: Trigger, b: Broker | undefined): DeliverySpec | undefined {
  return t.spec?.delivery ?? b?.spec?.delivery;
}
