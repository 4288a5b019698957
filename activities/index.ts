// Every side effect of the recovery workflows. Built by a factory that takes its dependencies.
// Idempotent by a key derived from the recovery id + step: an activity retry never writes twice.
// Nothing secret is returned: tokens and password hashes stay inside these functions and Postgres.
import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import { json } from '../infra/db';
import { appendAudit, appendAuditTx } from '../infra/audit';
import { findAccount, loginHistory, registeredAddresses, revokeAllSessions } from '../infra/directory';
import { messageIdFor, sendOnce, type Mailer } from '../infra/mailer';
import { newToken } from '../infra/secrets';
import { linkEmail, noticeEmail } from '../infra/templates';
import type { LinkPurpose, NoticeTemplate, WorkflowActivities } from '../contracts/activities';
import { resolvePolicy, type Policy, type PolicyOverride } from '../domain/policy';
import { assessBehaviour, riskSignals, type RequestContext } from '../domain/risk';
import type { TriageFacts } from '../domain/triage';
import type { ErrorSource, Reason, RecoveryKind, Tier, Urgency } from '../domain/types';
import { createAccessActivities } from './access';
import { failLinkDelivery, recordLinkSent, settlePriorTokens } from './tokens';
import { runIdOnce } from './run';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  config: Pick<Config, 'tokenKeys' | 'publicBaseUrl'>;
}

export function createActivities(deps: ActivityDeps) {
  return { ...createRecoveryActivities(deps), ...createAccessActivities(deps) } satisfies WorkflowActivities;
}

