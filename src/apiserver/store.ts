// The object store: every object in memory, every change made durable through the write-ahead log before
// it is acknowledged or shown to a watcher. One resourceVersion sequence spans all kinds, as etcd's
// revision does for kube-apiserver.
import { WriteAheadLog, type WalRecord, type Snapshot } from './wal.js';
import type { KObject } from './types.js';
import { errors } from './status.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: WatchEventType;
  resource: string;
  namespace: string;
  name: string;
  obj: KObject;
}

export interface Watcher {
  resource: string;
  /** Empty: every namespace. */
  namespace: string;
  send(ev: StoreEvent): void;
}

/** `group/plural`, the store's name for a resource, independent of version. */
export function resourceId(group: string, plural: string): string {
  return `${group}/${plural}`;
}

function objKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export interface StoreOptions {
  dir: string;
  /** How many past events a watch can resume from. */
  historySize?: number;
  compactAtBytes?: number;
}

export class Store {
  #wal: WriteAheadLog;
  #byResource = new Map<string, Map<string, KObject>>();
  /** uid → key, so the garbage collector can tell whether an owner exists without a scan. */
  #byUid = new Map<string, string>();
  #rv = 0;
  #durableRv = 0;
  #history: StoreEvent[] = [];
  #historyStart = 0;
  #historySize: number;
  #watchers = new Set<Watcher>();
  #inflight = new Set<Promise<void>>();

