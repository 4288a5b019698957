// Changes to the account itself, through the tenant's directory: the new password, MFA factors
// removed, every session revoked.
import { ApplicationFailure } from '@temporalio/activity';
import { resetVerificationFailures } from '../store/directory';
import { markStagedApplied, stagedPassword } from '../store/tokens';
import { loadRecovery, requireAccount, type Deps } from './deps';

export function createAccountActivities({ db, directoryFor }: Deps) {
  return {
    /** Moves the staged argon2id hash into the directory. The hash never leaves Postgres and the worker. */
    async applyStagedPassword(i: { recoveryId: string; tokenId: string }): Promise<{ applied: boolean }> {
      const staged = await stagedPassword(db, i.tokenId);
      if (!staged || staged.recovery_id !== i.recoveryId || !staged.used_at) {
        throw ApplicationFailure.nonRetryable('no staged credential for this link', 'staged_credential_missing');
      }
      if (staged.applied_at) return { applied: true };
      const ref = { tenantId: staged.tenant_id, accountId: staged.account_id };
      const directory = await directoryFor(ref.tenantId);
      await requireAccount(directory, ref.tenantId, ref.accountId);
      await directory.setPassword(
        ref,
        { argon2id: staged.password_hash },
        { idempotencyKey: `${i.recoveryId}:apply-password:${i.tokenId}`, by: `recovery:${i.recoveryId}` },
      );
      await db.transaction().execute(async (trx) => {
        await markStagedApplied(trx, i.tokenId);
        await resetVerificationFailures(trx, ref);
      });
      return { applied: true };
    },

    async revokeSessions(i: { recoveryId: string; tenantId: string; accountId: string; reason: string }): Promise<{ revoked: number }> {
      const directory = await directoryFor(i.tenantId);
      await requireAccount(directory, i.tenantId, i.accountId);
      return directory.revokeSessions({ tenantId: i.tenantId, accountId: i.accountId }, i.reason);
    },

    /** MFA reset: every active factor removed, enrolment required at the next sign-in. */
    async removeMfaFactors(i: { recoveryId: string }): Promise<{ removed: number }> {
      const r = await loadRecovery(db, i.recoveryId);
      const directory = await directoryFor(r.tenant_id);
      await requireAccount(directory, r.tenant_id, r.account_id);
      return directory.removeMfaFactors({ tenantId: r.tenant_id, accountId: r.account_id }, { idempotencyKey: `${r.id}:remove-mfa`, by: `recovery:${r.id}` });
    },
  };
}
