// Email over SMTP: the transport, stable message ids, and how SMTP failures are classified. The
// delivery bookkeeping (send once per key) is the activities' (activities/mail.ts).
import crypto from 'node:crypto';
import nodemailer from 'nodemailer';

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

/** A transient SMTP failure, safe to put in workflow history (no server text, no address). */
export class MailDeferredError extends Error {
  constructor(readonly smtpCode: number | null) {
    super(`SMTP ${smtpCode ?? 'connection'} error: delivery deferred`);
    this.name = 'MailDeferredError';
  }
}
