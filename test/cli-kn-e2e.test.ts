// End to end: the Knative tutorial session of the seeds, replayed through the real `sluice` binary
// against `sluice start` (API server, Serving reconcilers, data plane): create, update --env, tag two
// revisions, split 50/50, a third revision, then 50/25/25; listings and route describe as kn shows them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { removeDir, run, SLUICE_BIN, startSluice, tempDir, type SluiceProcess } from './support/procs.js';

let dir: string;
let sluice: SluiceProcess;
const S = 'tut';

before(async () => {
  dir = await tempDir('sluice-kn-e2e-');
  sluice = await startSluice('start', join(dir, 'data'));
});
after(async () => {
  await sluice?.stop();
  await removeDir(dir);
});

const kn = (...args: string[]) =>
  run(process.execPath, [SLUICE_BIN, ...args], {
    env: { KUBECONFIG: join(dir, 'data', 'kubeconfig') },
    timeoutMs: 90_000,
  });

test('the tutorial session through the CLI', { timeout: 180_000 }, async () => {
  let r = await kn(
    'service',
    'create',
    S,
    '--image',
    'gcr.io/knative-samples/helloworld-go',
    '--env',
    'TARGET=First',
    '--wait-timeout',
    '60',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Creating service '${S}' in namespace 'default':\n\n`));
  assert.match(r.stdout, /\n {2}\d+\.\d{3}s Ready to serve\.\n\n/);
  assert.match(
    r.stdout,
    new RegExp(`Service '${S}' created to latest revision '${S}-00001' is available at URL:\nhttp://${S}\\.default\\.`),
  );

  r = await kn('service', 'update', S, '--env', 'TARGET=Second', '--wait-timeout', '60');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Updating Service '${S}' in namespace 'default':\n`));
  assert.match(r.stdout, new RegExp(`Service '${S}' updated to latest revision '${S}-00002' is available at URL:`));

  r = await kn('revision', 'list', '-s', S);
  let rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/ {2,}/));
  assert.deepEqual(
    rows.map((x) => [x[0], x[2]]),
    [
      ['NAME', 'TRAFFIC'],
      [`${S}-00002`, '100%'],
      [`${S}-00001`, '1'],
    ],
  );

  r = await kn('service', 'update', S, '--tag', `${S}-00001=first`, '--tag', `${S}-00002=second`);
  assert.equal(r.code, 0, r.stderr);
  r = await kn('route', 'describe', S);
  assert.match(
    r.stdout,
    new RegExp(
      `Traffic Targets: {2}\n {2}100% {2}@latest \\(${S}-00002\\)\n {4}0% {2}${S}-00001 #first\n {8}URL: {2}http://first-${S}\\.`,
    ),
  );

  r = await kn('service', 'update', S, '--traffic', `${S}-00002=50`, '--traffic', `${S}-00001=60`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: given traffic percents sum to 110, want 100\n/);

  r = await kn('service', 'update', S, '--traffic', `${S}-00002=50`, '--traffic', `${S}-00001=50`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`Service '${S}' with latest revision '${S}-00002' \\(unchanged\\) is available at URL:`),
  );

  r = await kn('service', 'update', S, '--image', 'gcr.io/knative-samples/helloworld-rust', '--wait-timeout', '60');
  assert.equal(r.code, 0, r.stderr);
  r = await kn(
    'service',
    'update',
    S,
    '--traffic',
    `${S}-00003=50`,
    '--traffic',
    `${S}-00002=25`,
    '--traffic',
    `${S}-00001=25`,
  );
  assert.equal(r.code, 0, r.stderr);

  r = await kn('revision', 'list', '-s', S);
  rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/ {2,}/));
  assert.deepEqual(
    rows.slice(1).map((x) => x.slice(0, 4)),
    [
      [`${S}-00003`, S, '50%', '3'],
      [`${S}-00002`, S, '25%', 'second'],
      [`${S}-00001`, S, '25%', 'first'],
    ],
  );

  r = await kn('service', 'describe', S);
  assert.match(
    r.stdout,
    new RegExp(`\nRevisions: {2}\n {3}50% {2}${S}-00003 \\(current @latest\\) \\[3\\] \\(\\d+s\\)\n`),
  );
  assert.match(r.stdout, /\nConditions: {2}\n {2}OK TYPE {19}AGE REASON\n {2}\+\+ Ready /);

  r = await kn('service', 'delete', S);
  assert.equal(r.stdout, `Service '${S}' successfully deleted in namespace 'default'.\n`);
});
