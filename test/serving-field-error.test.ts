import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FieldError,
  errGeneric,
  errInvalidArrayValue,
  errMissingOneOf,
  errMultipleOneOf,
  errOutOfBoundsValue,
} from '../src/serving/field-error.js';

interface Case {
  name: string;
  err: FieldError;
  want: string;
}

const cases: Case[] = [
  {
    name: 'one-of paths are sorted',
    err: errMissingOneOf('revisionName', 'configurationName').viaIndex(0).viaField('traffic').viaField('spec'),
    want: 'expected exactly one, got neither: spec.traffic[0].configurationName, spec.traffic[0].revisionName',
  },
  {
    name: 'same message merges paths',
    err: errGeneric('boom', 'b').also(errGeneric('boom', 'a'), errGeneric('boom', 'b')),
    want: 'boom: a, b',
  },
  {
    name: 'entries sorted by message',
    err: errMultipleOneOf('x').also(errMissingOneOf('y')),
    want: 'expected exactly one, got both: x\nexpected exactly one, got neither: y',
  },
  {
    name: 'details follow on the next line',
    err: new FieldError({ message: 'Immutable fields changed (-old +new)', paths: ['spec'], details: 'diff\n' }),
    want: 'Immutable fields changed (-old +new): spec\ndiff\n',
  },
  {
    name: 'current field disappears and the array index binds to the field',
    err: errInvalidArrayValue('bad', 'tag', 2).viaField('traffic').viaField('spec'),
    want: 'invalid value: bad: spec.traffic.tag[2]',
  },
  {
    name: 'bounds message',
    err: errOutOfBoundsValue(101, 0, 100, 'percent').viaIndex(1).viaField('spec.traffic'),
    want: 'expected 0 <= 101 <= 100: spec.traffic[1].percent',
  },
  {
    name: 'keys in brackets',
    err: errGeneric('m', 'x').viaKey('foo').viaField('annotations'),
    want: 'm: annotations[foo].x',
  },
  {
    name: 'a dotted key is split like any path, as in Go',
    err: errGeneric('m', 'x').viaKey('serving.knative.dev/foo').viaField('annotations'),
    want: 'm: annotations.[serving.knative.dev/foo].x',
  },
  {
    name: 'sum error at the list itself',
    err: new FieldError({ message: 'Traffic targets sum to 110, want 100', paths: [''] })
      .viaField('traffic')
      .viaField('spec'),
    want: 'Traffic targets sum to 110, want 100: spec.traffic',
  },
];

for (const c of cases) {
  test(`FieldError: ${c.name}`, () => {
    assert.equal(c.err.error(), c.want);
  });
}

test('FieldError: methods do not mutate their receiver', () => {
  const base = errGeneric('m', 'a');
  const moved = base.viaField('spec');
  const more = base.also(errGeneric('n', 'b'));
  assert.equal(base.error(), 'm: a');
  assert.equal(moved.error(), 'm: spec.a');
  assert.equal(more.error(), 'm: a\nn: b');
});

test('FieldError: none is empty and absorbs nothing', () => {
  assert.ok(FieldError.none.isEmpty());
  assert.ok(FieldError.none.also(FieldError.none).isEmpty());
  assert.ok(FieldError.none.viaField('x').isEmpty());
});

test('FieldError: filter keeps one level', () => {
  const e = errGeneric('err', 'a').also(errGeneric('warn', 'b').at('Warning'));
  assert.equal(e.filter('Error').error(), 'err: a');
  assert.equal(e.filter('Warning').error(), 'warn: b');
});
