// Table tests for what the kn-style commands print: ages, condition summaries, Go tabwriter alignment,
// and the list/describe layouts of the seed tutorials, reproduced character for character.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conditionsValue,
  describeRevision,
  describeRoute,
  describeService,
  formatRevisionList,
  formatRouteList,
  formatServiceList,
  humanDuration,
  nonReadyReason,
  progressLine,
  revisionDescs,
  serviceUrlLines,
  shortHumanDuration,
} from '../src/cli/kn/format.js';
import { LIST_TABWRITER, tabulate } from '../src/cli/kn/tabwriter.js';
import type { Condition, Revision, Route, Service } from '../src/serving/types.js';

const S = 1000,
  M = 60 * S,
  H = 60 * M,
  D = 24 * H;
const NOW = Date.parse('2026-03-01T12:00:00Z');
const ago = (ms: number): string => new Date(NOW - ms).toISOString().replace(/\.\d+Z$/, 'Z');

interface AgeCase {
  name: string;
  ms: number;
  human: string;
  short: string;
}
const ages: AgeCase[] = [
  { name: 'seconds', ms: 45 * S, human: '45s', short: '45s' },
  { name: 'under two minutes stays in seconds', ms: 119 * S, human: '119s', short: '1m' },
  { name: 'minutes and seconds under ten minutes', ms: 5 * M + 53 * S, human: '5m53s', short: '5m' },
  { name: 'whole minutes', ms: 5 * M, human: '5m', short: '5m' },
  { name: 'minutes under three hours', ms: 118 * M, human: '118m', short: '1h' },
  { name: 'hours and minutes under eight hours', ms: 5 * H + 30 * M, human: '5h30m', short: '5h' },
  { name: 'hours under two days', ms: 13 * H, human: '13h', short: '13h' },
  { name: 'days and hours under eight days', ms: 2 * D + 3 * H, human: '2d3h', short: '2d' },
  { name: 'days', ms: 10 * D, human: '10d', short: '10d' },
  { name: 'years and days', ms: 800 * D, human: '2y70d', short: '2y' },
  { name: 'clock skew of a second is now', ms: -500, human: '0s', short: '0s' },
  { name: 'far future is invalid', ms: -5 * S, human: '<invalid>', short: '<invalid>' },
];
for (const c of ages) {
  test(`age: ${c.name}`, () => {
    assert.equal(humanDuration(c.ms), c.human);
    assert.equal(shortHumanDuration(c.ms), c.short);
  });
}

const cond = (type: string, status: Condition['status'], extra: Partial<Condition> = {}): Condition => ({
  type,
  status,
  ...extra,
});

interface CondCase {
  name: string;
  conditions: Condition[];
  value: string;
  reason: string;
}
const condCases: CondCase[] = [
  {
    name: 'all ready',
    conditions: [cond('Ready', 'True'), cond('ConfigurationsReady', 'True'), cond('RoutesReady', 'True')],
    value: '3 OK / 3',
    reason: '',
  },
  {
    name: 'revision with Active NoTraffic',
    conditions: [
      cond('Ready', 'True'),
      cond('Active', 'False', { severity: 'Info', reason: 'NoTraffic' }),
      cond('ContainerHealthy', 'True'),
      cond('ResourcesAvailable', 'True'),
    ],
    value: '3 OK / 4',
    reason: '',
  },
  {
    name: 'not ready with message',
    conditions: [cond('Ready', 'False', { reason: 'RevisionFailed', message: 'boom' })],
    value: '0 OK / 1',
    reason: 'RevisionFailed : boom',
  },
  { name: 'no conditions', conditions: [], value: '0 OK / 0', reason: '<unknown>' },
];
for (const c of condCases) {
  test(`conditions: ${c.name}`, () => {
    assert.equal(conditionsValue(c.conditions), c.value);
    assert.equal(nonReadyReason(c.conditions), c.reason);
  });
}

test('tabwriter: the last cell of a line is not aligned, and a line without tabs ends a block', () => {
  const got = tabulate('a\tbb\tc\naaaa\tb\tccccc\nno tabs here\nx\ty\n', LIST_TABWRITER);
  assert.equal(got, 'a      bb    c\naaaa   b     ccccc\nno tabs here\nx     y\n');
});

const hello = (): Service => ({
  metadata: { name: 'hello', namespace: 'default', creationTimestamp: ago(154 * M) },
  status: {
    url: 'http://hello.default.127.0.0.1.sslip.io',
    latestReadyRevisionName: 'hello-world',
    latestCreatedRevisionName: 'hello-world',
    observedGeneration: 1,
    conditions: [
      cond('ConfigurationsReady', 'True', { lastTransitionTime: ago(154 * M) }),
      cond('Ready', 'True', { lastTransitionTime: ago(4 * M) }),
      cond('RoutesReady', 'True', { lastTransitionTime: ago(4 * M) }),
    ],
    traffic: [{ revisionName: 'hello-world', latestRevision: true, percent: 100 }],
  },
});

