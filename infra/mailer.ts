// Email over SMTP. Deliveries are deduplicated by key in Postgres so an activity retry never
// sends the same notice twice once it has gone out.
import crypto from 'node:crypto';
import nodemailer from 'nodemailer';
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

export async function sendOnce(
  db: Db,
  mailer: Mailer,
  d: { dedupeKey: string; tenantId: string; recoveryId: string | null; template: string } & Omit<OutgoingMail, 'messageId'>,
): Promise<{ sent: boolean }> {
  await db
    .insertInto('email_deliveries')
    .values({ dedupe_key: d.dedupeKey, tenant_id: d.tenantId, recovery_id: d.recoveryId, template: d.template, recipients: d.to.length, status: 'pending' })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
  const row = await db.selectFrom('email_deliveries').select(['status']).where('dedupe_key', '=', d.dedupeKey).executeTakeFirstOrThrow();
  if (row.status === 'sent') return { sent: false };
  const messageId = messageIdFor(d.dedupeKey);
  try {
    await mailer.send({ to: d.to, subject: d.subject, text: d.text, html: d.html, messageId });
  } catch (err) {
    await db
      .updateTable('email_deliveries')
      .set({ status: isPermanentMailError(err) ? 'failed' : 'retrying', error: String((err as Error).message).slice(0, 500) })
      .where('dedupe_key', '=', d.dedupeKey)
      .execute();
    throw err;
  }
  await db.updateTable('email_deliveries').set({ status: 'sent', message_id: messageId, sent_at: new Date(), error: null }).where('dedupe_key', '=', d.dedupeKey).execute();
  return { sent: true };
}
