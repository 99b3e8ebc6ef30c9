// Git after a rollback. When a rollout of the template that commit X brought fails, the rollout controller
// rolls the Service back; Git still says X. Two tools keep the two in agreement:
//  - markFailed(service, X) remembers the template of S at X (by hash). Syncs skip S while Git's template
//    for S is that one (other files and Services still apply), so a poll does not roll the bad template out
//    again. A new commit that changes S's template applies normally; retry(service) forgets the mark.
//    The memory lives in the status ConfigMap (data.failedTemplates), so it survives restarts.
//  - revertCommit(X) makes `git revert X` on the followed branch and pushes it, so Git tells the truth
//    (`rollback.gitRevert: true`).
import type { GitSource } from './git-source.js';
import { GitOpsError, GitOpsErrorCode } from './errors.js';
import { parseManifestFile } from './manifests.js';
import { templateHash } from './sync.js';
import type { FailedTemplate } from './status.js';

export interface ServiceKey {
  namespace: string;
  name: string;
  /** `namespace/name` */
  key: string;
}

/** `web` or `prod/web` → its namespace and name. */
export function serviceKey(service: string, defaultNamespace: string): ServiceKey {
  const parts = service.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new GitOpsError(GitOpsErrorCode.NotFound, `"${service}" is not a Service name; use NAME or NAMESPACE/NAME`);
  }
  const [namespace, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [defaultNamespace, parts[0]!];
  return { namespace, name, key: `${namespace}/${name}` };
}

/** What markFailed records: the hash of S's `spec.template` as commit X has it. */
export async function failedTemplateAt(
  source: GitSource,
  service: ServiceKey,
  commit: string,
  defaultNamespace: string,
  now: string,
): Promise<FailedTemplate> {
  for (const f of await source.manifestsAt(commit)) {
    const parsed = parseManifestFile(f.text, f.file, defaultNamespace);
    for (const m of parsed.manifests) {
      if (m.kind !== 'Service' || m.namespace !== service.namespace || m.name !== service.name) continue;
      const spec = m.object.spec as { template?: unknown } | undefined;
      return { commit, templateHash: templateHash(spec?.template), markedAt: now };
    }
  }
  throw new GitOpsError(
    GitOpsErrorCode.NotFound,
    `commit ${commit.slice(0, 12)} has no valid Service ${service.key} under ${source.path || 'the repository root'}`,
  );
}

export interface RevertOptions {
  /** Default: `Revert "<subject>"` + `This reverts commit <sha>.` + `Rolled back by Sluice.` */
  message?: string;
  /** Author of the revert commit; the committer is Sluice's identity. */
  author?: { name: string; email: string };
}

/**
 * Creates a `git revert` commit of `commit` on the followed branch in the working clone and pushes it.
 * Returns the new commit's SHA (or the branch tip when `commit` was already reverted).
 */
export function revertCommit(source: GitSource, commit: string, o: RevertOptions = {}): Promise<string> {
  return source.revert(commit, o);
}
