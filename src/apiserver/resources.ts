// The verbs on stored objects, as kube-apiserver's generic registry implements them: create, update (with
// optimistic concurrency), patch, delete (finalizers, propagation, garbage collection by ownerReferences),
// the status subresource, and the admission chain (prune, defaults, mutating hooks, schema, validating hooks).
import { randomUUID, randomInt } from 'node:crypto';
import type { Store } from './store.js';
import { resourceId } from './store.js';
import { groupVersion, type Registry, type ResourceType } from './registry.js';
import type { KObject, ManagedFieldsEntry } from './types.js';
import { isRecord, jsonEqual } from './types.js';
import { StatusError, errors, type StatusCause } from './status.js';
import { applyDefaults, prune, validateAgainst, validateName } from './schema.js';
import { mergePatch, jsonPatch, serverSideApply, changedPaths, transferOwnership } from './patch.js';
import type { Admission } from './admission.js';
import { crdStatus, crdToTypes, validateCrd } from './crd.js';
import type { Clock } from '../util/clock.js';
import type { UserInfo } from './authn.js';

export interface WriteOptions {
  fieldManager: string;
  fieldValidation: 'Strict' | 'Warn' | 'Ignore';
  dryRun: boolean;
  subresource: string;
  user: string;
  /** The authenticated user the request acts as (after impersonation); absent for the server's own writes. */
  userInfo?: UserInfo;
  /** Warnings collected for the `Warning` response header. */
  warnings: string[];
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export class Resources {
  #store: Store;
  #reg: Registry;
  #admission: Admission;
  #clock: Clock;

  constructor(store: Store, reg: Registry, admission: Admission, clock: Clock) {
    this.#store = store;
    this.#reg = reg;
    this.#admission = admission;
    this.#clock = clock;
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  get(rt: ResourceType, ns: string, name: string): KObject {
    const o = this.#store.get(resourceId(rt.group, rt.plural), ns, name);
    if (!o) throw errors.notFound(rt.plural, rt.group, name);
    return this.asVersion(rt, o);
  }

  /** Objects are stored once per group/resource; reading through another served version only relabels them. */
  asVersion(rt: ResourceType, o: KObject): KObject {
    const av = groupVersion(rt);
    return o.apiVersion === av ? o : { ...o, apiVersion: av };
  }

  #checkKind(rt: ResourceType, body: unknown): KObject {
    if (!isRecord(body)) throw errors.badRequest('the request body must be a JSON or YAML object');
    const o = body as KObject;
    const av = groupVersion(rt);
    if (o.apiVersion !== undefined && o.apiVersion !== av) {
      throw errors.badRequest(
        `the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${av})`,
      );
    }
    // kubectl maps a lowercase kind (`kind: broker`, as `kn quickstart` applies it) to the resource and sends
    // the body as written; the kube-apiserver stores it under the resource's kind, so only case may differ.
    if (o.kind !== undefined && String(o.kind).toLowerCase() !== rt.kind.toLowerCase()) {
      throw errors.badRequest(`the kind in the data (${String(o.kind)}) does not match the expected kind (${rt.kind})`);
    }
    if (!isRecord(o.metadata)) o.metadata = {};
    o.apiVersion = av;
    o.kind = rt.kind;
    return o;
  }

  /** Prune, default, admit and validate, in kube-apiserver's order. Returns the object to store. */
  #admit(
    rt: ResourceType,
    op: 'CREATE' | 'UPDATE',
    obj: KObject,
    old: KObject | undefined,
    opts: WriteOptions,
  ): KObject {
    if (rt.schema) {
      const dropped = prune(obj, rt.schema);
      if (dropped.length > 0 && opts.fieldValidation !== 'Ignore') {
        const list = dropped.map((d) => `unknown field "${d}"`);
        if (opts.fieldValidation === 'Strict') {
          throw errors.badRequest(
            `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: strict decoding error: ${list.join(', ')}`,
          );
        }
        opts.warnings.push(...list);
      }
      applyDefaults(obj, rt.schema);
    }
    if (rt.group === '' && rt.plural === 'secrets') foldStringData(obj);
    let out = obj;
    const req = {
      operation: op,
      resource: rt,
      user: opts.user,
      ...(opts.userInfo ? { userInfo: opts.userInfo } : {}),
      ...(old ? { oldObject: old } : {}),
    };
    if (opts.subresource === '') out = this.#admission.mutate({ ...req, object: obj });
    const causes: StatusCause[] = [];
    const name = out.metadata.name ?? '';
    if (op === 'CREATE')
      causes.push(
        ...validateName(
          name,
          rt.plural === 'namespaces' ? 'label' : rt.group === 'rbac.authorization.k8s.io' ? 'path' : 'subdomain',
        ),
      );
    if (rt.schema) causes.push(...validateAgainst(out, rt.schema));
    if (rt.group === 'apiextensions.k8s.io' && rt.plural === 'customresourcedefinitions')
      causes.push(...validateCrd(out));
    if (causes.length > 0) throw errors.invalid(rt.kind, rt.group, name, causes);
    if (opts.subresource === '') this.#admission.validate({ ...req, object: out });
    return out;
  }

