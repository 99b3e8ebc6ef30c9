// Logs of a real `sluice controller` process: on a terminal (tmux) pino-pretty's human-readable lines, piped
// JSON lines with no key repeated in one line (the dashboard's logger is a child of a child) and no secret.
// The controller points at an API server that does not answer, so it logs warnings at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SLUICE_BIN, removeDir, tempDir, waitFor } from './support/procs.js';
import { ensureDebian } from './support/chromium.js';

const TOKEN = 'sekrit-bearer-token-0123456789';
const SOCK = `sluice-logs-${process.pid}`;
let dir: string;
let kubeconfig: string;
const tmux = (...args: string[]): string => {
  const r = spawnSync('tmux', ['-L', SOCK, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const args = (work: string): string[] => [
  SLUICE_BIN,
  'controller',
  '--kubeconfig',
  kubeconfig,
  '--port',
  '0',
  '--no-repo',
  '--work-dir',
  join(dir, work),
  '--prometheus-url',
  'http://127.0.0.1:9',
];

/** The keys of a JSON object line at its top level, in order, duplicates kept (JSON.parse would merge them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let i = 0;
  let expectKey = false;
  while (i < line.length) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      expectKey = false;
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
    i++;
  }
  return keys;
}

before(async () => {
  ensureDebian('/usr/bin/tmux', 'tmux');
  dir = await tempDir('sluice-logs-');
  kubeconfig = join(dir, 'kubeconfig');
  // Port 9 (discard) is closed here: every request fails and is logged.
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: ${TOKEN}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
    { mode: 0o600 },
  );
});

after(async () => {
  spawnSync('tmux', ['-L', SOCK, 'kill-server']);
  await removeDir(dir);
});

test('topLevelKeys keeps duplicates and ignores nested keys', () => {
  assert.deepEqual(topLevelKeys('{"a":1,"b":{"a":2,"c":[{"a":3}]},"s":"x,\\"y\\":1","a":4}'), ['a', 'b', 's', 'a']);
});

test('piped (not a TTY): JSON lines, no key twice in one line, component once, no token', async () => {
  const child = spawn(process.execPath, args('piped'), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await waitFor('three log lines', () => err.split('\n').filter(Boolean).length >= 3 || undefined, 30_000);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const lines = err.split('\n').filter(Boolean);
  for (const line of lines) {
    const obj = JSON.parse(line) as Record<string, unknown>;
    const keys = topLevelKeys(line);
    assert.deepEqual(keys, [...new Set(keys)], `a key repeated in ${line.slice(0, 300)}`);
    assert.equal(typeof obj.level, 'number');
    assert.ok(!line.includes(TOKEN), 'the token never appears');
  }
  assert.ok(
    lines.some((l) => (JSON.parse(l) as { component?: string }).component === 'dashboard'),
    'the dashboard (a child of a child logger) names itself once',
  );
});

test('on a terminal (tmux): pino-pretty lines, not JSON', async () => {
  tmux('new-session', '-d', '-s', 'logs', '-x', '220', '-y', '50', 'bash --norc --noprofile');
  tmux('send-keys', '-t', 'logs', `NO_COLOR=1 ${process.execPath} ${args('tty').join(' ')}`, 'Enter');
  const screen = await waitFor(
    'pretty warnings on the screen',
    () => {
      const s = tmux('capture-pane', '-p', '-J', '-t', 'logs');
      return /WARN.*dashboard watch error/.test(s) ? s : undefined;
    },
    30_000,
  );
  tmux('send-keys', '-t', 'logs', 'C-c', '');
  const logLines = screen.split('\n').filter((l) => /\b(INFO|WARN|ERROR)\b/.test(l));
  assert.ok(logLines.length > 0);
  for (const l of logLines) {
    assert.doesNotMatch(l, /^\s*\{"level"/, 'not a JSON line');
    assert.match(l, /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] (INFO|WARN|ERROR)/, `pino-pretty's time and level: ${l}`);
  }
  assert.ok(!screen.includes(TOKEN), 'the token never appears');
});
