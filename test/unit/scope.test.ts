// The tenant-scope rule every check (API, workflow validators) goes through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coversAllTenants, coversTenant, firstOutside } from '../../domain/scope';

describe('a scope covers the tenants it lists', () => {
  it("a scope of '*' covers every tenant", () => {
    for (const t of ['acme', 'globex', 'a-tenant-created-later']) assert.equal(coversTenant(['*'], t), true);
  });

  it('a scope covers each tenant it lists', () => {
    assert.equal(coversTenant(['acme', 'globex'], 'acme'), true);
    assert.equal(coversTenant(['acme', 'globex'], 'globex'), true);
  });

  it('a scope never covers a tenant it does not list', () => {
    assert.equal(coversTenant(['acme'], 'globex'), false);
    assert.equal(coversTenant([], 'acme'), false);
  });

  it('a tenant is matched whole, never by prefix or case', () => {
    assert.equal(coversTenant(['acme'], 'acme-eu'), false);
    assert.equal(coversTenant(['acme-eu'], 'acme'), false);
    assert.equal(coversTenant(['acme'], 'ACME'), false);
  });

  it("a tenant named '*' in a request is covered only by a scope of '*'", () => {
    assert.equal(coversTenant(['acme'], '*'), false);
    assert.equal(coversTenant(['*'], '*'), true);
  });
});

describe("only a scope of '*' covers all tenants", () => {
  it("a scope of '*' covers all tenants", () => {
    assert.equal(coversAllTenants(['*']), true);
  });

  it('a scope listing tenants, however many, does not cover all tenants', () => {
    assert.equal(coversAllTenants(['acme', 'globex', 'initech']), false);
    assert.equal(coversAllTenants([]), false);
  });
});

describe('a scope handed out must lie inside the scope of who hands it out', () => {
  it("anything lies inside a scope of '*'", () => {
    assert.equal(firstOutside(['*'], ['acme', 'globex']), null);
    assert.equal(firstOutside(['*'], ['*']), null);
  });

  it('a subset of the listed tenants lies inside', () => {
    assert.equal(firstOutside(['acme', 'globex'], ['globex']), null);
    assert.equal(firstOutside(['acme', 'globex'], ['acme', 'globex']), null);
  });

  it('the first tenant not listed is named', () => {
    assert.equal(firstOutside(['acme'], ['acme', 'globex', 'initech']), 'globex');
  });

  it("a scope of '*' never lies inside a scope that lists tenants", () => {
    assert.equal(firstOutside(['acme', 'globex'], ['*']), '*');
  });
});
