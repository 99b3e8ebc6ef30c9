// `type: broker`: rollout events as CloudEvents (binary mode, the same type/source/data as `type: cloudevents`)
// into a Knative Broker's ingress, so a Service behind a Trigger can react to rollouts. The Broker is read at
// every send: missing, not Ready or without an address → AlertBrokerNotReady (retryable: a Broker that is being
// created becomes Ready). Where the POST goes:
//   embedded (`sluice start`): the Broker's address names a cluster-local host that only the router serves, so
//     the POST goes to the router with that Host header and the address's path (`/<ns>/<name>`);
//   cluster: straight to `status.address.url`.
import type { AlertEvent, AlertSinkSpec } from './types.js';
import type { AlertSink, SendContext } from './sink.js';
import { typeFilter } from './sink.js';
import { encodeCloudEvent } from './cloudevents.js';
import { post, postWithHost } from './http.js';
import { AlertError } from './errors.js';

/** The part of an `eventing.knative.dev/v1` Broker this sink reads. */
export interface BrokerLike {
  status?: {
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
    address?: { url?: string };
  };
}

export interface BrokerSinkOptions {
  /** Reads one Broker; undefined when it does not exist. */
  getBroker(namespace: string, name: string): Promise<BrokerLike | undefined>;
  /**
   * The router's base URL when this process runs beside the embedded data plane (from endpoints.json's
   * `router` key); undefined on a cluster, where the address URL is reachable as it is.
   */
  routerUrl?(): Promise<string | undefined>;
}

/** Where to POST and with which Host header; pure. Pre: `address` is an absolute http(s) URL. */
export function brokerTarget(address: string, routerUrl: string | undefined): { url: string; host?: string } {
  if (routerUrl === undefined || routerUrl === '') return { url: address };
  const a = new URL(address);
  const r = new URL(routerUrl);
  return { url: `${r.origin}${a.pathname}${a.search}`, host: a.host };
}

/** Why a Broker cannot take events yet, or undefined when it can. Pure. */
export function brokerNotReadyReason(b: BrokerLike | undefined): string | undefined {
  if (!b) return 'not found';
  const ready = b.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    const why = [ready?.reason, ready?.message].filter((s) => s !== undefined && s !== '').join(': ');
    return `is not Ready${why ? ` (${why})` : ''}`;
  }
  if (!b.status?.address?.url) return 'has no address';
  return undefined;
}

export class BrokerSink implements AlertSink {
  readonly type = 'broker' as const;
  readonly label: string;
  readonly #accepts: (t: string) => boolean;

  constructor(
    private readonly spec: AlertSinkSpec,
    private readonly opts: BrokerSinkOptions,
  ) {
    this.label = `broker ${spec.namespace ? `${spec.namespace}/` : ''}${spec.broker ?? '(no name)'}`;
    this.#accepts = typeFilter(spec);
  }

  accepts(event: AlertEvent): boolean {
    return this.#accepts(event.type);
  }

  async send(event: AlertEvent, ctx: SendContext): Promise<void> {
    const name = this.spec.broker;
    if (!name) throw new AlertError('AlertConfig', 'broker: no broker name', { retryable: false });
    // The Broker lives with the Service unless the policy names another namespace.
    const namespace = this.spec.namespace ?? event.namespace;
    let broker: BrokerLike | undefined;
    try {
      broker = await this.opts.getBroker(namespace, name);
    } catch (e) {
      throw new AlertError(
        'AlertBrokerNotReady',
        `cannot read broker ${namespace}/${name}: ${e instanceof Error ? e.message : String(e)}`,
        { retryable: true, cause: e },
      );
    }
    const why = brokerNotReadyReason(broker);
    if (why !== undefined)
      throw new AlertError('AlertBrokerNotReady', `broker ${namespace}/${name} ${why}`, { retryable: true });
    const address = broker?.status?.address?.url ?? '';
    let target: { url: string; host?: string };
    try {
      target = brokerTarget(address, await this.opts.routerUrl?.());
    } catch {
      throw new AlertError('AlertBrokerNotReady', `broker ${namespace}/${name} has an invalid address`, {
        retryable: true,
      });
    }
    const enc = encodeCloudEvent(event, 'binary');
    if (target.host !== undefined)
      await postWithHost(target.url, target.host, enc.body, enc.headers, ctx.signal, () => ctx.now);
    else await post(target.url, enc.body, enc.headers, ctx.signal, () => ctx.now);
  }
}
