// cloneJson (src/util/clone-json.ts) must copy plain JSON data exactly as structuredClone does, share nothing
// with its input, and not let a "__proto__" key from parsed JSON change the copy's prototype.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloneJson } from '../src/util/clone-json.js';
import { initialState } from '../src/rollout/machine/index.js';

const cases: { name: string; value: unknown }[] = [
  { name: 'primitives', value: [1, 'a', true, null, 0, -0.5, ''] },
  { name: 'nested', value: { a: { b: [1, { c: [[], {}] }] }, d: 'x' } },
  { name: 'undefined property kept', value: { a: undefined, b: 1 } },
  {
    name: 'a rollout state',
    value: initialState({
      namespace: 'ns',
      service: 'web',
      stableRevision: 'web-00001',
      now: 1_000,
      stableTag: 'stable',
    }),
  },
  { name: 'parsed JSON with __proto__', value: JSON.parse('{"__proto__":{"polluted":true},"x":[1]}') as unknown },
];

for (const c of cases) {
  test(`cloneJson: ${c.name} equals structuredClone and shares nothing`, () => {
    const copy = cloneJson(c.value);
    assert.deepStrictEqual(copy, structuredClone(c.value));
    const walk = (a: unknown, b: unknown): void => {
      if (typeof a !== 'object' || a === null) return;
      assert.notStrictEqual(a, b, 'a container is shared with the input');
      for (const k of Object.keys(a)) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
    };
    walk(c.value, copy);
  });
}

test('cloneJson: "__proto__" stays an own property, the prototype is untouched', () => {
  const copy = cloneJson(JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>);
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.equal((copy as { polluted?: boolean }).polluted, undefined);
  assert.deepEqual(Object.keys(copy), ['__proto__']);
});
