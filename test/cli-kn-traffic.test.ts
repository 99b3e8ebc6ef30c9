// Table tests for kn's traffic flags, translated from knative/client pkg/traffic/compute_test.go
// (TestCompute and TestComputeErrMsg), plus the seeds' sum messages and the revision-reference check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  computeTraffic,
  referencedRevisions,
  splitSlice,
  type Target,
  type TrafficFlags,
} from '../src/cli/kn/traffic.js';
import { KnError } from '../src/cli/kn/errors.js';

/** kn's newTarget(tag, revision, percent, latestRevision). */
function t(tag: string, revision: string, percent: number, latest: boolean): Target {
  const x: Target = { percent, latestRevision: latest };
  if (tag) x.tag = tag;
  if (!latest) x.revisionName = revision;
  return x;
}

/** Parses kn-style args (`--traffic a=1,b=2 --tag x=y --untag z`). */
function flags(args: string[]): { f: TrafficFlags; trafficChanged: boolean } {
  const f: TrafficFlags = { traffic: [], tags: [], untag: [] };
  let trafficChanged = false;
  for (let i = 0; i < args.length; i += 2) {
    const v = splitSlice([args[i + 1]!]);
    if (args[i] === '--traffic') {
      f.traffic.push(...v);
      trafficChanged = true;
    } else if (args[i] === '--tag') f.tags.push(...v);
    else if (args[i] === '--untag') f.untag.push(...v);
  }
  return { f, trafficChanged };
}

const revs3 = [{ name: 'rev-00001' }, { name: 'rev-00002' }, { name: 'rev-00003' }];

interface Case {
  name: string;
  existing: Target[];
  args: string[];
  /** '@latest' means latestRevision true. */
  want: Array<[revision: string, tag: string, percent: number]>;
  revisions?: Array<{ name: string; tagsAnnotation?: string }>;
  mutation?: boolean;
  latest?: string;
}

