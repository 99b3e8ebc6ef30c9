// One sync: fetch the source, parse every manifest under the path, apply each good file's objects with
// server-side apply as field manager `sluice-gitops`, optionally prune, and record the outcome in the status
// ConfigMap. A bad file blocks only itself. Git being down leaves everything as it is.
//
// Traffic of governed Services. The rollout controller owns `spec.traffic` of a Service it rolls out (field
// manager `sluice-rollout`, by Update). Git must never take it back, or every push would reset a canary to
// whatever split the manifest says. So `spec.traffic` is left out of the applied object when the Service is
// governed: when the live object's traffic is owned by a protected manager, or a RolloutPolicy (in Git or in
// the cluster) targets the Service. If a conflict on `.spec.traffic` still comes back (409), the object is
// re-applied without it. Any other conflict (someone edited a field Git declares) is resolved for Git, as Flux
// does: re-applied with force, still without the protected traffic.
import { createHash } from 'node:crypto';
import { KubeApiError, R, type KubeClient, type KubeObject } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { GitOpsError, GitOpsErrorCode } from './errors.js';
import type { GitSource } from './git-source.js';
import {
  formatProblem,
  objectId,
  parseManifestFile,
  SUPPORTED,
  type ExtraCheck,
  type Manifest,
  type ManifestKind,
  type ManifestProblem,
  type ParsedFile,
} from './manifests.js';
import { loadStatus, Reason, saveStatus, type Condition, type ConditionStatus, type GitOpsStatus } from './status.js';

export const FIELD_MANAGER = 'sluice-gitops';
export const ROLLOUT_MANAGER = 'sluice-rollout';
export const COMMIT_ANNOTATION = 'delivery.sluice.dev/git-commit';
export const PATH_ANNOTATION = 'delivery.sluice.dev/git-path';
/** Only objects carrying this label (value `sluice-gitops`) are ever pruned. */
export const MANAGED_LABEL = 'delivery.sluice.dev/managed-by';
export const MANAGED_VALUE = 'sluice-gitops';

export interface AppliedObject {
  id: string;
  file: string;
  /** spec.traffic was left to the rollout controller. */
  trafficKept: boolean;
  /** A conflict with another manager (not on traffic) was resolved for Git with force. */
  forced: boolean;
}

export interface SkippedObject {
  id: string;
  file: string;
  reason: string;
}

export interface SyncResult {
  /** `synced`: manifests were applied; `unchanged`: same commit, nothing to do; `gitFailed`: Git could not be read. */
  outcome: 'synced' | 'unchanged' | 'gitFailed';
  commit: string | undefined;
  previousCommit: string | undefined;
  /** Manifest files changed since the previous sync, and all present under the path. */
  changed: string[];
  present: string[];
  applied: AppliedObject[];
  skipped: SkippedObject[];
  pruned: string[];
  /** Problems per file (parse, validation, API refusals), with positions. */
  errors: ManifestProblem[];
  /** Why Git could not be read (credentials scrubbed). */
  gitError?: string;
  ready: Condition;
  /** True when a later attempt may succeed without a new commit (Git or the API was unreachable). */
  retryable: boolean;
  durationMs: number;
}

export interface SyncerOptions {
  /** A client whose field manager is `sluice-gitops`. */
  client: KubeClient;
  source: GitSource;
  /** Namespace of manifests that do not name one. */
  namespace: string;
  /** Where ConfigMap sluice-gitops-status lives. */
  statusNamespace: string;
  prune: boolean;
  /** Field managers whose `spec.traffic` Git never takes (default [`sluice-rollout`]). */
  protectedManagers: string[];
  log: Logger;
  clock: Clock;
  /** Validation beyond the manifest's shape (Knative's admission, passed in by the CLI). */
  check?: ExtraCheck;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Canonical JSON (sorted keys) hashed with sha256: the identity of a revision template. */
export function templateHash(template: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (isRec(v))
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canon(v[k])]),
      );
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canon(template ?? null)))
    .digest('hex');
}

/** The object as sent with server-side apply: no status or server-owned metadata, plus Sluice's marks. */
export function applyBody(m: Manifest, commit: string): Rec {
  const o = structuredClone(m.object) as Rec;
  delete o.status;
  const meta = { ...(o.metadata as Rec) };
  for (const k of [
    'resourceVersion',
    'uid',
    'creationTimestamp',
    'managedFields',
    'generation',
    'selfLink',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ])
    delete meta[k];
  meta.labels = { ...(isRec(meta.labels) ? meta.labels : {}), [MANAGED_LABEL]: MANAGED_VALUE };
  meta.annotations = {
    ...(isRec(meta.annotations) ? meta.annotations : {}),
    [COMMIT_ANNOTATION]: commit,
    [PATH_ANNOTATION]: m.file,
  };
  o.metadata = meta;
  return o;
}

