// The default Notifier: a core/v1 Event on the Rollout per notification. The Event's name is derived from the
// notification id, so a redelivery after a crash finds it already there (AlreadyExists = delivered).
import { createHash } from 'node:crypto';
import { KubeApiError, R, type KubeClient } from '../../kube/index.js';
import type { EventKind } from '../machine/types.js';
import type { Notifier, RolloutNotification } from './types.js';

const REASONS: Record<EventKind, string> = {
  started: 'RolloutStarted',
  step: 'RolloutStep',
  paused: 'RolloutPaused',
  promoted: 'RolloutPromoting',
  succeeded: 'RolloutSucceeded',
  rolledBack: 'RolledBack',
  aborted: 'RolloutAborted',
  analysisFailed: 'AnalysisFailed',
};
const WARNINGS: readonly EventKind[] = ['rolledBack', 'aborted', 'analysisFailed'];

export function eventName(n: RolloutNotification): string {
  return `${n.service}.${createHash('sha256').update(n.id).digest('hex').slice(0, 16)}`;
}

export class EventNotifier implements Notifier {
  readonly #client: KubeClient;
  readonly #component: string;

  constructor(client: KubeClient, component = 'sluice-rollout') {
    this.#client = client;
    this.#component = component;
  }

  async notify(n: RolloutNotification): Promise<void> {
    await this.#record(n, eventName(n), {
      apiVersion: 'delivery.sluice.dev/v1alpha1',
      kind: 'Rollout',
      namespace: n.namespace,
      name: n.service,
    });
    // The same decision on the Knative Service, so `kubectl describe ksvc` shows it beside Serving's events
    // (describe selects by uid, so the Service's is needed; a Service that is gone gets none).
    const svc = await this.#client.tryGet(R.services, n.namespace, n.service);
    if (svc?.metadata.uid)
      await this.#record(n, `${eventName(n)}.ksvc`, {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        namespace: n.namespace,
        name: n.service,
        uid: svc.metadata.uid,
      });
  }

  async #record(n: RolloutNotification, name: string, involvedObject: Record<string, string>): Promise<void> {
    const at = new Date(n.at).toISOString();
    try {
      await this.#client.create(R.events, {
        metadata: {
          name,
          namespace: n.namespace,
          annotations: { 'delivery.sluice.dev/notification-id': n.id },
        },
        involvedObject,
        reason: REASONS[n.event],
        message: n.message,
        type: WARNINGS.includes(n.event) ? 'Warning' : 'Normal',
        count: 1,
        firstTimestamp: at,
        lastTimestamp: at,
        source: { component: this.#component },
        reportingComponent: this.#component,
        action: n.event,
      });
    } catch (e) {
      if (e instanceof KubeApiError && e.isAlreadyExists) return;
      throw e;
    }
  }
}
