// SCIM's active flag as Okta and Entra really send it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { activeFromPatch, activeFromPut, ScimInputError, SCIM_PATCH_OP } from '../../domain/scim';

describe('activeFromPatch', () => {
  it("reads Okta's replace without a path", () => {
    assert.equal(activeFromPatch({ schemas: [SCIM_PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }), false);
  });
  it('reads Entra\'s Replace with a path and the value as the string "False" (and "True")', () => {
    assert.equal(activeFromPatch({ schemas: [SCIM_PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }), false);
    assert.equal(activeFromPatch({ schemas: [SCIM_PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] }), true);
  });
  it('ignores attributes it does not manage, and the last operation on active wins', () => {
    const ops = [
      { op: 'replace', path: 'name.givenName', value: 'Dana' },
      { op: 'replace', path: 'active', value: false },
      { op: 'add', value: { active: true, displayName: 'x' } },
    ];
    assert.equal(activeFromPatch({ Operations: ops }), true);
    assert.equal(activeFromPatch({ Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'a@b.c' }] }), null);
  });
  it('refuses what it cannot read: no Operations, an unknown op, a non-boolean active, removing active', () => {
    for (const body of [
      {},
      { Operations: [{ op: 'move', path: 'active', value: false }] },
      { Operations: [{ op: 'replace', path: 'active', value: 'nope' }] },
      { Operations: [{ op: 'remove', path: 'active' }] },
    ]) {
      assert.throws(() => activeFromPatch(body), ScimInputError, JSON.stringify(body));
    }
  });
});

describe('activeFromPut', () => {
  it('reads active from a whole User, as a boolean or a string; none leaves it', () => {
    assert.equal(activeFromPut({ userName: 'u-1', active: false }), false);
    assert.equal(activeFromPut({ userName: 'u-1', active: 'TRUE' }), true);
    assert.equal(activeFromPut({ userName: 'u-1' }), null);
    assert.throws(() => activeFromPut([]), ScimInputError);
  });
});
