// Changes to the account itself, through the tenant's directory: the new password, MFA factors
// removed, every session revoked. Each is audited once, by the step that made it.
import { ApplicationFailure } from '@temporalio/activity';
import type { AccountRef, NewPassword } from '../domain/directory';
import { appendAudit, appendAuditTx, type AuditInput } from '../store/audit';
import { openSealedWith } from '../infra/secrets';
import { resetVerificationFailures } from '../store/directory';
import { discardStaged, markStagedApplied, stagedPassword, stagedPasswordPurpose } from '../store/tokens';
import { loadRecovery, requireAccount, type Deps } from './deps';

/** The audit event of a change made in the account's directory for a recovery, once per step. */
const directoryChange = (ref: AccountRef, recoveryId: string, step: string, action: string, details: Record<string, unknown>): AuditInput => ({
  tenantId: ref.tenantId,
  eventKey: `${recoveryId}:${step}`,
  actor: 'system',
  action,
  target: `account:${ref.accountId}`,
  recoveryId,
  details,
});

export function createAccountActivities({ db, config, directoryFor }: Deps) {
  return {
    /**
     * Moves the staged password into the directory: an argon2id hash for the built-in one, the
     * password opened from its sealed copy for a remote one. Neither leaves Postgres and the worker
     * except towards the directory, and the staged copy is destroyed once applied.
     */
    async applyStagedPassword(i: { recoveryId: string; tokenId: string }): Promise<{ applied: boolean }> {
      const staged = await stagedPassword(db, i.tokenId);
      if (!staged || staged.recovery_id !== i.recoveryId || !staged.used_at) {
        throw ApplicationFailure.nonRetryable('no staged credential for this link', 'staged_credential_missing');
      }
      if (staged.applied_at) return { applied: true };
      const ref = { tenantId: staged.tenant_id, accountId: staged.account_id };
      const directory = await directoryFor(ref.tenantId);
      let password: NewPassword = { argon2id: staged.password_hash };
      if (staged.password_sealed) {
        const plaintext = openSealedWith(config.tokenKeys, staged.password_key_id, stagedPasswordPurpose(i.tokenId), staged.password_sealed);
        if (plaintext === null)
          throw ApplicationFailure.nonRetryable(
            `the staged password is sealed under key ${staged.password_key_id}, which is not configured`,
            'staged_credential_unreadable',
          );
        password = { plaintext };
      }
      if (directory.passwordForm !== ('plaintext' in password ? 'plaintext' : 'argon2id')) {
        // The tenant switched directories between the link and now: the staged form cannot be applied.
        throw ApplicationFailure.nonRetryable('the staged password does not suit the tenant directory any more', 'directory_refused', {
          code: 'directory_changed',
        });
      }
      try {
        await requireAccount(directory, ref.tenantId, ref.accountId);
        await directory.setPassword(ref, password, { idempotencyKey: `${i.recoveryId}:apply-password:${i.tokenId}`, by: `recovery:${i.recoveryId}` });
      } catch (err) {
        // Refused for good: the recovery fails, and the password it carried goes with it.
        if (err instanceof ApplicationFailure && err.nonRetryable) await discardStaged(db, i.tokenId);
        throw err;
      }
      await db.transaction().execute(async (trx) => {
        await markStagedApplied(trx, i.tokenId);
        await resetVerificationFailures(trx, ref);
        await appendAuditTx(
          trx,
          directoryChange(ref, i.recoveryId, 'apply-password', 'account.password_set', {
            directory: directory.kind,
            tokenId: i.tokenId,
            reason: 'the account owner chose a new password through the reset link',
            evidence: 'tier 3: the link sent to the registered address was used',
          }),
        );
      });
      return { applied: true };
    },

    async revokeSessions(i: { recoveryId: string; tenantId: string; accountId: string; reason: string }): Promise<{ revoked: number }> {
      const directory = await directoryFor(i.tenantId);
      await requireAccount(directory, i.tenantId, i.accountId);
      const ref = { tenantId: i.tenantId, accountId: i.accountId };
      const { revoked } = await directory.revokeSessions(ref, {
        idempotencyKey: `${i.recoveryId}:revoke-sessions`,
        by: `recovery:${i.recoveryId}`,
        reason: i.reason,
      });
      await appendAudit(
        db,
        directoryChange(ref, i.recoveryId, 'revoke-sessions', 'account.sessions_revoked', {
          directory: directory.kind,
          revoked,
          reason: i.reason,
        }),
      );
      return { revoked };
    },

    /**
     * MFA reset: every active factor removed, enrolment required at the next sign-in. `enrolment`
     * says where the owner enrols again: through our link, or at the remote directory's own sign-in.
     */
    async removeMfaFactors(i: { recoveryId: string }): Promise<{ removed: number; enrolment: 'link' | 'directory' }> {
      const r = await loadRecovery(db, i.recoveryId);
      const directory = await directoryFor(r.tenant_id);
      await requireAccount(directory, r.tenant_id, r.account_id);
      const ref = { tenantId: r.tenant_id, accountId: r.account_id };
      const { removed } = await directory.removeMfaFactors(ref, { idempotencyKey: `${r.id}:remove-mfa`, by: `recovery:${r.id}` });
      await appendAudit(
        db,
        directoryChange(ref, r.id, 'remove-mfa', 'account.mfa_factors_removed', {
          directory: directory.kind,
          factorsRemoved: removed,
          enrolment: directory.enrolment,
          reason: 'an approved MFA reset: every factor goes, enrolment is required again',
        }),
      );
      return { removed, enrolment: directory.enrolment };
    },
  };
}
