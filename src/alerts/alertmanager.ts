// Alertmanager API v2 sink (`POST <url>/api/v2/alerts`). Unlike Flux, which posts one firing alert per event
// and never sets endsAt, this sink keeps the alert's lifecycle:
//  - rolledBack, analysisFailed and gitError fire an alert, identified by its labels (alertname, namespace,
//    service, rollout, severity). While firing it is re-sent every `resendIntervalMs` with
//    endsAt = now + 4 × resendIntervalMs, so Alertmanager keeps it active exactly as long as we keep saying so
//    (Prometheus's resend semantics; it expires by itself if Sluice dies).
//  - a later succeeded or promoted event for the same namespace/service resolves rolledBack and analysisFailed;
//    succeeded, promoted or started resolves gitError. Resolution is a post with endsAt = the event's time, and
//    resolved alerts are re-sent for `resolvedRetentionMs` in case an instance missed it.
// One sink instance talks to one Alertmanager; the dispatcher makes one per configured URL, so every instance
// gets every alert with its own queue and retries.
import type { AlertEvent, AlertEventType } from './types.js';
import { describeMetric, describeThreshold, eventTitle, formatNumber, rolloutPath } from './types.js';
import type { AlertSink, SendContext, SinkInit } from './sink.js';
import { requireUrl, resolveSecret, typeFilter } from './sink.js';
import { post } from './http.js';
import { redactSinkUrl } from './redact.js';

export const FIRING_TYPES: readonly AlertEventType[] = ['rolledBack', 'analysisFailed', 'gitError'];

/** Which firing alerts (by event type) a later event of this type resolves. */
export const RESOLVES: Partial<Record<AlertEventType, readonly AlertEventType[]>> = {
  succeeded: ['rolledBack', 'analysisFailed', 'gitError'],
  promoted: ['rolledBack', 'analysisFailed', 'gitError'],
  started: ['gitError'],
};

/** `SluiceRolloutRolledBack`, `SluiceRolloutAnalysisFailed`, `SluiceRolloutGitError`. */
export function alertName(type: AlertEventType): string {
  return `SluiceRollout${type.charAt(0).toUpperCase()}${type.slice(1)}`;
}

/** One element of the POST /api/v2/alerts body. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

export interface AlertmanagerOptions {
  /** How often firing alerts are re-sent, ms (default 60 s). */
  resendIntervalMs?: number;
  /** How long resolved alerts keep being re-sent, ms (default 5 min). */
  resolvedRetentionMs?: number;
  /** Base of `generatorURL` when the event has no `url` (default `http://sluice.invalid`). */
  externalUrl?: string;
}

interface TrackedAlert {
  type: AlertEventType;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  generatorURL: string;
  /** Set once resolved: the resolution time, and the id of the event that resolved it. */
  resolvedAt?: number;
  resolvedBy?: string;
}

/** Labels (identity) and annotations (details) for an event. Pure. */
export function alertFor(
  e: AlertEvent,
  externalUrl = 'http://sluice.invalid',
): Omit<TrackedAlert, 'startsAt' | 'type'> {
  const labels: Record<string, string> = {
    alertname: alertName(e.type),
    namespace: e.namespace,
    service: e.service,
    rollout: e.rollout,
    severity: e.severity,
    source: 'sluice',
  };
  for (const [k, v] of Object.entries(labels)) if (v === '') delete labels[k];
  const a: Record<string, string> = {
    summary: eventTitle(e),
    description: e.message,
  };
  if (e.canaryRevision) a['canary_revision'] = e.canaryRevision;
  if (e.stableRevision) a['stable_revision'] = e.stableRevision;
  if (e.canaryWeight !== undefined) a['canary_weight'] = String(e.canaryWeight);
  if (e.step) a['step'] = `${e.step.index}/${e.step.total}`;
  if (e.failedMetric) {
    const m = e.failedMetric;
    a['metric'] = m.name;
    a['metric_value'] = m.value === null ? 'no data' : formatNumber(m.value);
    const thr = describeThreshold(m.thresholdRange);
    if (thr) a['threshold'] = thr;
    if (m.query) a['query'] = m.query;
    a['description'] = `${e.message} (${describeMetric(m)})`;
  }
  if (e.commit) {
    a['commit'] = e.commit.sha;
    if (e.commit.message) a['commit_message'] = e.commit.message.split('\n')[0] ?? '';
  }
  const generatorURL = e.url ?? `${externalUrl.replace(/\/+$/, '')}${rolloutPath(e)}`;
  return { labels, annotations: a, generatorURL };
}

