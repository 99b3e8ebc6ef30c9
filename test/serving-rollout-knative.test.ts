// Knative's own gradual-rollout unit tests (pkg/reconciler/route/traffic/rollout_test.go: TestStep,
// TestStepRevisions, TestAdjustPercentage, TestValidateFailures), their rows kept as data in
// test/fixtures/knative-rollout-cases.json and run against serving/rollout.ts. Knative compares with
// cmpopts.EquateEmpty, so both sides go through the annotation's JSON form (empty fields omitted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  adjustPercentage,
  parseRollout,
  rolloutToJSON,
  serializeRollout,
  step,
  stepRevisions,
  validateRollout,
} from '../src/serving/rollout.js';
import type { ConfigurationRollout, RevisionRollout, Rollout } from '../src/serving/types.js';
import { ROOT } from './support/procs.js';

interface Cases {
  step: { name: string; cur: Rollout; prev: Rollout | null; want: Rollout; wantNextStep?: number }[];
  stepRevisions: {
    name: string;
    now: number;
    cfg: Partial<ConfigurationRollout>;
    want: Partial<ConfigurationRollout>;
  }[];
  adjustPercentage: {
    name: string;
    goal: number;
    prev: Partial<ConfigurationRollout>;
    want: RevisionRollout[] | null;
  }[];
  validateFailures: { name: string; r: Rollout }[];
}

const cases = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'knative-rollout-cases.json'), 'utf8')) as Cases;
const STEP_NOW = 2020; // TestStep's `now`

/** Fills the fields Go leaves at their zero value. */
const full = (c: Partial<ConfigurationRollout>): ConfigurationRollout => ({
  configurationName: c.configurationName ?? '',
  ...(c.tag ? { tag: c.tag } : {}),
  percent: c.percent ?? 0,
  revisions: (c.revisions ?? []).map((r) => ({ revisionName: r.revisionName ?? '', percent: r.percent ?? 0 })),
  stepParams: { ...(c.stepParams ?? {}) },
});
const fullRollout = (r: Rollout): Rollout => ({ configurations: (r.configurations ?? []).map(full) });

for (const c of cases.step) {
  test(`knative TestStep: ${c.name}`, () => {
    const got = step(fullRollout(c.cur), c.prev ? fullRollout(c.prev) : undefined, STEP_NOW);
    assert.deepEqual(rolloutToJSON(got.rollout), rolloutToJSON(fullRollout(c.want)));
    assert.equal(got.nextStepTimeNs, c.wantNextStep ?? 0);
  });
}

for (const c of cases.stepRevisions) {
  test(`knative TestStepRevisions: ${c.name}`, () => {
    const got = stepRevisions(full(c.cfg), c.now);
    assert.deepEqual(rolloutToJSON({ configurations: [got] }), rolloutToJSON({ configurations: [full(c.want)] }));
  });
}

for (const c of cases.adjustPercentage) {
  test(`knative TestAdjustPercentage: ${c.name}`, () => {
    const cr = full(c.prev);
    adjustPercentage(c.goal, cr);
    assert.deepEqual(cr.revisions ?? [], full({ revisions: c.want ?? [] }).revisions);
  });
}

for (const c of cases.validateFailures) {
  test(`knative TestValidateFailures: ${c.name}`, () => {
    const ro = fullRollout(c.r);
    assert.equal(validateRollout(ro), false);
    // An invalid annotation is read back as no rollout at all: the next reconcile starts afresh.
    assert.equal(parseRollout(serializeRollout(ro)), undefined);
  });
}
