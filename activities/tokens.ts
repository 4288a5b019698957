// Shared by every activity that mails a single-use link.
import { ApplicationFailure } from '@temporalio/activity';
import { appendAuditTx } from '../infra/audit';
import type { Transaction } from 'kysely';
import type { Database, Db } from '../infra/db';
import { isPermanentMailError, messageIdFor } from '../infra/mailer';

/**
 * Before (re-)issuing a link: returns the token of an earlier attempt that went out, i.e. it is
 * recorded as mailed, or it has been used, which proves it arrived although the attempt died
 * before recording the send. Otherwise invalidates every earlier unsent token. The row locks
 * make this atomic with a concurrent redemption: either the owner's click wins (and that token
 * is returned) or the supersede does (and the click gets link_invalid).
 */
export async function settlePriorTokens(db: Db, issueKey: string) {
  return db.transaction().execute(async (trx) => {
    const prior = await trx
      .selectFrom('one_time_tokens')
      .select(['id', 'expires_at', 'mail_sent_at', 'used_at'])
      .where('issue_key', '=', issueKey)
      .orderBy('created_at', 'desc')
      .forUpdate()
      .execute();
    const out = prior.find((t) => t.mail_sent_at !== null || t.used_at !== null);
    if (out) return out;
    await trx
      .updateTable('one_time_tokens')
      .set({ invalidated_at: new Date(), invalidated_reason: 'superseded_before_send' })
      .where('issue_key', '=', issueKey)
      .where('invalidated_at', 'is', null)
      .where('used_at', 'is', null)
      .execute();
    return null;
  });
}

/** What the bookkeeping of one mailed link needs; `target` names whom it went to (audit). */
interface LinkMail {
  tokenId: string;
  tenantId: string;
  recoveryId: string;
  issueKey: string;
  purpose: string;
  recipients: number;
  target: string;
}

/** The link's one `email_deliveries` row (keyed by its token: a retry writes nothing more). */
function recordDelivery(trx: Transaction<Database>, l: LinkMail, outcome: { status: 'sent'; message_id: string; sent_at: Date } | { status: 'failed'; error: string }) {
  return trx
    .insertInto('email_deliveries')
    .values({ dedupe_key: `token:${l.tokenId}`, tenant_id: l.tenantId, recovery_id: l.recoveryId, template: `link:${l.purpose}`, recipients: l.recipients, ...outcome })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
}

/**
 * Marks a link as sent, with its delivery row and audit event, in one transaction. Idempotent: an
 * issuing retry that finds the mail already gone calls it again to finish the bookkeeping.
 */
export async function recordLinkSent(db: Db, l: LinkMail & { action: 'link.sent' | 'link.reminder_sent'; expiresAt: Date }) {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('one_time_tokens').set({ mail_sent_at: new Date() }).where('id', '=', l.tokenId).where('mail_sent_at', 'is', null).execute();
    await recordDelivery(trx, l, { status: 'sent', message_id: messageIdFor(l.tokenId), sent_at: new Date() });
    await appendAuditTx(trx, {
      tenantId: l.tenantId,
      eventKey: `${l.issueKey}:issued`,
      actor: 'system',
      action: l.action,
      target: l.target,
      recoveryId: l.recoveryId,
      details: { tokenId: l.tokenId, purpose: l.purpose, recipients: l.recipients, expiresAt: l.expiresAt.toISOString() },
    });
  });
}

/**
 * After a link's send failed: invalidates its token, then throws what the workflow sees. A
 * transient failure (4xx, connection) is retryable, and the retry issues a fresh token. A permanent
 * refusal (5xx) is final: a `failed` delivery row and a `link.delivery_failed` audit event record it
 * where ops and auditors look, and the activity fails non-retryably (`email_rejected`). Messages
 * thrown here enter workflow history in clear, so they carry the SMTP code only: the server's
 * text (which may name the address) stays in Postgres.
 */
export async function failLinkDelivery(
  db: Db,
  err: unknown,
  l: LinkMail & { what: string },
): Promise<never> {
  const permanent = isPermanentMailError(err);
  const code = (err as { responseCode?: number }).responseCode ?? null;
  await db.updateTable('one_time_tokens').set({ invalidated_at: new Date(), invalidated_reason: permanent ? 'delivery_failed' : 'delivery_deferred' }).where('id', '=', l.tokenId).execute();
  if (!permanent) throw ApplicationFailure.retryable(`SMTP ${code ?? 'connection'} error: delivery deferred`, 'email_deferred');
  const error = String((err as Error).message).slice(0, 500);
  await db.transaction().execute(async (trx) => {
    await recordDelivery(trx, l, { status: 'failed', error });
    await appendAuditTx(trx, {
      tenantId: l.tenantId,
      eventKey: `${l.issueKey}:delivery_failed`,
      actor: 'system',
      action: 'link.delivery_failed',
      target: l.target,
      recoveryId: l.recoveryId,
      details: { tokenId: l.tokenId, purpose: l.purpose, recipients: l.recipients, smtpCode: code, error },
    });
  });
  throw ApplicationFailure.nonRetryable(`${l.what} could not be delivered (SMTP ${code})`, 'email_rejected');
}
