import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  observeReady,
  parseRollout,
  rolloutToJSON,
  serializeRollout,
  step,
  stepRevisions,
} from '../src/serving/rollout.js';
import type { ConfigurationRollout, Rollout } from '../src/serving/types.js';

const cfg = (
  name: string,
  percent: number,
  revs: [string, number][],
  stepParams: ConfigurationRollout['stepParams'] = {},
  tag?: string,
): ConfigurationRollout => ({
  configurationName: name,
  ...(tag ? { tag } : {}),
  percent,
  revisions: revs.map(([revisionName, p]) => ({ revisionName, percent: p })),
  stepParams,
});

const NOW = 200620092000;

interface StepCase {
  name: string;
  cur: Rollout;
  prev: Rollout | undefined;
  now: number;
  want: Rollout;
  wantNext: number;
}

// Rows follow Knative's rollout_test.go TestStep.
const stepCases: StepCase[] = [
  {
    name: 'no prev',
    cur: { configurations: [cfg('mick', 100, [['a', 100]])] },
    prev: undefined,
    now: NOW,
    want: { configurations: [cfg('mick', 100, [['a', 100]])] },
    wantNext: 0,
  },
  {
    name: 'simplest, same',
    cur: { configurations: [cfg('mick', 100, [['let-it-bleed', 100]])] },
    prev: { configurations: [cfg('mick', 100, [['let-it-bleed', 100]])] },
    now: NOW,
    want: { configurations: [cfg('mick', 100, [['let-it-bleed', 100]])] },
    wantNext: 0,
  },
  {
    name: 'simplest, step',
    cur: { configurations: [cfg('mick', 100, [['let-it-bleed', 100]])] },
    prev: {
      configurations: [
        cfg(
          'mick',
          100,
          [
            ['their-satanic', 95],
            ['let-it-bleed', 5],
          ],
          { nextStepTime: 2019, stepDuration: 5, starttime: 2004, stepSize: 3 },
        ),
      ],
    },
    now: 2020,
    want: {
      configurations: [
        cfg(
          'mick',
          100,
          [
            ['their-satanic', 92],
            ['let-it-bleed', 8],
          ],
          { nextStepTime: 2025, stepDuration: 5, starttime: 2004, stepSize: 3 },
        ),
      ],
    },
    wantNext: 2025,
  },
  {
    name: 'simplest, roll',
    cur: { configurations: [cfg('mick', 100, [['let-it-bleed', 100]])] },
    prev: { configurations: [cfg('mick', 100, [['goat-head-soup', 100]])] },
    now: NOW,
    want: {
      configurations: [
        cfg(
          'mick',
          100,
          [
            ['goat-head-soup', 99],
            ['let-it-bleed', 1],
          ],
          { starttime: NOW },
        ),
      ],
    },
    wantNext: 0,
  },
  {
    name: 'roll with percentage change down',
    cur: { configurations: [cfg('mick', 33, [['let-it-bleed', 33]])] },
    prev: {
      configurations: [
        cfg('mick', 42, [
          ['goat-head-soup', 11],
          ['aftermath', 31],
        ]),
      ],
    },
    now: NOW,
    want: {
      configurations: [
        cfg(
          'mick',
          33,
          [
            ['goat-head-soup', 2],
            ['aftermath', 30],
            ['let-it-bleed', 1],
          ],
          { starttime: NOW },
        ),
      ],
    },
    wantNext: 0,
  },
  {
    name: 'roll with delete (two fast successive rolls)',
    cur: { configurations: [cfg('mick', 100, [['between-the-buttons', 100]])] },
    prev: {
      configurations: [
        cfg(
          'mick',
          100,
          [
            ['goat-head-soup', 99],
            ['bridges-to-babylon', 1],
          ],
          { starttime: NOW - 1984 },
        ),
      ],
    },
    now: NOW,
    want: {
      configurations: [
        cfg(
          'mick',
          100,
          [
            ['goat-head-soup', 99],
            ['between-the-buttons', 1],
          ],
          { starttime: NOW },
        ),
      ],
    },
    wantNext: 0,
  },
  {
    name: 'when new revision becomes 0%',
    cur: { configurations: [cfg('charlie', 0, [['aftermath', 0]])] },
    prev: { configurations: [cfg('charlie', 100, [['majesties', 100]])] },
    now: NOW,
    want: { configurations: [] },
    wantNext: 0,
  },
  {
    name: 'new config with 0% is not carried',
    cur: { configurations: [cfg('charlie', 0, [['aftermath', 0]]), cfg('mick', 100, [['btb', 100]])] },
    prev: { configurations: [cfg('mick', 100, [['btb', 100]])] },
    now: NOW,
    want: { configurations: [cfg('mick', 100, [['btb', 100]])] },
    wantNext: 0,
  },
  {
    name: 'tags are stepped independently and sorted by tag',
    cur: { configurations: [cfg('mick', 100, [['b', 100]]), cfg('mick', 100, [['b', 100]], {}, 'beta')] },
    prev: { configurations: [cfg('mick', 100, [['a', 100]]), cfg('mick', 100, [['a', 100]], {}, 'beta')] },
    now: NOW,
    want: {
      configurations: [
        cfg(
          'mick',
          100,
          [
            ['a', 99],
            ['b', 1],
          ],
          { starttime: NOW },
        ),
        cfg(
          'mick',
          100,
          [
            ['a', 99],
            ['b', 1],
          ],
          { starttime: NOW },
          'beta',
        ),
      ],
    },
    wantNext: 0,
  },
];

