// Notices of a recovery, each sent once per step: security alerts, approval requests and
// reminders, the requester's decision notice (to people of the tenant), and notices to the
// account's own addresses; one factory for each audience.
import { noticeEmail } from '../infra/templates';
import type { DecisionTemplate, NoticeTemplate } from '../contracts/activities';
import type { Reason } from '../domain/types';
import { appendAudit, caseEventDetails } from '../store/audit';
import { principalEmail, principalsToNotify } from '../store/principals';
import { securityContacts, tenantName } from '../store/tenants';
import { loadRecovery, requireAccount, type ActivityDeps, type Deps } from './deps';
import { recordNotice, sendOnce } from './mail';

/** Why the requester is told how the approval stage ended. */
export const DECISION_REASONS: Record<DecisionTemplate, string> = {
  decision_approved: 'the approvals the policy requires were given',
  decision_denied: 'an approver denied the request',
  decision_expired: 'the approval deadline passed without the approvals required',
};

function securityNotices({ db, mailer }: ActivityDeps) {
  return {
    /** High risk: alert the tenant's security contacts. */
    async alertSecurity(i: { recoveryId: string; tenantId: string; step: string; template: 'security_alert' | 'recovery_cancelled'; reasons: Reason[] }) {
      const r = await loadRecovery(db, i.recoveryId);
      const tenant = await securityContacts(db, i.tenantId);
      const to = tenant.contacts;
      if (to.length) {
        const mail = noticeEmail(i.template, { tenantName: tenant.name, recoveryId: i.recoveryId, kind: r.kind, accountId: r.account_id, reasons: i.reasons });
        await sendOnce(db, mailer, {
          dedupeKey: `${i.recoveryId}:${i.step}`,
          tenantId: i.tenantId,
          recoveryId: i.recoveryId,
          template: i.template,
          to,
          ...mail,
        });
      }
      await appendAudit(db, {
        tenantId: i.tenantId,
        eventKey: `${i.recoveryId}:${i.step}`,
        actor: 'system',
        action: 'security.alerted',
        target: `tenant:${i.tenantId}`,
        recoveryId: i.recoveryId,
        details: { contacts: to.length, reasons: i.reasons },
      });
    },
  };
}

function staffNotices({ db, mailer, config }: ActivityDeps) {
  return {
    /** Emails every approver who may decide this recovery: the approver role, the tenant in scope. */
    async notifyApprovers(i: {
      recoveryId: string;
      step: string;
      template: 'approval_needed' | 'approval_reminder';
      required: number;
    }): Promise<{ recipients: number }> {
      const r = await loadRecovery(db, i.recoveryId);
      const approvers = await principalsToNotify(db, r.tenant_id, 'approver');
      const to = approvers
        .filter((a) => a.id !== r.requested_by && !(a.account_tenant_id === r.tenant_id && a.account_external_id === r.account_id))
        .map((a) => a.email!);
      const name = await tenantName(db, r.tenant_id);
      const awaiting = await caseEventDetails(db, r.id, 'recovery.awaiting_approval');
      if (to.length) {
        const mail = noticeEmail(i.template, {
          tenantName: name,
          recoveryId: r.id,
          kind: r.kind,
          accountId: r.account_id,
          reasons: [],
          approveBy: (awaiting as { approveBy?: string } | null)?.approveBy,
          apiUrl: config.publicBaseUrl,
        });
        await sendOnce(db, mailer, { dedupeKey: `${i.recoveryId}:${i.step}`, tenantId: r.tenant_id, recoveryId: r.id, template: i.template, to, ...mail });
      }
      await recordNotice(db, {
        tenantId: r.tenant_id,
        caseId: r.id,
        step: i.step,
        target: `account:${r.account_id}`,
        action: i.template === 'approval_needed' ? 'approval.requested' : 'approval.reminded',
        template: i.template,
        recipients: to.length,
        reason:
          i.template === 'approval_needed'
            ? `the policy requires ${i.required} approval(s) for this ${r.kind}`
            : 'no decision yet when the approval deadline is three quarters gone',
        details: { approversNotified: to.length, required: i.required },
      });
      return { recipients: to.length };
    },

    /** Tells the requester how the approval stage ended. */
    async notifyRequester(i: {
      recoveryId: string;
      step: string;
      template: 'decision_approved' | 'decision_denied' | 'decision_expired';
    }): Promise<{ recipients: number }> {
      const r = await loadRecovery(db, i.recoveryId);
      const email = await principalEmail(db, r.requested_by);
      if (email) {
        const mail = noticeEmail(i.template, {
          tenantName: await tenantName(db, r.tenant_id),
          recoveryId: r.id,
          kind: r.kind,
          accountId: r.account_id,
          reasons: [],
        });
        await sendOnce(db, mailer, {
          dedupeKey: `${i.recoveryId}:${i.step}`,
          tenantId: r.tenant_id,
          recoveryId: r.id,
          template: i.template,
          to: [email],
          ...mail,
        });
      }
      const recipients = email ? 1 : 0;
      await recordNotice(db, {
        tenantId: r.tenant_id,
        caseId: r.id,
        step: i.step,
        target: `account:${r.account_id}`,
        action: 'requester.notified',
        template: i.template,
        recipients,
        reason: DECISION_REASONS[i.template],
      });
      return { recipients };
    },
  };
}

function accountNotices({ db, mailer, directoryFor }: Deps) {
  return {
    /** Notifies every registered address, once per step. */
    async notifyAccount(i: { recoveryId: string; step: string; template: NoticeTemplate }): Promise<{ recipients: number }> {
      const r = await loadRecovery(db, i.recoveryId);
      const directory = await directoryFor(r.tenant_id);
      await requireAccount(directory, r.tenant_id, r.account_id);
      const to = await directory.addresses({ tenantId: r.tenant_id, accountId: r.account_id });
      const mail = noticeEmail(i.template, { tenantName: await tenantName(db, r.tenant_id), recoveryId: r.id, kind: r.kind, reasons: [] });
      const sent = await sendOnce(db, mailer, {
        dedupeKey: `${i.recoveryId}:${i.step}`,
        tenantId: r.tenant_id,
        recoveryId: r.id,
        template: i.template,
        to,
        ...mail,
      });
      await recordNotice(db, {
        tenantId: r.tenant_id,
        caseId: r.id,
        step: i.step,
        target: `account:${r.account_id}`,
        action: 'account.notified',
        template: i.template,
        recipients: to.length,
        reason: `every registered address is told of an applied ${r.kind}`,
        details: { deliveryFailed: sent.failed },
      });
      return { recipients: to.length };
    },
  };
}

export function createNoticeActivities(all: Deps) {
  return { ...securityNotices(all), ...staffNotices(all), ...accountNotices(all) };
}
