// The shapes the runtime accepts from the Serving reconcilers and hands back to them. They follow Knative's
// Revision and Route fields (a subset) so the reconciler can pass values through without translation.

import type { VolumeSpec } from './config-volumes.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface EnvVar {
  name: string;
  /** Only literal values are used; `valueFrom` must be resolved by the reconciler before upsertRevision. */
  value?: string;
  /** Resolved from a ConfigMap or Secret: a changed value does not replace running processes (env is read at start). */
  fromSource?: boolean;
}

export interface HttpGetAction {
  path?: string;
  /** Ignored for routing: Knative only allows probing the serving port, which the runtime assigns. */
  port?: number | string;
  httpHeaders?: Array<{ name: string; value: string }>;
  scheme?: 'HTTP';
}

export interface Probe {
  httpGet?: HttpGetAction;
  tcpSocket?: { port?: number | string };
  initialDelaySeconds?: number;
  /** Unset or 0 means Knative's aggressive probing until ready (every 25 ms), then every second. */
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

export interface ContainerSpec {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
  ports?: Array<{ containerPort?: number; name?: string }>;
  readinessProbe?: Probe;
  /** Mapped to local directories: `SLUICE_VOLUME_MOUNTS` (JSON `{mountPath: localPath}`), paths rewritten. */
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
  /** Quantities as written (`100m`, `128Mi`); `requests.cpu` is what the HPA class's CPU utilisation divides by. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

/** What the runtime needs to run one Revision. */
export interface RevisionSpec {
  namespace: string;
  name: string;
  /** Defaults to the `serving.knative.dev/service` label, then to ''. Used as a metric label. */
  serviceName?: string;
  /** Defaults to the `serving.knative.dev/configuration` label, then to the service name. */
  configurationName?: string;
  labels?: Record<string, string>;
  /** `autoscaling.knative.dev/*` annotations are read from here. */
  annotations?: Record<string, string>;
  /** Only the serving container (the one with `ports`, else the first) is run. */
  containers: ContainerSpec[];
  /** 0 or unset: unlimited. Otherwise a hard limit of in-flight requests per process; the rest queue. */
  containerConcurrency?: number;
  /** Seconds until the first response byte; default 300 (Knative's revision-timeout-seconds). */
  timeoutSeconds?: number;
  /**
   * The kubelet could not build the container's configuration (a missing ConfigMap, Secret or key): no process
   * starts; after the progress deadline the Revision is ResourcesAvailable=False with this reason and message.
   */
  containerConfigError?: { reason: string; message: string };
  /** ConfigMap/Secret/projected volumes with their files resolved, and emptyDir volumes (see config-volumes.ts). */
  volumes?: VolumeSpec[];
  /** Overrides the runtime's progress deadline (`serving.knative.dev/progress-deadline`, config-deployment). */
  progressDeadlineMs?: number;
}

export interface LastTermination {
  exitCode: number | null;
  signal: string | null;
  /** Milliseconds since the epoch. */
  at: number;
  /** Last lines the process wrote to stderr, at most a few hundred characters. */
  stderrTail: string;
}

export interface ProcessStatus {
  id: number;
  pid: number | null;
  port: number;
  state: 'starting' | 'ready' | 'unready' | 'backoff' | 'terminating' | 'stopped';
  restartCount: number;
}

export interface RevisionCondition {
  type: 'Ready' | 'ContainerHealthy' | 'ResourcesAvailable' | 'Active';
  status: ConditionStatus;
  reason?: string;
  message?: string;
}

export interface RevisionStatus {
  namespace: string;
  name: string;
  ready: ConditionStatus;
  reason: string;
  message: string;
  /** False when scaled to zero (reason `NoTraffic`); the revision can still be Ready. */
  active: boolean;
  /** Processes that pass their readiness probe. */
  replicas: number;
  /** Processes that exist (starting, ready, backing off or draining). */
  actualReplicas: number;
  desiredReplicas: number;
  restartCount: number;
  lastTermination?: LastTermination;
  /** Per-revision log file holding every process's stdout and stderr. */
  logFile: string;
  /** Loopback URLs of ready processes, for diagnostics. */
  endpoints: string[];
  /** One row per process, for `describe`-style output and diagnostics. */
  processes: ProcessStatus[];
  containerConcurrency: number;
  timeoutSeconds: number;
  /** Requests proxied to processes now, and requests waiting for a process (cold start or concurrency limit). */
  load: { inFlight: number; queued: number };
  /**
   * Autoscaler view: the scaling metric (`autoscaling.knative.dev/metric`), its stable- and panic-window averages
   * for the revision, the target per replica, and whether the panic window is in charge.
   */
  autoscaler: {
    /** `cpu`/`memory` with the HPA class: `stable` is then the utilisation % (or bytes) and `panic` 0. */
    metric: 'concurrency' | 'rps' | 'cpu' | 'memory';
    stable: number;
    panic: number;
    panicking: boolean;
    targetPerReplica: number;
  };
  conditions: RevisionCondition[];
}

export interface TrafficTarget {
  revisionName: string;
  /** 0..100; targets of one route must sum to 100 for the main host (not checked here). */
  percent: number;
  /** Makes `{tag}-{route}.{namespace}.{domain}` (or `hosts` below) reach this revision. */
  tag?: string;
  /** Explicit hostnames for the tag; default from the tag template. */
  hosts?: string[];
}

export interface RouteSpec {
  namespace: string;
  name: string;
  /** Explicit hostnames of the main URL; default from the domain template. */
  hosts?: string[];
  /** Domain for the templates, e.g. `example.com` or `127.0.0.1.sslip.io`; default from the table. */
  domain?: string;
  traffic: TrafficTarget[];
}

export interface RouteTable {
  routes: RouteSpec[];
  /** Default `example.com` (Knative's config-domain default). */
  domain?: string;
  /** Knative config-network `domain-template`; default `{{.Name}}.{{.Namespace}}.{{.Domain}}`. */
  domainTemplate?: string;
  /** Knative config-network `tag-template`; default `{{.Tag}}-{{.Name}}`. */
  tagTemplate?: string;
  /** Knative config-features `tag-header-based-routing`: honour the `Knative-Serving-Tag` header. */
  tagHeaderRouting?: boolean;
}
