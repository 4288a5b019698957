// Single-use links of a recovery or an invitation: issued (HMAC stored, link mailed to the registered
// addresses only), checked when the workflow is told one was used, and ended early.
import { ApplicationFailure } from '@temporalio/activity';
import { linkEmail } from '../infra/templates';
import type { IssuedLink, LinkRequest } from '../contracts/activities';
import { resolvePolicy, type PolicyOverride } from '../domain/policy';
import { appendAudit } from '../store/audit';
import type { Db } from '../store/db';
import { getTenant, tenantName } from '../store/tenants';
import { insertReplacingToken, insertToken, invalidateUnusedToken, settlePriorTokens, tokenUsedFor, type NewTokenRow } from '../store/tokens';
import { loadRecovery, requireAccount, type Deps } from './deps';
import { createLinkToken, mailLink, recordLinkSent } from './mail';

/** The case a link belongs to: a recovery, or an invitation. */
export interface LinkCase {
  id: string;
  tenant_id: string;
  account_id: string;
  workflow_id: string;
}

/**
 * How a link's token is stored. A Tier 3 possession link is mailed again on each submission: the
 * newest replaces the earlier ones (one live link per recovery), and past the policy's cap
 * nothing is sent and the refusal is audited (`possession_link_limit`, non-retryable).
 */
async function tokenInsert(db: Db, r: LinkCase, purpose: string, issueKey: string): Promise<(row: NewTokenRow) => Promise<string>> {
  if (purpose !== 'verify_possession') return (row) => insertToken(db, row);
  const cap = resolvePolicy((await getTenant(db, r.tenant_id))?.policy_override as PolicyOverride | null).maxPossessionLinks;
  return async (row) => {
    const id = await insertReplacingToken(db, row, cap);
    if (id !== null) return id;
    await appendAudit(db, {
      tenantId: r.tenant_id,
      eventKey: `${issueKey}:resend_refused`,
      actor: 'system',
      action: 'link.resend_refused',
      target: `account:${r.account_id}`,
      recoveryId: r.id,
      details: { purpose, cap },
    });
    throw ApplicationFailure.nonRetryable(`at most ${cap} possession links per recovery: the last one sent still works`, 'possession_link_limit');
  };
}

/**
 * Creates a single-use token bound to tenant, account, case and purpose, stores only its HMAC, and
 * emails the link to the account's registered addresses (the primary one, or all). A retry after
 * the mail went out returns the same token id; a retry before it invalidates the unsent token and
 * issues a fresh one, so every token is emailed at most once. A new possession link ends the
 * earlier ones, up to a cap (see tokenInsert).
 */
export async function issueCaseLink(
  { db, mailer, config, directoryFor }: Deps,
  i: { caseRow: LinkCase; step: string; purpose: LinkRequest['purpose']; ttlSeconds: number; to: LinkRequest['to'] },
): Promise<IssuedLink> {
  const r = i.caseRow;
  const issueKey = `${r.id}:${i.step}`;
  const directory = await directoryFor(r.tenant_id);
  await requireAccount(directory, r.tenant_id, r.account_id);
  const addresses = await directory.addresses({ tenantId: r.tenant_id, accountId: r.account_id });
  const to = i.to === 'primary' ? addresses.slice(0, 1) : addresses;
  if (!to.length) throw ApplicationFailure.nonRetryable('the account has no registered address', 'no_registered_address');
  const reminder = i.step.includes('reminder');
  const mail = (tokenId: string) => ({
    tokenId,
    tenantId: r.tenant_id,
    recoveryId: r.id,
    issueKey,
    purpose: i.purpose,
    recipients: to.length,
    target: `account:${r.account_id}`,
    action: reminder ? ('link.reminder_sent' as const) : ('link.sent' as const),
  });
  const sent = await settlePriorTokens(db, issueKey);
  if (sent) {
    // A retry after the mail went out: the bookkeeping may not have been written yet.
    const expiresAt = new Date(sent.expires_at);
    await recordLinkSent(db, { ...mail(sent.id), expiresAt });
    return { tokenId: sent.id, expiresAt: expiresAt.toISOString(), recipients: to.length };
  }
  const insert = await tokenInsert(db, r, i.purpose, issueKey);
  const out = await mailLink(db, mailer, { mail, what: 'the link', to }, async () => {
    const { tokenId, expiresAt, url } = await createLinkToken(
      db,
      config,
      {
        tenantId: r.tenant_id,
        accountId: r.account_id,
        caseId: r.id,
        workflowId: r.workflow_id,
        purpose: i.purpose,
        issueKey,
        ttlSeconds: i.ttlSeconds,
      },
      insert,
    );
    const message = linkEmail(i.purpose, {
      tenantName: await tenantName(db, r.tenant_id),
      url,
      ttlMinutes: Math.max(1, Math.round(i.ttlSeconds / 60)),
      waitUntil: expiresAt.toISOString(),
      reminder,
    });
    return { tokenId, expiresAt, message };
  });
  return { tokenId: out.tokenId, expiresAt: out.expiresAt.toISOString(), recipients: to.length };
}

export function createLinkActivities(deps: Deps) {
  const { db } = deps;
  return {
    /** A recovery's link (see issueCaseLink). */
    async issueLink(i: LinkRequest): Promise<IssuedLink> {
      const r = await loadRecovery(db, i.recoveryId);
      return issueCaseLink(deps, { caseRow: r, step: i.step, purpose: i.purpose, ttlSeconds: i.ttlSeconds, to: i.to });
    },

    /**
     * Whether a link the workflow was told about is really used. The API signals inside the
     * redeeming transaction, before its COMMIT: the check waits for that transaction to end, so a
     * redemption whose COMMIT failed reads as unused and the workflow keeps waiting.
     */
    async confirmRedemption(i: { tokenId: string; workflowId: string }): Promise<{ used: boolean }> {
      return { used: await tokenUsedFor(db, i.tokenId, i.workflowId) };
    },

    /** Ends a token early (TTL reached on the workflow's timer, or the recovery was cancelled). */
    async invalidateToken(i: { tokenId: string; reason: string }): Promise<void> {
      await invalidateUnusedToken(db, i.tokenId, i.reason);
    },
  };
}
