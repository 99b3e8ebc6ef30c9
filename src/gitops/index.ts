// src/gitops: Git in. A Git source (simple-git) polled on a node-cron schedule and poked by push webhooks,
// manifests applied with server-side apply (never taking spec.traffic from a governed Service), the outcome
// recorded in ConfigMap sluice-gitops-status, and Git kept truthful after a rollback (markFailed, revert).
import type { IncomingMessage, ServerResponse } from 'node:http';
import cron, { type ScheduledTask } from 'node-cron';
import type { KubeClient } from '../kube/index.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { systemClock, type Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { GitOpsError, GitOpsErrorCode } from './errors.js';
import { credentialsFromEnv, GitSource, type CredentialResolver } from './git-source.js';
import { failedTemplateAt, revertCommit, serviceKey, type RevertOptions } from './revert.js';
import { initialStatus, type GitOpsStatus } from './status.js';
import { FIELD_MANAGER, ROLLOUT_MANAGER, Syncer, type SyncResult } from './sync.js';
import { backoffDelay, Coalescer } from './trigger.js';
import { createWebhookHandler, type PushEvent } from './webhook.js';
import type { ExtraCheck } from './manifests.js';

export { GitOpsError, GitOpsErrorCode, scrub } from './errors.js';
export { GitSource, credentialsFromEnv, splitUrlCredentials, normalizePath, isLocalPath } from './git-source.js';
export type { GitCredentials, CredentialResolver, GitSourceOptions, FetchResult, ManifestFile } from './git-source.js';
export { parseManifestFile, formatProblem, objectId, SUPPORTED } from './manifests.js';
export type { ExtraCheck } from './manifests.js';
export type { Manifest, ManifestProblem, ParsedFile, ManifestKind } from './manifests.js';
export {
  Syncer,
  templateHash,
  applyBody,
  conflictsOf,
  FIELD_MANAGER,
  ROLLOUT_MANAGER,
  COMMIT_ANNOTATION,
  PATH_ANNOTATION,
  MANAGED_LABEL,
  MANAGED_VALUE,
} from './sync.js';
export type { SyncResult, AppliedObject, SkippedObject } from './sync.js';
export { STATUS_CONFIGMAP, Reason, loadStatus, saveStatus, toData, fromData } from './status.js';
export type { GitOpsStatus, Condition, FailedTemplate } from './status.js';
export {
  createWebhookHandler,
  verifyHubSignature,
  verifyGitlabToken,
  loadWebhookSecret,
  DEFAULT_MAX_WEBHOOK_BYTES,
} from './webhook.js';
export type { PushEvent, WebhookOptions, WebhookProvider } from './webhook.js';
export { revertCommit, serviceKey, failedTemplateAt } from './revert.js';
export type { RevertOptions, ServiceKey } from './revert.js';
export { Coalescer, backoffDelay } from './trigger.js';

/** Every 10 seconds (node-cron accepts a leading seconds field). */
export const DEFAULT_POLL_CRON = '*/10 * * * * *';

export interface GitOpsOptions {
  client: KubeClient;
  /** A local path, `file://`, https (credentials in the URL are lifted out) or ssh URL. */
  repo: string;
  /** Default: the remote's default branch. */
  branch?: string;
  /** A tag, full ref or commit to follow instead of a branch (no revert then). */
  ref?: string;
  /** Only manifests under this directory (`--path DIR`). */
  path?: string;
  /** node-cron expression (5 or 6 fields); default every 10 s; `false` turns polling off (webhooks only). */
  pollCron?: string | false;
  /** The shared webhook secret; without it POST /hooks/git answers 403. */
  webhookSecret?: string;
  /** Where the working clone lives. */
  workDir: string;
  log?: Logger;
  /** Delete objects Sluice applied from Git that Git no longer declares (opt-in, as in Flux). */
  prune?: boolean;
  /** Namespace of manifests that name none, and of the status ConfigMap (the controller's). Default `default`. */
  namespace?: string;
  statusNamespace?: string;
  /** Default: from `env` (SLUICE_GIT_TOKEN, ...; see credentialsFromEnv). */
  credentials?: CredentialResolver;
  env?: NodeJS.ProcessEnv;
  /** Retry after Git or the API failed: initialMs·2^n up to maxMs. Default 1 s … 5 min. */
  backoff?: { initialMs: number; maxMs: number };
  gitTimeoutMs?: number;
  maxWebhookBytes?: number;
  /** Managers whose spec.traffic Git never takes. Default [`sluice-rollout`]. */
  protectedManagers?: string[];
  clock?: Clock;
  /** Validation beyond the manifest's shape, e.g. Knative's admission (see ExtraCheck). */
  check?: ExtraCheck;
}