for (const c of stepCases) {
  test(`step: ${c.name}`, () => {
    const got = step(c.cur, c.prev, c.now);
    assert.deepEqual(rolloutToJSON(got.rollout), rolloutToJSON(c.want));
    assert.equal(got.nextStepTimeNs, c.wantNext);
  });
}

test('step: inputs are not changed and a fixed now is idempotent', () => {
  const cur = { configurations: [cfg('mick', 100, [['b', 100]])] };
  const prev = {
    configurations: [
      cfg(
        'mick',
        100,
        [
          ['a', 95],
          ['b', 5],
        ],
        { nextStepTime: 10, stepDuration: 5, starttime: 1, stepSize: 3 },
      ),
    ],
  };
  const before = structuredClone(prev);
  const a = step(cur, prev, 10);
  assert.deepEqual(prev, before);
  assert.deepEqual(step(cur, prev, 10), a);
});

interface StepRevCase {
  name: string;
  in: ConfigurationRollout;
  now: number;
  want: ConfigurationRollout;
}

const stepRevCases: StepRevCase[] = [
  {
    name: 'too soon',
    in: cfg(
      'c',
      100,
      [
        ['r1', 90],
        ['r2', 10],
      ],
      { nextStepTime: 2000, stepDuration: 10, stepSize: 5, starttime: 1 },
    ),
    now: 1999,
    want: cfg(
      'c',
      100,
      [
        ['r1', 90],
        ['r2', 10],
      ],
      { nextStepTime: 2000, stepDuration: 10, stepSize: 5, starttime: 1 },
    ),
  },
  {
    name: 'step last, delete some',
    in: cfg(
      'c',
      15,
      [
        ['r1', 5],
        ['r2', 1],
        ['r3', 1],
        ['r4', 8],
      ],
      { nextStepTime: 1984, starttime: 1977, stepDuration: 77, stepSize: 3 },
    ),
    now: 2006,
    want: cfg(
      'c',
      15,
      [
        ['r1', 4],
        ['r4', 11],
      ],
      { nextStepTime: 2083, starttime: 1977, stepDuration: 77, stepSize: 3 },
    ),
  },
  {
    name: 'the very last step caps at the configuration percent',
    in: cfg(
      'c',
      15,
      [
        ['r1', 5],
        ['r2', 1],
        ['r3', 1],
        ['r4', 8],
      ],
      { nextStepTime: 1984, starttime: 1977, stepDuration: 77, stepSize: 8 },
    ),
    now: 2006,
    want: cfg('c', 15, [['r4', 15]], {}),
  },
];