  private constructor(opts: StoreOptions) {
    this.#wal = new WriteAheadLog(
      opts.dir,
      opts.compactAtBytes === undefined ? {} : { compactAtBytes: opts.compactAtBytes },
    );
    this.#historySize = opts.historySize ?? 50_000;
  }

  static async open(opts: StoreOptions): Promise<{ store: Store; tornBytes: number; replayed: number }> {
    const s = new Store(opts);
    const loaded = await s.#wal.load();
    for (const { key, obj } of loaded.snapshot.objects) s.#setRaw(key, obj);
    s.#rv = loaded.snapshot.rv;
    for (const r of loaded.records) {
      const [resource, namespace, name] = splitKey(r.key);
      const existed = s.#getRaw(r.key) !== undefined;
      if (r.op === 'put') s.#setRaw(r.key, r.obj);
      else s.#deleteRaw(r.key);
      s.#rv = Math.max(s.#rv, r.rv);
      // The log since the last snapshot is also watch history, so a watcher can resume across a restart.
      s.#remember({
        rv: r.rv,
        type: r.op === 'del' ? 'DELETED' : existed ? 'MODIFIED' : 'ADDED',
        resource,
        namespace,
        name,
        obj: r.obj,
      });
    }
    if (s.#history.length === 0) s.#historyStart = s.#rv + 1;
    s.#durableRv = s.#rv;
    s.#wal.setSnapshotSource(() => s.#snapshot());
    return { store: s, tornBytes: loaded.tornBytes, replayed: loaded.records.length };
  }

  get resourceVersion(): number {
    return this.#durableRv;
  }

  get syncs(): number {
    return this.#wal.syncs;
  }

  get(resource: string, namespace: string, name: string): KObject | undefined {
    return this.#byResource.get(resource)?.get(objKey(namespace, name));
  }

  /** Objects of a resource, sorted by namespace then name. Callers must not mutate them. */
  list(resource: string, namespace: string): KObject[] {
    const m = this.#byResource.get(resource);
    if (!m) return [];
    const out: KObject[] = [];
    const keys = [...m.keys()].sort();
    for (const k of keys) {
      const o = m.get(k)!;
      if (!namespace || o.metadata.namespace === namespace) out.push(o);
    }
    return out;
  }

  /** Whether an object with this uid is stored (of any resource). */
  hasUid(uid: string): boolean {
    return this.#byUid.has(uid);
  }

  /** Every stored object, for the garbage collector's owner index. */
  *all(): Generator<[string, KObject]> {
    for (const [res, m] of this.#byResource) for (const o of m.values()) yield [res, o];
  }

  count(): number {
    let n = 0;
    for (const m of this.#byResource.values()) n += m.size;
    return n;
  }

  /**
   * Stores an object (create or replace), assigning the next resourceVersion. The in-memory state changes at
   * once, so a concurrent writer is checked against it; the promise resolves once the change is durable.
   */
  put(resource: string, obj: KObject): Promise<KObject> {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    const key = `${resource}|${ns}|${name}`;
    const existed = this.#getRaw(key) !== undefined;
    const rv = ++this.#rv;
    obj.metadata.resourceVersion = String(rv);
    this.#setRaw(key, obj);
    return this.#commit(
      { rv, op: 'put', key, obj },
      { rv, type: existed ? 'MODIFIED' : 'ADDED', resource, namespace: ns, name, obj },
    );
  }

  delete(resource: string, namespace: string, name: string): Promise<KObject> {
    const key = `${resource}|${namespace}|${name}`;
    const cur = this.#getRaw(key);
    if (!cur) return Promise.reject(errors.internal(`delete of missing ${key}`));
    const rv = ++this.#rv;
    const obj: KObject = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(rv) } };
    this.#deleteRaw(key);
    return this.#commit({ rv, op: 'del', key, obj }, { rv, type: 'DELETED', resource, namespace, name, obj });
  }

  #commit(rec: WalRecord, ev: StoreEvent): Promise<KObject> {
    const p = this.#wal.append([rec]).then(() => {
      this.#durableRv = Math.max(this.#durableRv, rec.rv);
      this.#remember(ev);
      for (const w of this.#watchers) {
        if (w.resource === ev.resource && (!w.namespace || w.namespace === ev.namespace)) w.send(ev);
      }
      return ev.obj;
    });
    const done = p.then(
      () => undefined,
      () => undefined,
    );
    this.#inflight.add(done);
    void done.then(() => this.#inflight.delete(done));
    return p;
  }

  /** Resolves once every write accepted so far is durable; reads wait on it so nobody sees an unsynced write. */
  async barrier(): Promise<void> {
    if (this.#inflight.size === 0) return;
    await Promise.all([...this.#inflight]);
  }

  /**
   * Registers a watcher after replaying history newer than `fromRv`. Throws 410 Gone when history no longer
   * reaches back to `fromRv`, which tells clients to list again.
   */
  watch(w: Watcher, fromRv: number): () => void {
    if (fromRv < this.#durableRv && fromRv + 1 < this.#historyStart) {
      throw errors.gone(`too old resource version: ${fromRv} (${this.#historyStart - 1})`);
    }
    for (const ev of this.#history) {
      if (ev.rv > fromRv && ev.resource === w.resource && (!w.namespace || w.namespace === ev.namespace)) w.send(ev);
    }
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    await this.barrier();
    await this.#wal.close();
  }

  #remember(ev: StoreEvent): void {
    if (this.#history.length === 0) this.#historyStart = ev.rv;
    this.#history.push(ev);
    if (this.#history.length > this.#historySize) {
      const drop = this.#history.length - this.#historySize;
      this.#history.splice(0, drop);
      this.#historyStart = this.#history[0]!.rv;
    }
  }

  #snapshot(): Snapshot {
    const objects: Snapshot['objects'] = [];
    for (const [res, m] of this.#byResource) {
      for (const o of m.values())
        objects.push({ key: `${res}|${o.metadata.namespace ?? ''}|${o.metadata.name ?? ''}`, obj: o });
    }
    return { rv: this.#rv, objects };
  }

  #getRaw(key: string): KObject | undefined {
    const [res, ns, name] = splitKey(key);
    return this.#byResource.get(res)?.get(objKey(ns, name));
  }
  #setRaw(key: string, obj: KObject): void {
    const [res, ns, name] = splitKey(key);
    let m = this.#byResource.get(res);
    if (!m) this.#byResource.set(res, (m = new Map()));
    const k = objKey(ns, name);
    const prev = m.get(k)?.metadata.uid;
    if (prev && prev !== obj.metadata.uid) this.#byUid.delete(prev);
    m.set(k, obj);
    if (obj.metadata.uid) this.#byUid.set(obj.metadata.uid, key);
  }
  #deleteRaw(key: string): void {
    const [res, ns, name] = splitKey(key);
    const m = this.#byResource.get(res);
    const uid = m?.get(objKey(ns, name))?.metadata.uid;
    if (uid && this.#byUid.get(uid) === key) this.#byUid.delete(uid);
    m?.delete(objKey(ns, name));
  }
}

function splitKey(key: string): [string, string, string] {
  const a = key.indexOf('|');
  const b = key.indexOf('|', a + 1);
  return [key.slice(0, a), key.slice(a + 1, b), key.slice(b + 1)];
}