export interface GitOps {
  /** Mount at `POST /hooks/git`. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Fetches and applies now (a sync that starts after this call), ignoring any backoff. Failures are in the result; it throws only after close(). */
  syncNow(): Promise<SyncResult>;
  /** Holds back `service` (`name` or `ns/name`) while Git's template for it is the one from `commit`. */
  markFailed(service: string, commit: string): Promise<void>;
  /** Forgets markFailed for `service` and re-applies. */
  retry(service: string): Promise<SyncResult>;
  /** `git revert <commit>` on the branch, pushed; then a sync. Returns the revert commit's SHA. */
  revert(commit: string, o?: RevertOptions): Promise<{ commit: string }>;
  /** The last known status (what the ConfigMap holds). */
  status(): GitOpsStatus;
  readonly source: GitSource;
  close(): Promise<void>;
}

/**
 * Starts the GitOps loop: loads the stored status, schedules the poll, and kicks off a first sync in the
 * background (startup does not wait for Git). Pre: the API server is reachable through `client`.
 */
export async function startGitOps(o: GitOpsOptions): Promise<GitOps> {
  const log = (o.log ?? createLogger({ name: 'gitops' })).child({ component: 'gitops' });
  const clock = o.clock ?? systemClock;
  const env = o.env ?? process.env;
  const envCreds = credentialsFromEnv(env);
  const credentials: CredentialResolver | undefined = o.credentials ?? (envCreds ? () => envCreds : undefined);
  const source = new GitSource({
    repo: o.repo,
    workDir: o.workDir,
    env,
    ...(o.branch ? { branch: o.branch } : {}),
    ...(o.ref ? { ref: o.ref } : {}),
    ...(o.path ? { path: o.path } : {}),
    ...(credentials ? { credentials } : {}),
    ...(o.gitTimeoutMs ? { timeoutMs: o.gitTimeoutMs } : {}),
  });
  const namespace = o.namespace ?? 'default';
  const statusNamespace = o.statusNamespace ?? namespace;
  const client = o.client.withFieldManager(FIELD_MANAGER);
  const now = (): string => new Date(clock.now()).toISOString();
  const status = initialStatus(source.displayUrl, o.branch ?? o.ref ?? '', source.path, now());
  const syncer = new Syncer(
    {
      client,
      source,
      namespace,
      statusNamespace,
      prune: o.prune ?? false,
      protectedManagers: o.protectedManagers ?? [ROLLOUT_MANAGER],
      log,
      clock,
      ...(o.check ? { check: o.check } : {}),
    },
    status,
  );
  try {
    await syncer.load();
  } catch (e) {
    // Not fatal: the stored status (failed templates, inventory) is read again before the first write.
    log.warn({ err: errorMessage(e) }, 'gitops: cannot read the stored status yet; will retry before writing it');
  }
  const backoff = o.backoff ?? { initialMs: 1000, maxMs: 5 * 60_000 };
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const runSync = async (): Promise<SyncResult> => {
    const r = await syncer.sync();
    if (source.branch) status.branch = source.branch;
    if (r.retryable) {
      failures++;
      const delay = backoffDelay(failures, backoff);
      if (retryTimer) clearTimeout(retryTimer);
      if (!closed) {
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          void trigger('retry');
        }, delay);
        retryTimer.unref();
      }
      log.info({ attempt: failures, retryInMs: delay }, 'gitops: will retry');
    } else {
      failures = 0;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
    }
    return r;
  };
  const coalescer = new Coalescer(runSync);
  const trigger = (why: 'poll' | 'webhook' | 'retry' | 'manual'): Promise<SyncResult> | undefined => {
    if (closed) return undefined;
    // During backoff the poll leaves it to the retry timer (pending, or its run in flight); webhooks and
    // manual syncs go straight through.
    if (why === 'poll' && (retryTimer !== undefined || (failures > 0 && coalescer.busy))) return undefined;
    const p = coalescer.trigger();
    p.catch((e: unknown) => log.error({ err: source.scrub(errorMessage(e)) }, 'gitops: sync failed'));
    return p;
  };

  let task: ScheduledTask | undefined;
  if (o.pollCron !== false) {
    const expr = o.pollCron ?? DEFAULT_POLL_CRON;
    if (!cron.validate(expr))
      throw new GitOpsError(
        GitOpsErrorCode.GitFailed,
        `poll schedule "${expr}" is not a cron expression; e.g. "*/10 * * * * *" (every 10 s) or "*/5 * * * *"`,
      );
    // node-cron's own warnings (missed executions when the loop was busy) go to our logger at debug.
    const cronLog = {
      info: (m: string) => log.debug(`node-cron: ${m}`),
      warn: (m: string) => log.debug(`node-cron: ${m}`),
      error: (m: string | Error) => log.warn(`node-cron: ${String(m)}`),
      debug: (m: string | Error) => log.debug(`node-cron: ${String(m)}`),
    };
    task = cron.schedule(
      expr,
      () => {
        void trigger('poll');
      },
      { noOverlap: false, name: 'sluice-gitops-poll', logger: cronLog },
    );
  }

  const watches = (ref: string): boolean => {
    if (o.ref) return ref === o.ref || ref === `refs/tags/${o.ref}`;
    const b = source.branch ?? o.branch;
    return b === undefined ? ref.startsWith('refs/heads/') : ref === `refs/heads/${b}`;
  };
  const handler = createWebhookHandler({
    secret: o.webhookSecret,
    watches,
    log,
    accepting: () => !closed,
    onPush: (_e: PushEvent) => {
      void trigger('webhook');
    },
    ...(o.maxWebhookBytes ? { maxBodyBytes: o.maxWebhookBytes } : {}),
  });

  const closedError = (): GitOpsError => new GitOpsError(GitOpsErrorCode.Closed, 'the GitOps loop is closed');
  const syncNow = async (): Promise<SyncResult> => {
    const p = trigger('manual');
    if (!p) throw closedError();
    return p;
  };
  void trigger('manual');
  log.info(
    {
      repo: source.displayUrl,
      branch: o.branch ?? '(remote default)',
      path: source.path || '/',
      poll: o.pollCron === false ? 'off' : (o.pollCron ?? DEFAULT_POLL_CRON),
    },
    'gitops: started',
  );

  return {
    handler,
    syncNow,
    source,
    status: () => syncer.status,
    async markFailed(service, commit) {
      const key = serviceKey(service, namespace);
      await syncer.load();
      syncer.status.failedTemplates[key.key] = await failedTemplateAt(source, key, commit, namespace, now());
      await syncer.persist();
      log.info({ service: key.key, commit }, 'gitops: template marked failed; it is held back until retry');
    },
    async retry(service) {
      const key = serviceKey(service, namespace);
      await syncer.load();
      delete syncer.status.failedTemplates[key.key];
      await syncer.persist();
      syncer.markDirty();
      return syncNow();
    },
    async revert(commit, ro = {}) {
      const sha = await revertCommit(source, commit, ro);
      log.info({ reverted: commit, commit: sha }, 'gitops: pushed a revert commit');
      void trigger('manual');
      return { commit: sha };
    },
    async close() {
      closed = true;
      if (task) await task.destroy();
      if (retryTimer) clearTimeout(retryTimer);
      await coalescer.close();
    },
  };
}
