// How a user's command reaches the controller: appended to the Rollout's spec.commands with the next seq, so
// the controller applies it exactly once (the machine records lastCommandSeq). Used by the CLI and the dashboard.
// The write is a JSON merge patch carrying metadata.resourceVersion: RBAC sees the verb `patch` (what a Role for
// people who promote grants, as for `kubectl patch`), and the resourceVersion makes it optimistic, so two
// people appending at once cannot lose each other's command (409 → read again and retry).
import { isConflict, R, type KubeClient } from '../../kube/index.js';
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
  for (let attempt = 1; ; attempt++) {
    const cur = await client.get<RolloutObject>(R.rollouts, namespace, name);
    const { seq, commands } = nextCommands(cur, req);
    try {
      await client.patch(
        R.rollouts,
        namespace,
        name,
        { metadata: { resourceVersion: cur.metadata.resourceVersion }, spec: { commands } },
        'merge',
      );
      return seq;
    } catch (e) {
      if (!isConflict(e) || attempt >= ATTEMPTS) throw e;
      await new Promise((res) => setTimeout(res, Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}

const ATTEMPTS = 8;

type Command = NonNullable<NonNullable<RolloutObject['spec']>['commands']>[number];

/** Pure: the command list after appending `req` to `cur` (a merge patch replaces the whole array). */
export function nextCommands(cur: RolloutObject, req: CommandRequest): { seq: number; commands: Command[] } {
  const cmds = cur.spec?.commands ?? [];
  const applied = cur.status?.state?.lastCommandSeq ?? 0;
  const seq = Math.max(applied, ...cmds.map((c) => c.seq), 0) + 1;
  const reason = req.reason?.trim().slice(0, REASON_MAX);
  const next: Command = {
    seq,
    kind: req.kind,
    ...(req.full ? { full: true } : {}),
    ...(req.by ? { by: req.by } : {}),
    ...(reason ? { reason } : {}),
  };
  const keep = [...cmds.filter((c) => c.seq > applied), ...cmds.filter((c) => c.seq <= applied).slice(-5)].sort(
    (a, b) => a.seq - b.seq,
  );
  return { seq, commands: [...keep, next] };
}