  #requireNamespace(rt: ResourceType, ns: string): void {
    if (!rt.namespaced) return;
    const n = this.#store.get('/namespaces', '', ns);
    if (!n) throw errors.namespaceNotFound(ns);
    if (n.metadata.deletionTimestamp) {
      throw new StatusError(
        403,
        'Forbidden',
        `${rt.plural}${rt.group ? '.' + rt.group : ''} "${''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  async create(rt: ResourceType, ns: string, body: unknown, opts: WriteOptions): Promise<KObject> {
    const o = this.#checkKind(rt, body);
    if (rt.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== ns) {
        throw errors.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      o.metadata.namespace = ns;
    } else delete o.metadata.namespace;
    if (!o.metadata.name) {
      if (!o.metadata.generateName) {
        throw errors.invalid(rt.kind, rt.group, '', [
          {
            field: 'metadata.name',
            reason: 'FieldValueRequired',
            message: 'Required value: name or generateName is required',
          },
        ]);
      }
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += GENERATE_ALPHABET[randomInt(GENERATE_ALPHABET.length)];
      o.metadata.name = `${o.metadata.generateName}${suffix}`;
    }
    this.#requireNamespace(rt, ns);
    const now = this.#now();
    for (const k of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'] as const)
      delete o.metadata[k];
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = now;
    if (rt.hasGeneration) o.metadata.generation = 1;
    else delete o.metadata.generation;
    if (rt.statusSubresource && rt.plural !== 'namespaces') delete o.status;
    if (rt.plural === 'namespaces') o.status = { phase: 'Active' };
    let obj = this.#admit(rt, 'CREATE', o, undefined, opts);
    if (rt.plural === 'customresourcedefinitions') obj = { ...obj, status: crdStatus(obj, now) };
    if (!obj.metadata.managedFields && opts.fieldManager) {
      obj.metadata.managedFields = transferOwnership(
        [],
        opts.fieldManager,
        'Update',
        obj.apiVersion,
        now,
        changedPaths(undefined, obj, false),
        false,
      );
    }
    if (this.#store.get(resourceId(rt.group, rt.plural), ns, obj.metadata.name ?? '')) {
      throw errors.alreadyExists(rt.plural, rt.group, obj.metadata.name ?? '');
    }
    if (opts.dryRun) return obj;
    const stored = await this.#store.put(resourceId(rt.group, rt.plural), obj);
    this.#afterWrite(rt, stored);
    return stored;
  }

  /** PUT: replace, with the resourceVersion as the optimistic-concurrency precondition. */
  async update(rt: ResourceType, ns: string, name: string, body: unknown, opts: WriteOptions): Promise<KObject> {
    const o = this.#checkKind(rt, body);
    if (o.metadata.name && o.metadata.name !== name) {
      throw errors.badRequest(
        `the name of the object (${o.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const cur = this.#store.get(resourceId(rt.group, rt.plural), ns, name);
    if (!cur) throw errors.notFound(rt.plural, rt.group, name);
    const rv = o.metadata.resourceVersion;
    if (!rv && !rt.builtin) {
      throw errors.invalid(rt.kind, rt.group, name, [
        { field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' },
      ]);
    }
    if (rv && rv !== cur.metadata.resourceVersion) throw errors.staleResourceVersion(rt.plural, rt.group, name);
    return this.#replace(rt, cur, o, opts);
  }

  async patch(
    rt: ResourceType,
    ns: string,
    name: string,
    type: PatchType,
    body: unknown,
    opts: WriteOptions & { force: boolean },
  ): Promise<KObject> {
    const rid = resourceId(rt.group, rt.plural);
    const cur = this.#store.get(rid, ns, name);
    if (type === 'strategic' && !rt.builtin) {
      throw errors.notAcceptableMedia(
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
      );
    }
    if (type === 'apply') {
      const applied = this.#checkKind(rt, body);
      if (!applied.metadata.name) applied.metadata.name = name;
      if (applied.metadata.name !== name)
        throw errors.badRequest(
          `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
        );
      if (!opts.fieldManager)
        throw errors.badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
      const now = this.#now();
      const label = { group: rt.group, plural: rt.plural, name, apiVersion: groupVersion(rt) };
      if (!cur) {
        const res = serverSideApply(undefined, applied, opts.fieldManager, opts.force, now, label);
        res.obj.metadata.managedFields = res.managedFields;
        return this.create(rt, ns, res.obj, { ...opts, fieldManager: '' });
      }
      const res = serverSideApply(this.asVersion(rt, cur), applied, opts.fieldManager, opts.force, now, label);
      res.obj.metadata.managedFields = res.managedFields;
      res.obj.metadata.resourceVersion = cur.metadata.resourceVersion;
      return this.#replace(rt, cur, res.obj, { ...opts, fieldManager: '' });
    }
    if (!cur) throw errors.notFound(rt.plural, rt.group, name);
    const base = this.asVersion(rt, cur);
    let next: KObject;
    if (type === 'json') next = jsonPatch(base, body);
    else {
      if (!isRecord(body)) throw errors.badRequest('a merge patch must be a JSON object');
      next = mergePatch(base, body) as KObject;
    }
    if (!isRecord(next.metadata)) next.metadata = {};
    const rv = next.metadata.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion) throw errors.staleResourceVersion(rt.plural, rt.group, name);
    return this.#replace(rt, cur, next, opts);
  }

  async #replace(rt: ResourceType, cur: KObject, o: KObject, opts: WriteOptions): Promise<KObject> {
    const now = this.#now();
    const status = opts.subresource === 'status';
    let next: KObject;
    if (status) {
      // The status subresource changes status only; everything else comes from the stored object.
      next = { ...structuredClone(cur), status: o.status };
      if (o.status === undefined) delete next.status;
    } else {
      next = o;
      if (rt.statusSubresource) {
        if (cur.status === undefined) delete next.status;
        else next.status = structuredClone(cur.status);
      }
    }
    next.apiVersion = groupVersion(rt);
    next.kind = rt.kind;
    // Fields the server owns.
    for (const k of [
      'uid',
      'creationTimestamp',
      'namespace',
      'name',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
    ] as const) {
      if (cur.metadata[k] === undefined) delete next.metadata[k];
      else (next.metadata as Record<string, unknown>)[k] = cur.metadata[k];
    }
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    if (rt.hasGeneration) next.metadata.generation = cur.metadata.generation ?? 1;
    const admitted = this.#admit(rt, 'UPDATE', next, this.asVersion(rt, cur), opts);
    // Generation counts changes of everything but metadata and status.
    if (rt.hasGeneration && !status && specChanged(cur, admitted))
      admitted.metadata.generation = (cur.metadata.generation ?? 1) + 1;
    if (opts.fieldManager && jsonEqual(admitted.metadata.managedFields, cur.metadata.managedFields)) {
      const changed = changedPaths(cur, admitted, status);
      if (changed.length > 0) {
        admitted.metadata.managedFields = transferOwnership(
          cur.metadata.managedFields ?? [],
          opts.fieldManager,
          'Update',
          admitted.apiVersion,
          now,
          changed,
          false,
          status ? 'status' : undefined,
        );
      }
    }
    if (jsonEqual(stripVolatile(admitted), stripVolatile(this.asVersion(rt, cur)))) return this.asVersion(rt, cur);
    if (opts.dryRun) return admitted;
    // Removing the last finalizer of an object being deleted completes the deletion.
    if (admitted.metadata.deletionTimestamp && (admitted.metadata.finalizers ?? []).length === 0) {
      const gone = await this.#store.delete(
        resourceId(rt.group, rt.plural),
        cur.metadata.namespace ?? '',
        cur.metadata.name ?? '',
      );
      this.#afterDelete(rt, gone, 'Background');
      return gone;
    }
    const stored = await this.#store.put(resourceId(rt.group, rt.plural), admitted);
    this.#afterWrite(rt, stored);
    return stored;
  }

  async delete(rt: ResourceType, ns: string, name: string, opts: DeleteOptions, dryRun: boolean): Promise<KObject> {
    const rid = resourceId(rt.group, rt.plural);
    const cur = this.#store.get(rid, ns, name);
    if (!cur) throw errors.notFound(rt.plural, rt.group, name);
    if (opts.preconditions?.uid && opts.preconditions.uid !== cur.metadata.uid) {
      throw errors.conflict(
        rt.plural,
        rt.group,
        name,
        `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`,
      );
    }
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== cur.metadata.resourceVersion) {
      throw errors.conflict(
        rt.plural,
        rt.group,
        name,
        `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`,
      );
    }
    const policy = opts.propagationPolicy ?? 'Background';
    if (dryRun) return this.asVersion(rt, cur);
    const finalizers = [...(cur.metadata.finalizers ?? [])];
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion') && this.#dependents(cur).length > 0)
      finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (rt.plural === 'namespaces' && !finalizers.includes('kubernetes')) finalizers.push('kubernetes');
    if (finalizers.length > 0) {
      if (cur.metadata.deletionTimestamp && jsonEqual(finalizers, cur.metadata.finalizers))
        return this.asVersion(rt, cur);
      const marked: KObject = structuredClone(cur);
      marked.metadata.deletionTimestamp ??= this.#now();
      marked.metadata.deletionGracePeriodSeconds = 0;
      marked.metadata.finalizers = finalizers;
      if (rt.plural === 'namespaces') marked.status = { phase: 'Terminating' };
      const stored = await this.#store.put(rid, marked);
      this.#afterWrite(rt, stored);
      return stored;
    }
    const gone = await this.#store.delete(rid, ns, name);
    this.#afterDelete(rt, gone, policy);
    return gone;
  }

  // ---- garbage collection --------------------------------------------------------------------------

  #dependents(owner: KObject): Array<{ rt: ResourceType; obj: KObject }> {
    const out: Array<{ rt: ResourceType; obj: KObject }> = [];
    const uid = owner.metadata.uid;
    for (const [rid, o] of this.#store.all()) {
      if (!(o.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) continue;
      const rt = this.#typeOf(rid);
      if (rt) out.push({ rt, obj: o });
    }
    return out;
  }

  #typeOf(rid: string): ResourceType | undefined {
    return this.#reg.all().find((t) => resourceId(t.group, t.plural) === rid);
  }

  /** Work that follows a stored write: CRDs start being served, and pending finalizers make progress. */
  #afterWrite(rt: ResourceType, o: KObject): void {
    if (
      rt.group === 'apiextensions.k8s.io' &&
      rt.plural === 'customresourcedefinitions' &&
      !o.metadata.deletionTimestamp
    ) {
      for (const t of crdToTypes(o)) this.#reg.add(t);
    }
    if (o.metadata.deletionTimestamp) void this.#finalize(rt, o).catch(() => undefined);
    else this.#collectIfOrphaned(rt, o);
  }

  /**
   * Kubernetes' garbage collector also deletes a dependent written after its owners were deleted (a
   * reconciler acting on a stale cache re-creates a child of a Service just deleted): when every owner an
   * object names by uid is gone, the object goes too, with background propagation.
   */
  #collectIfOrphaned(rt: ResourceType, o: KObject): boolean {
    const refs = o.metadata.ownerReferences ?? [];
    if (refs.length === 0 || refs.some((r) => this.#ownerExists(r.uid))) return false;
    void this.delete(
      rt,
      o.metadata.namespace ?? '',
      o.metadata.name ?? '',
      { propagationPolicy: 'Background', preconditions: { uid: o.metadata.uid ?? '' } },
      false,
    ).catch(() => undefined);
    return true;
  }

  /** On start, the collector's first pass: dependents whose owners are all gone (e.g. a crash mid-cascade). */
  collectOrphans(): number {
    let n = 0;
    for (const [rid, o] of [...this.#store.all()]) {
      const rt = this.#typeOf(rid);
      if (rt && !o.metadata.deletionTimestamp && this.#collectIfOrphaned(rt, o)) n++;
    }
    return n;
  }

  /** The finalizers the server itself owns: foregroundDeletion, orphan, and a namespace's content. */
  async #finalize(rt: ResourceType, o: KObject): Promise<void> {
    const fins = o.metadata.finalizers ?? [];
    const ns = o.metadata.namespace ?? '';
    const name = o.metadata.name ?? '';
    if (fins.includes('orphan')) {
      await this.#orphanDependents(o);
      await this.#dropFinalizer(rt, ns, name, 'orphan');
    } else if (fins.includes('foregroundDeletion')) {
      const deps = this.#dependents(o);
      for (const d of deps)
        await this.delete(
          d.rt,
          d.obj.metadata.namespace ?? '',
          d.obj.metadata.name ?? '',
          { propagationPolicy: 'Foreground' },
          false,
        ).catch(() => undefined);
      if (this.#dependents(o).length === 0) await this.#dropFinalizer(rt, ns, name, 'foregroundDeletion');
    } else if (fins.includes('kubernetes') && rt.plural === 'namespaces') {
      for (const t of this.#reg.all().filter((x) => x.namespaced)) {
        for (const x of this.#store.list(resourceId(t.group, t.plural), name)) {
          await this.delete(t, name, x.metadata.name ?? '', { propagationPolicy: 'Background' }, false).catch(
            () => undefined,
          );
        }
      }
      await this.#dropFinalizer(rt, ns, name, 'kubernetes');
    }
  }

  async #dropFinalizer(rt: ResourceType, ns: string, name: string, fin: string): Promise<void> {
    const cur = this.#store.get(resourceId(rt.group, rt.plural), ns, name);
    if (!cur || !(cur.metadata.finalizers ?? []).includes(fin)) return;
    const next = structuredClone(cur);
    next.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== fin);
    await this.#replace(rt, cur, next, {
      fieldManager: '',
      fieldValidation: 'Ignore',
      dryRun: false,
      subresource: '',
      user: 'garbage-collector',
      warnings: [],
    });
  }

  async #orphanDependents(owner: KObject): Promise<void> {
    for (const d of this.#dependents(owner)) {
      const next = structuredClone(d.obj);
      next.metadata.ownerReferences = (d.obj.metadata.ownerReferences ?? []).filter(
        (r) => r.uid !== owner.metadata.uid,
      );
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      await this.#store.put(resourceId(d.rt.group, d.rt.plural), next);
    }
  }

  #afterDelete(rt: ResourceType, gone: KObject, policy: string): void {
    if (rt.group === 'apiextensions.k8s.io' && rt.plural === 'customresourcedefinitions') {
      const spec = gone.spec as { group?: string; names?: { plural?: string } } | undefined;
      if (spec?.group && spec.names?.plural) this.#reg.removeGroupResource(spec.group, spec.names.plural);
    }
    if (policy === 'Orphan') return;
    // Background propagation: the collector deletes dependents after the owner is gone.
    void (async () => {
      for (const d of this.#dependents(gone)) {
        const live = (d.obj.metadata.ownerReferences ?? []).filter(
          (r) => r.uid !== gone.metadata.uid && this.#ownerExists(r.uid),
        );
        if (live.length > 0) continue;
        await this.delete(
          d.rt,
          d.obj.metadata.namespace ?? '',
          d.obj.metadata.name ?? '',
          { propagationPolicy: 'Background' },
          false,
        ).catch(() => undefined);
      }
      // An owner waiting in foreground deletion may now have no dependents left.
      for (const [rid, o] of this.#store.all()) {
        if (o.metadata.deletionTimestamp && (o.metadata.finalizers ?? []).includes('foregroundDeletion')) {
          const t = this.#typeOf(rid);
          if (t) await this.#finalize(t, o).catch(() => undefined);
        }
      }
    })();
  }

  #ownerExists(uid: string): boolean {
    return this.#store.hasUid(uid);
  }
}

/** kube-apiserver folds a Secret's write-only `stringData` into base64 `data`. */
function foldStringData(o: KObject): void {
  if (!o.type) o.type = 'Opaque';
  const sd = o.stringData;
  if (!isRecord(sd)) return;
  const data: Record<string, unknown> = isRecord(o.data) ? { ...o.data } : {};
  for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v)).toString('base64');
  o.data = data;
  delete o.stringData;
}

function specChanged(a: KObject, b: KObject): boolean {
  const strip = (o: KObject): Record<string, unknown> => {
    const { metadata: _m, status: _s, ...rest } = o;
    return rest;
  };
  return !jsonEqual(strip(a), strip(b));
}

function stripVolatile(o: KObject): KObject {
  const m = { ...o.metadata };
  delete m.managedFields;
  delete m.resourceVersion;
  return { ...o, metadata: m };
}

export type { ManagedFieldsEntry };
