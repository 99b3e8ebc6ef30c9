// The terminal view of `sluice rollout get NAME --watch`, in a real terminal: tmux (installed when missing)
/* eslint-disable no-control-regex -- the test reads the raw terminal bytes, escape codes included */
// runs the real CLI against `sluice apiserver` (a real API server with the CRDs); the test changes the Rollout's
// status through the API and reads the screen (capture-pane) and the raw bytes the CLI wrote (pipe-pane).
// Also: NO_COLOR and TERM=dumb in the terminal, append-only frames and JSON lines when stdout is a pipe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient, R } from '../src/kube/index.js';
import type { RolloutObject, RolloutObjectStatus } from '../src/rollout/controller/types.js';
import { diffFrame, termStyle } from '../src/cli/screen.js';
import {
  ROOT,
  SLUICE_BIN,
  removeDir,
  run,
  startSluice,
  tempDir,
  waitFor,
  type SluiceProcess,
} from './support/procs.js';
import { ensureDebian } from './support/chromium.js';

let dir: string;
let api: SluiceProcess;
let client: KubeClient;
let kubeconfig: string;
const SOCK = `sluice-test-${process.pid}`;
const tmux = (...args: string[]): string => {
  const r = spawnSync('tmux', ['-L', SOCK, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

const PLAN: NonNullable<RolloutObjectStatus['plan']> = {
  strategy: 'canary',
  steps: [
    { kind: 'setWeight', weight: 25 },
    { kind: 'pause', durationMs: null },
    { kind: 'setWeight', weight: 75 },
    { kind: 'pause', durationMs: 1000 },
  ],
  canaryTag: 'canary',
  stableTag: 'stable',
};
function status(phase: string, step: number, weight: number): RolloutObjectStatus {
  return {
    phase: phase as RolloutObjectStatus['phase'],
    strategy: 'canary',
    stableRevision: 'web-00001',
    canaryRevision: 'web-00002',
    canaryWeight: weight,
    currentStep: step,
    totalSteps: 4,
    message: `step ${step}`,
    plan: PLAN,
    traffic: [
      { revisionName: 'web-00001', percent: 100 - weight, tag: 'stable' },
      { revisionName: 'web-00002', percent: weight, tag: 'canary' },
    ],
  };
}
async function setStatus(name: string, st: RolloutObjectStatus): Promise<void> {
  const cur = await client.get<RolloutObject>(R.rollouts, 'default', name);
  await client.update(R.rollouts, { ...cur, status: st }, 'status');
}
async function makeRollout(name: string): Promise<void> {
  await client.create<RolloutObject>(R.rollouts, {
    apiVersion: 'delivery.sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: 'default' },
    spec: { serviceName: name, commands: [] },
  });
  await setStatus(name, status('Progressing', 0, 25));
}

/** Runs `sluice rollout get NAME --watch` in a fresh tmux window; returns the raw-bytes file. */
function watchInTmux(session: string, name: string, prefix = ''): string {
  const raw = join(dir, `${session}.raw`);
  writeFileSync(raw, '');
  tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', 'bash --norc --noprofile');
  tmux('pipe-pane', '-t', session, '-o', `cat >> ${raw}`);
  tmux(
    'send-keys',
    '-t',
    session,
    `${prefix}${process.execPath} ${SLUICE_BIN} rollout get ${name} --watch --kubeconfig ${kubeconfig}`,
    'Enter',
  );
  return raw;
}
const screen = (session: string): string => tmux('capture-pane', '-p', '-t', session);

before(async () => {
  ensureDebian('/usr/bin/tmux', 'tmux');
  dir = await tempDir('sluice-watch-');
  api = await startSluice('apiserver', join(dir, 'data'));
  kubeconfig = join(api.dataDir, 'kubeconfig');
  client = KubeClient.fromFile(kubeconfig, 'watch-test');
  for (const n of ['web', 'plain', 'dumb', 'piped']) await makeRollout(n);
});

after(async () => {
  spawnSync('tmux', ['-L', SOCK, 'kill-server']);
  await api?.stop();
  await removeDir(dir);
});

test('--watch on a terminal redraws only the lines that changed, in colour', async () => {
  const raw = watchInTmux('web', 'web');
  await waitFor('the first frame', () => /Status: +Progressing at step 1\/4/.test(screen('web')), 60_000);
  assert.match(screen('web'), /web-00002 +25% +█{5}░{15} +canary/);
  const firstLen = readFileSync(raw, 'latin1').length;
  await setStatus('web', { ...status('Paused', 1, 25), state: undefined });
  await waitFor(
    'the paused frame',
    () => /Status: +Paused at step 2\/4 — waiting for promote/.test(screen('web')),
    10_000,
  );
  const update = readFileSync(raw, 'latin1').slice(firstLen);
  assert.ok(!update.includes('\x1b[2J'), 'no full-screen clear on an update');
  assert.ok(update.includes('\x1b[2;1H'), 'the Phase line is rewritten');
  assert.ok(!update.includes('\x1b[1;1H'), 'the unchanged first line is not');
  assert.match(readFileSync(raw, 'latin1'), /\x1b\[33mPaused\x1b\[0m/, 'Paused in yellow');
  tmux('send-keys', '-t', 'web', 'C-c');
  await waitFor(
    'the last frame left on the normal screen',
    () => {
      const sc = screen('web');
      // The frame stays above a fresh prompt once the alternate screen is left.
      return /Phase: +Paused/.test(sc) && /^bash-[\d.]+[#$] *$/m.test(sc.slice(sc.lastIndexOf('Message:')));
    },
    30_000,
  );
});

test('NO_COLOR and TERM=dumb: no colour; TERM=dumb also ASCII glyphs and append-only frames', async () => {
  const plain = watchInTmux('plain', 'plain', 'NO_COLOR=1 ');
  await waitFor('plain frame', () => /Status: +Progressing/.test(screen('plain')), 60_000);
  const p = readFileSync(plain, 'utf8');
  assert.ok(!/\x1b\[3\dm/.test(p), 'no colour codes with NO_COLOR');
  assert.match(p, /█/);

  const dumb = watchInTmux('dumb', 'dumb', 'TERM=dumb ');
  await waitFor('dumb frame', () => /Status: +Progressing/.test(screen('dumb')), 60_000);
  await setStatus('dumb', status('Progressing', 2, 75));
  await waitFor('second dumb frame', () => /web-00002 +75% +#{15}\.{5} +canary/.test(screen('dumb')), 30_000);
  const d = readFileSync(dumb, 'latin1');
  const after = d.slice(d.indexOf('rollout get dumb'));
  assert.ok(!/\x1b\[\d+;1H|\x1b\[3\dm|\x1b\[\?1049h/.test(after), 'no cursor moves or colours for TERM=dumb');
  assert.match(after, /web-00002 +25% +#{5}\.{15} +canary[\s\S]*web-00002 +75% +#{15}\.{5} +canary/, 'frames appended');
});

test('not a terminal: append-only frames; --watch -o json: one JSON line per change', async () => {
  const child = spawn(
    process.execPath,
    [SLUICE_BIN, 'rollout', 'get', 'piped', '--watch', '-o', 'json', '--kubeconfig', kubeconfig],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor('the first JSON line', () => out.split('\n').length >= 2, 60_000);
    await setStatus('piped', status('Paused', 1, 25));
    await waitFor('the second JSON line', () => out.split('\n').filter(Boolean).length >= 2, 30_000);
    const lines = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as RolloutObject);
    assert.deepEqual(
      lines.map((l) => l.status?.phase),
      ['Progressing', 'Paused'],
    );
  } finally {
    child.kill('SIGTERM');
  }
  const once = await run(process.execPath, [SLUICE_BIN, 'rollout', 'get', 'piped', '--kubeconfig', kubeconfig]);
  assert.equal(once.code, 0, once.stderr);
  assert.ok(!once.stdout.includes('\x1b'), 'no escape codes into a pipe');
  assert.match(once.stdout, /Status: +Paused at step 2\/4 — waiting for promote/);
  assert.match(once.stdout, /Next: +Promote moves web-00002 from 25 % to 75 %/);
  const list = await run(process.execPath, [SLUICE_BIN, 'rollout', 'list', '-A', '--kubeconfig', kubeconfig]);
  assert.match(list.stdout, /^NAMESPACE +NAME +PHASE/m);
  assert.match(list.stdout, /^default +piped +Paused +web-00001 +web-00002 +25%/m);
});

interface StyleCase {
  name: string;
  flags: { noColor?: boolean; ascii?: boolean };
  env: Record<string, string>;
  tty: boolean;
  want: { color: boolean; ascii: boolean; inPlace: boolean };
}
const styles: StyleCase[] = [
  {
    name: 'a terminal',
    flags: {},
    env: { TERM: 'xterm' },
    tty: true,
    want: { color: true, ascii: false, inPlace: true },
  },
  {
    name: 'NO_COLOR set',
    flags: {},
    env: { TERM: 'xterm', NO_COLOR: '1' },
    tty: true,
    want: { color: false, ascii: false, inPlace: true },
  },
  {
    name: 'NO_COLOR empty is unset',
    flags: {},
    env: { TERM: 'xterm', NO_COLOR: '' },
    tty: true,
    want: { color: true, ascii: false, inPlace: true },
  },
  {
    name: '--no-color',
    flags: { noColor: true },
    env: { TERM: 'xterm' },
    tty: true,
    want: { color: false, ascii: false, inPlace: true },
  },
  {
    name: 'TERM=dumb',
    flags: {},
    env: { TERM: 'dumb' },
    tty: true,
    want: { color: false, ascii: true, inPlace: false },
  },
  {
    name: 'a pipe',
    flags: {},
    env: { TERM: 'xterm' },
    tty: false,
    want: { color: false, ascii: false, inPlace: false },
  },
  {
    name: '--ascii',
    flags: { ascii: true },
    env: { TERM: 'xterm' },
    tty: true,
    want: { color: true, ascii: true, inPlace: true },
  },
];
for (const c of styles)
  test(`terminal style: ${c.name}`, () => assert.deepEqual(termStyle(c.flags, c.env, c.tty), c.want));

test('diffFrame writes only changed lines and clears removed ones', () => {
  assert.equal(diffFrame(['a', 'b', 'c'], ['a', 'B', 'c']), '\x1b[2;1HB\x1b[K');
  assert.equal(diffFrame(['a', 'b'], ['a']), '\x1b[2;1H\x1b[K');
  assert.equal(diffFrame(['a'], ['a']), '');
});
