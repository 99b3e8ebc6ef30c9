// Log lines: JSON with no key repeated in one line however deep the children go; pretty (pino-pretty) when
// asked (a terminal); secrets redacted either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../src/observability/logger.js';

function sink(): { stream: Writable; lines: () => string[] } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  });
  return { stream, lines: () => buf.split('\n').filter(Boolean) };
}

test('JSON lines: a child replaces its parent bindings, so no key appears twice', () => {
  const s = sink();
  const log = createLogger({ name: 'sluice', destination: s.stream, pretty: false });
  log.child({ component: 'controller' }).child({ component: 'alerts', sink: 'slack' }).info({ token: 'abc' }, 'sent');
  const [line] = s.lines();
  assert.ok(line);
  const keys = [...line.matchAll(/"([^"]+)":/g)].map((m) => m[1]);
  assert.deepEqual(
    keys.filter((k, i) => keys.indexOf(k) !== i),
    [],
    `repeated keys in ${line}`,
  );
  const o = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual([o.component, o.sink, o.msg, o.token], ['alerts', 'slack', 'sent', '[REDACTED]']);
});

test('levels carry down to children', () => {
  const s = sink();
  const log = createLogger({ level: 'warn', destination: s.stream, pretty: false });
  log.child({ component: 'x' }).info('hidden');
  log.child({ component: 'x' }).warn('shown');
  assert.deepEqual(
    s.lines().map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['shown'],
  );
});

test('pretty: human-readable lines from pino-pretty, secrets still redacted', () => {
  const s = sink();
  const log = createLogger({ name: 'sluice', destination: s.stream, pretty: true, colorize: false });
  log.child({ component: 'dashboard' }).info({ token: 'abc' }, 'dashboard action');
  const out = s.lines().join('\n');
  assert.match(out, /INFO.*dashboard action/);
  assert.match(out, /component: "dashboard"/);
  assert.ok(!out.includes('abc'), 'the token is redacted');
  assert.throws(() => JSON.parse(s.lines()[0] ?? ''), 'not JSON');
});