test('service list: seed 004 (kn service list)', () => {
  assert.equal(
    formatServiceList([hello()], NOW),
    [
      'NAME    URL                                       LATEST        AGE    CONDITIONS   READY   REASON',
      'hello   http://hello.default.127.0.0.1.sslip.io   hello-world   154m   3 OK / 3     True    ',
      '',
    ].join('\n'),
  );
});

test('service list: -A adds NAMESPACE and --no-headers drops the header', () => {
  const b = hello();
  b.metadata!.namespace = 'demo';
  b.metadata!.name = 'abc';
  const out = formatServiceList([hello(), b], NOW, { allNamespaces: true, noHeaders: true });
  assert.deepEqual(
    out.split('\n').map((l) => l.split(/\s+/)[0]),
    ['default', 'demo', ''],
  );
});

const revConditions = (age: number, active: boolean): Condition[] => [
  cond('Ready', 'True', { lastTransitionTime: ago(age) }),
  cond('ContainerHealthy', 'True', { lastTransitionTime: ago(age) }),
  cond('ResourcesAvailable', 'True', { lastTransitionTime: ago(age) }),
  active
    ? cond('Active', 'True', { lastTransitionTime: ago(age) })
    : cond('Active', 'False', { severity: 'Info', reason: 'NoTraffic', lastTransitionTime: ago(age) }),
];

const rev = (
  name: string,
  gen: number,
  age: number,
  o: { image?: string; digest?: string; env?: string; active?: boolean; replicas?: [number, number] } = {},
): Revision => ({
  metadata: {
    name,
    namespace: 'default',
    creationTimestamp: ago(age),
    labels: {
      'serving.knative.dev/service': 'hello',
      'serving.knative.dev/configurationGeneration': String(gen),
      'serving.knative.dev/configuration': 'hello',
    },
    annotations: o.digest ? { 'client.knative.dev/user-image': o.image ?? '' } : {},
  },
  spec: {
    containers: [
      {
        image: o.digest ? `${o.image}@${o.digest}` : (o.image ?? 'img'),
        ...(o.env ? { env: [{ name: 'TARGET', value: o.env }] } : {}),
      },
    ],
  },
  status: {
    conditions: revConditions(age, o.active ?? false),
    ...(o.digest ? { containerStatuses: [{ name: 'user-container', imageDigest: `${o.image}@${o.digest}` }] } : {}),
    ...(o.replicas ? { actualReplicas: o.replicas[0], desiredReplicas: o.replicas[1] } : {}),
  },
});

test('revision list: seed 002 (1.2) after update --env TARGET=Second', () => {
  const svc = hello();
  svc.status!.traffic = [{ revisionName: 'hello-00002', latestRevision: true, percent: 100 }];
  const out = formatRevisionList(
    [rev('hello-00001', 1, 126 * M), rev('hello-00002', 2, 118 * M)],
    new Map([['default/hello', svc]]),
    NOW,
  );
  assert.equal(
    out,
    [
      'NAME          SERVICE   TRAFFIC   TAGS   GENERATION   AGE    CONDITIONS   READY   REASON',
      'hello-00002   hello     100%             2            118m   3 OK / 4     True    ',
      'hello-00001   hello                      1            126m   3 OK / 4     True    ',
      '',
    ].join('\n'),
  );
});

test('revision list: seed 001 tags and 50/50 split', () => {
  const svc = hello();
  svc.status!.traffic = [
    { revisionName: 'hello-00001', tag: 'cn', percent: 50 },
    { revisionName: 'hello-00002', tag: 'en', percent: 50 },
  ];
  const r3 = rev('hello-00003', 3, 5 * M + 53 * S);
  const out = formatRevisionList(
    [rev('hello-00001', 1, 13 * H), r3, rev('hello-00002', 2, 13 * H)],
    new Map([['default/hello', svc]]),
    NOW,
  );
  assert.equal(
    out,
    [
      'NAME          SERVICE   TRAFFIC   TAGS   GENERATION   AGE     CONDITIONS   READY   REASON',
      'hello-00003   hello                      3            5m53s   3 OK / 4     True    ',
      'hello-00002   hello     50%       en     2            13h     3 OK / 4     True    ',
      'hello-00001   hello     50%       cn     1            13h     3 OK / 4     True    ',
      '',
    ].join('\n'),
  );
});

