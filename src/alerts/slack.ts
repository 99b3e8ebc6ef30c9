// Slack incoming-webhook sink. The URL is the credential, so it normally comes from a Secret and is logged only
// as scheme://host/[REDACTED]. Slack answers 429 with Retry-After (about 1 message/s), honoured by the retry
// policy; 400/403/404/410 are permanent.
import type { AlertEvent } from './types.js';
import { describeMetric, describeThreshold, eventTitle, formatNumber } from './types.js';
import type { AlertSink, SendContext, SinkInit } from './sink.js';
import { requireUrl, resolveSecret, typeFilter } from './sink.js';
import { post } from './http.js';
import { redactSinkUrl } from './redact.js';

/** Slack's mrkdwn needs &, < and > escaped. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const ICON: Record<AlertEvent['severity'], string> = {
  info: ':large_blue_circle:',
  warning: ':warning:',
  critical: ':rotating_light:',
};

export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/** The message for one event: a plain `text` fallback (notifications, screen readers) plus blocks. */
export function slackMessage(e: AlertEvent): SlackMessage {
  const parts: string[] = [`${ICON[e.severity]} ${eventTitle(e)}`];
  if (e.canaryRevision || e.stableRevision)
    parts.push(`canary ${e.canaryRevision ?? '?'} / stable ${e.stableRevision ?? '?'}`);
  if (e.canaryWeight !== undefined)
    parts.push(`weights ${e.canaryWeight}% / ${e.stableWeight ?? 100 - e.canaryWeight}%`);
  if (e.failedMetric) parts.push(describeMetric(e.failedMetric));
  if (e.commit)
    parts.push(`commit ${e.commit.sha.slice(0, 12)}${e.commit.message ? ` "${firstLine(e.commit.message)}"` : ''}`);
  parts.push(e.message);
  const text = esc(parts.join(' · '));

  const fields: string[] = [`*Service*\n${esc(e.namespace)}/${esc(e.service)}`, `*Phase*\n${esc(e.phase)}`];
  if (e.stableRevision) fields.push(`*Stable*\n\`${esc(e.stableRevision)}\``);
  if (e.canaryRevision) fields.push(`*Canary*\n\`${esc(e.canaryRevision)}\``);
  if (e.canaryWeight !== undefined)
    fields.push(`*Weights*\ncanary ${e.canaryWeight}% / stable ${e.stableWeight ?? 100 - e.canaryWeight}%`);
  if (e.step) fields.push(`*Step*\n${e.step.index}/${e.step.total}`);
  if (e.failedMetric) {
    const m = e.failedMetric;
    const thr = describeThreshold(m.thresholdRange);
    fields.push(
      `*Failed metric*\n\`${esc(m.name)}\` = ${m.value === null ? 'no data' : formatNumber(m.value)}${thr ? ` (threshold ${esc(thr)})` : ''}`,
    );
  }
  if (e.commit) {
    const sha = e.commit.sha.slice(0, 12);
    const link = e.commit.url ? `<${e.commit.url}|${sha}>` : `\`${sha}\``;
    fields.push(`*Commit*\n${link}${e.commit.message ? ` ${esc(firstLine(e.commit.message))}` : ''}`);
  }
  const blocks: Array<Record<string, unknown>> = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `${ICON[e.severity]} *${esc(eventTitle(e))}*\n${esc(e.message)}` },
    },
    { type: 'section', fields: fields.slice(0, 10).map((t) => ({ type: 'mrkdwn', text: t })) },
  ];
  if (e.failedMetric?.query)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `query: \`${esc(e.failedMetric.query.slice(0, 2000))}\`` }],
    });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `${e.severity} · ${new Date(e.time).toISOString()} · ${esc(e.type)}` }],
  });
  return { text, blocks };
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').slice(0, 120);
}

export class SlackSink implements AlertSink {
  readonly type = 'slack' as const;
  readonly label: string;
  readonly #accepts: (t: string) => boolean;

  constructor(private readonly init: SinkInit) {
    const ref = init.spec.secretRef;
    this.label = ref
      ? `slack (url from secret ${init.namespace}/${ref.name})`
      : `slack ${init.spec.url ? redactSinkUrl(init.spec.url, { secretPath: true }) : '(no url)'}`;
    this.#accepts = typeFilter(init.spec);
  }

  accepts(event: AlertEvent): boolean {
    return this.#accepts(event.type);
  }

  async send(event: AlertEvent, ctx: SendContext): Promise<void> {
    if (this.init.spec.url) ctx.sensitive(this.init.spec.url);
    const fromSecret = await resolveSecret(this.init, 'address', ctx);
    const url = requireUrl(fromSecret?.trim() ?? this.init.spec.url, 'slack');
    await post(
      url,
      JSON.stringify(slackMessage(event)),
      { 'content-type': 'application/json' },
      ctx.signal,
      () => ctx.now,
    );
  }
}
