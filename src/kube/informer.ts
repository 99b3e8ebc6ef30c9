// A shared-informer-style cache that never stops and never loses an event.
//
// client-node's own informer re-lists only on 410 Gone and stops on any other watch error. This one:
// lists, then watches from the list's resourceVersion with bookmarks; when a stream ends for any reason
// (timeout, server restart, network error) it resumes from the last resourceVersion it saw, with back-off;
// when the server answers 410 it lists again and turns the difference between its cache and the new list
// into add/update/delete events, so handlers see every change even across a restart that lost history.
import type { KubeClient, KubeObject, WatchHandle } from './client.js';
import { KubeApiError } from './errors.js';
import type { ResourceRef } from './resources.js';
import type { Logger } from '../observability/logger.js';

export interface InformerOptions<T extends KubeObject = KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often, so level-triggered handlers converge. 0: never. */
  resyncMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  log?: Logger;
  /**
   * Applied to every object before it is cached and handed to handlers (client-go's SetTransform): a controller
   * drops what it never reads (managedFields, a Revision's spec) so 10,000s of cached objects cost less memory.
   * `old` is the cached object it replaces, if any, so a transform can share unchanged parts with it.
   */
  transform?: (obj: T, old: T | undefined) => T;
}

type AddFn<T> = (obj: T) => void;
type UpdateFn<T> = (obj: T, old: T) => void;

export function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata.name ?? '');
}

export class Informer<T extends KubeObject = KubeObject> {
  #client: KubeClient;
  #ref: ResourceRef;
  #o: InformerOptions<T>;
  #cache = new Map<string, T>();
  /** The same objects by namespace ('' for cluster-scoped) and name, for get(). */
  #byNamespace = new Map<string, Map<string, T>>();
  #rv = '';
  #stopped = false;
  #watch: WatchHandle | undefined;
  #adds: AddFn<T>[] = [];
  #updates: UpdateFn<T>[] = [];
  #deletes: AddFn<T>[] = [];
  #errors: Array<(e: unknown) => void> = [];
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #resync: NodeJS.Timeout | undefined;
  #sleep: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  /** Counters for tests and /metrics: lists done, watches started. */
  readonly stats = { lists: 0, watches: 0, errors: 0 };

  constructor(client: KubeClient, ref: ResourceRef, o: InformerOptions<T> = {}) {
    this.#client = client;
    this.#ref = ref;
    this.#o = o;
  }

  onAdd(f: AddFn<T>): this {
    this.#adds.push(f);
    return this;
  }
  onUpdate(f: UpdateFn<T>): this {
    this.#updates.push(f);
    return this;
  }
  onDelete(f: AddFn<T>): this {
    this.#deletes.push(f);
    return this;
  }
  onError(f: (e: unknown) => void): this {
    this.#errors.push(f);
    return this;
  }

