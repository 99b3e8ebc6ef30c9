import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { runConformanceCase } from '../src/serving/conformance.js';

interface Case {
  name: string;
  input: unknown;
  want: { ok: boolean; resultIncludes?: Record<string, unknown> };
}

const cases: Case[] = [
  {
    name: 'traffic-validation reports error text and paths',
    input: {
      id: 'x1',
      kind: 'traffic-validation',
      input: {
        operation: 'create',
        object: {
          kind: 'Route',
          metadata: { name: 'r', namespace: 'd' },
          spec: { traffic: [{ tag: 'foo', percent: 100 }] },
        },
      },
    },
    want: {
      ok: false,
      resultIncludes: {
        error: 'expected exactly one, got neither: spec.traffic[0].configurationName, spec.traffic[0].revisionName',
        paths: ['spec.traffic[0].configurationName', 'spec.traffic[0].revisionName'],
      },
    },
  },
  {
    name: 'naming of the first revision',
    input: {
      id: 'x2',
      kind: 'naming',
      input: { configuration: { metadata: { name: 'web', namespace: 'd', generation: 7 } } },
    },
    want: { ok: true, resultIncludes: { revisionName: 'web-00007' } },
  },
  {
    name: 'rollout observeReady',
    input: {
      id: 'x3',
      kind: 'rollout-steps',
      input: {
        mode: 'observeReady',
        rolloutDurationSeconds: 120,
        nowNs: 200620094002,
        configurationRollout: {
          configurationName: 'c',
          percent: 100,
          revisions: [],
          stepParams: { starttime: 198219841988 },
        },
      },
    },
    want: {
      ok: true,
      resultIncludes: {
        stepParams: { starttime: 198219841988, nextStepTime: 203620094002, stepDuration: 3000000000, stepSize: 3 },
      },
    },
  },
  { name: 'unknown kinds are reported, not thrown', input: { id: 'x4', kind: 'nope', input: {} }, want: { ok: false } },
];

for (const c of cases) {
  test(`conformance: ${c.name}`, () => {
    const r = runConformanceCase(c.input);
    assert.equal(r.ok, c.want.ok);
    for (const [k, v] of Object.entries(c.want.resultIncludes ?? {})) assert.deepEqual(r.result[k], v, k);
  });
}

// The shared vectors live beside the checkout; a copy in test/fixtures serves a clone without them.
const sharedUrl = new URL('../../../shared/conformance/examples.json', import.meta.url);
const shared = existsSync(sharedUrl)
  ? sharedUrl
  : new URL('../../test/fixtures/conformance/examples.json', import.meta.url);
test('conformance: shared examples keep ok and exact error text', () => {
  const all = JSON.parse(readFileSync(shared, 'utf8')) as {
    id: string;
    expect: { ok: boolean; result?: { error?: string } };
  }[];
  for (const c of all) {
    const r = runConformanceCase(c);
    assert.equal(r.ok, c.expect.ok, c.id);
    if (c.expect.result?.error !== undefined) assert.equal(r.result['error'], c.expect.result.error, c.id);
  }
});
