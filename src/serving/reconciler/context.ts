// What every reconciler is given: cached reads (informers), a writer (KubeClient), a clock and a logger.
// Reads come from the caches, like Knative's listers; a write that races a stale cache fails with a
// conflict and the work queue retries it from fresh state.
import type { EventRecorder, KubeClient, KubeObject } from '../../kube/index.js';
import { KubeApiError } from '../../kube/index.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../util/clock.js';
import type { ObjectMeta } from '../types.js';

export interface Lister<T extends KubeObject = KubeObject> {
  get(namespace: string, name: string): T | undefined;
  list(): T[];
}

export interface Listers {
  services: Lister;
  configurations: Lister;
  revisions: Lister;
  routes: Lister;
  /** networking.internal.knative.dev Ingresses (one per Route, holding the rollout annotation). */
  ingresses: Lister;
  /** ConfigMaps of every namespace: knative-serving's config-* and those a Revision's env or volumes name. */
  configMaps: Lister;
  /** Secrets a Revision's env or volumes name. */
  secrets: Lister;
}

export type KubeWriter = Pick<KubeClient, 'get' | 'tryGet' | 'create' | 'update' | 'patch'>;

export interface ReconcilerContext {
  client: KubeWriter;
  listers: Listers;
  clock: Clock;
  log: Logger;
  /** core/v1 Events with Knative's reasons, from `<kind>-controller`. */
  recorder: EventRecorder;
}

/** Serving's JSON shapes and client-node's are the same objects seen through two type lenses. */
export const asServing = <T>(o: KubeObject): T => o as unknown as T;
export const asKube = (o: { metadata?: ObjectMeta }): KubeObject => o as unknown as KubeObject;

export const isAlreadyExists = (e: unknown): boolean => e instanceof KubeApiError && e.isAlreadyExists;

/** Objects of one namespace from a lister. */
export const inNamespace = (l: Lister, ns: string): KubeObject[] => l.list().filter((o) => o.metadata.namespace === ns);
