// The data plane as the reconcilers see it: a structural subset of runtime's `Runtime`, so serving/reconciler
// never imports runtime/ and the CLI passes the Runtime in. `Spec` is what upsertRevision takes; the caller
// supplies `toRunSpec` to turn a stored Revision into it (runtime's revisionSpecFromKnative).

export type DataPlaneConditionStatus = 'True' | 'False' | 'Unknown';

/** What the data plane observed about one Revision's processes. */
export interface DataPlaneRevisionStatus {
  namespace: string;
  name: string;
  ready: DataPlaneConditionStatus;
  /** Why not ready (e.g. `ExitCode1`, `Deploying`, `ContainerMissing`); '' when ready. */
  reason: string;
  message: string;
  /** False when scaled to zero; the Revision can still be Ready. */
  active: boolean;
  actualReplicas: number;
  desiredReplicas: number;
}

export interface DataPlaneTrafficTarget {
  revisionName: string;
  /** 0..100 of the route's main host; a tag-only entry carries 0. */
  percent: number;
  tag?: string;
  /** The tag's host names. */
  hosts?: string[];
}

export interface DataPlaneRoute {
  namespace: string;
  name: string;
  /** Host names of the route's main URL. */
  hosts?: string[];
  traffic: DataPlaneTrafficTarget[];
}

export interface DataPlaneRouteTable {
  routes: DataPlaneRoute[];
}

export interface DataPlane<Spec> {
  /** Create or update a Revision's processes; returns the status right away. */
  upsertRevision(spec: Spec): DataPlaneRevisionStatus;
  /** Stop a Revision's processes after draining; idempotent. */
  removeRevision(namespace: string, name: string): Promise<void>;
  revisionStatus(namespace: string, name: string): DataPlaneRevisionStatus | undefined;
  /** Replaces the whole routing table (every Route's splits and hosts). */
  setRoutes(table: DataPlaneRouteTable): void;
  /** Called whenever a Revision's observed status changes. */
  on(event: 'status', listener: (s: DataPlaneRevisionStatus) => void): unknown;
}
