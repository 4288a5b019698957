// Email over SMTP. Deliveries are deduplicated by key in Postgres so an activity retry never
// sends the same notice twice once it has gone out.
import crypto from 'node:crypto';
import nodemailer from 'nodemailer';
import { appendAuditTx } from './audit';
import type { Db } from './db';

export interface OutgoingMail {
  to: string[];
  subject: string;
  text: string;
  html?: string;
  /** Stable per delivery, so a sink or MTA can drop duplicates too. */
  messageId: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

export function createMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: mail.messageId });
    },
    close: () => transport.close(),
  };
}

export function messageIdFor(key: string): string {
  return `<${crypto.createHash('sha256').update(key).digest('hex').slice(0, 32)}@recovery.engine>`;
}

/** SMTP 5xx is permanent: retrying cannot help. */
export function isPermanentMailError(err: unknown): boolean {
  const code = (err as { responseCode?: number })?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/**
 * Sends a notice once per dedupe key. A transient failure (4xx, connection) throws a retryable
 * error for the activity to retry; a permanent refusal (5xx) is recorded (delivery row `failed`
 * plus an audit event) and returns `{ failed: true }`: retrying cannot help, and a notice must not
 * hold a recovery hostage. Error messages thrown here carry no server text (it may name the address).
 */
export async function sendOnce(
  db: Db,
  mailer: Mailer,
  d: { dedupeKey: string; tenantId: string; recoveryId: string | null; template: string } & Omit<OutgoingMail, 'messageId'>,
): Promise<{ sent: boolean; failed: boolean }> {
  await db
    .insertInto('email_deliveries')
    .values({ dedupe_key: d.dedupeKey, tenant_id: d.tenantId, recovery_id: d.recoveryId, template: d.template, recipients: d.to.length, status: 'pending' })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
  const row = await db.selectFrom('email_deliveries').select(['status']).where('dedupe_key', '=', d.dedupeKey).executeTakeFirstOrThrow();
  if (row.status === 'sent') return { sent: false, failed: false };
  if (row.status === 'failed') return { sent: false, failed: true };
  const messageId = messageIdFor(d.dedupeKey);
  try {
    await mailer.send({ to: d.to, subject: d.subject, text: d.text, html: d.html, messageId });
  } catch (err) {
    const error = String((err as Error).message).slice(0, 500);
    const code = (err as { responseCode?: number }).responseCode ?? null;
    if (!isPermanentMailError(err)) {
      await db.updateTable('email_deliveries').set({ status: 'retrying', error }).where('dedupe_key', '=', d.dedupeKey).execute();
      throw new MailDeferredError(code);
    }
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('email_deliveries').set({ status: 'failed', error }).where('dedupe_key', '=', d.dedupeKey).execute();
      await appendAuditTx(trx, {
        tenantId: d.tenantId,
        eventKey: `${d.dedupeKey}:delivery_failed`,
        actor: 'system',
        action: 'email.delivery_failed',
        target: `tenant:${d.tenantId}`,
        recoveryId: d.recoveryId,
        details: { template: d.template, recipients: d.to.length, smtpCode: code, error },
      });
    });
    return { sent: false, failed: true };
  }
  await db.updateTable('email_deliveries').set({ status: 'sent', message_id: messageId, sent_at: new Date(), error: null }).where('dedupe_key', '=', d.dedupeKey).execute();
  return { sent: true, failed: false };
}

/** A transient SMTP failure, safe to put in workflow history (no server text, no address). */
export class MailDeferredError extends Error {
  constructor(readonly smtpCode: number | null) {
    super(`SMTP ${smtpCode ?? 'connection'} error: delivery deferred`);
    this.name = 'MailDeferredError';
  }
}
