// The request input walk (issue 11, item 12): iterative, capped at MAX_INPUT_DEPTH, and naming
// the first string or key with a NUL or a lone surrogate by its path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inputProblem, MAX_INPUT_DEPTH } from '../../api/input-walk';

const nest = (n: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < n; i++) v = i % 2 ? { a: v } : [v];
  return v;
};

describe('the input walk', () => {
  it('accepts nesting up to the cap and refuses one level more', () => {
    assert.equal(inputProblem(nest(MAX_INPUT_DEPTH), ''), null);
    assert.deepEqual(inputProblem(nest(MAX_INPUT_DEPTH + 1), ''), { kind: 'too_deep' });
  });

  it('walks a million levels without overflowing the stack', () => {
    assert.deepEqual(inputProblem(nest(1_000_000), ''), { kind: 'too_deep' });
  });

  it('names the first bad string or key by its path, in document order', () => {
    assert.deepEqual(inputProblem({ a: 'ok', b: [{ c: 'x\u0000' }], d: '\ud800' }, ''), { kind: 'bad_string', field: 'b.0.c' });
    assert.deepEqual(inputProblem({ a: { ['k\udc00']: 1 } }, 'query'), { kind: 'bad_string', field: 'query.a.k\udc00' });
    assert.deepEqual(inputProblem('\u0000', 'params'), { kind: 'bad_string', field: 'params' });
    assert.equal(inputProblem({ emoji: '\ud83d\ude00', n: null, t: true }, ''), null);
  });
});
