// Side effects of emergency access. The credential is created here, stored as an HMAC for
// checking and sealed for its single pickup; neither form ever goes back to the workflow.
// Three concerns, each its own factory: the grant's bookkeeping, its notices, and the credentials.
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { appendAuditTx, caseActors } from '../store/audit';
import { issueCredentialOnce, moveGrant, pickupCopy, revokeCredential, type GrantRow } from '../store/grants';
import { revokeAccessSessions } from '../store/sessions';
import { principalEmail, principalsToNotify } from '../store/principals';
import { securityContacts, tenantName } from '../store/tenants';
import { settlePriorTokens } from '../store/tokens';
import { ACCESS_REQUIRED_APPROVALS, isAccessTerminal } from '../domain/access';
import type { Db } from '../store/db';
import { accessConfirmationEmail, accessEmail, type AccessTemplate } from '../infra/templates';
import { hmacHex, openSealedWith, sealSecret } from '../infra/secrets';
import { loadGrant, requireAccount, type ActivityDeps, type Deps } from './deps';
import { createLinkToken, mailLink, recordLinkSent, recordNotice, sendOnce } from './mail';
import { DECISION_REASONS } from './notify';
import { currentRunId } from './run';
import type { AuditedStep, GrantTransition } from '../contracts/activities';

/** `bgc_<kid>.<base64url>`: 256 bits, the key id tells which HMAC key checks it. */
export function newAccessCredential(keys: ActivityDeps['config']['tokenKeys']): { value: string; keyId: string; hash: string } {
  const key = keys[0];
  const value = `bgc_${key.id}.${crypto.randomBytes(32).toString('base64url')}`;
  return { value, keyId: key.id, hash: hmacHex(key.key, value) };
}

async function principalsWithRole(db: Db, tenantId: string, role: string, exclude: string[]): Promise<string[]> {
  const rows = await principalsToNotify(db, tenantId, role);
  return rows.filter((r) => !exclude.includes(r.id)).map((r) => r.email!);
}

/** Sends the grant's notice once per step; the number of recipients (0 sends nothing). */
async function mailGrant({ db, mailer, config }: ActivityDeps, g: GrantRow, step: string, template: AccessTemplate, to: string[]) {
  if (!to.length) return 0;
  const m = accessEmail(template, {
    kind: g.kind,
    grantId: g.id,
    accountId: g.account_id,
    tenantName: await tenantName(db, g.tenant_id),
    justification: g.justification,
    ticketRef: g.ticket_ref,
    requestedBy: g.requested_by,
    apiUrl: config.publicBaseUrl,
  });
  await sendOnce(db, mailer, { dedupeKey: `${g.id}:${step}`, tenantId: g.tenant_id, recoveryId: g.id, template, to, ...m });
  return to.length;
}

async function deciders(db: Db, grantId: string): Promise<string[]> {
  return (await caseActors(db, grantId, ['approval.granted', 'approval.denied'])).map((a) => a.replace(/^principal:/, ''));
}

function grantBookkeeping({ db }: ActivityDeps) {
  return {
    /** Moves the grant's read model and audits the step, atomically and once. */
    async recordGrantTransition(i: GrantTransition): Promise<AuditedStep> {
      const terminal = isAccessTerminal(i.state);
      const eventKey = `${i.grantId}:${i.step}`;
      return db.transaction().execute(async (trx) => {
        const g = await moveGrant(trx, { id: i.grantId, state: i.state, terminal, runId: currentRunId() });
        if (!g) throw ApplicationFailure.nonRetryable(`grant ${i.grantId} not found`, 'grant_not_found');
        const { seq } = await appendAuditTx(trx, {
          tenantId: i.tenantId,
          eventKey,
          actor: i.actor,
          action: i.action,
          target: `account:${g.account_id}`,
          recoveryId: i.grantId,
          details: { kind: g.kind, state: i.state, justification: g.justification, ticketRef: g.ticket_ref, ...i.details },
        });
        return { eventKey, seq, action: i.action, state: i.state };
      });
    },
  };
}

