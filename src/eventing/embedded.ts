// Eventing in the embedded default: the Broker/Trigger/SinkBinding reconcilers and the broker data plane on
// the router's port (Host broker-ingress.knative-eventing.svc.cluster.local and its short forms), delivering
// to subscribers through the same router so cluster-local URLs and scale-from-zero work as for any request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { BrokerDataPlane } from './dataplane/broker-dataplane.js';
import { clusterSender } from './dataplane/cluster-http.js';
import { BROKER_INGRESS_NAME, SYSTEM_NAMESPACE } from './keys.js';
import { EventingController } from './reconciler/controller.js';

export interface HostRouter {
  setHostHandler(host: string, handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined): void;
}

export interface EmbeddedEventing {
  controller: EventingController;
  dataPlane: BrokerDataPlane;
  close(): Promise<void>;
}

/** Hostnames the broker-ingress Service answers on inside a cluster. */
export const BROKER_INGRESS_HOSTS = [
  `${BROKER_INGRESS_NAME}.${SYSTEM_NAMESPACE}.svc.cluster.local`,
  `${BROKER_INGRESS_NAME}.${SYSTEM_NAMESPACE}.svc`,
  `${BROKER_INGRESS_NAME}.${SYSTEM_NAMESPACE}`,
];

export async function startEmbeddedEventing(o: {
  client: KubeClient;
  router: HostRouter;
  routerUrl: string;
  clock: Clock;
  log: Logger;
}): Promise<EmbeddedEventing> {
  const log = o.log.child({ component: 'eventing' });
  const controller = new EventingController({ client: o.client, clock: o.clock, log });
  const send = clusterSender(o.routerUrl);
  const dataPlane = new BrokerDataPlane({ topology: controller.topology, send, clock: o.clock, log });
  await controller.start();
  for (const h of BROKER_INGRESS_HOSTS) o.router.setHostHandler(h, (req, res) => dataPlane.handle(req, res));
  return {
    controller,
    dataPlane,
    async close() {
      for (const h of BROKER_INGRESS_HOSTS) o.router.setHostHandler(h, undefined);
      controller.stop();
      send.close();
    },
  };
}
