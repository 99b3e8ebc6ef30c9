// Typed errors of the GitOps source. Callers match on `code`; the codes are stable (docs/errors.md).
import { SluiceError, type SluiceErrorOptions } from '../util/errors.js';

export const GitOpsErrorCode = {
  /** A git command failed (clone, fetch, checkout, push): the remote is unreachable, auth failed, the ref is missing. */
  GitFailed: 'SLUICE_ERR_GIT_FAILED',
  /** A manifest file is not valid YAML. */
  ManifestYaml: 'SLUICE_ERR_MANIFEST_YAML',
  /** A manifest is valid YAML but not an object Sluice can apply (kind, apiVersion, name, shape). */
  ManifestInvalid: 'SLUICE_ERR_MANIFEST_INVALID',
  /** The Kubernetes API refused to apply an object from a manifest. */
  ApplyFailed: 'SLUICE_ERR_APPLY_FAILED',
  /** `git revert` of a commit conflicted with later commits; nothing was pushed. */
  RevertConflict: 'SLUICE_ERR_GIT_REVERT_CONFLICT',
  /** A commit or a Service named by markFailed/revert is not in the repository. */
  NotFound: 'SLUICE_ERR_GIT_NOT_FOUND',
  /** The GitOps loop was closed. */
  Closed: 'SLUICE_ERR_GITOPS_CLOSED',
} as const;
export type GitOpsErrorCode = (typeof GitOpsErrorCode)[keyof typeof GitOpsErrorCode];

export class GitOpsError extends SluiceError {
  constructor(code: GitOpsErrorCode, message: string, opts: SluiceErrorOptions = {}) {
    super(code, message, opts);
  }
}

/**
 * Scrubs credentials from text meant for a log line, a status message or an error: the userinfo of every
 * URL (`https://user:token@host` → `https://[REDACTED]@host`) and every literal secret given.
 * Pre: secrets shorter than 4 characters are ignored (replacing them would shred ordinary words).
 */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^@/\s'"]+)@/gi, '$1[REDACTED]@');
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  }
  return out;
}
