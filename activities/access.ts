// Side effects of emergency access. The credential is created here, stored as an HMAC for
// checking and sealed for its single pickup; neither form ever goes back to the workflow.
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { runIdOnce } from './run';
import { sql } from 'kysely';
import { appendAudit, appendAuditTx } from '../infra/audit';
import { hashPassword, revokeAllSessions, findAccount } from '../infra/directory';
import { messageIdFor, sendOnce } from '../infra/mailer';
import { ACCESS_TERMINAL_STATES } from '../domain/access';
import { hmacHex, newToken, sealSecret } from '../infra/secrets';
import { accessConfirmationEmail, accessEmail, type AccessTemplate } from '../infra/templates';
import type { ActivityDeps } from './index';
import { failLinkDelivery, recordLinkSent, settlePriorTokens } from './tokens';

export const ACCESS_SESSION_SOURCE = (grantId: string) => `access:${grantId}`;

/** `bgc_<kid>.<base64url>`: 256 bits, the key id tells which HMAC key checks it. */
export function newAccessCredential(keys: ActivityDeps['config']['tokenKeys']): { value: string; keyId: string; hash: string } {
  const key = keys[0];
  const value = `bgc_${key.id}.${crypto.randomBytes(32).toString('base64url')}`;
  return { value, keyId: key.id, hash: hmacHex(key.key, value) };
}

