// The rank test the timing tests rely on (issue 11 item 17): it finds a shift, and it stays quiet
// for samples of one distribution, ties included.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mannWhitney, median } from '../../testkit/stats';

describe('median and the Mann-Whitney U test', () => {
  it('median of odd and even samples', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('matches a textbook U and its normal approximation', () => {
    // a is below b everywhere: U = 0, z = -(n1 n2 / 2) / sqrt(n1 n2 (n + 1) / 12).
    const r = mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    assert.equal(r.u, 0);
    assert.ok(Math.abs(r.z - -12.5 / Math.sqrt((25 * 11) / 12)) < 1e-9);
    assert.ok(Math.abs(r.p - 0.009) < 0.0005, String(r.p));
  });

  it('finds a shift of a skewed sample and stays quiet without one', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const skewed = (shift: number) => Array.from({ length: 400 }, () => 3 + shift - Math.log(1 - rand()) * 2);
    assert.ok(mannWhitney(skewed(1), skewed(0)).p < 1e-6);
    assert.ok(mannWhitney(skewed(0), skewed(0)).p > 0.01);
  });

  it('handles ties: identical samples give z = 0 and p = 1', () => {
    const r = mannWhitney([1, 1, 2, 2], [1, 1, 2, 2]);
    assert.equal(r.z, 0);
    assert.ok(Math.abs(r.p - 1) < 1e-6);
  });
});
