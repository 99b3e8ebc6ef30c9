// The alerts' de-duplication state, kept in the API rather than in one replica's memory: before a notification
// is handed to the sinks, its id is recorded on the Rollout (annotation ALERTS_SENT_ANNOTATION, the last
// ALERTS_SENT_LIMIT ids) with the object's resourceVersion as precondition. A leader killed after sending but
// before clearing the Rollout's outbox leaves the id there, so the next leader, redelivering that outbox, skips it
// instead of alerting twice. The cost is the other side of the same moment: a crash between the record and the
// send loses that one alert (as a crash loses whatever the dispatcher still has queued).
import { KubeApiError, type KubeClient, type KubeObject, type ResourceRef } from '../kube/index.js';

export const ALERTS_SENT_ANNOTATION = 'delivery.sluice.dev/alerts-sent';
export const ALERTS_SENT_LIMIT = 32;

/** The ids recorded in the annotation's value (a JSON array); anything else reads as none. Pure. */
export function sentIds(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const v: unknown = JSON.parse(value);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** The annotation's next value with `id` recorded (oldest dropped past the limit), or null when it is there. Pure. */
export function recordSent(value: string | undefined, id: string, limit = ALERTS_SENT_LIMIT): string | null {
  const ids = sentIds(value);
  if (ids.includes(id)) return null;
  return JSON.stringify([...ids, id].slice(-limit));
}

/**
 * Records `id` on the object `namespace/name` of `ref`. True: recorded now, send it. False: already recorded
 * (sent by this or an earlier leader). An object that no longer exists has nothing to remember: true. A conflict
 * (the controller wrote the status meanwhile) is retried; other API errors are thrown, so the caller retries.
 */
export async function claimAlert(
  client: KubeClient,
  ref: ResourceRef,
  namespace: string,
  name: string,
  id: string,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const cur = await client.tryGet<KubeObject>(ref, namespace, name);
    if (!cur) return true;
    const next = recordSent(cur.metadata.annotations?.[ALERTS_SENT_ANNOTATION], id);
    if (next === null) return false;
    try {
      await client.patch(
        ref,
        namespace,
        name,
        {
          metadata: { resourceVersion: cur.metadata.resourceVersion, annotations: { [ALERTS_SENT_ANNOTATION]: next } },
        },
        'merge',
      );
      return true;
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409) || attempt >= 8) throw e;
    }
  }
}
