// `sluice start --quickstart-broker`: what `kn quickstart` does for Eventing once the API answers — the Broker
// `example-broker` in `default`, applied as its YAML is (class and delivery come from Knative's defaulting).
import { KubeApiError, type KubeClient } from '../kube/index.js';
import { ER } from './reconciler/resources.js';

export const QUICKSTART_BROKER = { name: 'example-broker', namespace: 'default' } as const;

/** Creates example-broker unless it exists; true when it was created. */
export async function ensureQuickstartBroker(client: KubeClient): Promise<boolean> {
  try {
    await client.create(ER.brokers, { metadata: { ...QUICKSTART_BROKER } });
    return true;
  } catch (e) {
    if (e instanceof KubeApiError && e.isAlreadyExists) return false;
    throw e;
  }
}
