// Reading the mails an engine sent to the dev sink: the link tokens in them, and the link mails
// of one address.
import type { MailSink, SinkMessage } from '../dev/mail-sink';

/** A link token in an emailed URL's fragment: `#<kid>.<43 base64url characters>`. */
export const TOKEN_RE = /#([A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{43})/g;

/** Every link token in a mail, in order. */
export function tokensIn(mail: SinkMessage): string[] {
  return [...mail.text.matchAll(TOKEN_RE)].map((x) => x[1]);
}

/** The first link token in a mail; throws when there is none. */
export function tokenFrom(mail: SinkMessage): string {
  const token = tokensIn(mail)[0];
  if (!token) throw new Error(`no link in mail "${mail.subject}"`);
  return token;
}

/** A password-reset link mail to this address. */
export const isResetLinkTo = (address: string) => (m: SinkMessage) => m.to.includes(address) && m.subject.startsWith('Reset your');

/** The password-reset link mails the sink holds for an address, oldest first. */
export function resetLinkMails(sink: MailSink, address: string): SinkMessage[] {
  return sink.list().filter(isResetLinkTo(address));
}