const cases: Case[] = [
  {
    name: "assign 'latest' tag to @latest revision",
    existing: [t('', '', 100, true)],
    args: ['--tag', '@latest=latest'],
    want: [['@latest', 'latest', 100]],
  },
  {
    name: "assign 'latest' tag to @latest revision without specifying key",
    existing: [t('', '', 100, true)],
    args: ['--tag', 'latest'],
    want: [['@latest', 'latest', 100]],
  },
  {
    name: 'assign tag to revision',
    existing: [t('', 'echo-v1', 100, false)],
    args: ['--tag', 'echo-v1=stable'],
    want: [['echo-v1', 'stable', 100]],
  },
  {
    name: 're-assign same tag to same revision (unchanged)',
    existing: [t('current', '', 100, true)],
    args: ['--tag', '@latest=current'],
    want: [['@latest', 'current', 100]],
  },
  {
    name: 'split traffic to tags',
    existing: [t('', '', 100, true), t('', 'rev-v1', 0, false)],
    args: ['--traffic', '@latest=10,rev-v1=90'],
    want: [
      ['@latest', '', 10],
      ['rev-v1', '', 90],
    ],
  },
  {
    name: "split traffic to tags with '%' suffix",
    existing: [t('', '', 100, true), t('', 'rev-v1', 0, false)],
    args: ['--traffic', '@latest=10%,rev-v1=90%'],
    want: [
      ['@latest', '', 10],
      ['rev-v1', '', 90],
    ],
  },
  {
    name: 'add 2 more tagged revisions without giving them traffic portions',
    existing: [t('latest', '', 100, true)],
    args: ['--tag', 'echo-v0=stale,echo-v1=old'],
    want: [
      ['@latest', 'latest', 100],
      ['echo-v0', 'stale', 0],
      ['echo-v1', 'old', 0],
    ],
  },
  {
    name: "re-assign same tag to 'echo-v1' revision",
    existing: [t('latest', 'echo-v1', 100, false)],
    args: ['--tag', 'echo-v1=latest'],
    want: [['echo-v1', 'latest', 100]],
  },
  {
    name: 'set 2% traffic to latest revision by appending it in traffic block',
    existing: [t('latest', 'echo-v1', 100, false)],
    args: ['--traffic', '@latest=2,echo-v1=98'],
    want: [
      ['echo-v1', 'latest', 98],
      ['@latest', '', 2],
    ],
  },
  {
    name: 'set 2% to @latest with tag (append it in traffic block)',
    existing: [t('latest', 'echo-v1', 100, false)],
    args: ['--traffic', '@latest=2,echo-v1=98', '--tag', '@latest=testing'],
    want: [
      ['echo-v1', 'latest', 98],
      ['@latest', 'testing', 2],
    ],
  },
  {
    name: 'change traffic percent of an existing revision in traffic block, add new revision with traffic share',
    existing: [t('v1', 'echo-v1', 100, false)],
    args: ['--tag', 'echo-v2=v2', '--traffic', 'v1=10,v2=90'],
    want: [
      ['echo-v1', 'v1', 10],
      ['echo-v2', 'v2', 90],
    ],
  },
  {
    name: "untag 'latest' tag from 'echo-v1' revision",
    existing: [t('latest', 'echo-v1', 100, false)],
    args: ['--untag', 'latest'],
    want: [['echo-v1', '', 100]],
  },
  {
    name: "replace revision pointing to 'latest' tag from 'echo-v1' to 'echo-v2' revision",
    existing: [t('latest', 'echo-v1', 50, false), t('', 'echo-v2', 50, false)],
    args: ['--untag', 'latest', '--tag', 'echo-v1=old,echo-v2=latest'],
    want: [
      ['echo-v1', 'old', 50],
      ['echo-v2', 'latest', 50],
    ],
  },
  {
    name: 'have multiple tags for a revision, revision present in traffic block',
    existing: [t('latest', 'echo-v1', 50, false), t('', 'echo-v2', 50, false)],
    args: ['--tag', 'echo-v1=latest,echo-v1=current'],
    want: [
      ['echo-v1', 'latest', 50],
      ['echo-v2', '', 50],
      ['echo-v1', 'current', 0],
    ],
  },
  {
    name: 'have multiple tags for a revision, revision absent in traffic block',
    existing: [t('', 'echo-v2', 100, false)],
    args: ['--tag', 'echo-v1=latest,echo-v1=current'],
    want: [
      ['echo-v2', '', 100],
      ['echo-v1', 'latest', 0],
      ['echo-v1', 'current', 0],
    ],
  },
  {
    name: "re-assign same tag 'current' to @latest",
    existing: [t('current', '', 100, true)],
    args: ['--tag', '@latest=current'],
    want: [['@latest', 'current', 100]],
  },
  {
    name: "assign echo-v1 10% traffic adjusting rest to @latest, echo-v1 isn't present in existing traffic block",
    existing: [t('', '', 100, true)],
    args: ['--traffic', 'echo-v1=10,@latest=90'],
    want: [
      ['@latest', '', 90],
      ['echo-v1', '', 10],
    ],
  },
  {
    name: 'traffic split with sum < 100 should work for n-1 revisions',
    existing: [t('', 'rev-00001', 0, false), t('', 'rev-00002', 0, false), t('', 'rev-00003', 100, false)],
    args: ['--traffic', 'rev-00001=10,rev-00002=10'],
    revisions: revs3,
    want: [
      ['rev-00001', '', 10],
      ['rev-00002', '', 10],
      ['rev-00003', '', 80],
    ],
  },
  {
    name: 'traffic split sum < 100 with @latest which mutates service should specify N revs',
    existing: [t('', 'rev-00001', 0, false), t('', 'rev-00002', 0, false), t('', 'rev-00003', 100, true)],
    args: ['--traffic', 'rev-00001=10,rev-00003=40,@latest=20'],
    revisions: revs3,
    mutation: true,
    latest: 'rev-00003',
    // The @latest target of the fixture has no revisionName, so rev-00003=40 is appended (as in kn).
    want: [
      ['rev-00001', '', 10],
      ['rev-00002', '', 30],
      ['@latest', '', 20],
      ['rev-00003', '', 40],
    ],
  },
  {
    name: 'traffic split sum < 100 with @latest and does not mutate the service should specify N-1 revs',
    existing: [t('', 'rev-00001', 0, false), t('', 'rev-00002', 0, false), t('', 'rev-00003', 100, true)],
    args: ['--traffic', 'rev-00001=10,@latest=20'],
    revisions: revs3,
    latest: 'rev-00003',
    want: [
      ['rev-00001', '', 10],
      ['rev-00002', '', 70],
      ['@latest', '', 20],
    ],
  },
  {
    name: 'traffic split sum < 100 without @latest which mutates service should specify N revs; the rest goes to @latest',
    existing: [t('', 'rev-00001', 0, false), t('', 'rev-00002', 0, false), t('', 'rev-00003', 100, true)],
    args: ['--traffic', 'rev-00001=10,rev-00003=40,rev-00002=30'],
    revisions: revs3,
    mutation: true,
    latest: 'rev-00003',
    want: [
      ['rev-00001', '', 10],
      ['rev-00002', '', 30],
      ['@latest', '', 20],
      ['rev-00003', '', 40],
    ],
  },
  // Beyond kn's table: the seeds' tutorial steps.
  {
    name: 'seed: tag two revisions keeps 100% on @latest',
    existing: [t('', '', 100, true)],
    args: ['--tag', 'hello-00001=cn', '--tag', 'hello-00002=en'],
    want: [
      ['@latest', '', 100],
      ['hello-00001', 'cn', 0],
      ['hello-00002', 'en', 0],
    ],
  },
  {
    name: 'seed: split by tags 80/20 drops the untagged @latest target',
    existing: [t('', '', 100, true), t('cn', 'hello-00001', 0, false), t('en', 'hello-00002', 0, false)],
    args: ['--traffic', 'cn=80', '--traffic', 'en=20'],
    want: [
      ['hello-00001', 'cn', 80],
      ['hello-00002', 'en', 20],
    ],
  },
  {
    name: 'seed: three-way split 50/25/25 by revision name',
    existing: [t('', '', 100, true)],
    args: ['--traffic', 'hello-00004=50', '--traffic', 'hello-00002=25', '--traffic', 'hello-00001=25'],
    want: [
      ['hello-00004', '', 50],
      ['hello-00002', '', 25],
      ['hello-00001', '', 25],
    ],
  },
  {
    name: 'remainder goes to the revision left out when it is named by its tag in status',
    existing: [t('cn', 'hello-00001', 50, false), t('en', 'hello-00002', 50, false)],
    args: ['--traffic', 'cn=80'],
    revisions: [{ name: 'hello-00001' }, { name: 'hello-00002' }],
    want: [
      ['hello-00001', 'cn', 80],
      ['hello-00002', 'en', 20],
    ],
  },
];

