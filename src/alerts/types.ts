// The alert vocabulary: what a rollout event carries, and how a policy names a sink. Plain data; every sink
// renders the same `AlertEvent`, and `toWireEvent` is the one JSON form sent to webhooks and CloudEvents.
import { randomUUID } from 'node:crypto';

export type AlertEventType =
  'started' | 'step' | 'paused' | 'promoted' | 'succeeded' | 'rolledBack' | 'aborted' | 'analysisFailed' | 'gitError';

export const ALERT_EVENT_TYPES: readonly AlertEventType[] = [
  'started',
  'step',
  'paused',
  'promoted',
  'succeeded',
  'rolledBack',
  'aborted',
  'analysisFailed',
  'gitError',
];

/** `critical` pages someone, `warning` wants a look, `info` is a progress note. */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/** The metric whose check failed, as the analysis saw it. */
export interface FailedMetric {
  name: string;
  /** The measured value; null when there was no data (and `onNoData: fail`). */
  value: number | null;
  /** The policy's bounds; a check passes when min ≤ value ≤ max. */
  thresholdRange?: { min?: number; max?: number };
  /** The PromQL that was sent. */
  query?: string;
  /** The judge's explanation, e.g. `0.82 < min 0.99`. */
  reason?: string;
}

export interface CommitInfo {
  /** Full SHA of the commit that introduced the revision, when GitOps knows it. */
  sha: string;
  message?: string;
  author?: string;
  url?: string;
}

export interface AlertEvent {
  /** Unique per event and reused on every retry (CloudEvents `id`, `X-Sluice-Delivery`), so receivers can dedupe. */
  id: string;
  type: AlertEventType;
  namespace: string;
  service: string;
  /** The Rollout's name (by contract 5, the Service's name). */
  rollout: string;
  /** The Rollout's phase after the event (`Progressing`, `RolledBack`, ...). */
  phase: string;
  stableRevision?: string;
  canaryRevision?: string;
  /** Percent of traffic, 0..100. */
  canaryWeight?: number;
  stableWeight?: number;
  /** The machine's `currentStep` and the plan's step count. */
  step?: { index: number; total: number };
  failedMetric?: FailedMetric;
  commit?: CommitInfo;
  /** One human sentence. */
  message: string;
  /** Milliseconds since the Unix epoch (from the caller's Clock). */
  time: number;
  severity: AlertSeverity;
  /** A link for humans (Alertmanager's `generatorURL`); optional. */
  url?: string;
}

export type AlertSinkType = 'webhook' | 'slack' | 'alertmanager' | 'cloudevents' | 'broker';

/**
 * One entry of a policy's `spec.alerts` (contract 5). Structurally compatible with the rollout policy's
 * `AlertSpec`; the extra fields are optional additions.
 */
export interface AlertSinkSpec {
  type: AlertSinkType;
  /** Where to send. For Slack the URL is itself a secret: prefer `secretRef` (it wins when both are set). */
  url?: string;
  /** Alertmanager only: more instances; every one gets every alert (no load balancer, per Alertmanager's HA docs). */
  urls?: string[];
  /**
   * webhook: HMAC key (default key `hmac`); slack: the incoming-webhook URL (default key `address`);
   * alertmanager: `user:password` for basic auth, anything else is a bearer token (default key `auth`);
   * cloudevents: a bearer token (default key `token`).
   */
  secretRef?: { name: string; key?: string };
  /** Only these event types are sent (default: all; Alertmanager: the alerting ones). */
  events?: string[];
  /** CloudEvents only: HTTP binding mode (default `binary`). */
  mode?: 'binary' | 'structured';
  /** Broker only: the Broker's name (`eventing.knative.dev/v1`). */
  broker?: string;
  /** Broker only: its namespace (default: the Service's). */
  namespace?: string;
}

const PHASE_OF: Record<AlertEventType, string> = {
  started: 'Progressing',
  step: 'Progressing',
  paused: 'Paused',
  promoted: 'Promoting',
  succeeded: 'Succeeded',
  rolledBack: 'RolledBack',
  aborted: 'Aborted',
  analysisFailed: 'RollingBack',
  gitError: 'Unknown',
};

export function defaultSeverity(type: AlertEventType): AlertSeverity {
  switch (type) {
    case 'rolledBack':
      return 'critical';
    case 'analysisFailed':
    case 'aborted':
    case 'gitError':
      return 'warning';
    default:
      return 'info';
  }
}

/** The shape of the rollout machine's `notify` action (kept structural: alerts/ does not import rollout/). */
export interface NotifyActionLike {
  event: AlertEventType;
  namespace: string;
  service: string;
  revision: string;
  stableRevision: string;
  step: number;
  weight: number;
  message: string;
  at: number;
}

