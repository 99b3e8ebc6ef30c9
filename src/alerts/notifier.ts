// Glue for the rollout controller: its `Notifier` interface (`notify(n) → Promise<void>`, at-least-once from a
// persisted outbox, stable `n.id`) onto the dispatcher. Structural types only: alerts/ does not import rollout/.
import type { AlertSinkSpec, NotifyActionLike, NotifyExtras } from './types.js';
import { toAlertEvent } from './types.js';
import type { AlertDispatcher } from './dispatcher.js';

/** The controller's RolloutNotification, as far as alerts need it. */
export interface RolloutNotificationLike extends NotifyActionLike {
  /** Stable across redeliveries; becomes the event id (CloudEvents id, X-Sluice-Delivery). */
  id: string;
  /** The policy's `spec.alerts`. */
  alerts?: readonly AlertSinkSpec[];
}

export interface AlertNotifierOptions {
  /** Another notifier to call first (e.g. the controller's core/v1 Event notifier); its failure is the result. */
  also?: { notify(n: RolloutNotificationLike): Promise<void> };
  /** What the controller knows beyond the action: failed metric, commit, step count, phase, link. */
  extras?: (n: RolloutNotificationLike) => NotifyExtras | Promise<NotifyExtras>;
  /**
   * Records `n.id` as sent where every replica sees it (see ledger.ts); false: it was sent already, skip it.
   * Without it, de-duplication is the dispatcher's in-memory window only.
   */
  claim?: (n: RolloutNotificationLike) => Promise<boolean>;
}

/**
 * A Notifier that queues every notification on the dispatcher for the policy's sinks. It resolves once the
 * event is queued (sinks are retried by the dispatcher, never by the controller's outbox), so a dead sink
 * cannot hold a rollout's outbox. Redeliveries of the same id within the dedupe window are sent once.
 */
export class AlertNotifier {
  constructor(
    private readonly dispatcher: AlertDispatcher,
    private readonly opts: AlertNotifierOptions = {},
  ) {}

  async notify(n: RolloutNotificationLike): Promise<void> {
    if (this.opts.also) await this.opts.also.notify(n);
    const sinks = n.alerts ?? [];
    if (sinks.length === 0) return;
    if (this.opts.claim && !(await this.opts.claim(n))) return;
    const extra = this.opts.extras ? await this.opts.extras(n) : {};
    this.dispatcher.notify(toAlertEvent(n, { ...extra, id: n.id }), sinks);
  }
}