interface Conflict {
  manager: string;
  field: string;
}

/** The conflicts of a 409 from server-side apply: `{manager, field: '.spec.traffic'}`. */
export function conflictsOf(e: KubeApiError): Conflict[] {
  const out: Conflict[] = [];
  const details = e.details as { causes?: Array<{ message?: string; field?: string }> } | undefined;
  for (const c of details?.causes ?? []) {
    const m = /conflict with "([^"]+)"/.exec(c.message ?? '');
    if (m && c.field) out.push({ manager: m[1]!, field: c.field });
  }
  if (out.length === 0) {
    for (const m of e.message.matchAll(/conflict with "([^"]+)"[^:]*: (\.\S+)/g))
      out.push({ manager: m[1]!, field: m[2]! });
  }
  return out;
}

function ownsTraffic(fieldsV1: unknown): boolean {
  return isRec(fieldsV1) && isRec(fieldsV1['f:spec']) && 'f:traffic' in fieldsV1['f:spec'];
}

interface PolicyLike {
  namespace: string;
  targetRef?: { name?: string; kind?: string };
  matchLabels?: Record<string, string>;
}

function policyOf(o: KubeObject, defaultNs: string): PolicyLike {
  const spec = isRec(o.spec) ? o.spec : {};
  const p: PolicyLike = { namespace: o.metadata.namespace ?? defaultNs };
  if (isRec(spec.targetRef)) p.targetRef = spec.targetRef as PolicyLike['targetRef'] & object;
  if (isRec(spec.selector) && isRec(spec.selector.matchLabels))
    p.matchLabels = spec.selector.matchLabels as Record<string, string>;
  return p;
}

function targets(p: PolicyLike, name: string, labels: Record<string, string>): boolean {
  if (p.targetRef?.name)
    return p.targetRef.name === name && (p.targetRef.kind === undefined || p.targetRef.kind === 'Service');
  if (p.matchLabels && Object.keys(p.matchLabels).length > 0)
    return Object.entries(p.matchLabels).every(([k, v]) => labels[k] === v);
  return false;
}

const short = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : 'none');

export class Syncer {
  readonly status: GitOpsStatus;
  #o: SyncerOptions;
  /** The commit last processed by a sync (not necessarily fully applied). */
  #lastSynced: string | undefined;
  /** Re-apply even when the commit has not moved: at start, after retry(), after retryable API errors. */
  #dirty = true;

  /** The stored status has been read (writing before that would erase failed templates and the inventory). */
  #loaded = false;

  constructor(o: SyncerOptions, status: GitOpsStatus) {
    this.#o = o;
    this.status = status;
  }

