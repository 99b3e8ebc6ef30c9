// The only place that knows @kubernetes/client-node. KubeConfig provides the server, credentials and TLS
// (kubeconfig files, in-cluster service accounts); requests go through client-node's fetch options, and
// watches through client-node's Watch. Everything above this speaks plain Kubernetes objects.
import { Agent as HttpsAgent } from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import fetch, { type RequestInit } from 'node-fetch';
import { KubeApiError } from './errors.js';
import { apiVersionOf, pathOf, type ResourceRef } from './resources.js';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export type PatchType = 'merge' | 'json' | 'apply' | 'strategic';

const PATCH_CT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
  strategic: 'application/strategic-merge-patch+json',
};

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  stop(): void;
}

/**
 * client-node's applyToFetchOptions builds a new https.Agent without keep-alive for every call, i.e. a TCP connection,
 * a TLS handshake and a TLS context per request (most of a busy controller's CPU). One keep-alive agent with the same
 * TLS options per KubeConfig instead; headers (tokens) are still taken per request. Proxy agents are left as given.
 */
const keepAliveAgents = new WeakMap<KubeConfig, HttpsAgent>();
function sharedAgent(config: KubeConfig, given: unknown): unknown {
  if (!(given instanceof HttpsAgent)) return given;
  let agent = keepAliveAgents.get(config);
  if (!agent) {
    agent = new HttpsAgent({ ...(given as HttpsAgent & { options: object }).options, keepAlive: true });
    keepAliveAgents.set(config, agent);
  }
  return agent;
}

export class KubeClient {
  readonly config: KubeConfig;
  #watch: Watch;
  /** The field manager recorded for this client's writes. */
  readonly fieldManager: string;

  constructor(config: KubeConfig, fieldManager = 'sluice') {
    this.config = config;
    this.#watch = new Watch(config);
    this.fieldManager = fieldManager;
  }

  static fromFile(path: string, fieldManager?: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeClient(kc, fieldManager);
  }

  /** Uses $KUBECONFIG, ~/.kube/config or the in-cluster service account, as kubectl does. */
  static fromDefault(fieldManager?: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeClient(kc, fieldManager);
  }

  withFieldManager(fieldManager: string): KubeClient {
    return new KubeClient(this.config, fieldManager);
  }

  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    query: Record<string, string | number | boolean | undefined> = {},
  ): Promise<T> {
    const server = this.server;
    if (!server) throw new KubeApiError(0, 'NoCluster', 'the kubeconfig has no current cluster');
    const url = new URL(server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const init = (await this.config.applyToFetchOptions({})) as RequestInit;
    init.agent = sharedAgent(this.config, init.agent) as RequestInit['agent'];
    // client-node returns a WHATWG Headers object; copy its entries (spreading it would drop them).
    const headers: Record<string, string> = { Accept: 'application/json' };
    const given = init.headers as unknown as { forEach?: (cb: (v: string, k: string) => void) => void } | undefined;
    given?.forEach?.((v, k) => {
      headers[k] = v;
    });
    if (body !== undefined) headers['Content-Type'] = contentType;
    let res;
    try {
      res = await fetch(url.toString(), {
        ...init,
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new KubeApiError(
        0,
        'Unreachable',
        `cannot reach the Kubernetes API at ${server}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const s = (parsed ?? {}) as { reason?: string; message?: string; details?: unknown };
      throw new KubeApiError(
        res.status,
        s.reason ?? '',
        s.message ?? `${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`,
        s.details,
      );
    }
    return parsed as T;
  }

  get<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string, name: string): Promise<T> {
    return this.request<T>('GET', pathOf(r, namespace, name));
  }

  /** Like get, but undefined when the object does not exist. */
  async tryGet<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(r, namespace, name);
    } catch (e) {
      if (e instanceof KubeApiError && e.isNotFound) return undefined;
      throw e;
    }
  }

  list<T extends KubeObject = KubeObject>(r: ResourceRef, namespace = '', o: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>('GET', pathOf(r, namespace), undefined, undefined, { ...o });
  }

  create<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T & KubeObject> {
    const body = { apiVersion: apiVersionOf(r), kind: r.kind, ...obj };
    return this.request<T & KubeObject>('POST', pathOf(r, obj.metadata.namespace), body, 'application/json', {
      fieldManager: this.fieldManager,
    });
  }

  update<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, subresource?: 'status'): Promise<T & KubeObject> {
    const body = { apiVersion: apiVersionOf(r), kind: r.kind, ...obj };
    return this.request<T & KubeObject>(
      'PUT',
      pathOf(r, obj.metadata.namespace, obj.metadata.name, subresource),
      body,
      'application/json',
      { fieldManager: this.fieldManager },
    );
  }

  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    name: string,
    patch: unknown,
    type: PatchType = 'merge',
    o: { subresource?: 'status'; force?: boolean } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', pathOf(r, namespace, name, o.subresource), patch, PATCH_CT[type], {
      fieldManager: this.fieldManager,
      ...(type === 'apply' ? { force: o.force ?? false } : {}),
    });
  }

  async delete(
    r: ResourceRef,
    namespace: string,
    name: string,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
  ): Promise<void> {
    await this.request('DELETE', pathOf(r, namespace, name), {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy,
    });
  }

  /**
   * Streams watch events through client-node's Watch. `done` is called once when the stream ends for any
   * reason (error, server close, stop); informers decide what to do next.
   */
  async watch(
    r: ResourceRef,
    namespace: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: WatchEventType, obj: KubeObject) => void,
    done: (err: unknown) => void,
  ): Promise<WatchHandle> {
    const ctrl = await this.#watch.watch(
      pathOf(r, namespace),
      query,
      (type: string, obj: unknown) => onEvent(type as WatchEventType, obj as KubeObject),
      done,
    );
    return { stop: () => ctrl.abort() };
  }
}
