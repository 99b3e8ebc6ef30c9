// `sluice analysis run`: a policy tried against a real Prometheus holding fixed series (promtool blocks), evaluated
// at a fixed --time, so every value below is computed by hand: mix-00002 answers 9 × 2xx + 1 × 5xx a second (all in
// (100, 150] ms), bad-00002 only 5xx, 10 a second.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { histogram, openMetrics, prometheusWith, type FixedPrometheus, type Series } from './support/fixed-series.js';
import { SLUICE_BIN, freePort, removeDir, run, tempDir } from './support/procs.js';

const BASE = Math.floor(Date.now() / 1000) - 1800;
const SAMPLES = 121;
const AT = BASE + SAMPLES - 1;
const BUCKETS = [5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000];

function revision(rev: string, perClass: Record<string, number>, upperMs: number): Series[] {
  const base = { namespace_name: 'default', service_name: rev.replace(/-\d+$/, ''), revision_name: rev };
  const total = Object.values(perClass).reduce((a, b) => a + b, 0);
  return [
    ...Object.entries(perClass).map(([cls, slope]) => ({
      name: 'revision_request_count',
      labels: { ...base, response_code: `${cls[0]}00`, response_code_class: cls },
      slope,
    })),
    ...histogram('revision_request_latencies', base, BUCKETS, upperMs, total),
  ];
}

const POLICY = `apiVersion: delivery.sluice.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: web, namespace: default}
spec:
  targetRef: {name: mix}
  strategy:
    canary:
      steps: [{setWeight: 20}, {analysis: {}}]
  analysis:
    interval: 1s
    window: 30s
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
      - name: request-duration
        thresholdRange: {max: 500}
      - name: plain-ratio
        query: sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}])) / sum(rate(revision_request_count{namespace_name="{{namespace}}",revision_name="{{revision}}"}[{{interval}}]))
        thresholdRange: {min: 0.99}
        onNoData: hold
`;

let fixed: FixedPrometheus;
let dir: string;
let policyFile: string;

before(async () => {
  fixed = await prometheusWith(
    openMetrics(
      [...revision('mix-00002', { '2xx': 9, '5xx': 1 }, 150), ...revision('bad-00002', { '5xx': 10 }, 150)],
      BASE,
      SAMPLES,
    ),
  );
  dir = await tempDir('sluice-cli-analysis-');
  policyFile = join(dir, 'web.yaml');
  await writeFile(policyFile, POLICY);
});
after(async () => {
  await fixed?.stop();
  if (dir) await removeDir(dir);
});

const analysisRun = (args: string[], url = fixed.prom.url) =>
  run(
    process.execPath,
    [SLUICE_BIN, 'analysis', 'run', policyFile, '--prometheus-url', url, '--time', String(AT), ...args],
    {
      cwd: dir,
    },
  );

test('analysis run: a table of family, value, threshold and verdict, then each PromQL; exit 1 when a check fails', async () => {
  const r = await analysisRun(['--service', 'mix', '--revision', 'mix-00002']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^Policy: +web\.yaml:1 \(RolloutPolicy default\/web\)$/m);
  assert.match(r.stdout, /^Revision: +default\/mix-00002 of mix \(stable mix-00002\), window 30s/m);
  assert.match(r.stdout, /^request-success-rate +knative-opencensus +90 +>= 99 +fail +fail$/m);
  // p99 with every request in (100, 150] ms: 100 + 50 × 0.99.
  assert.match(r.stdout, /^request-duration +knative-opencensus +149\.5 +<= 500 +pass +pass$/m);
  assert.match(r.stdout, /^plain-ratio +- +0\.9000 +>= 0\.99 +fail +fail$/m);
  assert.match(
    r.stdout,
    /^ {2}query: {2}100 \* \(\(sum by \(namespace_name, revision_name\) \(rate\(revision_request_count\{namespace_name="default", revision_name="mix-00002", response_code_class!="5xx"\}\[30s\]\)\)/m,
  );
});

test('analysis run -o json: a 5xx-only revision reads 0 on the builtin; the plain ratio is empty although 300 requests were served, so its hold ends at once', async () => {
  const r = await analysisRun(['--service', 'mix', '--revision', 'bad-00002', '-o', 'json']);
  assert.equal(r.code, 1, r.stderr);
  const rep = JSON.parse(r.stdout) as { metrics: Array<Record<string, unknown>> };
  const by = Object.fromEntries(rep.metrics.map((m) => [m.metric, m]));
  assert.deepEqual(
    {
      value: by['request-success-rate']?.value,
      family: by['request-success-rate']?.family,
      verdict: by['request-success-rate']?.verdict,
    },
    { value: 0, family: 'knative-opencensus', verdict: 'fail' },
  );
  const plain = by['plain-ratio'];
  assert.equal(plain?.status, 'noData');
  assert.equal(plain?.requests, 300);
  assert.equal(plain?.verdict, 'fail');
  assert.match(
    String(plain?.reason),
    /^the query selected no series although bad-00002 served 300 requests in the last 30s: .*or on\(\) vector\(0\)/,
  );
});

test('analysis run: a revision with no traffic holds and says so (exit 0)', async () => {
  const r = await analysisRun(['--service', 'mix', '--revision', 'idle-00001', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as { metrics: Array<Record<string, unknown>> };
  for (const m of rep.metrics) {
    assert.equal(m.verdict, 'hold', JSON.stringify(m));
    assert.equal(m.reason, 'no requests reached idle-00001 in the last 30s');
  }
});

test('analysis run: Prometheus down is no data, and the policy decides (hold)', async () => {
  const r = await analysisRun(
    ['--service', 'mix', '--revision', 'mix-00002', '-o', 'json'],
    `http://127.0.0.1:${await freePort()}`,
  );
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as { metrics: Array<Record<string, unknown>> };
  for (const m of rep.metrics) {
    assert.equal(m.status, 'noData');
    assert.equal(m.verdict, 'hold');
    assert.match(String(m.reason), /Prometheus unavailable: cannot reach Prometheus/);
  }
});

test('analysis run: a misspelt builtin is a file:line error naming the builtins', async () => {
  await writeFile(join(dir, 'typo.yaml'), POLICY.replace('name: request-success-rate', 'name: request-sucess-rate'));
  const r = await run(
    process.execPath,
    [
      SLUICE_BIN,
      'analysis',
      'run',
      'typo.yaml',
      '--service',
      'mix',
      '--revision',
      'mix-00002',
      '--prometheus-url',
      fixed.prom.url,
    ],
    { cwd: dir },
  );
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^typo\.yaml:13:\d+: spec\.analysis\.metrics\[0\]\.name: "request-sucess-rate" is not a builtin metric; did you mean "request-success-rate"\? Builtins: request-success-rate, request-duration, request-error-rate, request-rate/m,
  );
});
