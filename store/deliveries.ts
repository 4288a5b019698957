// Email deliveries: one row per notice (keyed by its dedupe key) or per mailed link (keyed by its
// token), so a retry never sends twice what went out, and ops can count what failed. The only
// owner of `email_deliveries`.
import type { Transaction } from 'kysely';
import type { Database, Db } from './db';
import { appendAuditTx } from './audit';

type Trx = Transaction<Database>;

export type DeliveryOutcome = { status: 'sent'; messageId: string; sentAt: Date } | { status: 'failed'; error: string };

/** A mailed link's one row: a retry writes nothing more. */
export async function recordLinkDelivery(
  trx: Trx,
  d: { tokenId: string; tenantId: string; recoveryId: string; purpose: string; recipients: number },
  outcome: DeliveryOutcome,
) {
  const values =
    outcome.status === 'sent' ? { status: 'sent', message_id: outcome.messageId, sent_at: outcome.sentAt } : { status: 'failed', error: outcome.error };
  await trx
    .insertInto('email_deliveries')
    .values({
      dedupe_key: `token:${d.tokenId}`,
      tenant_id: d.tenantId,
      recovery_id: d.recoveryId,
      template: `link:${d.purpose}`,
      recipients: d.recipients,
      ...values,
    })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
}

/** Takes the notice's row (pending if new) and says where it stands. */
export async function claimNotice(
  db: Db,
  d: { dedupeKey: string; tenantId: string; recoveryId: string | null; template: string; recipients: number },
): Promise<'pending' | 'retrying' | 'sent' | 'failed'> {
  await db
    .insertInto('email_deliveries')
    .values({ dedupe_key: d.dedupeKey, tenant_id: d.tenantId, recovery_id: d.recoveryId, template: d.template, recipients: d.recipients, status: 'pending' })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
  const row = await db.selectFrom('email_deliveries').select(['status']).where('dedupe_key', '=', d.dedupeKey).executeTakeFirstOrThrow();
  return row.status as 'pending' | 'retrying' | 'sent' | 'failed';
}

export async function markNoticeRetrying(db: Db, dedupeKey: string, error: string): Promise<void> {
  await db.updateTable('email_deliveries').set({ status: 'retrying', error }).where('dedupe_key', '=', dedupeKey).execute();
}

async function markNoticeFailed(trx: Trx, dedupeKey: string, error: string): Promise<void> {
  await trx.updateTable('email_deliveries').set({ status: 'failed', error }).where('dedupe_key', '=', dedupeKey).execute();
}

/** A notice the mail server refused for good: its row marked `failed` with its audit event, in one transaction. */
export async function failNotice(
  db: Db,
  d: { dedupeKey: string; tenantId: string; recoveryId?: string | null; template: string; recipients: number },
  failure: { smtpCode: number | null; error: string },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await markNoticeFailed(trx, d.dedupeKey, failure.error);
    await appendAuditTx(trx, {
      tenantId: d.tenantId,
      eventKey: `${d.dedupeKey}:delivery_failed`,
      actor: 'system',
      action: 'email.delivery_failed',
      target: `tenant:${d.tenantId}`,
      recoveryId: d.recoveryId ?? null,
      details: { template: d.template, recipients: d.recipients, reason: 'the mail server refused the notice for good', ...failure },
    });
  });
}

export async function markNoticeSent(db: Db, dedupeKey: string, messageId: string): Promise<void> {
  await db
    .updateTable('email_deliveries')
    .set({ status: 'sent', message_id: messageId, sent_at: new Date(), error: null })
    .where('dedupe_key', '=', dedupeKey)
    .execute();
}

/** Deliveries by template and outcome, for the metrics gauge. */
export function deliveryCounts(db: Db) {
  return db
    .selectFrom('email_deliveries')
    .select(['template', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['template', 'status'])
    .execute();
}

/** A case's notices and mailed links as evidence: template, how many recipients, outcome and times. */
export function caseDeliveries(db: Db, caseId: string) {
  return db
    .selectFrom('email_deliveries')
    .select(['template', 'recipients', 'status', 'error', 'created_at', 'sent_at'])
    .where('recovery_id', '=', caseId)
    .orderBy('created_at')
    .execute();
}
