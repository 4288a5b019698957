// Mail with its delivery bookkeeping, for every activity that mails: notices are sent once per
// dedupe key; a single-use link is marked sent (token, delivery row, audit event in one
// transaction) or, when its send fails, invalidated and reported.
import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../store/db';
import { isPermanentMailError, MailDeferredError, messageIdFor, type Mailer, type OutgoingMail } from '../infra/mailer';
import { appendAudit, appendAuditTx } from '../store/audit';
import { claimNotice, failNotice, markNoticeRetrying, markNoticeSent, recordLinkDelivery } from '../store/deliveries';
import { insertToken, invalidateUndelivered, markTokenMailed, type NewTokenRow } from '../store/tokens';
import type { HmacKey } from '../infra/config';
import { newToken } from '../infra/secrets';

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
  const status = await claimNotice(db, {
    dedupeKey: d.dedupeKey,
    tenantId: d.tenantId,
    recoveryId: d.recoveryId,
    template: d.template,
    recipients: d.to.length,
  });
  if (status === 'sent') return { sent: false, failed: false };
  if (status === 'failed') return { sent: false, failed: true };
  const messageId = messageIdFor(d.dedupeKey);
  try {
    await mailer.send({ to: d.to, subject: d.subject, text: d.text, html: d.html, messageId });
  } catch (err) {
    const error = String((err as Error).message).slice(0, 500);
    const code = (err as { responseCode?: number }).responseCode ?? null;
    if (!isPermanentMailError(err)) {
      await markNoticeRetrying(db, d.dedupeKey, error);
      throw new MailDeferredError(code);
    }
    await failNotice(db, { ...d, recipients: d.to.length }, { smtpCode: code, error });
    return { sent: false, failed: true };
  }
  await markNoticeSent(db, d.dedupeKey, messageId);
  return { sent: true, failed: false };
}

/** A notice of a case's step: audited once per step, with its template, how many it went to and why. */
export interface NoticeRecord {
  tenantId: string;
  caseId: string;
  step: string;
  /** `account:<id>` or `tenant:<id>`: whose matter the notice is. */
  target: string;
  action: string;
  template: string;
  recipients: number;
  reason: string;
  details?: Record<string, unknown>;
}

/** Audits a notice (sent, or found to have no one to go to) under the step that sent it. */
export async function recordNotice(db: Db, n: NoticeRecord): Promise<void> {
  await appendAudit(db, {
    tenantId: n.tenantId,
    eventKey: `${n.caseId}:${n.step}`,
    actor: 'system',
    action: n.action,
    target: n.target,
    recoveryId: n.caseId,
    details: { template: n.template, recipients: n.recipients, reason: n.reason, ...n.details },
  });
}

/** What the bookkeeping of one mailed link needs; `target` names whom it went to (audit). */
export interface LinkMail {
  tokenId: string;
  tenantId: string;
  recoveryId: string;
  issueKey: string;
  purpose: string;
  recipients: number;
  target: string;
}

/**
 * Marks a link as sent, with its delivery row and audit event, in one transaction. Idempotent: an
 * issuing retry that finds the mail already gone calls it again to finish the bookkeeping.
 */
export async function recordLinkSent(db: Db, l: LinkMail & { action: 'link.sent' | 'link.reminder_sent'; expiresAt: Date }) {
  await db.transaction().execute(async (trx) => {
    await markTokenMailed(trx, l.tokenId);
    await recordLinkDelivery(trx, l, { status: 'sent', messageId: messageIdFor(l.tokenId), sentAt: new Date() });
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
export async function failLinkDelivery(db: Db, err: unknown, l: LinkMail & { what: string }): Promise<never> {
  const permanent = isPermanentMailError(err);
  const code = (err as { responseCode?: number }).responseCode ?? null;
  await invalidateUndelivered(db, l.tokenId, permanent ? 'delivery_failed' : 'delivery_deferred');
  if (!permanent) throw ApplicationFailure.retryable(`SMTP ${code ?? 'connection'} error: delivery deferred`, 'email_deferred');
  const error = String((err as Error).message).slice(0, 500);
  await db.transaction().execute(async (trx) => {
    await recordLinkDelivery(trx, l, { status: 'failed', error });
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

/**
 * Mails a fresh link or finishes an earlier attempt's bookkeeping: `sent` is an earlier token that
 * went out (see settlePriorTokens); otherwise `issue` creates the token and `compose` the mail.
 */
export async function mailLink(
  db: Db,
  mailer: Mailer,
  l: { mail: (tokenId: string) => LinkMail & { action: 'link.sent' | 'link.reminder_sent' }; what: string; to: string[] },
  issue: () => Promise<{ tokenId: string; expiresAt: Date; message: { subject: string; text: string; html?: string } }>,
): Promise<{ tokenId: string; expiresAt: Date }> {
  const { tokenId, expiresAt, message } = await issue();
  try {
    await mailer.send({ to: l.to, ...message, messageId: messageIdFor(tokenId) });
  } catch (err) {
    await failLinkDelivery(db, err, { ...l.mail(tokenId), what: l.what });
  }
  await recordLinkSent(db, { ...l.mail(tokenId), expiresAt });
  return { tokenId, expiresAt };
}

/**
 * A new single-use token for a case's link: only its HMAC is stored (by `insert`, a plain insert
 * unless the link replaces earlier ones); the value leaves this function inside the link's URL,
 * which goes into the mail and nowhere else.
 */
export async function createLinkToken(
  db: Db,
  config: { tokenKeys: readonly HmacKey[]; publicBaseUrl: string },
  t: { tenantId: string; accountId: string; caseId: string; workflowId: string; purpose: string; issueKey: string; ttlSeconds: number },
  insert: (row: NewTokenRow) => Promise<string> = (row) => insertToken(db, row),
): Promise<{ tokenId: string; expiresAt: Date; url: string }> {
  const token = newToken(config.tokenKeys);
  const expiresAt = new Date(Date.now() + t.ttlSeconds * 1000);
  const tokenId = await insert({
    tenantId: t.tenantId,
    accountId: t.accountId,
    recoveryId: t.caseId,
    workflowId: t.workflowId,
    purpose: t.purpose,
    issueKey: t.issueKey,
    keyId: token.keyId,
    tokenHash: token.hash,
    expiresAt,
  });
  return { tokenId, expiresAt, url: `${config.publicBaseUrl}/recover?tenant=${encodeURIComponent(t.tenantId)}#${token.value}` };
}
