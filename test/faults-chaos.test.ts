// The small fixed chaos set inside `npm test` (the full suite is `npm run chaos`): a bad canary with an invalid
// policy edit refused mid-rollout and `sluice start` killed with -9 — rolled back after the restart, nothing
// orphaned; and a bad canary whose Git remote goes away mid-rollout — rolled back all the same, GitOps reports
// the remote and retries with back-off. (A brain kill under traffic is in faults-processes.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTrial, type TrialSpec } from './chaos/trial.js';

const rows: Array<{ name: string; spec: TrialSpec; refusedAtMost: number }> = [
  {
    name: 'bad canary, invalid policy edit refused, kill -9 of sluice start: rolled back after the restart',
    spec: { fault: 'invalidPolicyThenKill', template: 'bad', delaySeconds: 1.2 },
    refusedAtMost: Infinity,
  },
  {
    name: 'bad canary from Git, remote unreachable mid-rollout: rolled back, GitOps reports and retries',
    spec: { fault: 'gitUnreachable', template: 'bad', delaySeconds: 0.8 },
    refusedAtMost: 0,
  },
];
for (const r of rows)
  test(`chaos: ${r.name}`, async () => {
    const res = await runTrial(r.spec);
    assert.equal(res.error, undefined, res.error);
    assert.ok(res.correct, `final ${res.final} (fault at ${res.atFault})`);
    assert.equal(res.orphans, 0, 'orphans');
    assert.ok(res.refused <= r.refusedAtMost, `${res.refused} refused requests`);
    for (const c of res.checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
  });