for (const c of cases) {
  test(`compute: ${c.name}`, () => {
    const { f, trafficChanged } = flags(c.args);
    const got = computeTraffic({
      serviceName: 'serviceName',
      specTraffic: c.existing,
      statusTraffic: c.existing,
      revisions: c.revisions ?? [],
      flags: f,
      trafficChanged,
      mutation: c.mutation ?? false,
      ...(c.latest ? { latestReadyRevisionName: c.latest } : {}),
    });
    const simplified = got.map((x): [string, string, number] => [
      x.latestRevision ? '@latest' : (x.revisionName ?? ''),
      x.tag ?? '',
      x.percent ?? -1,
    ]);
    assert.deepEqual(simplified, c.want);
  });
}

interface ErrCase {
  name: string;
  existing: Target[];
  args: string[];
  err: string;
  revisions?: Array<{ name: string; tagsAnnotation?: string }>;
  mutation?: boolean;
}

const sum = (n: number): string => `given traffic percents sum to ${n}, want 100`;
const errCases: ErrCase[] = [
  {
    name: 'invalid format for --traffic option',
    existing: [t('', '', 100, true)],
    args: ['--traffic', '@latest=100=latest'],
    err: 'expecting the value format in value1=value2, given @latest=100=latest',
  },
  {
    name: 'invalid format for --tag option',
    existing: [t('', '', 100, true)],
    args: ['--tag', '@latest='],
    err: 'expecting the value format in value1=value2, given @latest=',
  },
  {
    name: 'repeatedly splitting traffic to @latest revision',
    existing: [t('', '', 100, true)],
    args: ['--traffic', '@latest=90,@latest=10'],
    err: 'repetition of identifier @latest is not allowed, use only once with --traffic flag',
  },
  {
    name: 'repeatedly tagging to @latest revision not allowed',
    existing: [t('', '', 100, true)],
    args: ['--tag', '@latest=latest,@latest=2'],
    err: 'repetition of identifier @latest is not allowed, use only once with --tag flag',
  },
  {
    name: 'repeatedly tagging to @latest revision not allowed, without key',
    existing: [t('', '', 100, true)],
    args: ['--tag', 'latest,current'],
    err: 'repetition of identifier @latest is not allowed, use only once with --tag flag',
  },
  {
    name: 'overwriting tag not allowed, to @latest from other revision',
    existing: [t('latest', '', 2, true), t('stable', 'echo-v2', 98, false)],
    args: ['--tag', '@latest=stable'],
    err: "refusing to overwrite existing tag in service, add flag '--untag stable' in command to untag it",
  },
  {
    name: 'overwriting tag not allowed, to a revision from other revision',
    existing: [t('latest', '', 2, true), t('stable', 'echo-v2', 98, false)],
    args: ['--tag', 'echo-v2=latest'],
    err: "refusing to overwrite existing tag in service, add flag '--untag latest' in command to untag it",
  },
  {
    name: 'overwriting tag of @latest not allowed, existing != requested',
    existing: [t('candidate', '', 100, true)],
    args: ['--tag', '@latest=current'],
    err: "tag 'candidate' exists on latest ready revision of service, refusing to overwrite existing tag with 'current', add flag '--untag candidate' in command to untag it",
  },
  {
    name: 'verify error for non integer values given to percent',
    existing: [t('', '', 100, true)],
    args: ['--traffic', '@latest=100p'],
    err: 'error converting given 100p to integer value for traffic distribution',
  },
  {
    name: 'verify error for traffic sum not equal to 100 (seed: 50 + 60)',
    existing: [t('', '', 100, true)],
    args: ['--traffic', '@latest=40,echo-v1=70'],
    err: sum(110),
  },
  {
    name: 'verify error for values out of range given to percent',
    existing: [t('', '', 100, true)],
    args: ['--traffic', '@latest=-100'],
    err: 'invalid value for traffic percent -100, expected 0 <= percent <= 100',
  },
  {
    name: 'repeatedly splitting traffic to the same revision',
    existing: [t('', '', 100, true)],
    args: ['--traffic', 'echo-v1=40', '--traffic', 'echo-v1=60'],
    err: 'repetition of revision reference echo-v1 is not allowed, use only once with --traffic flag',
  },
  {
    name: 'untag single tag that does not exist',
    existing: [t('latest', 'echo-v1', 100, false)],
    args: ['--untag', 'foo'],
    err: 'tag(s) foo not present for any revisions of service serviceName',
  },
  {
    name: 'untag multiple tags that do not exist',
    existing: [t('latest', 'echo-v1', 100, false)],
    args: ['--untag', 'foo', '--untag', 'bar'],
    err: 'tag(s) foo, bar not present for any revisions of service serviceName',
  },
  // kn >= 1.0 words these "unable to allocate the remaining traffic: N%. Reason: ..."; the seeds show kn's
  // sum message, which Sluice prints for every split it cannot complete.
  {
    name: 'traffic split sum < 100 should have N-1 revisions specified',
    existing: [t('', 'rev-00001', 0, false), t('', 'rev-00002', 0, false), t('', 'rev-00003', 100, false)],
    args: ['--traffic', 'rev-00001=10'],
    revisions: revs3,
    err: sum(10),
  },
  {
    name: 'traffic split sum < 100 with @latest which mutates service should specify N revs',
    existing: [t('', 'rev-00001', 0, false), t('', 'rev-00002', 0, false), t('', 'rev-00003', 100, true)],
    args: ['--traffic', 'rev-00001=10,@latest=20'],
    revisions: revs3,
    mutation: true,
    err: sum(30),
  },
  {
    name: 'traffic split sum < 100 with @latest and mutates the service should specify N revs',
    existing: [t('', 'rev-00001', 0, false), t('', 'rev-00002', 0, false), t('', 'rev-00003', 100, true)],
    args: ['--traffic', 'rev-00001=10,rev-00002=10,@latest=20'],
    revisions: revs3,
    err: sum(40),
  },
  {
    name: 'traffic split sum < 100 error when remaining revision not found',
    existing: [t('rev-00003', 'rev-00001', 0, false), t('', 'rev-00002', 0, false), t('', 'rev-00003', 100, true)],
    args: ['--traffic', 'rev-00003=10,rev-00001=20'],
    revisions: [{ name: 'rev-00001', tagsAnnotation: 'rev-00003' }, { name: 'rev-00003' }],
    err: sum(30),
  },
  {
    name: 'seed: 50 + 40 between two revisions while @latest takes all',
    existing: [t('', '', 100, true)],
    args: ['--traffic', 'hello-00004=50', '--traffic', 'hello-00002=40'],
    err: sum(90),
  },
];

