// Email bodies. Plain and short: a recovery email that looks like marketing gets ignored or
// phished. Links come only from PUBLIC_BASE_URL, never from a request's Host header.
import type { Reason, RecoveryKind } from '../domain/types';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function linkEmail(purpose: RecoveryKind, v: { tenantName: string; url: string; ttlMinutes: number }) {
  const what = purpose === 'password_reset' ? 'reset your password' : 'set up your sign-in factors again';
  const subject = purpose === 'password_reset' ? `Reset your ${v.tenantName} password` : `Re-enrol your ${v.tenantName} sign-in factors`;
  const text =
    `A recovery of your ${v.tenantName} account was approved. Use this link to ${what}:\n\n${v.url}\n\n` +
    `The link works once and expires in ${v.ttlMinutes} minutes. If you did not ask for this, ignore this email ` +
    `and tell your administrator.\n`;
  const html =
    `<p>A recovery of your ${esc(v.tenantName)} account was approved. Use this link to ${what}:</p>` +
    `<p><a href="${esc(v.url)}">${esc(v.url)}</a></p>` +
    `<p>The link works once and expires in ${v.ttlMinutes} minutes. If you did not ask for this, ignore this email and tell your administrator.</p>`;
  return { subject, text, html };
}

export type NoticeTemplate = 'password_changed' | 'security_alert';

export function noticeEmail(t: NoticeTemplate, v: { tenantName: string; recoveryId: string; reasons: Reason[] }) {
  if (t === 'password_changed') {
    const text =
      `The password of your ${v.tenantName} account was changed through account recovery ${v.recoveryId}. ` +
      `Every session was signed out.\n\nIf this was not you, contact your administrator now.\n`;
    return { subject: `Your ${v.tenantName} password was changed`, text, html: `<p>${esc(text)}</p>` };
  }
  const lines = v.reasons.map((r) => `- ${r.code}: ${r.detail}`).join('\n');
  const text = `A high-risk recovery request (${v.recoveryId}) in ${v.tenantName} was refused.\n\nReasons:\n${lines}\n`;
  return { subject: `[security] High-risk recovery refused in ${v.tenantName}`, text, html: `<pre>${esc(text)}</pre>` };
}