for (const c of stepRevCases) {
  test(`stepRevisions: ${c.name}`, () => {
    assert.deepEqual(
      rolloutToJSON({ configurations: [stepRevisions(c.in, c.now)] }),
      rolloutToJSON({ configurations: [c.want] }),
    );
  });
}

interface ObserveCase {
  name: string;
  in: ConfigurationRollout;
  now: number;
  duration: number;
  want: ConfigurationRollout['stepParams'];
}

const observeCases: ObserveCase[] = [
  {
    name: 'ready after 2.4s rounds up to 3s steps',
    in: cfg('config', 100, [], { starttime: 198219841988 }),
    now: 200620094002,
    duration: 120,
    want: { starttime: 198219841988, stepDuration: 3000000000, stepSize: 3, nextStepTime: 203620094002 },
  },
  {
    name: 'ready within a second: one step per second',
    in: cfg('config', 100, [], { starttime: 1e12 }),
    now: 1e12 + 5e8,
    duration: 100,
    want: { starttime: 1e12, stepDuration: 1e9, stepSize: 1, nextStepTime: 1e12 + 15e8 },
  },
  {
    name: 'already computed is kept',
    in: cfg('config', 100, [], { starttime: 1, stepDuration: 7, stepSize: 2, nextStepTime: 9 }),
    now: 100,
    duration: 100,
    want: { starttime: 1, stepDuration: 7, stepSize: 2, nextStepTime: 9 },
  },
];

for (const c of observeCases) {
  test(`observeReady: ${c.name}`, () => {
    const got = observeReady({ configurations: [c.in] }, c.now, c.duration).configurations?.[0];
    assert.deepEqual(got?.stepParams, c.want);
  });
}

test('rollout annotation round-trips with omitempty', () => {
  const ro: Rollout = {
    configurations: [
      cfg(
        'c',
        100,
        [
          ['a', 99],
          ['b', 1],
        ],
        { starttime: 5 },
      ),
    ],
  };
  const s = serializeRollout(ro);
  assert.equal(
    s,
    '{"configurations":[{"configurationName":"c","percent":100,"revisions":[{"revisionName":"a","percent":99},{"revisionName":"b","percent":1}],"stepParams":{"starttime":5}}]}',
  );
  assert.deepEqual(parseRollout(s), ro);
  assert.equal(parseRollout('{not json'), undefined);
  assert.equal(
    parseRollout(
      '{"configurations":[{"configurationName":"c","percent":100,"revisions":[{"revisionName":"a","percent":50}]}]}',
    ),
    undefined,
  );
});

test('property: a rollout never leaves the configuration percent and moves monotonically', () => {
  const cur = { configurations: [cfg('c', 100, [['new', 100]])] };
  let { rollout } = step(cur, { configurations: [cfg('c', 100, [['old', 100]])] }, 1e12);
  rollout = observeReady(rollout, 1e12 + 2e9, 60);
  let next = step(cur, rollout, 1e12 + 2e9);
  let lastNew = 0;
  for (let i = 0; i < 200 && next.nextStepTimeNs > 0; i++) {
    const revs = next.rollout.configurations?.[0]?.revisions ?? [];
    assert.equal(
      revs.reduce((s, r) => s + r.percent, 0),
      100,
    );
    assert.ok(revs.every((r) => r.percent >= 0));
    const n = revs.find((r) => r.revisionName === 'new')?.percent ?? 0;
    assert.ok(n >= lastNew);
    lastNew = n;
    next = step(cur, next.rollout, next.nextStepTimeNs);
  }
  assert.deepEqual(next.rollout.configurations?.[0]?.revisions, [{ revisionName: 'new', percent: 100 }]);
});
