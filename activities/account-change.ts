// An admin change of an existing account (api/routes/account-change.ts records it): applied once
// under the account's row lock, with its audit event; then one notice to every address the
// account had before and has after, so a changed address can never go unnoticed by its owner.
import { ApplicationFailure } from '@temporalio/activity';
import { accountChangedEmail } from '../infra/templates';
import { getAccountChange, lockAccountChange, markChangeApplied, markChangeEnded, markChangeNotified } from '../store/account-changes';
import { appendAudit, appendAuditTx } from '../store/audit';
import { changeAccount } from '../store/directory';
import { tenantName } from '../store/tenants';
import type { Deps } from './deps';
import { sendOnce } from './mail';

/** What changed, by field name: never the values (they are personal data or secrets). */
const changedFields = (c: { emails?: unknown; knowledgeHashes?: unknown; role?: unknown; displayName?: unknown }) =>
  [c.emails && 'addresses', c.knowledgeHashes && 'knowledge answers', c.role && 'role', c.displayName !== undefined && 'display name'].filter(
    (f): f is string => typeof f === 'string',
  );

export function createAccountChangeActivities({ db, mailer }: Deps) {
  return {
    async applyAccountChange({ changeId }: { changeId: string }): Promise<{ applied: boolean }> {
      return db.transaction().execute(async (trx) => {
        const c = await lockAccountChange(trx, changeId);
        if (!c) throw ApplicationFailure.nonRetryable(`account change ${changeId} not found`, 'change_not_found');
        if (c.state !== 'pending') return { applied: c.state === 'applied' };
        const base = { tenantId: c.tenantId, target: `account:${c.accountId}`, recoveryId: c.id, actor: `principal:${c.requestedBy}` };
        const done = await changeAccount(trx, { tenantId: c.tenantId, accountId: c.accountId }, c.change);
        if (!done) {
          await markChangeEnded(trx, c.id, 'failed');
          await appendAuditTx(trx, { ...base, eventKey: `${c.id}:failed`, action: 'account.change_failed', details: { problem: 'account not found' } });
          return { applied: false };
        }
        await markChangeApplied(trx, c.id, done.before);
        await appendAuditTx(trx, {
          ...base,
          eventKey: `${c.id}:applied`,
          action: 'account.changed',
          details: {
            changed: changedFields(c.change),
            reason: c.reason,
            addressesBefore: done.before.length,
            addressesAfter: (c.change.emails ?? done.before).length,
          },
        });
        return { applied: true };
      });
    },

    async notifyAccountChange({ changeId }: { changeId: string }): Promise<{ recipients: number }> {
      const c = await getAccountChange(db, changeId);
      if (!c || c.state !== 'applied') throw ApplicationFailure.nonRetryable(`account change ${changeId} is not applied`, 'change_not_applied');
      const before = c.addressesBefore ?? [];
      const to: string[] = [];
      for (const a of [...before, ...(c.change.emails ?? [])]) if (!to.some((x) => x.toLowerCase() === a.toLowerCase())) to.push(a);
      const mail = accountChangedEmail({ tenantName: await tenantName(db, c.tenantId), changeId: c.id, changed: changedFields(c.change) });
      const sent = await sendOnce(db, mailer, {
        dedupeKey: `${c.id}:notice`,
        tenantId: c.tenantId,
        recoveryId: c.id,
        template: 'account_changed',
        to,
        ...mail,
      });
      await markChangeNotified(db, c.id);
      await appendAudit(db, {
        tenantId: c.tenantId,
        eventKey: `${c.id}:notified`,
        actor: 'system',
        action: 'account.change_notified',
        target: `account:${c.accountId}`,
        recoveryId: c.id,
        details: { recipients: to.length, deliveryFailed: sent.failed, reason: c.reason },
      });
      return { recipients: to.length };
    },
  };
}