function createRecoveryActivities({ db, mailer, config }: ActivityDeps) {
  async function loadRecovery(recoveryId: string) {
    const r = await db.selectFrom('recoveries').selectAll().where('id', '=', recoveryId).executeTakeFirst();
    if (!r) throw ApplicationFailure.nonRetryable(`recovery ${recoveryId} not found`, 'recovery_not_found');
    return r;
  }

  async function requireAccount(tenantId: string, externalId: string) {
    const a = await findAccount(db, tenantId, externalId);
    if (!a) throw ApplicationFailure.nonRetryable('account not found', 'account_not_found');
    return a;
  }

  return {
    /** Moves the read model to a new state and audits the step, atomically and once. */
    async recordTransition(i: {
      recoveryId: string;
      tenantId: string;
      step: string;
      state: string;
      action: string;
      actor: string;
      details: Record<string, unknown>;
      riskTier: string | null;
      route: string | null;
      reasons: Reason[];
    }): Promise<void> {
      const terminal = ['completed', 'refused', 'denied', 'cancelled', 'expired', 'failed'].includes(i.state);
      await db.transaction().execute(async (trx) => {
        const r = await trx.selectFrom('recoveries').select(['account_id', 'kind']).where('id', '=', i.recoveryId).forUpdate().executeTakeFirst();
        if (!r) throw ApplicationFailure.nonRetryable(`recovery ${i.recoveryId} not found`, 'recovery_not_found');
        await trx
          .updateTable('recoveries')
          .set({
            state: i.state,
            risk_tier: i.riskTier,
            route: i.route,
            reasons: json(i.reasons),
            run_id: runIdOnce(),
            updated_at: new Date(),
            ...(terminal ? { ended_at: sql`coalesce(ended_at, now())` } : {}),
          })
          .where('id', '=', i.recoveryId)
          .execute();
        await appendAuditTx(trx, {
          tenantId: i.tenantId,
          eventKey: `${i.recoveryId}:${i.step}`,
          actor: i.actor,
          action: i.action,
          target: `account:${r.account_id}`,
          recoveryId: i.recoveryId,
          details: { state: i.state, kind: r.kind, riskTier: i.riskTier, reasons: i.reasons, ...i.details },
        });
      });
    },

    /** Gathers the facts triage needs. Returns no personal data: booleans, counts and codes. */
    async assessRecovery({ recoveryId }: { recoveryId: string }): Promise<{ facts: TriageFacts; policy: Policy }> {
      const r = await loadRecovery(recoveryId);
      const tenant = await db.selectFrom('tenants').selectAll().where('id', '=', r.tenant_id).executeTakeFirstOrThrow();
      const policy = resolvePolicy(tenant.policy_override as PolicyOverride | null);
      const acct = await findAccount(db, r.tenant_id, r.account_id);
      const { count } = await db
        .selectFrom('recoveries')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('tenant_id', '=', r.tenant_id)
        .where('account_id', '=', r.account_id)
        .where('id', '!=', r.id)
        .where('created_at', '>', sql<Date>`${r.created_at}::timestamptz - interval '24 hours'`)
        .where('created_at', '<=', r.created_at)
        .executeTakeFirstOrThrow();
      const recent = Number(count);
      const facts: TriageFacts = {
        kind: r.kind as RecoveryKind,
        tenantAuthMode: tenant.auth_mode,
        account: { exists: false },
        errorSource: r.error_source as ErrorSource,
        urgency: r.urgency as Urgency,
        recentRequestsForAccount: recent,
        signals: [],
      };
      if (acct) {
        const now = new Date();
        const history = await loginHistory(db, acct.id);
        const behaviour = assessBehaviour(r.context as RequestContext, history.map((h) => ({ ...h, at: new Date(h.at) })), now);
        facts.account = {
          exists: true,
          role: acct.role,
          authMethod: acct.auth_method,
          active: acct.status === 'active',
          consecutiveFailures: acct.consecutive_failures,
        };
        facts.signals = riskSignals(behaviour, {
          lastLoginAt: acct.last_login_at ? new Date(acct.last_login_at) : null,
          now,
          recentRequestsForAccount: recent,
          perAccountPer24h: policy.rateLimits.perAccountPer24h,
        });
      }
      return { facts, policy };
    },

    /** Tier 2: the request context against the account's login history. */
    async evaluateBehaviour({ recoveryId }: { recoveryId: string }): Promise<{ consistent: boolean; evidence: string[] }> {
      const r = await loadRecovery(recoveryId);
      const acct = await requireAccount(r.tenant_id, r.account_id);
      const history = await loginHistory(db, acct.id);
      const b = assessBehaviour(r.context as RequestContext, history.map((h) => ({ ...h, at: new Date(h.at) })), new Date());
      return { consistent: b.consistent, evidence: b.evidence };
    },

    /** Audits a verification result and keeps the account's consecutive-failure counter. */
    async recordVerification(i: { recoveryId: string; tenantId: string; accountId: string; step: string; actor: string; tier: Tier; passed: boolean; pending?: boolean; evidence: string[] }) {
      await db.transaction().execute(async (trx) => {
        const key = `${i.recoveryId}:${i.step}`;
        const seen = await trx.selectFrom('audit_events').select('id').where('event_key', '=', key).executeTakeFirst();
        if (!seen && !i.pending) {
          await trx
            .updateTable('accounts')
            .set({ consecutive_failures: i.passed ? 0 : sql`consecutive_failures + 1` })
            .where('tenant_id', '=', i.tenantId)
            .where('external_id', '=', i.accountId)
            .execute();
        }
        await appendAuditTx(trx, {
          tenantId: i.tenantId,
          eventKey: key,
          actor: i.actor,
          action: i.pending ? 'verification.pending' : i.passed ? 'verification.passed' : 'verification.failed',
          target: `account:${i.accountId}`,
          recoveryId: i.recoveryId,
          details: { tier: i.tier, passed: i.passed, signals: i.evidence },
        });
      });
    },

    /** High risk: alert the tenant's security contacts. */
    async alertSecurity(i: { recoveryId: string; tenantId: string; step: string; template: 'security_alert' | 'recovery_cancelled'; reasons: Reason[] }) {
      const r = await loadRecovery(i.recoveryId);
      const tenant = await db.selectFrom('tenants').select(['security_contacts', 'name']).where('id', '=', i.tenantId).executeTakeFirstOrThrow();
      const to = tenant.security_contacts as string[];
      if (to.length) {
        const mail = noticeEmail(i.template, { tenantName: tenant.name, recoveryId: i.recoveryId, kind: r.kind, accountId: r.account_id, reasons: i.reasons });
        await sendOnce(db, mailer, { dedupeKey: `${i.recoveryId}:${i.step}`, tenantId: i.tenantId, recoveryId: i.recoveryId, template: i.template, to, ...mail });
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

    /**
     * Creates a single-use token bound to tenant, account, recovery and purpose, stores only its
     * HMAC, and emails the link to the account's registered addresses (the primary one, or all).
     * A retry after the mail went out returns the same token id; a retry before it invalidates
     * the unsent token and issues a fresh one, so every token is emailed at most once.
     */
    async issueLink(i: { recoveryId: string; step: string; purpose: LinkPurpose; ttlSeconds: number; to: 'primary' | 'all' }): Promise<{ tokenId: string; expiresAt: string; recipients: number }> {
      const r = await loadRecovery(i.recoveryId);
      const issueKey = `${i.recoveryId}:${i.step}`;
      const acct = await requireAccount(r.tenant_id, r.account_id);
      const addresses = (await registeredAddresses(db, acct.id)).map((a) => a.email);
      const to = i.to === 'primary' ? addresses.slice(0, 1) : addresses;
      if (!to.length) throw ApplicationFailure.nonRetryable('the account has no registered address', 'no_registered_address');
      const linkMail = (tokenId: string) => ({
        tokenId,
        tenantId: r.tenant_id,
        recoveryId: r.id,
        issueKey,
        purpose: i.purpose,
        recipients: to.length,
        target: `account:${r.account_id}`,
        action: i.step.includes('reminder') ? ('link.reminder_sent' as const) : ('link.sent' as const),
      });
      const sent = await settlePriorTokens(db, issueKey);
      if (sent) {
        // A retry after the mail went out: the bookkeeping may not have been written yet.
        const expiresAt = new Date(sent.expires_at);
        await recordLinkSent(db, { ...linkMail(sent.id), expiresAt });
        return { tokenId: sent.id, expiresAt: expiresAt.toISOString(), recipients: to.length };
      }
      const token = newToken(config.tokenKeys);
      const expiresAt = new Date(Date.now() + i.ttlSeconds * 1000);
      const row = await db
        .insertInto('one_time_tokens')
        .values({
          tenant_id: r.tenant_id,
          account_id: r.account_id,
          recovery_id: r.id,
          workflow_id: r.workflow_id,
          purpose: i.purpose,
          issue_key: issueKey,
          key_id: token.keyId,
          token_hash: token.hash,
          expires_at: expiresAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const tenant = await db.selectFrom('tenants').select('name').where('id', '=', r.tenant_id).executeTakeFirstOrThrow();
      const url = `${config.publicBaseUrl}/recover?tenant=${encodeURIComponent(r.tenant_id)}#${token.value}`;
      const mail = linkEmail(i.purpose, {
        tenantName: tenant.name,
        url,
        ttlMinutes: Math.max(1, Math.round(i.ttlSeconds / 60)),
        waitUntil: expiresAt.toISOString(),
        reminder: i.step.includes('reminder'),
      });
      try {
        await mailer.send({ to, ...mail, messageId: messageIdFor(row.id) });
      } catch (err) {
        await failLinkDelivery(db, err, { ...linkMail(row.id), what: 'the link' });
      }
      await recordLinkSent(db, { ...linkMail(row.id), expiresAt });
      return { tokenId: row.id, expiresAt: expiresAt.toISOString(), recipients: to.length };
    },

    /**
     * Whether a link the workflow was told about is really used. The API signals inside the
     * redeeming transaction, before its COMMIT: FOR SHARE waits for that transaction to end, so a
     * redemption whose COMMIT failed reads as unused and the workflow keeps waiting.
     */
    async confirmRedemption(i: { tokenId: string; workflowId: string }): Promise<{ used: boolean }> {
      return db.transaction().execute(async (trx) => {
        const t = await trx.selectFrom('one_time_tokens').select(['used_at', 'workflow_id']).where('id', '=', i.tokenId).forShare().executeTakeFirst();
        return { used: !!t && t.used_at !== null && t.workflow_id === i.workflowId };
      });
    },

    /** Ends a token early (TTL reached on the workflow's timer, or the recovery was cancelled). */
    async invalidateToken(i: { tokenId: string; reason: string }): Promise<void> {
      await db
        .updateTable('one_time_tokens')
        .set({ invalidated_at: new Date(), invalidated_reason: i.reason })
        .where('id', '=', i.tokenId)
        .where('invalidated_at', 'is', null)
        .where('used_at', 'is', null)
        .execute();
    },

    /** Moves the staged argon2id hash into the directory. The hash never leaves Postgres. */
    async applyStagedPassword(i: { recoveryId: string; tokenId: string }): Promise<{ applied: boolean }> {
      return db.transaction().execute(async (trx) => {
        const staged = await trx
          .selectFrom('staged_credentials')
          .innerJoin('one_time_tokens', 'one_time_tokens.id', 'staged_credentials.token_id')
          .select(['staged_credentials.password_hash', 'staged_credentials.applied_at', 'one_time_tokens.tenant_id', 'one_time_tokens.account_id', 'one_time_tokens.recovery_id', 'one_time_tokens.used_at'])
          .where('staged_credentials.token_id', '=', i.tokenId)
          .forUpdate()
          .executeTakeFirst();
        if (!staged || staged.recovery_id !== i.recoveryId || !staged.used_at) {
          throw ApplicationFailure.nonRetryable('no staged credential for this link', 'staged_credential_missing');
        }
        if (staged.applied_at) return { applied: true };
        const acct = await trx.selectFrom('accounts').select('id').where('tenant_id', '=', staged.tenant_id).where('external_id', '=', staged.account_id).executeTakeFirstOrThrow();
        await trx
          .insertInto('password_credentials')
          .values({ account_id: acct.id, password_hash: staged.password_hash, changed_by: `recovery:${i.recoveryId}` })
          .onConflict((oc) => oc.column('account_id').doUpdateSet({ password_hash: staged.password_hash, changed_at: new Date(), changed_by: `recovery:${i.recoveryId}` }))
          .execute();
        // The staged copy is overwritten once applied: only the directory keeps the hash.
        await trx.updateTable('staged_credentials').set({ applied_at: new Date(), password_hash: '' }).where('token_id', '=', i.tokenId).execute();
        await trx.updateTable('accounts').set({ consecutive_failures: 0, updated_at: new Date() }).where('id', '=', acct.id).execute();
        return { applied: true };
      });
    },

    async revokeSessions(i: { recoveryId: string; tenantId: string; accountId: string; reason: string }): Promise<{ revoked: number }> {
      const acct = await requireAccount(i.tenantId, i.accountId);
      return { revoked: await revokeAllSessions(db, acct.id, i.reason) };
    },

    /** Audits an approval or a denial; the separation-of-duties checks ran in the workflow's validator. */
    async recordDecision(i: { recoveryId: string; tenantId: string; accountId: string; step: string; principalId: string; decision: 'approve' | 'deny'; comment: string; approvalsSoFar: number; required: number }) {
      await appendAudit(db, {
        tenantId: i.tenantId,
        eventKey: `${i.recoveryId}:${i.step}`,
        actor: `principal:${i.principalId}`,
        action: i.decision === 'approve' ? 'approval.granted' : 'approval.denied',
        target: `account:${i.accountId}`,
        recoveryId: i.recoveryId,
        details: { comment: i.comment, approvalsSoFar: i.approvalsSoFar, required: i.required },
      });
    },

    /** Emails every approver who may decide this recovery: the approver role, the tenant in scope. */
    async notifyApprovers(i: { recoveryId: string; step: string; template: 'approval_needed' | 'approval_reminder'; required: number }): Promise<{ recipients: number }> {
      const r = await loadRecovery(i.recoveryId);
      const approvers = await db
        .selectFrom('principals')
        .select(['id', 'email', 'account_tenant_id', 'account_external_id'])
        .where('disabled_at', 'is', null)
        .where('email', 'is not', null)
        .where(sql<boolean>`roles @> array['approver']::text[]`)
        .where(sql<boolean>`(tenant_scope @> array[${r.tenant_id}]::text[] or tenant_scope @> array['*']::text[])`)
        .execute();
      const to = approvers
        .filter((a) => a.id !== r.requested_by && !(a.account_tenant_id === r.tenant_id && a.account_external_id === r.account_id))
        .map((a) => a.email!);
      const tenant = await db.selectFrom('tenants').select('name').where('id', '=', r.tenant_id).executeTakeFirstOrThrow();
      const approveBy = await db.selectFrom('audit_events').select('details').where('recovery_id', '=', r.id).where('action', '=', 'recovery.awaiting_approval').executeTakeFirst();
      if (to.length) {
        const mail = noticeEmail(i.template, {
          tenantName: tenant.name,
          recoveryId: r.id,
          kind: r.kind,
          accountId: r.account_id,
          reasons: [],
          approveBy: (approveBy?.details as { approveBy?: string } | undefined)?.approveBy,
          apiUrl: config.publicBaseUrl,
        });
        await sendOnce(db, mailer, { dedupeKey: `${i.recoveryId}:${i.step}`, tenantId: r.tenant_id, recoveryId: r.id, template: i.template, to, ...mail });
      }
      await appendAudit(db, {
        tenantId: r.tenant_id,
        eventKey: `${i.recoveryId}:${i.step}`,
        actor: 'system',
        action: i.template === 'approval_needed' ? 'approval.requested' : 'approval.reminded',
        target: `account:${r.account_id}`,
        recoveryId: r.id,
        details: { approversNotified: to.length, required: i.required },
      });
      return { recipients: to.length };
    },

    /** Tells the requester how the approval stage ended. */
    async notifyRequester(i: { recoveryId: string; step: string; template: 'decision_approved' | 'decision_denied' | 'decision_expired' }): Promise<{ recipients: number }> {
      const r = await loadRecovery(i.recoveryId);
      const p = await db.selectFrom('principals').select('email').where('id', '=', r.requested_by).executeTakeFirst();
      if (!p?.email) return { recipients: 0 };
      const tenant = await db.selectFrom('tenants').select('name').where('id', '=', r.tenant_id).executeTakeFirstOrThrow();
      const mail = noticeEmail(i.template, { tenantName: tenant.name, recoveryId: r.id, kind: r.kind, accountId: r.account_id, reasons: [] });
      await sendOnce(db, mailer, { dedupeKey: `${i.recoveryId}:${i.step}`, tenantId: r.tenant_id, recoveryId: r.id, template: i.template, to: [p.email], ...mail });
      return { recipients: 1 };
    },

    /** MFA reset: every active factor removed, enrolment required at the next sign-in. */
    async removeMfaFactors(i: { recoveryId: string }): Promise<{ removed: number }> {
      const r = await loadRecovery(i.recoveryId);
      const acct = await requireAccount(r.tenant_id, r.account_id);
      return db.transaction().execute(async (trx) => {
        const res = await trx
          .updateTable('mfa_factors')
          .set({ removed_at: new Date() })
          .where('account_id', '=', acct.id)
          .where('removed_at', 'is', null)
          .where((eb) => eb.or([eb('enrolled_via', 'is', null), eb('enrolled_via', '!=', `recovery:${r.id}`)]))
          .executeTakeFirst();
        await trx.updateTable('accounts').set({ mfa_enrolment_required: true, updated_at: new Date() }).where('id', '=', acct.id).execute();
        return { removed: Number(res.numUpdatedRows) };
      });
    },

    /** Notifies every registered address, once per step. */
    async notifyAccount(i: { recoveryId: string; step: string; template: NoticeTemplate }): Promise<{ recipients: number }> {
      const r = await loadRecovery(i.recoveryId);
      const acct = await requireAccount(r.tenant_id, r.account_id);
      const to = (await registeredAddresses(db, acct.id)).map((a) => a.email);
      const tenant = await db.selectFrom('tenants').select('name').where('id', '=', r.tenant_id).executeTakeFirstOrThrow();
      const mail = noticeEmail(i.template, { tenantName: tenant.name, recoveryId: r.id, kind: r.kind, reasons: [] });
      await sendOnce(db, mailer, { dedupeKey: `${i.recoveryId}:${i.step}`, tenantId: r.tenant_id, recoveryId: r.id, template: i.template, to, ...mail });
      return { recipients: to.length };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
