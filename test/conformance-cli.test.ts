// `sluice conformance` over Knative's own test vectors, judged by the shared check.mjs. The vectors are
// read from ../shared/conformance when the checkout sits beside it, else from the copy in test/fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, SLUICE_BIN, run, tempDir, removeDir } from './support/procs.js';

const shared = join(ROOT, '..', 'shared', 'conformance');
const dir = existsSync(join(shared, 'examples.json')) ? shared : join(ROOT, 'test', 'fixtures', 'conformance');

test(`sluice conformance passes every Knative vector in ${dir === shared ? '../shared' : 'test/fixtures'}/conformance/examples.json`, async () => {
  const tmp = await tempDir();
  try {
    const out = await run(process.execPath, [SLUICE_BIN, 'conformance', join(dir, 'examples.json')]);
    assert.equal(out.code, 0, out.stderr);
    const results = join(tmp, 'results.jsonl');
    await writeFile(results, out.stdout);
    const check = await run(process.execPath, [
      join(dir, 'check.mjs'),
      join(dir, 'examples.json'),
      results,
      '--verbose',
    ]);
    assert.equal(check.code, 0, check.stdout);
    assert.match(check.stdout, / 0 failed$/m);
    const exact = /exact messages: (\d+)\/(\d+)/.exec(check.stdout);
    assert.ok(exact && exact[1] === exact[2], `every exact message matches: ${exact?.[0] ?? 'none'}`);
  } finally {
    await removeDir(tmp);
  }
});
