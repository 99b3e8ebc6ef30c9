// `sluice conformance` over Knative Eventing's test vectors, judged by the shared check.mjs. Every case passes
// except those whose Trigger filter needs CESQL to decide: Sluice refuses those with a clear error (no
// maintained CloudEvents SQL library exists for Node.js), and this test pins that refusal down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, SLUICE_BIN, run, tempDir, removeDir } from './support/procs.js';
import { CESQL_UNSUPPORTED } from '../src/eventing/index.js';

const shared = join(ROOT, '..', 'shared', 'conformance');
const dir = existsSync(join(shared, 'eventing-examples.json')) ? shared : join(ROOT, 'test', 'fixtures', 'conformance');
const file = join(dir, 'eventing-examples.json');

test('sluice conformance passes the Eventing vectors, refusing only CESQL-decided filters', async () => {
  const tmp = await tempDir();
  try {
    const out = await run(process.execPath, [SLUICE_BIN, 'conformance', file]);
    assert.equal(out.code, 0, out.stderr);
    const results = join(tmp, 'results.jsonl');
    await writeFile(results, out.stdout);
    const check = await run(process.execPath, [join(dir, 'check.mjs'), file, results, '--verbose']);
    const cases = JSON.parse(readFileSync(file, 'utf8')) as { id: string; input: unknown }[];
    const lines = new Map(
      out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; ok: boolean; result: { error?: string } })
        .map((r) => [r.id, r]),
    );
    const failed = [...check.stdout.matchAll(/^FAIL (\S+)/gm)].map((m) => m[1] ?? '');
    for (const id of failed) {
      const c = cases.find((x) => x.id === id);
      assert.ok(c && JSON.stringify(c.input).includes('cesql'), `${id} fails without CESQL: ${check.stdout}`);
      assert.equal(lines.get(id)?.result.error, CESQL_UNSUPPORTED, id);
    }
    const exact = /exact messages: (\d+)\/(\d+)/.exec(check.stdout);
    assert.ok(exact && exact[1] === exact[2], `every exact message matches: ${exact?.[0] ?? 'none'}`);
    assert.ok(cases.length - failed.length >= cases.length - 3, check.stdout);
  } finally {
    await removeDir(tmp);
  }
});
