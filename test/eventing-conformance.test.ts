// `sluice conformance` over Knative Eventing's test vectors, judged by the shared check.mjs: every case passes,
// CESQL filters included, and every exact message matches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, SLUICE_BIN, run, tempDir, removeDir } from './support/procs.js';

const shared = join(ROOT, '..', 'shared', 'conformance');
const dir = existsSync(join(shared, 'eventing-examples.json')) ? shared : join(ROOT, 'test', 'fixtures', 'conformance');
const file = join(dir, 'eventing-examples.json');

test('sluice conformance passes every Eventing vector', async () => {
  const tmp = await tempDir();
  try {
    const out = await run(process.execPath, [SLUICE_BIN, 'conformance', file]);
    assert.equal(out.code, 0, out.stderr);
    const results = join(tmp, 'results.jsonl');
    await writeFile(results, out.stdout);
    const check = await run(process.execPath, [join(dir, 'check.mjs'), file, results, '--verbose']);
    const cases = JSON.parse(readFileSync(file, 'utf8')) as { id: string }[];
    const failed = [...check.stdout.matchAll(/^FAIL (\S+)/gm)].map((m) => m[1] ?? '');
    assert.deepEqual(failed, [], check.stdout);
    assert.match(check.stdout, new RegExp(`\\b${cases.length} passed, 0 failed\\b`), check.stdout);
    const exact = /exact messages: (\d+)\/(\d+)/.exec(check.stdout);
    assert.ok(exact && exact[1] === exact[2], `every exact message matches: ${exact?.[0] ?? 'none'}`);
  } finally {
    await removeDir(tmp);
  }
});
