// The audit log's OCSF form: which class and activity each action is, and what every event holds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ocsfClassOf, toOcsf, type AuditEventOut } from '../../domain/ocsf';

const base: AuditEventOut = {
  seq: 7,
  at: '2026-11-30T10:00:00.000Z',
  actor: 'principal:prn_a',
  action: 'recovery.completed',
  target: 'account:u-1',
  recovery_id: 'rec_x',
  details: { kind: 'mfa_reset' },
  prev_hash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
  key_id: 'k1',
};
const product = { name: 'Recovery Engine', vendorName: 'v', version: '0.1.0' };

describe('OCSF classes follow the action', () => {
  it('a completed password reset is Account Change / Password Reset; an MFA reset, MFA Factor Disable', () => {
    assert.deepEqual(ocsfClassOf('recovery.completed', { kind: 'password_reset' }), { classUid: 3001, activityId: 4, activityName: 'Password Reset' });
    assert.deepEqual(ocsfClassOf('recovery.completed', { kind: 'mfa_reset' }), { classUid: 3001, activityId: 11, activityName: 'MFA Factor Disable' });
    assert.equal(ocsfClassOf('mfa.enrolled', {}).activityId, 10);
  });

  it('sign-ins are Authentication / Logon, refused ones included', () => {
    for (const a of ['directory.signed_in', 'directory.sign_in_refused', 'access.credential_used']) {
      assert.deepEqual(ocsfClassOf(a, {}), { classUid: 3002, activityId: 1, activityName: 'Logon' });
    }
  });

  it('principals are User Management: created, disabled, key rotated; anything else is User Management / Other', () => {
    assert.equal(ocsfClassOf('principal.created', {}).activityId, 1);
    assert.equal(ocsfClassOf('principal.disabled', {}).activityId, 5);
    assert.equal(ocsfClassOf('principal.key_rotated', {}).activityId, 8);
    assert.deepEqual(ocsfClassOf('approval.granted', {}), { classUid: 3007, activityId: 99, activityName: 'Other' });
  });
});

describe('an OCSF event', () => {
  it('holds the required base fields, type_uid = class_uid * 100 + activity_id, and the chain in unmapped', () => {
    const e = toOcsf('acme', base, product);
    assert.equal(e.category_uid, 3);
    assert.equal(e.class_uid, 3001);
    assert.equal(e.type_uid, 300111);
    assert.equal(e.time, Date.parse(base.at));
    assert.equal(e.severity_id, 1);
    assert.deepEqual(e.actor, { user: { uid: 'prn_a', type: 'principal' } });
    assert.deepEqual(e.user, { uid: 'u-1', type: 'account' });
    assert.deepEqual((e.metadata as Record<string, unknown>).product, { name: 'Recovery Engine', vendor_name: 'v', version: '0.1.0' });
    assert.equal((e.metadata as Record<string, unknown>).correlation_uid, 'rec_x');
    assert.equal((e.unmapped as { hash: string }).hash, base.hash);
  });

  it('a refusal is a Failure of Medium severity; a crossed line (separation refused) is High', () => {
    const refused = toOcsf('acme', { ...base, action: 'directory.sign_in_refused' }, product);
    assert.equal(refused.status, 'Failure');
    assert.equal(refused.status_id, 2);
    assert.equal(refused.severity_id, 3);
    const sep = toOcsf('acme', { ...base, action: 'separation.refused' }, product);
    assert.equal(sep.severity_id, 4);
    assert.equal(toOcsf('acme', base, product).status, 'Success');
  });

  it('a bare actor (system) is its own type', () => {
    assert.deepEqual(toOcsf('acme', { ...base, actor: 'system' }, product).actor, { user: { uid: 'system', type: 'system' } });
  });
});