/** SSO bypass: the security contact's confirmation link. */
function contactConfirmation({ db, mailer, config }: ActivityDeps) {
  return {
    /** SSO bypass: a Tier 3 link to the tenant's security contact on record, never to anyone else. */
    async issueContactConfirmation(i: { grantId: string; step: string; ttlSeconds: number }): Promise<{ tokenId: string }> {
      const g = await loadGrant(db, i.grantId);
      const issueKey = `${g.id}:${i.step}`;
      const mail = (tokenId: string) => ({
        tokenId,
        tenantId: g.tenant_id,
        recoveryId: g.id,
        issueKey,
        purpose: 'sso_bypass_confirm',
        recipients: 1,
        target: `tenant:${g.tenant_id}`,
        action: 'link.sent' as const,
      });
      const sent = await settlePriorTokens(db, issueKey);
      if (sent) {
        // A retry after the mail went out: the bookkeeping may not have been written yet.
        await recordLinkSent(db, { ...mail(sent.id), expiresAt: new Date(sent.expires_at) });
        return { tokenId: sent.id };
      }
      const tenant = await securityContacts(db, g.tenant_id);
      const contact = tenant.contacts[0];
      if (!contact) throw ApplicationFailure.nonRetryable('the tenant has no security contact on record', 'no_security_contact');
      const out = await mailLink(db, mailer, { mail, what: 'the confirmation link', to: [contact] }, async () => {
        const { tokenId, expiresAt, url } = await createLinkToken(db, config, {
          tenantId: g.tenant_id,
          accountId: g.account_id,
          caseId: g.id,
          workflowId: g.workflow_id,
          purpose: 'sso_bypass_confirm',
          issueKey,
          ttlSeconds: i.ttlSeconds,
        });
        const message = accessConfirmationEmail({
          tenantName: tenant.name,
          accountId: g.account_id,
          requestedBy: g.requested_by,
          justification: g.justification,
          ticketRef: g.ticket_ref,
          url,
          ttlMinutes: Math.round(i.ttlSeconds / 60),
        });
        return { tokenId, expiresAt, message };
      });
      return { tokenId: out.tokenId };
    },
  };
}

/** A grant's notice, audited under its step. */
const recordGrantNotice = (db: Db, g: GrantRow, n: { step: string; action: string; template: string; recipients: number; reason: string }) =>
  recordNotice(db, { tenantId: g.tenant_id, caseId: g.id, target: `account:${g.account_id}`, ...n });

function grantNotices(deps: ActivityDeps) {
  const { db } = deps;
  return {
    async notifyAccessApprovers(i: { grantId: string; step: string }): Promise<{ recipients: number }> {
      const g = await loadGrant(db, i.grantId);
      const template = 'access_approval_needed';
      const n = await mailGrant(deps, g, i.step, template, await principalsWithRole(db, g.tenant_id, 'break_glass_approver', [g.requested_by]));
      const reason = `emergency access needs ${ACCESS_REQUIRED_APPROVALS} break-glass approvers, neither the requester`;
      await recordGrantNotice(db, g, { step: i.step, action: 'approval.requested', template, recipients: n, reason });
      return { recipients: n };
    },

    async notifyAccessRequester(i: {
      grantId: string;
      step: string;
      template: 'decision_approved' | 'decision_denied' | 'decision_expired';
    }): Promise<{ recipients: number }> {
      const g = await loadGrant(db, i.grantId);
      const email = await principalEmail(db, g.requested_by);
      const n = await mailGrant(deps, g, i.step, i.template, email ? [email] : []);
      await recordGrantNotice(db, g, { step: i.step, action: 'requester.notified', template: i.template, recipients: n, reason: DECISION_REASONS[i.template] });
      return { recipients: n };
    },

    /** Escalations go to the tenant's security contacts. */
    async escalateAccess(i: {
      grantId: string;
      step: string;
      template: 'access_approval_escalation' | 'access_review_escalation';
    }): Promise<{ recipients: number }> {
      const g = await loadGrant(db, i.grantId);
      const n = await mailGrant(deps, g, i.step, i.template, (await securityContacts(db, g.tenant_id)).contacts);
      const reason = i.template === 'access_approval_escalation' ? 'no approver acted by half the approval deadline' : 'the post-action review is overdue';
      await recordGrantNotice(db, g, { step: i.step, action: 'access.escalated', template: i.template, recipients: n, reason });
      return { recipients: n };
    },

    async remindReviewers(i: { grantId: string; step: string; template: 'review_needed' | 'review_reminder' }): Promise<{ recipients: number }> {
      const g = await loadGrant(db, i.grantId);
      const exclude = [g.requested_by, ...(await deciders(db, g.id))];
      const template = i.template === 'review_needed' ? 'access_review_needed' : 'access_review_reminder';
      const n = await mailGrant(deps, g, i.step, template, await principalsWithRole(db, g.tenant_id, 'reviewer', exclude));
      await recordGrantNotice(db, g, {
        step: i.step,
        action: i.template === 'review_needed' ? 'review.requested' : 'review.reminded',
        template: i.template,
        recipients: n,
        reason: i.template === 'review_needed' ? 'every emergency access is reviewed by someone independent' : 'the post-action review is still open',
      });
      return { recipients: n };
    },
  };
}