function alertsEndpoint(url: string): string {
  const u = url.replace(/\/+$/, '');
  return /\/api\/v2\/alerts$/.test(u) ? u : `${u}/api/v2/alerts`;
}

export class AlertmanagerSink implements AlertSink {
  readonly type = 'alertmanager' as const;
  readonly label: string;
  readonly resendIntervalMs: number;
  readonly #resolvedRetentionMs: number;
  readonly #externalUrl: string;
  readonly #accepts: (t: string) => boolean;
  /** By `namespace/service/alertname`. */
  readonly #alerts = new Map<string, TrackedAlert>();

  constructor(
    private readonly init: SinkInit,
    private readonly url: string,
    opts: AlertmanagerOptions = {},
  ) {
    this.label = `alertmanager ${redactSinkUrl(url)}`;
    this.resendIntervalMs = opts.resendIntervalMs ?? 60_000;
    this.#resolvedRetentionMs = opts.resolvedRetentionMs ?? 300_000;
    this.#externalUrl = opts.externalUrl ?? 'http://sluice.invalid';
    this.#accepts = typeFilter(init.spec);
  }

  /** Firing types that pass the spec's filter; resolving types always (they may clear an alert). */
  accepts(event: AlertEvent): boolean {
    if (FIRING_TYPES.includes(event.type)) return this.#accepts(event.type);
    return RESOLVES[event.type] !== undefined;
  }

  hasPending(now: number): boolean {
    this.#prune(now);
    return this.#alerts.size > 0;
  }

  /** The alerts as they would be posted now. */
  snapshot(now: number): PostableAlert[] {
    this.#prune(now);
    return [...this.#alerts.values()].map((t) => this.#postable(t, now));
  }

  async send(event: AlertEvent, ctx: SendContext): Promise<void> {
    const changed = this.#apply(event);
    if (changed.length === 0) return;
    await this.#post(
      changed.map((t) => this.#postable(t, ctx.now)),
      ctx,
    );
  }

  async resend(ctx: SendContext): Promise<void> {
    const all = this.snapshot(ctx.now);
    if (all.length > 0) await this.#post(all, ctx);
  }

  /** Update tracked state for an event; returns the alerts that changed. Idempotent for a repeated event. */
  #apply(e: AlertEvent): TrackedAlert[] {
    const key = (t: AlertEventType): string => `${e.namespace}/${e.service}/${alertName(t)}`;
    if (FIRING_TYPES.includes(e.type)) {
      const prev = this.#alerts.get(key(e.type));
      const base = alertFor(e, this.#externalUrl);
      const startsAt = prev && prev.resolvedAt === undefined ? Math.min(prev.startsAt, e.time) : e.time;
      const t: TrackedAlert = { type: e.type, ...base, startsAt };
      this.#alerts.set(key(e.type), t);
      return [t];
    }
    const out: TrackedAlert[] = [];
    for (const type of RESOLVES[e.type] ?? []) {
      const t = this.#alerts.get(key(type));
      if (!t || e.time < t.startsAt) continue;
      if (t.resolvedAt !== undefined) {
        // a retry of the resolving event posts the resolution again
        if (t.resolvedBy === e.id) out.push(t);
        continue;
      }
      t.resolvedAt = e.time;
      t.resolvedBy = e.id;
      t.annotations = { ...t.annotations, resolved_by: e.type, resolution: e.message };
      out.push(t);
    }
    return out;
  }

  #postable(t: TrackedAlert, now: number): PostableAlert {
    const endsAt = t.resolvedAt ?? now + 4 * this.resendIntervalMs;
    return {
      labels: t.labels,
      annotations: t.annotations,
      startsAt: new Date(t.startsAt).toISOString(),
      endsAt: new Date(Math.max(endsAt, t.startsAt)).toISOString(),
      generatorURL: t.generatorURL,
    };
  }

  #prune(now: number): void {
    for (const [k, t] of this.#alerts) {
      if (t.resolvedAt !== undefined && now - t.resolvedAt > this.#resolvedRetentionMs) this.#alerts.delete(k);
    }
  }

  async #post(alerts: PostableAlert[], ctx: SendContext): Promise<void> {
    const url = requireUrl(this.url, 'alertmanager');
    const cred = await resolveSecret(this.init, 'auth', ctx);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cred !== undefined) {
      headers['authorization'] = cred.includes(':')
        ? `Basic ${Buffer.from(cred).toString('base64')}`
        : `Bearer ${cred}`;
      ctx.sensitive(Buffer.from(cred).toString('base64'));
    }
    await post(alertsEndpoint(url), JSON.stringify(alerts), headers, ctx.signal, () => ctx.now);
  }
}
