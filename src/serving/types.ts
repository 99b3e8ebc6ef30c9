// Knative Serving v1 object shapes as they travel as JSON. Every field is optional because admission sees
// whatever a user wrote; code narrows before use instead of trusting the shape.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [k: string]: unknown;
}

/** A Kubernetes condition; `lastTransitionTime` is RFC 3339 (seconds), as Knative writes it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  severity?: '' | 'Error' | 'Warning' | 'Info';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface TrafficTarget {
  tag?: string;
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  /** 0..100; after defaulting always present. */
  percent?: number;
  url?: string;
}

export interface Probe {
  httpGet?: Record<string, unknown>;
  tcpSocket?: Record<string, unknown>;
  exec?: Record<string, unknown>;
  grpc?: Record<string, unknown>;
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  [k: string]: unknown;
}

export interface ContainerPort {
  name?: string;
  containerPort?: number;
  protocol?: string;
  [k: string]: unknown;
}

export interface EnvVar {
  name?: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface VolumeMount {
  name?: string;
  mountPath?: string;
  readOnly?: boolean;
  [k: string]: unknown;
}

export interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: Record<string, unknown>[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: VolumeMount[];
  securityContext?: Record<string, unknown>;
  terminationMessagePolicy?: string;
  [k: string]: unknown;
}

export interface Volume {
  name?: string;
  [k: string]: unknown;
}

export interface RevisionSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  serviceAccountName?: string;
  containerConcurrency?: number;
  timeoutSeconds?: number;
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  enableServiceLinks?: boolean;
  [k: string]: unknown;
}

export interface RevisionTemplateSpec {
  metadata?: ObjectMeta;
  spec?: RevisionSpec;
}

export interface ConfigurationSpec {
  template?: RevisionTemplateSpec;
}

export interface RouteSpec {
  traffic?: TrafficTarget[];
}

export interface ServiceSpec extends ConfigurationSpec, RouteSpec {}

export interface Addressable {
  url?: string;
}

export interface Status {
  observedGeneration?: number;
  conditions?: Condition[];
  [k: string]: unknown;
}

export interface ConfigurationStatus extends Status {
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
}

export interface RouteStatus extends Status {
  url?: string;
  address?: Addressable;
  traffic?: TrafficTarget[];
}

export interface ServiceStatus extends ConfigurationStatus, RouteStatus {}

export interface RevisionStatus extends Status {
  logUrl?: string;
  containerStatuses?: { name?: string; imageDigest?: string }[];
  actualReplicas?: number;
  desiredReplicas?: number;
}

export interface KObject<Spec, St extends Status> {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: Spec;
  status?: St;
}

export type Service = KObject<ServiceSpec, ServiceStatus>;
export type Configuration = KObject<ConfigurationSpec, ConfigurationStatus>;
export type Revision = KObject<RevisionSpec, RevisionStatus>;
export type Route = KObject<RouteSpec, RouteStatus>;

export type ServingKind = 'Service' | 'Configuration' | 'Revision' | 'Route';

/** One Revision's share inside a configuration's gradual rollout (the ingress annotation's JSON). */
export interface RevisionRollout {
  revisionName: string;
  /** Whole percent of all traffic, not of the configuration's share. */
  percent: number;
}

/** Times are Unix nanoseconds; durations nanoseconds. Zero means "unset" (omitted in JSON). */
export interface RolloutParams {
  starttime?: number;
  nextStepTime?: number;
  stepDuration?: number;
  stepSize?: number;
}

export interface ConfigurationRollout {
  configurationName: string;
  tag?: string;
  /** The configuration's whole share, sum of `revisions[].percent`. */
  percent: number;
  revisions?: RevisionRollout[];
  stepParams: RolloutParams;
}

export interface Rollout {
  configurations?: ConfigurationRollout[];
}
