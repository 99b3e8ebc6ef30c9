// Rollout alerts: one module per sink (webhook, Slack, Alertmanager, CloudEvents) and a dispatcher with
// per-sink queues, retries, timeouts, de-duplication and redaction. The rollout controller calls
// `AlertDispatcher.notify(toAlertEvent(action, extras), policy.spec.alerts ?? [])`.
export * from './types.js';
export { AlertError, type AlertErrorCode } from './errors.js';
export { DEFAULT_RETRY, retryDelay, parseRetryAfter, type RetryPolicy } from './retry.js';
export {
  EnvSecretResolver,
  FunctionSecretResolver,
  KubeSecretResolver,
  type SecretResolver,
  type SecretKeyRef,
  type SecretLike,
} from './secrets.js';
export { redactSinkUrl, scrub } from './redact.js';
export type { AlertSink, SendContext, SinkInit } from './sink.js';
export {
  WebhookSink,
  signWebhook,
  verifyWebhookSignature,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  EVENT_HEADER,
  DELIVERY_HEADER,
  DEFAULT_TOLERANCE_SEC,
  type WebhookVerification,
} from './webhook.js';
export { SlackSink, slackMessage, type SlackMessage } from './slack.js';
export { CloudEventsSink, toCloudEvent, encodeCloudEvent, cloudEventType, CE_TYPE_PREFIX } from './cloudevents.js';
export { BrokerSink, brokerTarget, brokerNotReadyReason, type BrokerLike, type BrokerSinkOptions } from './broker.js';
export { post, postWithHost, type PostResult } from './http.js';
export {
  AlertmanagerSink,
  alertFor,
  alertName,
  FIRING_TYPES,
  RESOLVES,
  type PostableAlert,
  type AlertmanagerOptions,
} from './alertmanager.js';
export { AlertDispatcher, type DispatcherOptions, type NotifyReceipt, type SinkStats } from './dispatcher.js';
export { AlertNotifier, type AlertNotifierOptions, type RolloutNotificationLike } from './notifier.js';
export { ALERTS_SENT_ANNOTATION, ALERTS_SENT_LIMIT, claimAlert, recordSent, sentIds } from './ledger.js';