export function createAccessActivities({ db, mailer, config }: ActivityDeps) {
  async function loadGrant(grantId: string) {
    const g = await db.selectFrom('access_grants').selectAll().where('id', '=', grantId).executeTakeFirst();
    if (!g) throw ApplicationFailure.nonRetryable(`grant ${grantId} not found`, 'grant_not_found');
    return g;
  }

  async function principalsWithRole(tenantId: string, role: string, exclude: string[]): Promise<string[]> {
    const rows = await db
      .selectFrom('principals')
      .select(['id', 'email'])
      .where('disabled_at', 'is', null)
      .where('email', 'is not', null)
      .where(sql<boolean>`roles @> array[${role}]::text[]`)
      .where(sql<boolean>`(tenant_scope @> array[${tenantId}]::text[] or tenant_scope @> array['*']::text[])`)
      .execute();
    return rows.filter((r) => !exclude.includes(r.id)).map((r) => r.email!);
  }

  async function mail(g: Awaited<ReturnType<typeof loadGrant>>, step: string, template: AccessTemplate, to: string[]) {
    if (!to.length) return 0;
    const tenant = await db.selectFrom('tenants').select('name').where('id', '=', g.tenant_id).executeTakeFirstOrThrow();
    const m = accessEmail(template, { kind: g.kind, grantId: g.id, accountId: g.account_id, tenantName: tenant.name, justification: g.justification, ticketRef: g.ticket_ref, requestedBy: g.requested_by, apiUrl: config.publicBaseUrl });
    await sendOnce(db, mailer, { dedupeKey: `${g.id}:${step}`, tenantId: g.tenant_id, recoveryId: g.id, template, to, ...m });
    return to.length;
  }

  async function deciders(grantId: string): Promise<string[]> {
    const rows = await db.selectFrom('audit_events').select('actor').where('recovery_id', '=', grantId).where('action', 'in', ['approval.granted', 'approval.denied']).execute();
    return rows.map((r) => r.actor.replace(/^principal:/, ''));
  }

  return {
    /** Moves the grant's read model and audits the step, atomically and once. */
    async recordGrantTransition(i: { grantId: string; tenantId: string; step: string; state: string; action: string; actor: string; details: Record<string, unknown> }) {
      const terminal = (ACCESS_TERMINAL_STATES as readonly string[]).includes(i.state);
      await db.transaction().execute(async (trx) => {
        const g = await trx.selectFrom('access_grants').selectAll().where('id', '=', i.grantId).forUpdate().executeTakeFirst();
        if (!g) throw ApplicationFailure.nonRetryable(`grant ${i.grantId} not found`, 'grant_not_found');
        await trx
          .updateTable('access_grants')
          .set({ state: i.state, run_id: runIdOnce(), updated_at: new Date(), ...(terminal ? { ended_at: sql`coalesce(ended_at, now())` } : {}) })
          .where('id', '=', i.grantId)
          .execute();
        await appendAuditTx(trx, {
          tenantId: i.tenantId,
          eventKey: `${i.grantId}:${i.step}`,
          actor: i.actor,
          action: i.action,
          target: `account:${g.account_id}`,
          recoveryId: i.grantId,
          details: { kind: g.kind, state: i.state, justification: g.justification, ticketRef: g.ticket_ref, ...i.details },
        });
      });
    },

    /** SSO bypass: a Tier 3 link to the tenant's security contact on record, never to anyone else. */
    async issueContactConfirmation(i: { grantId: string; step: string; ttlSeconds: number }): Promise<{ tokenId: string }> {
      const g = await loadGrant(i.grantId);
      const issueKey = `${g.id}:${i.step}`;
      const linkMail = (tokenId: string) => ({
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
        await recordLinkSent(db, { ...linkMail(sent.id), expiresAt: new Date(sent.expires_at) });
        return { tokenId: sent.id };
      }
      const tenant = await db.selectFrom('tenants').select(['name', 'security_contacts']).where('id', '=', g.tenant_id).executeTakeFirstOrThrow();
      const contact = (tenant.security_contacts as string[])[0];
      if (!contact) throw ApplicationFailure.nonRetryable('the tenant has no security contact on record', 'no_security_contact');
      const token = newToken(config.tokenKeys);
      const expiresAt = new Date(Date.now() + i.ttlSeconds * 1000);
      const row = await db
        .insertInto('one_time_tokens')
        .values({ tenant_id: g.tenant_id, account_id: g.account_id, recovery_id: g.id, workflow_id: g.workflow_id, purpose: 'sso_bypass_confirm', issue_key: issueKey, key_id: token.keyId, token_hash: token.hash, expires_at: expiresAt })
        .returning('id')
        .executeTakeFirstOrThrow();
      const url = `${config.publicBaseUrl}/recover?tenant=${encodeURIComponent(g.tenant_id)}#${token.value}`;
      const m = accessConfirmationEmail({ tenantName: tenant.name, accountId: g.account_id, requestedBy: g.requested_by, justification: g.justification, ticketRef: g.ticket_ref, url, ttlMinutes: Math.round(i.ttlSeconds / 60) });
      try {
        await mailer.send({ to: [contact], ...m, messageId: messageIdFor(row.id) });
      } catch (err) {
        await failLinkDelivery(db, err, { ...linkMail(row.id), what: 'the confirmation link' });
      }
      await recordLinkSent(db, { ...linkMail(row.id), expiresAt });
      return { tokenId: row.id };
    },

    async notifyAccessApprovers(i: { grantId: string; step: string }): Promise<{ recipients: number }> {
      const g = await loadGrant(i.grantId);
      return { recipients: await mail(g, i.step, 'access_approval_needed', await principalsWithRole(g.tenant_id, 'break_glass_approver', [g.requested_by])) };
    },

    async notifyAccessRequester(i: { grantId: string; step: string; template: 'decision_approved' | 'decision_denied' | 'decision_expired' }): Promise<{ recipients: number }> {
      const g = await loadGrant(i.grantId);
      const p = await db.selectFrom('principals').select('email').where('id', '=', g.requested_by).executeTakeFirst();
      return { recipients: await mail(g, i.step, i.template, p?.email ? [p.email] : []) };
    },

    /** Escalations go to the tenant's security contacts. */
    async escalateAccess(i: { grantId: string; step: string; template: 'access_approval_escalation' | 'access_review_escalation' }): Promise<{ recipients: number }> {
      const g = await loadGrant(i.grantId);
      const tenant = await db.selectFrom('tenants').select('security_contacts').where('id', '=', g.tenant_id).executeTakeFirstOrThrow();
      const n = await mail(g, i.step, i.template, tenant.security_contacts as string[]);
      await appendAudit(db, { tenantId: g.tenant_id, eventKey: `${g.id}:${i.step}`, actor: 'system', action: 'access.escalated', target: `account:${g.account_id}`, recoveryId: g.id, details: { template: i.template, recipients: n } });
      return { recipients: n };
    },

    async remindReviewers(i: { grantId: string; step: string; template: 'review_needed' | 'review_reminder' }): Promise<{ recipients: number }> {
      const g = await loadGrant(i.grantId);
      const exclude = [g.requested_by, ...(await deciders(g.id))];
      const n = await mail(g, i.step, i.template === 'review_needed' ? 'access_review_needed' : 'access_review_reminder', await principalsWithRole(g.tenant_id, 'reviewer', exclude));
      await appendAudit(db, { tenantId: g.tenant_id, eventKey: `${g.id}:${i.step}`, actor: 'system', action: i.template === 'review_needed' ? 'review.requested' : 'review.reminded', target: `account:${g.account_id}`, recoveryId: g.id, details: { recipients: n } });
      return { recipients: n };
    },

    /** Exactly one credential per grant, however often this runs (worker crash, retry). */
    async issueAccessCredential(i: { grantId: string; ttlSeconds: number }): Promise<{ credentialId: string; expiresAt: string }> {
      const g = await loadGrant(i.grantId);
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext(${`grant:${g.id}`}))`.execute(trx);
        const existing = await trx.selectFrom('access_credentials').select(['id', 'expires_at']).where('grant_id', '=', g.id).executeTakeFirst();
        if (existing) return { credentialId: existing.id, expiresAt: new Date(existing.expires_at).toISOString() };
        const cred = newAccessCredential(config.tokenKeys);
        const expiresAt = new Date(Date.now() + i.ttlSeconds * 1000);
        const row = await trx
          .insertInto('access_credentials')
          .values({ grant_id: g.id, tenant_id: g.tenant_id, account_id: g.account_id, key_id: cred.keyId, credential_hash: cred.hash, expires_at: expiresAt })
          .returning('id')
          .executeTakeFirstOrThrow();
        await trx.insertInto('credential_pickups').values({ grant_id: g.id, sealed: sealSecret(config.tokenKeys[0].key, `pickup:${g.id}`, cred.value) }).execute();
        return { credentialId: row.id, expiresAt: expiresAt.toISOString() };
      });
    },

    /** The credential stops working, its unfetched copy is destroyed, and its sessions end. */
    async revokeAccessCredential(i: { grantId: string; reason: string }): Promise<{ sessionsRevoked: number }> {
      const g = await loadGrant(i.grantId);
      return db.transaction().execute(async (trx) => {
        await trx.updateTable('access_credentials').set({ revoked_at: new Date(), revoke_reason: i.reason }).where('grant_id', '=', g.id).where('revoked_at', 'is', null).execute();
        await trx.deleteFrom('credential_pickups').where('grant_id', '=', g.id).execute();
        const r = await trx
          .updateTable('sessions')
          .set({ revoked_at: new Date(), revoke_reason: `access ${i.reason}` })
          .where('source', '=', ACCESS_SESSION_SOURCE(g.id))
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        return { sessionsRevoked: Number(r.numUpdatedRows) };
      });
    },

    /**
     * Rotates the target account's own credential: a new random password nobody knows (the
     * owner recovers through the normal path) and every session signed out. An account that has
     * no local password (SSO-managed) gets none: an SSO bypass never creates one.
     */
    async rotateTargetCredential(i: { grantId: string }): Promise<{ rotated: boolean; sessionsRevoked: number; note: string }> {
      const g = await loadGrant(i.grantId);
      const acct = await findAccount(db, g.tenant_id, g.account_id);
      if (!acct) throw ApplicationFailure.nonRetryable('account not found', 'account_not_found');
      const existing = await db.selectFrom('password_credentials').select(['changed_by']).where('account_id', '=', acct.id).executeTakeFirst();
      const sessionsRevoked = await revokeAllSessions(db, acct.id, `rotation after ${g.id}`);
      if (!existing) return { rotated: false, sessionsRevoked, note: 'no local credential to rotate; none was created' };
      if (existing.changed_by === `rotation:${g.id}`) return { rotated: true, sessionsRevoked, note: 'already rotated' };
      const unknown = await hashPassword(crypto.randomBytes(32).toString('base64url'));
      await db.updateTable('password_credentials').set({ password_hash: unknown, changed_at: new Date(), changed_by: `rotation:${g.id}` }).where('account_id', '=', acct.id).execute();
      return { rotated: true, sessionsRevoked, note: 'the local credential was replaced by a random one' };
    },
  };
}