test('revision describe: seed 002 (1.3) with Active NoTraffic', () => {
  const r = rev('hello-00002', 2, 2 * H, {
    image: 'gcr.io/knative-samples/helloworld-go',
    digest: 'sha256:5ea96ba4b872685ff4ddb5cd8d1a97ec18c18fae79ee8df0d29f446c5efe5f50',
    env: 'Second',
  });
  assert.equal(
    describeRevision(r, undefined, NOW),
    [
      'Name:       hello-00002',
      'Namespace:  default',
      'Age:        2h',
      'Image:      gcr.io/knative-samples/helloworld-go (pinned to 5ea96b)',
      'Env:        TARGET=Second',
      'Service:    hello',
      '',
      'Conditions:  ',
      '  OK TYPE                  AGE REASON',
      '  ++ Ready                  2h ',
      '  ++ ContainerHealthy       2h ',
      '  ++ ResourcesAvailable     2h ',
      '   I Active                 2h NoTraffic',
      '',
    ].join('\n'),
  );
});

test('service describe: seed 002 (3.2.3) after a 50/25/25 split', () => {
  const svc = hello();
  svc.metadata!.creationTimestamp = ago(10 * D);
  svc.status = {
    ...svc.status,
    url: 'http://hello.default.example.com',
    latestReadyRevisionName: 'hello-00004',
    latestCreatedRevisionName: 'hello-00004',
    traffic: [
      { revisionName: 'hello-00004', latestRevision: false, percent: 50 },
      { revisionName: 'hello-00002', latestRevision: false, percent: 25 },
      { revisionName: 'hello-00001', latestRevision: false, percent: 25 },
    ],
    conditions: [
      cond('Ready', 'True', { lastTransitionTime: ago(4 * M) }),
      cond('ConfigurationsReady', 'True', { lastTransitionTime: ago(9 * D) }),
      cond('RoutesReady', 'True', { lastTransitionTime: ago(4 * M) }),
    ],
  };
  const go = {
    image: 'gcr.io/knative-samples/helloworld-go',
    digest: 'sha256:5ea96ba4b872685ff4ddb5cd8d1a97ec18c18fae79ee8df0d29f446c5efe5f50',
    replicas: [0, 0] as [number, number],
  };
  const rust = {
    image: 'gcr.io/knative-samples/helloworld-rust',
    digest: 'sha256:33fe75f6e6f1d5c4a4e7e6e0b0f0c4c0c1c6e0c2f3e0b6b0a0f2a1a7a8f9e0d1',
    replicas: [0, 0] as [number, number],
  };
  const revisions = new Map([
    ['hello-00001', rev('hello-00001', 1, 10 * D, go)],
    ['hello-00002', rev('hello-00002', 2, 10 * D, go)],
    ['hello-00003', rev('hello-00003', 3, 10 * D, go)],
    ['hello-00004', rev('hello-00004', 4, 9 * D, rust)],
  ]);
  assert.equal(
    describeService(svc, revisionDescs(svc, revisions, false), NOW),
    [
      'Name:       hello',
      'Namespace:  default',
      'Age:        10d',
      'URL:        http://hello.default.example.com',
      '',
      'Revisions:  ',
      '   50%  hello-00004 (current @latest) [4] (9d)',
      '        Image:     gcr.io/knative-samples/helloworld-rust (pinned to 33fe75)',
      '        Replicas:  0/0',
      '   25%  hello-00002 [2] (10d)',
      '        Image:     gcr.io/knative-samples/helloworld-go (pinned to 5ea96b)',
      '        Replicas:  0/0',
      '   25%  hello-00001 [1] (10d)',
      '        Image:     gcr.io/knative-samples/helloworld-go (pinned to 5ea96b)',
      '        Replicas:  0/0',
      '',
      'Conditions:  ',
      '  OK TYPE                   AGE REASON',
      '  ++ Ready                   4m ',
      '  ++ ConfigurationsReady     9d ',
      '  ++ RoutesReady             4m ',
      '',
    ].join('\n'),
  );
});