  /**
   * Reads the stored status once. What was set in memory meanwhile (marks, a Git failure) wins over what was
   * stored. Throws when the API cannot be read.
   */
  async load(): Promise<void> {
    if (this.#loaded) return;
    const mem = this.status;
    const stored = await loadStatus(this.#o.client, this.#o.statusNamespace, { ...mem });
    Object.assign(this.status, stored, {
      repo: mem.repo,
      branch: mem.branch || stored.branch,
      path: mem.path,
      failedTemplates: { ...stored.failedTemplates, ...mem.failedTemplates },
    });
    if (mem.ready.reason === Reason.GitOperationFailed) this.status.ready = mem.ready;
    this.#lastSynced ??= this.status.lastAttemptedCommit;
    this.#loaded = true;
  }

  /** The next sync re-applies the current commit even if it has not moved. */
  markDirty(): void {
    this.#dirty = true;
  }

  #now(): string {
    return new Date(this.#o.clock.now()).toISOString();
  }

  #setReady(status: ConditionStatus, reason: Reason, message: string): void {
    const cur = this.status.ready;
    const t = cur.status === status ? cur.lastTransitionTime : this.#now();
    this.status.ready = { status, reason, message, lastTransitionTime: t };
  }

  /** Writes the status ConfigMap; a failure is logged, never thrown (the API may be what is down). */
  async persist(): Promise<void> {
    try {
      await this.load();
      await saveStatus(this.#o.client, this.#o.statusNamespace, this.status);
    } catch (e) {
      this.#o.log.warn({ err: this.#o.source.scrub(errorMessage(e)) }, 'gitops: cannot write the status ConfigMap');
    }
  }

  async sync(force = false): Promise<SyncResult> {
    const started = this.#o.clock.now();
    const { source, log } = this.#o;
    const base = { changed: [], present: [], applied: [], skipped: [], pruned: [], errors: [] };
    await this.load().catch(() => undefined); // retried by persist(); without it nothing is pruned
    // Taken now, so a markDirty() during this sync is seen by the next one.
    const dirty = this.#dirty;
    this.#dirty = false;
    let fetched;
    try {
      fetched = await source.fetch(this.#lastSynced);
    } catch (e) {
      this.#dirty ||= dirty;
      const msg = source.scrub(e instanceof GitOpsError ? e.message : errorMessage(e));
      const kept = this.status.lastAppliedCommit
        ? `commit ${short(this.status.lastAppliedCommit)} stays applied`
        : 'nothing applied yet';
      this.#setReady('False', Reason.GitOperationFailed, `${msg}; ${kept}`);
      await this.persist();
      log.warn({ repo: source.displayUrl, err: msg }, 'gitops: cannot read Git');
      return {
        outcome: 'gitFailed',
        commit: this.status.lastAppliedCommit,
        previousCommit: this.#lastSynced,
        ...base,
        gitError: msg,
        ready: this.status.ready,
        retryable: true,
        durationMs: this.#o.clock.now() - started,
      };
    }
    const { commit } = fetched;
    if (commit === this.#lastSynced && !dirty && !force) {
      if (this.status.ready.reason === Reason.GitOperationFailed) {
        this.#restoreReady(commit);
        await this.persist();
      }
      return {
        outcome: 'unchanged',
        commit,
        previousCommit: this.#lastSynced,
        ...base,
        changed: fetched.changed,
        present: fetched.present,
        errors: this.status.errors,
        ready: this.status.ready,
        retryable: false,
        durationMs: this.#o.clock.now() - started,
      };
    }
    const previousCommit = this.#lastSynced;
    const parsed = this.#parseAll(fetched.files);
    const applied: AppliedObject[] = [];
    const skipped: SkippedObject[] = [];
    const errors: ManifestProblem[] = parsed.flatMap((p) => p.problems);
    const badFiles = new Set(parsed.filter((p) => p.problems.length > 0).map((p) => p.file));
    let retryable = false;

    const manifests = parsed.flatMap((p) => p.manifests);
    // Eventing after Services: a Trigger's subscriber and a SinkBinding's subject then exist when they arrive.
    const order: Record<ManifestKind, number> = {
      ConfigMap: 0,
      RolloutPolicy: 1,
      Service: 2,
      Broker: 3,
      Trigger: 4,
      SinkBinding: 5,
    };
    manifests.sort((a, b) => order[a.kind] - order[b.kind] || a.file.localeCompare(b.file) || a.index - b.index);
    const gitPolicies = manifests
      .filter((m) => m.kind === 'RolloutPolicy')
      .map((m) => policyOf(m.object, this.#o.namespace));
    const clusterPolicies = new Map<string, PolicyLike[]>();
    for (const m of manifests) {
      const id = objectId(m.kind, m.namespace, m.name);
      if (m.kind === 'Service') {
        const failed = this.status.failedTemplates[`${m.namespace}/${m.name}`];
        const spec = isRec(m.object.spec) ? m.object.spec : {};
        if (failed && failed.templateHash === templateHash(spec.template)) {
          skipped.push({
            id,
            file: m.file,
            reason: `the template from commit ${short(failed.commit)} failed its rollout; it is not re-applied until retry`,
          });
          continue;
        }
      }
      try {
        const r = await this.#applyOne(m, commit, gitPolicies, clusterPolicies);
        applied.push({ id, file: m.file, ...r });
      } catch (e) {
        const status = e instanceof KubeApiError ? e.status : 0;
        if (status === 0 || status === 429 || status >= 500) retryable = true;
        badFiles.add(m.file);
        errors.push({
          code: GitOpsErrorCode.ApplyFailed,
          file: m.file,
          line: m.line,
          column: m.column,
          message: `cannot apply ${m.kind} ${m.namespace}/${m.name}: ${this.#o.source.scrub(errorMessage(e))}`,
        });
      }
    }
    errors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);

    // Inventory: what each file stands for now. A bad file keeps what it stood for before, so its objects are
    // neither lost from the inventory nor pruned while it is broken.
    const inventory: Record<string, string[]> = {};
    for (const p of parsed) {
      if (p.problems.length > 0) {
        const prev = this.status.inventory[p.file];
        if (prev) inventory[p.file] = prev;
      } else {
        inventory[p.file] = p.manifests.map((m) => objectId(m.kind, m.namespace, m.name)).sort();
      }
    }
    for (const m of manifests) {
      // An object that failed to apply still belongs to its file.
      const ids = inventory[m.file] ?? (inventory[m.file] = []);
      const id = objectId(m.kind, m.namespace, m.name);
      if (!ids.includes(id)) ids.push(id);
    }
    let pruned: string[] = [];
    let pruneNote = '';
    if (this.#o.prune && this.#loaded) {
      const r = await this.#prune(inventory);
      pruned = r.pruned;
      pruneNote = r.note;
      if (r.error) retryable = true;
    }

    const total = parsed.length;
    this.status.inventory = inventory;
    this.status.errors = errors;
    this.status.lastAttemptedCommit = commit;
    if (badFiles.size < total || total === 0) this.status.lastAppliedCommit = commit;
    this.status.lastSyncTime = this.#now();
    this.#restoreReady(commit, {
      applied: applied.length,
      skipped: skipped.length,
      badFiles: badFiles.size,
      total,
      retryable,
      pruneNote,
      pruned: pruned.length,
    });
    await this.persist();
    this.#lastSynced = commit;
    this.#dirty ||= retryable;
    const durationMs = this.#o.clock.now() - started;
    log.info(
      {
        commit: short(commit),
        applied: applied.length,
        skipped: skipped.length,
        pruned: pruned.length,
        errors: errors.length,
        ms: durationMs,
      },
      'gitops: synced',
    );
    for (const e of errors) log.warn({ code: e.code }, `gitops: ${formatProblem(e)}`);
    for (const w of parsed.flatMap((p) => p.warnings)) log.info(`gitops: ${formatProblem(w)}`);
    return {
      outcome: 'synced',
      commit,
      previousCommit,
      changed: fetched.changed,
      present: fetched.present,
      applied,
      skipped,
      pruned,
      errors,
      ready: this.status.ready,
      retryable,
      durationMs,
    };
  }

  /** Ready from the stored errors (after Git recovers, or after a sync). */
  #restoreReady(
    commit: string,
    n?: {
      applied: number;
      skipped: number;
      badFiles: number;
      total: number;
      retryable: boolean;
      pruneNote: string;
      pruned: number;
    },
  ): void {
    const errors = this.status.errors;
    const at = `commit ${short(commit)}`;
    if (errors.length === 0) {
      const parts = n ? [`applied ${n.applied} object(s) from ${n.total} file(s) at ${at}`] : [`${at} is applied`];
      if (n && n.skipped > 0) parts.push(`${n.skipped} held back after a failed rollout`);
      if (n && n.pruned > 0) parts.push(`pruned ${n.pruned}`);
      if (n?.pruneNote) parts.push(n.pruneNote);
      this.#setReady('True', Reason.Synced, parts.join('; '));
      return;
    }
    const first = formatProblem(errors[0]!);
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem(s); see data.errors)` : '';
    const files = new Set(errors.map((e) => e.file)).size;
    const apiOnly = errors.every((e) => e.code === GitOpsErrorCode.ApplyFailed);
    const reason = apiOnly ? Reason.ApplyFailed : Reason.ManifestErrors;
    const total = n?.total;
    this.#setReady(
      'False',
      reason,
      `${files}${total !== undefined ? ` of ${total}` : ''} file(s) not applied at ${at}, the others are: ${first}${more}`,
    );
  }

  #parseAll(files: Array<{ file: string; text: string }>): ParsedFile[] {
    const parsed = files.map((f) => parseManifestFile(f.text, f.file, this.#o.namespace, this.#o.check));
    const seen = new Map<string, Manifest>();
    for (const p of parsed) {
      for (const m of p.manifests) {
        const id = objectId(m.kind, m.namespace, m.name);
        const first = seen.get(id);
        if (first) {
          p.problems.push({
            code: GitOpsErrorCode.ManifestInvalid,
            file: m.file,
            line: m.line,
            column: m.column,
            message: `${m.kind} ${m.namespace}/${m.name} is also defined at ${first.file}:${first.line}:${first.column}; keep one`,
          });
        } else {
          seen.set(id, m);
        }
      }
      if (p.problems.length > 0) {
        for (const m of p.manifests)
          if (seen.get(objectId(m.kind, m.namespace, m.name)) === m) seen.delete(objectId(m.kind, m.namespace, m.name));
        p.manifests = [];
      }
    }
    return parsed;
  }

  async #governed(
    m: Manifest,
    gitPolicies: PolicyLike[],
    clusterPolicies: Map<string, PolicyLike[]>,
  ): Promise<boolean> {
    const { client, protectedManagers } = this.#o;
    const live = await client.tryGet(R.services, m.namespace, m.name);
    const mf = (live?.metadata.managedFields ?? []) as Array<{ manager?: string; fieldsV1?: unknown }>;
    if (mf.some((e) => protectedManagers.includes(e.manager ?? '') && ownsTraffic(e.fieldsV1))) return true;
    let inCluster = clusterPolicies.get(m.namespace);
    if (!inCluster) {
      try {
        inCluster = (await client.list(R.rolloutPolicies, m.namespace)).items.map((o) => policyOf(o, m.namespace));
      } catch {
        inCluster = [];
      }
      clusterPolicies.set(m.namespace, inCluster);
    }
    const labels = { ...(live?.metadata.labels ?? {}), ...(m.object.metadata.labels ?? {}) };
    return [...gitPolicies, ...inCluster].some((p) => p.namespace === m.namespace && targets(p, m.name, labels));
  }

  async #applyOne(
    m: Manifest,
    commit: string,
    gitPolicies: PolicyLike[],
    clusterPolicies: Map<string, PolicyLike[]>,
  ): Promise<{ trafficKept: boolean; forced: boolean }> {
    const { client, log } = this.#o;
    const body = applyBody(m, commit);
    let trafficKept = false;
    const spec = isRec(body.spec) ? body.spec : undefined;
    if (m.kind === 'Service' && spec && (await this.#governed(m, gitPolicies, clusterPolicies))) {
      trafficKept = true;
      delete spec.traffic;
    }
    try {
      await client.patch(m.ref, m.namespace, m.name, body, 'apply', { force: false });
      return { trafficKept, forced: false };
    } catch (e) {
      if (!(e instanceof KubeApiError) || e.status !== 409) throw e;
      const conflicts = conflictsOf(e);
      const onTraffic = conflicts.filter((c) => c.field === '.spec.traffic' || c.field.startsWith('.spec.traffic.'));
      const others = conflicts.filter((c) => !onTraffic.includes(c));
      // Conflicts we cannot read are treated as if traffic were among them: never risk taking it.
      if ((onTraffic.length > 0 || conflicts.length === 0) && spec && m.kind === 'Service') {
        delete spec.traffic;
        trafficKept = true;
      }
      if (others.length > 0) {
        log.info(
          { object: objectId(m.kind, m.namespace, m.name), conflicts: others.map((c) => `${c.manager} ${c.field}`) },
          'gitops: taking fields back for Git (force)',
        );
      }
      await client.patch(m.ref, m.namespace, m.name, body, 'apply', {
        force: others.length > 0 || conflicts.length === 0,
      });
      return { trafficKept, forced: others.length > 0 || conflicts.length === 0 };
    }
  }

  async #prune(inventory: Record<string, string[]>): Promise<{ pruned: string[]; note: string; error: boolean }> {
    const desired = new Set(Object.values(inventory).flat());
    if (desired.size === 0)
      return {
        pruned: [],
        note: 'prune skipped: Git declares no objects (an empty path would delete everything)',
        error: false,
      };
    const pruned: string[] = [];
    let error = false;
    for (const s of SUPPORTED) {
      let items: KubeObject[];
      try {
        items = (await this.#o.client.list(s.ref, '', { labelSelector: `${MANAGED_LABEL}=${MANAGED_VALUE}` })).items;
      } catch (e) {
        // A kind this server does not serve (no Eventing installed) has nothing of ours to prune.
        if (e instanceof KubeApiError && e.isNotFound) continue;
        error = true;
        this.#o.log.warn({ kind: s.kind, err: errorMessage(e) }, 'gitops: cannot list objects to prune');
        continue;
      }
      for (const o of items) {
        const id = objectId(s.kind, o.metadata.namespace ?? '', o.metadata.name ?? '');
        if (desired.has(id) || o.metadata.deletionTimestamp) continue;
        try {
          await this.#o.client.delete(s.ref, o.metadata.namespace ?? '', o.metadata.name ?? '');
          pruned.push(id);
        } catch (e) {
          if (!(e instanceof KubeApiError && e.isNotFound)) {
            error = true;
            this.#o.log.warn({ object: id, err: errorMessage(e) }, 'gitops: cannot prune');
          }
        }
      }
    }
    if (pruned.length > 0) this.#o.log.info({ pruned }, 'gitops: pruned objects removed from Git');
    return { pruned: pruned.sort(), note: '', error };
  }
}
