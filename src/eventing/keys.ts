// Names Knative Eventing gives things: groups, annotation and label keys, the system namespace and the
// shared broker-ingress address. One place, so reconcilers, admission, the data plane and the CLI agree.

export const EVENTING_GROUP = 'eventing.knative.dev';
export const SOURCES_GROUP = 'sources.knative.dev';
export const SYSTEM_NAMESPACE = 'knative-eventing';
export const CLUSTER_DOMAIN = 'cluster.local';

export const BROKER_CLASS_KEY = 'eventing.knative.dev/broker.class';
export const MT_BROKER_CLASS = 'MTChannelBasedBroker';
export const BROKER_LABEL = 'eventing.knative.dev/broker';
export const TRIGGER_LABEL = 'eventing.knative.dev/trigger';
export const DEPENDENCY_ANNOTATION = 'knative.dev/dependency';
export const INJECTION_ANNOTATION = 'eventing.knative.dev/injection';

export const CONFIG_BR_DEFAULTS = 'config-br-defaults';
export const DEFAULT_BR_CONFIG_KEY = 'default-br-config';
export const CONFIG_FEATURES = 'config-features';

/** Status annotations the MT broker writes about its trigger channel. */
export const CHANNEL_ADDRESS_ANNOTATION = 'knative.dev/channelAddress';
export const CHANNEL_API_VERSION_ANNOTATION = 'knative.dev/channelAPIVersion';
export const CHANNEL_KIND_ANNOTATION = 'knative.dev/channelKind';
export const CHANNEL_NAME_ANNOTATION = 'knative.dev/channelName';

export const BROKER_INGRESS_NAME = 'broker-ingress';
export const BROKER_FILTER_NAME = 'broker-filter';
/** The host every MT broker's address names: `broker-ingress.knative-eventing.svc.cluster.local`. */
export const BROKER_INGRESS_HOST = `${BROKER_INGRESS_NAME}.${SYSTEM_NAMESPACE}.svc.${CLUSTER_DOMAIN}`;

/** CloudEvents extensions the broker adds. */
export const TTL_EXTENSION = 'knativebrokerttl';
export const ARRIVAL_TIME_EXTENSION = 'knativearrivaltime';
export const ERROR_DEST_EXTENSION = 'knativeerrordest';
export const ERROR_CODE_EXTENSION = 'knativeerrorcode';
export const ERROR_DATA_EXTENSION = 'knativeerrordata';
/** MAX_TTL of the broker: the TTL a new event gets, so reply loops end. */
export const MAX_TTL = 255;
/** knativeerrordata is capped at this many characters (after base64). */
export const ERROR_DATA_MAX_LENGTH = 1024;

/** `http://broker-ingress.knative-eventing.svc.cluster.local/<namespace>/<name>`. */
export function brokerAddressUrl(namespace: string, name: string): string {
  return `http://${BROKER_INGRESS_HOST}/${namespace}/${name}`;
}

/** kmeta.ChildName(broker, "-kne-trigger") for names that fit (≤ 63 characters). */
export function triggerChannelName(broker: string): string {
  return `${broker}-kne-trigger`;
}

export function channelAddress(namespace: string, broker: string): string {
  return `http://${triggerChannelName(broker)}-kn-channel.${namespace}.svc.${CLUSTER_DOMAIN}`;
}