/** What the controller knows beyond the action itself. */
export interface NotifyExtras {
  phase?: string;
  totalSteps?: number;
  failedMetric?: FailedMetric;
  commit?: CommitInfo;
  severity?: AlertSeverity;
  url?: string;
  id?: string;
}

/** Adapter for the rollout controller: a machine `notify` action (+ what else it knows) → an AlertEvent. */
export function toAlertEvent(a: NotifyActionLike, extra: NotifyExtras = {}): AlertEvent {
  const ev: AlertEvent = {
    id: extra.id ?? randomUUID(),
    type: a.event,
    namespace: a.namespace,
    service: a.service,
    rollout: a.service,
    phase: extra.phase ?? PHASE_OF[a.event],
    stableRevision: a.stableRevision,
    canaryRevision: a.revision,
    canaryWeight: a.weight,
    stableWeight: 100 - a.weight,
    message: a.message,
    time: a.at,
    severity: extra.severity ?? defaultSeverity(a.event),
  };
  if (extra.totalSteps !== undefined) ev.step = { index: a.step, total: extra.totalSteps };
  if (extra.failedMetric) ev.failedMetric = extra.failedMetric;
  if (extra.commit) ev.commit = extra.commit;
  if (extra.url) ev.url = extra.url;
  return ev;
}

/**
 * The de-duplication key: what makes two notifications "the same" — everything but id, time, severity and the
 * message text (a restarted controller recomputes the same action at a later time).
 */
export function eventKey(e: AlertEvent): string {
  return JSON.stringify([
    e.type,
    e.namespace,
    e.service,
    e.rollout,
    e.stableRevision ?? '',
    e.canaryRevision ?? '',
    e.step?.index ?? -1,
    e.canaryWeight ?? -1,
    e.failedMetric?.name ?? '',
    e.commit?.sha ?? '',
    e.type === 'gitError' ? e.message : '',
  ]);
}

export const API_GROUP_VERSION = 'delivery.sluice.dev/v1alpha1';

/** `/apis/delivery.sluice.dev/v1alpha1/namespaces/<ns>/rollouts/<name>`: the CloudEvents source and a link path. */
export function rolloutPath(e: Pick<AlertEvent, 'namespace' | 'rollout'>): string {
  return `/apis/${API_GROUP_VERSION}/namespaces/${encodeURIComponent(e.namespace)}/rollouts/${encodeURIComponent(e.rollout)}`;
}

/** The JSON document webhooks receive and CloudEvents carry as `data`: the event with an RFC 3339 time. */
export interface WireEvent extends Omit<AlertEvent, 'time'> {
  apiVersion: typeof API_GROUP_VERSION;
  kind: 'RolloutEvent';
  time: string;
}

export function toWireEvent(e: AlertEvent): WireEvent {
  return { apiVersion: API_GROUP_VERSION, kind: 'RolloutEvent', ...e, time: new Date(e.time).toISOString() };
}

/** `min 0.99`, `max 500`, `0.9..1`; empty when no bounds. */
export function describeThreshold(r: FailedMetric['thresholdRange']): string {
  if (!r) return '';
  const hasMin = r.min !== undefined,
    hasMax = r.max !== undefined;
  if (hasMin && hasMax) return `${r.min}..${r.max}`;
  if (hasMin) return `min ${r.min}`;
  if (hasMax) return `max ${r.max}`;
  return '';
}

/** `0.82 (want ≥ 0.99)` style comparison for humans. */
export function describeMetric(m: FailedMetric): string {
  const v = m.value === null ? 'no data' : formatNumber(m.value);
  const want: string[] = [];
  if (m.thresholdRange?.min !== undefined) want.push(`≥ ${m.thresholdRange.min}`);
  if (m.thresholdRange?.max !== undefined) want.push(`≤ ${m.thresholdRange.max}`);
  return want.length > 0 ? `${m.name} = ${v} (want ${want.join(' and ')})` : `${m.name} = ${v}`;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(4)));
}

/** `default/web`: how a rollout is named in text. */
export function rolloutName(e: Pick<AlertEvent, 'namespace' | 'service'>): string {
  return `${e.namespace}/${e.service}`;
}

const TITLES: Record<AlertEventType, string> = {
  started: 'rollout started',
  step: 'rollout step',
  paused: 'rollout paused',
  promoted: 'rollout promoted',
  succeeded: 'rollout succeeded',
  rolledBack: 'rolled back',
  aborted: 'rollout aborted',
  analysisFailed: 'analysis failed',
  gitError: 'Git error',
};

/** `default/web: rolled back` */
export function eventTitle(e: AlertEvent): string {
  return `${rolloutName(e)}: ${TITLES[e.type]}`;
}
