// The GitOps status, kept in ConfigMap `sluice-gitops-status` in the controller's namespace so that
// `kubectl get configmap sluice-gitops-status -o yaml` answers "which commit is applied, and if not, why".
// It is also Sluice's memory across restarts: the inventory (for pruning) and the failed templates.
//
// data keys (all strings; JSON where structured):
//   repo, branch, path                  the source (repo redacted)
//   lastAppliedCommit                   the newest commit whose objects were applied (bad files excepted)
//   lastAttemptedCommit                 the newest commit Sluice tried
//   lastSyncTime                        RFC 3339
//   ready, reason, message              the Ready condition: True/False/Unknown, a CamelCase reason, a sentence
//   lastTransitionTime                  when `ready` last changed
//   errors                              JSON [{code, file, line, column, message}]
//   inventory                           JSON {file: ["Service/default/web", ...]}: what each file applied
//   failedTemplates                     JSON {"default/web": {commit, templateHash, markedAt}}
import { R, type KubeClient, type KubeObject } from '../kube/index.js';
import type { ManifestProblem } from './manifests.js';

export const STATUS_CONFIGMAP = 'sluice-gitops-status';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Ready's reasons. */
export const Reason = {
  Synced: 'Synced',
  Progressing: 'Progressing',
  ManifestErrors: 'ManifestErrors',
  ApplyFailed: 'ApplyFailed',
  GitOperationFailed: 'GitOperationFailed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface Condition {
  status: ConditionStatus;
  reason: Reason;
  message: string;
  lastTransitionTime: string;
}

export interface FailedTemplate {
  commit: string;
  /** sha256 of the canonical JSON of the Service's spec.template at that commit. */
  templateHash: string;
  markedAt: string;
}

export interface GitOpsStatus {
  repo: string;
  branch: string;
  path: string;
  lastAppliedCommit: string | undefined;
  lastAttemptedCommit: string | undefined;
  lastSyncTime: string | undefined;
  ready: Condition;
  errors: ManifestProblem[];
  inventory: Record<string, string[]>;
  failedTemplates: Record<string, FailedTemplate>;
}

export function initialStatus(repo: string, branch: string, path: string, now: string): GitOpsStatus {
  return {
    repo,
    branch,
    path,
    lastAppliedCommit: undefined,
    lastAttemptedCommit: undefined,
    lastSyncTime: undefined,
    ready: {
      status: 'Unknown',
      reason: Reason.Progressing,
      message: 'waiting for the first sync',
      lastTransitionTime: now,
    },
    errors: [],
    inventory: {},
    failedTemplates: {},
  };
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function toData(s: GitOpsStatus): Record<string, string> {
  const d: Record<string, string> = {
    repo: s.repo,
    branch: s.branch,
    path: s.path,
    ready: s.ready.status,
    reason: s.ready.reason,
    message: s.ready.message,
    lastTransitionTime: s.ready.lastTransitionTime,
    errors: JSON.stringify(s.errors),
    inventory: JSON.stringify(sortKeys(s.inventory)),
    failedTemplates: JSON.stringify(sortKeys(s.failedTemplates)),
  };
  if (s.lastAppliedCommit) d.lastAppliedCommit = s.lastAppliedCommit;
  if (s.lastAttemptedCommit) d.lastAttemptedCommit = s.lastAttemptedCommit;
  if (s.lastSyncTime) d.lastSyncTime = s.lastSyncTime;
  return d;
}

export function fromData(d: Record<string, string>, base: GitOpsStatus): GitOpsStatus {
  const status = d.ready === 'True' || d.ready === 'False' ? d.ready : 'Unknown';
  return {
    ...base,
    lastAppliedCommit: d.lastAppliedCommit || undefined,
    lastAttemptedCommit: d.lastAttemptedCommit || undefined,
    lastSyncTime: d.lastSyncTime || undefined,
    ready: {
      status,
      reason: (Object.values(Reason) as string[]).includes(d.reason ?? '') ? (d.reason as Reason) : Reason.Progressing,
      message: d.message ?? '',
      lastTransitionTime: d.lastTransitionTime ?? base.ready.lastTransitionTime,
    },
    errors: parseJson<ManifestProblem[]>(d.errors, []),
    inventory: parseJson<Record<string, string[]>>(d.inventory, {}),
    failedTemplates: parseJson<Record<string, FailedTemplate>>(d.failedTemplates, {}),
  };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** Reads the stored status; `base` when there is none yet. */
export async function loadStatus(client: KubeClient, namespace: string, base: GitOpsStatus): Promise<GitOpsStatus> {
  const cm = await client.tryGet<KubeObject & { data?: Record<string, string> }>(
    R.configMaps,
    namespace,
    STATUS_CONFIGMAP,
  );
  return cm?.data ? fromData(cm.data, base) : base;
}

/** Writes the whole status with server-side apply (this manager owns every key). */
export async function saveStatus(client: KubeClient, namespace: string, s: GitOpsStatus): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: STATUS_CONFIGMAP, namespace, labels: { 'app.kubernetes.io/component': 'gitops-status' } },
    data: toData(s),
  };
  await client.patch(R.configMaps, namespace, STATUS_CONFIGMAP, body, 'apply', { force: true });
}