test('service describe: @latest target and -v lists untargeted revisions', () => {
  const svc = hello();
  svc.status!.latestReadyRevisionName = 'hello-00002';
  svc.status!.latestCreatedRevisionName = 'hello-00002';
  svc.status!.traffic = [{ revisionName: 'hello-00002', latestRevision: true, percent: 100, tag: 'current' }];
  const revisions = new Map([
    ['hello-00001', rev('hello-00001', 1, D)],
    ['hello-00002', rev('hello-00002', 2, H)],
  ]);
  const plain = describeService(svc, revisionDescs(svc, revisions, false), NOW);
  assert.match(plain, /\n {2}100% {2}@latest \(hello-00002\) #current \[2\] \(1h\)\n/);
  assert.doesNotMatch(plain, /hello-00001/);
  const verbose = describeService(svc, revisionDescs(svc, revisions, true), NOW, true);
  assert.match(verbose, /\n {5}\+ {2}hello-00001 \[1\] \(1d\)\n/);
});

test('route describe: seed 001 with tags on two revisions', () => {
  const route: Route = {
    metadata: {
      name: 'helloworld',
      namespace: 'demo',
      creationTimestamp: ago(4 * M),
      ownerReferences: [
        { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'helloworld', uid: 'u', controller: true },
      ],
    },
    status: {
      url: 'http://helloworld.demo.example.com',
      traffic: [
        { revisionName: 'helloworld-00002', latestRevision: true, percent: 100 },
        {
          revisionName: 'helloworld-00001',
          latestRevision: false,
          percent: 0,
          tag: 'cn',
          url: 'http://cn-helloworld.demo.example.com',
        },
        {
          revisionName: 'helloworld-00002',
          latestRevision: false,
          percent: 0,
          tag: 'en',
          url: 'http://en-helloworld.demo.example.com',
        },
      ],
      conditions: [
        cond('AllTrafficAssigned', 'True', { lastTransitionTime: ago(3 * M) }),
        cond('CertificateProvisioned', 'True', { reason: 'TLSNotEnabled', lastTransitionTime: ago(3 * M) }),
        cond('IngressReady', 'True', { lastTransitionTime: ago(30 * S) }),
        cond('Ready', 'True', { lastTransitionTime: ago(30 * S) }),
      ],
    },
  };
  assert.equal(
    describeRoute(route, NOW),
    [
      'Name:       helloworld',
      'Namespace:  demo',
      'Age:        4m',
      'URL:        http://helloworld.demo.example.com',
      'Service:    helloworld',
      '',
      'Traffic Targets:  ',
      '  100%  @latest (helloworld-00002)',
      '    0%  helloworld-00001 #cn',
      '        URL:  http://cn-helloworld.demo.example.com',
      '    0%  helloworld-00002 #en',
      '        URL:  http://en-helloworld.demo.example.com',
      '',
      'Conditions:  ',
      '  OK TYPE                      AGE REASON',
      '  ++ Ready                     30s ',
      '  ++ AllTrafficAssigned         3m ',
      '  ++ CertificateProvisioned     3m TLSNotEnabled',
      '  ++ IngressReady              30s ',
      '',
    ].join('\n'),
  );
  // Compare with the seed's own text, whitespace collapsed.
  const seed =
    'Traffic Targets: 100% @latest (helloworld-00002) 0% helloworld-00001 #cn URL: http://cn-helloworld.demo.example.com 0% helloworld-00002 #en URL: http://en-helloworld.demo.example.com';
  assert.ok(describeRoute(route, NOW).replace(/\s+/g, ' ').includes(seed));
});

test('route list', () => {
  const r: Route = {
    metadata: { name: 'hello', namespace: 'default' },
    status: { url: 'http://hello.default.example.com', conditions: [cond('Ready', 'True')] },
  };
  assert.equal(
    formatRouteList([r]),
    'NAME    URL                                READY\nhello   http://hello.default.example.com   True\n',
  );
});

interface LineCase {
  name: string;
  got: string;
  want: string;
}
const lines: LineCase[] = [
  {
    name: 'progress line',
    got: progressLine(21, 'The Configuration is still working to reflect the latest desired specification.'),
    want: '  0.021s The Configuration is still working to reflect the latest desired specification.\n',
  },
  {
    name: 'long wait',
    got: progressLine(132_577, 'Traffic is not yet migrated to the latest revision.'),
    want: '132.577s Traffic is not yet migrated to the latest revision.\n',
  },
  {
    name: 'created',
    got: serviceUrlLines(
      { status: { url: 'http://hello.default.example.com', latestReadyRevisionName: 'hello-00001' } },
      'hello',
      'created',
      '',
    ),
    want: "Service 'hello' created to latest revision 'hello-00001' is available at URL:\nhttp://hello.default.example.com\n",
  },
  {
    name: 'traffic-only update keeps the revision',
    got: serviceUrlLines(
      { status: { url: 'http://hello.default.example.com', latestReadyRevisionName: 'hello-00004' } },
      'hello',
      'updated',
      'hello-00004',
    ),
    want: "Service 'hello' with latest revision 'hello-00004' (unchanged) is available at URL:\nhttp://hello.default.example.com\n",
  },
];
for (const c of lines) test(`wait output: ${c.name}`, () => assert.equal(c.got, c.want));
