// How a user's command reaches the controller: appended to the Rollout's spec.commands with the next seq, so
// the controller applies it exactly once (the machine records lastCommandSeq). Used by the CLI and the dashboard.
import { R, updateWithRetry, type KubeClient } from '../../kube/index.js';
import type { CommandKind } from '../machine/types.js';
import type { RolloutObject } from './types.js';

/** Longest reason kept with a command (the CRD's maxLength). */
export const REASON_MAX = 1024;

export interface CommandRequest {
  kind: CommandKind;
  /** promote only: skip all remaining steps and analysis. */
  full?: boolean;
  /** Who asked; shown as the actor in the timeline. */
  by?: string;
  /** Why; shown in the timeline. */
  reason?: string;
}

/**
 * Appends a command with seq = 1 + the highest seq seen (in spec or already applied by the controller), and
 * trims commands the controller has applied, keeping the last few for the record. Returns the seq. Conflicts
 * with concurrent writers are retried.
 */
export async function appendRolloutCommand(
  client: KubeClient,
  namespace: string,
  name: string,
  req: CommandRequest,
): Promise<number> {
  let seq = 0;
  await updateWithRetry<RolloutObject>(client, R.rollouts, namespace, name, (cur) => {
    const cmds = cur.spec?.commands ?? [];
    const applied = cur.status?.state?.lastCommandSeq ?? 0;
    seq = Math.max(applied, ...cmds.map((c) => c.seq), 0) + 1;
    const reason = req.reason?.trim().slice(0, REASON_MAX);
    const next = {
      seq,
      kind: req.kind,
      ...(req.full ? { full: true } : {}),
      ...(req.by ? { by: req.by } : {}),
      ...(reason ? { reason } : {}),
    };
    const keep = [...cmds.filter((c) => c.seq > applied), ...cmds.filter((c) => c.seq <= applied).slice(-5)].sort(
      (a, b) => a.seq - b.seq,
    );
    cur.spec = { ...(cur.spec ?? {}), commands: [...keep, next] };
    return cur;
  });
  return seq;
}