for (const c of errCases) {
  test(`compute error: ${c.name}`, () => {
    const { f, trafficChanged } = flags(c.args);
    assert.throws(
      () =>
        computeTraffic({
          serviceName: 'serviceName',
          specTraffic: c.existing,
          statusTraffic: c.existing,
          revisions: c.revisions ?? [],
          flags: f,
          trafficChanged,
          mutation: c.mutation ?? false,
        }),
      (e: unknown) => e instanceof KnError && e.message === c.err,
    );
  });
}

interface RefCase {
  name: string;
  existing: Target[];
  args: string[];
  want: string[];
}
const refCases: RefCase[] = [
  {
    name: 'revision names in --traffic',
    existing: [],
    args: ['--traffic', 'hello-00001=50,@latest=50'],
    want: ['hello-00001'],
  },
  {
    name: 'existing tags are not revisions',
    existing: [t('cn', 'hello-00001', 100, false)],
    args: ['--traffic', 'cn=100'],
    want: [],
  },
  {
    name: 'tags set in the same command are not revisions',
    existing: [],
    args: ['--tag', 'hello-00002=en', '--traffic', 'en=100'],
    want: ['hello-00002'],
  },
  {
    name: 'an untagged name counts as a revision again',
    existing: [t('cn', 'hello-00001', 100, false)],
    args: ['--untag', 'cn', '--traffic', 'cn=100'],
    want: ['cn'],
  },
];
for (const c of refCases) {
  test(`referenced revisions: ${c.name}`, () => {
    assert.deepEqual(referencedRevisions({ flags: flags(c.args).f, specTraffic: c.existing }), c.want);
  });
}