  /** Starts the loop; resolves once the first list has filled the cache. */
  start(): Promise<void> {
    void this.#run();
    if (this.#o.resyncMs) {
      this.#resync = setInterval(() => {
        for (const o of this.#cache.values()) this.#emitUpdate(o, o);
      }, this.#o.resyncMs);
      this.#resync.unref();
    }
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((r) => this.#syncWaiters.push(r));
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.stop();
    if (this.#resync) clearInterval(this.#resync);
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
    }
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get(namespace: string, name: string): T | undefined {
    // Two lookups on strings the caller already has: no key built per call (a controller at 10,000 objects asks
    // several times per decision, and building the key string was a visible share of its CPU).
    return this.#byNamespace.get(namespace)?.get(name);
  }

  get resourceVersion(): string {
    return this.#rv;
  }

  async #run(): Promise<void> {
    let needList = true;
    let backoff = this.#o.backoffMinMs ?? 100;
    const max = this.#o.backoffMaxMs ?? 5_000;
    while (!this.#stopped) {
      try {
        if (needList) {
          await this.#relist();
          needList = false;
        }
        const started = Date.now();
        const outcome = await this.#watchOnce();
        if (outcome === 'gone') {
          needList = true;
          continue;
        }
        if (outcome === 'error' && Date.now() - started < 1000) {
          await this.#pause(backoff);
          backoff = Math.min(max, backoff * 2);
        } else backoff = this.#o.backoffMinMs ?? 100;
      } catch (e) {
        this.stats.errors++;
        for (const f of this.#errors) f(e);
        if (e instanceof KubeApiError && e.isGone) needList = true;
        await this.#pause(backoff);
        backoff = Math.min(max, backoff * 2);
      }
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.#sleep = undefined;
          resolve();
        },
        ms * (0.8 + Math.random() * 0.4),
      );
      this.#sleep = { timer, resolve };
    });
  }

  async #relist(): Promise<void> {
    this.stats.lists++;
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.#client.list<T>(this.#ref, this.#o.namespace ?? '', {
        ...(this.#o.labelSelector ? { labelSelector: this.#o.labelSelector } : {}),
        ...(this.#o.fieldSelector ? { fieldSelector: this.#o.fieldSelector } : {}),
        limit: 500,
        ...(cont ? { continue: cont } : {}),
      });
      for (const i of page.items) {
        const o = { apiVersion: i.apiVersion ?? '', kind: i.kind ?? this.#ref.kind, ...i };
        items.push(this.#o.transform ? this.#o.transform(o, this.#cache.get(keyOf(o))) : o);
      }
      cont = page.metadata.continue;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    const fresh = new Map(items.map((o) => [keyOf(o), o]));
    for (const [k, old] of [...this.#cache]) {
      if (!fresh.has(k)) {
        this.#remove(k, old);
        this.#emitDelete(old);
      }
    }
    for (const [k, o] of fresh) {
      const old = this.#cache.get(k);
      this.#put(k, o);
      if (!old) this.#emitAdd(o);
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.#emitUpdate(o, old);
    }
    this.#rv = rv;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  #watchOnce(): Promise<'closed' | 'gone' | 'error'> {
    return new Promise((resolve) => {
      let outcome: 'closed' | 'gone' | 'error' = 'closed';
      this.stats.watches++;
      const query = {
        resourceVersion: this.#rv,
        allowWatchBookmarks: true,
        timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        labelSelector: this.#o.labelSelector,
        fieldSelector: this.#o.fieldSelector,
      };
      const onEvent = (type: string, obj: KubeObject): void => {
        if (type === 'ERROR') {
          const code = (obj as { code?: number }).code;
          outcome = code === 410 ? 'gone' : 'error';
          this.#watch?.stop();
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          if (rv) this.#rv = rv;
          return;
        }
        const raw = { ...obj, kind: obj.kind ?? this.#ref.kind } as T;
        const k = keyOf(raw);
        const old = this.#cache.get(k);
        const o = this.#o.transform ? this.#o.transform(raw, old) : raw;
        if (type === 'DELETED') {
          this.#remove(k, o);
          this.#emitDelete(o);
        } else {
          this.#put(k, o);
          if (old) this.#emitUpdate(o, old);
          else this.#emitAdd(o);
        }
        if (rv) this.#rv = rv;
      };
      const done = (err: unknown): void => {
        if (err && outcome === 'closed') {
          const status = (err as { statusCode?: number }).statusCode;
          outcome = status === 410 ? 'gone' : 'error';
          if (!this.#stopped && outcome === 'error')
            this.#o.log?.debug({ err: String(err) }, 'watch ended with an error; resuming');
        }
        resolve(outcome);
      };
      this.#client
        .watch(this.#ref, this.#o.namespace ?? '', query, onEvent, done)
        .then((h) => {
          this.#watch = h;
          if (this.#stopped) h.stop();
        })
        .catch(() => resolve('error'));
    });
  }

  #put(k: string, o: T): void {
    this.#cache.set(k, o);
    const ns = o.metadata.namespace ?? '';
    let m = this.#byNamespace.get(ns);
    if (!m) this.#byNamespace.set(ns, (m = new Map()));
    m.set(o.metadata.name ?? '', o);
  }

  #remove(k: string, o: T): void {
    this.#cache.delete(k);
    const ns = o.metadata.namespace ?? '';
    const m = this.#byNamespace.get(ns);
    if (!m) return;
    m.delete(o.metadata.name ?? '');
    if (m.size === 0) this.#byNamespace.delete(ns);
  }

  #emitAdd(o: T): void {
    for (const f of this.#adds) this.#safe(() => f(o));
  }
  #emitUpdate(o: T, old: T): void {
    for (const f of this.#updates) this.#safe(() => f(o, old));
  }
  #emitDelete(o: T): void {
    for (const f of this.#deletes) this.#safe(() => f(o));
  }
  #safe(f: () => void): void {
    try {
      f();
    } catch (e) {
      for (const h of this.#errors) h(e);
    }
  }
}