function credentialLifecycle({ db, config, directoryFor }: Deps) {
  return {
    /**
     * Exactly one credential per grant, however often this runs (worker crash, retry). A remote
     * directory is then told to honour it until it expires (the pickup copy is still there: the
     * workflow allows the pickup only once this returns).
     */
    async issueAccessCredential(i: { grantId: string; ttlSeconds: number }): Promise<{ credentialId: string; expiresAt: string }> {
      const g = await loadGrant(db, i.grantId);
      const expiresAt = new Date(Date.now() + i.ttlSeconds * 1000);
      const out = await issueCredentialOnce(db, { grantId: g.id, tenantId: g.tenant_id, accountId: g.account_id, expiresAt }, () => {
        const cred = newAccessCredential(config.tokenKeys);
        // Sealed under the key the credential names; its id is stored with the copy for the pickup.
        const key = config.tokenKeys.find((k) => k.id === cred.keyId)!;
        return { keyId: cred.keyId, hash: cred.hash, sealed: sealSecret(key.key, `pickup:${g.id}`, cred.value) };
      });
      const directory = await directoryFor(g.tenant_id);
      if (directory.kind !== 'builtin') {
        const pickup = await pickupCopy(db, g.id);
        const credential = pickup && openSealedWith(config.tokenKeys, pickup.key_id, `pickup:${g.id}`, pickup.sealed);
        if (!credential) throw ApplicationFailure.nonRetryable('the credential copy is gone before the directory was told', 'credential_copy_missing');
        try {
          await directory.grantAccess(
            { tenantId: g.tenant_id, accountId: g.account_id },
            { grantId: g.id, credential, expiresAt: out.expiresAt },
            { idempotencyKey: `${g.id}:grant-access`, by: `access:${g.id}` },
          );
        } catch (err) {
          // Refused for good: the credential must not work anywhere, the engine's sign-in included.
          if (err instanceof ApplicationFailure && err.nonRetryable) await revokeCredential(db, g.id, 'directory_refused');
          throw err;
        }
      }
      return { credentialId: out.credentialId, expiresAt: out.expiresAt.toISOString() };
    },

    /** The credential stops working, its unfetched copy is destroyed, and its sessions end (the engine's and the directory's). */
    async revokeAccessCredential(i: { grantId: string; reason: string }): Promise<{ sessionsRevoked: number }> {
      const g = await loadGrant(db, i.grantId);
      await revokeCredential(db, g.id, i.reason);
      const engine = await revokeAccessSessions(db, g.id, `access ${i.reason}`);
      const directory = await directoryFor(g.tenant_id);
      const { revoked } = await directory.endAccess({ tenantId: g.tenant_id, accountId: g.account_id }, g.id, {
        idempotencyKey: `${g.id}:end-access`,
        by: `access:${g.id}`,
        reason: `access ${i.reason}`,
      });
      return { sessionsRevoked: engine + revoked };
    },

    /**
     * Rotates the target account's own credential: a new random password nobody knows (the
     * owner recovers through the normal path) and every session signed out. An account that has
     * no local password (SSO-managed) gets none: an SSO bypass never creates one.
     */
    async rotateTargetCredential(i: { grantId: string }): Promise<{ rotated: boolean; sessionsRevoked: number; note: string }> {
      const g = await loadGrant(db, i.grantId);
      const ref = { tenantId: g.tenant_id, accountId: g.account_id };
      const directory = await directoryFor(g.tenant_id);
      await requireAccount(directory, g.tenant_id, g.account_id);
      const { revoked } = await directory.revokeSessions(ref, {
        idempotencyKey: `${g.id}:rotate-sessions`,
        by: `rotation:${g.id}`,
        reason: `rotation after ${g.id}`,
      });
      const { rotated, note } = await directory.rotateCredential(ref, { idempotencyKey: `${g.id}:rotate`, by: `rotation:${g.id}` });
      return { rotated, sessionsRevoked: revoked, note };
    },
  };
}

export function createAccessActivities(all: Deps) {
  return {
    ...grantBookkeeping(all),
    ...contactConfirmation(all),
    ...grantNotices(all),
    ...credentialLifecycle(all),
  };
}
