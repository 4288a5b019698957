// Email bodies. Plain and short: a recovery email that looks like marketing gets ignored or
// phished. Links come only from PUBLIC_BASE_URL, never from a request's Host header.
import type { LinkPurpose, NoticeTemplate } from '../contracts/activities';
import { oneLine } from '../domain/text';
import type { Reason } from '../domain/types';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface Mail {
  subject: string;
  text: string;
  html: string;
}

/**
 * Every value interpolated into a mail, made one safe line (defence in depth: the API refuses such
 * characters, but data stored before that rule, or written past the API, may hold them): string
 * fields, string lists and reasons. Line breaks in a mail come only from the templates themselves.
 */
function clean<T extends object>(v: T): T {
  const one = (x: unknown): unknown =>
    typeof x === 'string'
      ? oneLine(x)
      : Array.isArray(x)
        ? x.map(one)
        : x && typeof x === 'object'
          ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, one(y)]))
          : x;
  return one(v) as T;
}

function mail(rawSubject: string, paragraphs: string[], url?: string): Mail {
  const subject = oneLine(rawSubject);
  const text = paragraphs.join('\n\n').replace('{link}', url ?? '') + '\n';
  const html = paragraphs.map((p) => (p === '{link}' && url ? `<p><a href="${esc(url)}">${esc(url)}</a></p>` : `<p>${esc(p)}</p>`)).join('');
  return { subject, text, html };
}

export function linkEmail(purpose: LinkPurpose, raw: { tenantName: string; url: string; ttlMinutes: number; waitUntil?: string; reminder?: boolean }): Mail {
  const v = clean(raw);
  const expiry = `The link works once and expires in ${v.ttlMinutes} minutes.`;
  const notMe = 'If you did not ask for this, ignore this email and tell your administrator.';
  switch (purpose) {
    case 'password_reset':
      return mail(
        `Reset your ${v.tenantName} password`,
        [`A recovery of your ${v.tenantName} account was approved. Use this link to reset your password:`, '{link}', expiry, notMe],
        v.url,
      );
    case 'mfa_enrolment':
      return mail(
        `Enrol a new sign-in factor for ${v.tenantName}`,
        [`The sign-in factors of your ${v.tenantName} account were reset. Use this link to enrol a new authenticator:`, '{link}', expiry, notMe],
        v.url,
      );
    case 'verify_possession':
      return mail(
        `Confirm your ${v.tenantName} account recovery`,
        [`Someone is recovering your ${v.tenantName} account with our support team. If it is you, confirm with this link:`, '{link}', expiry, notMe],
        v.url,
      );
    case 'cancel':
      return mail(
        v.reminder ? `Reminder: a change to your ${v.tenantName} account takes effect soon` : `A change to your ${v.tenantName} account is pending`,
        [
          `A recovery of your ${v.tenantName} account was approved and takes effect at ${v.waitUntil ?? 'the end of the waiting period'} unless you stop it.`,
          'If this was not you, use this link to cancel it now. Your security team will be told:',
          '{link}',
          'If it was you, there is nothing to do.',
        ],
        v.url,
      );
  }
}

export function noticeEmail(
  t: NoticeTemplate,
  raw: { tenantName: string; recoveryId: string; kind?: string; accountId?: string; reasons: Reason[]; approveBy?: string; apiUrl?: string },
): Mail {
  const v = clean(raw);
  const what = `${v.kind ?? 'recovery'} ${v.recoveryId}${v.accountId ? ` (account ${v.accountId})` : ''}`;
  const reasons = v.reasons.map((r) => `- ${r.code}: ${r.detail}`).join('\n');
  switch (t) {
    case 'password_changed':
      return mail(`Your ${v.tenantName} password was changed`, [
        `The password of your ${v.tenantName} account was changed through account recovery ${v.recoveryId}. Every session was signed out.`,
        'If this was not you, contact your administrator now.',
      ]);
    case 'mfa_reset':
      return mail(`Your ${v.tenantName} sign-in factors were reset`, [
        `The sign-in factors of your ${v.tenantName} account were removed through account recovery ${v.recoveryId}. Every session was signed out, and you must enrol a new factor at your next sign-in.`,
        'If this was not you, contact your administrator now.',
      ]);
    case 'security_alert':
      return mail(`[security] High-risk recovery refused in ${v.tenantName}`, [
        `A high-risk recovery request (${what}) in ${v.tenantName} was refused.`,
        `Reasons:\n${reasons}`,
      ]);
    case 'recovery_cancelled':
      return mail(`[security] Recovery cancelled in ${v.tenantName}`, [
        `Recovery ${what} in ${v.tenantName} was cancelled.`,
        `Reasons:\n${reasons}`,
        'If the account owner cancelled it, someone else may have asked for it: review the request.',
      ]);
    case 'approval_needed':
      return mail(`[approval] ${what} in ${v.tenantName} needs your decision`, [
        `A ${v.kind ?? 'recovery'} in ${v.tenantName} needs approval by ${v.approveBy ?? 'its deadline'}.`,
        `Review it and decide: POST ${v.apiUrl ?? ''}/v1/recoveries/${v.recoveryId}/approvals`,
      ]);
    case 'approval_reminder':
      return mail(`[approval reminder] ${what} in ${v.tenantName} expires soon`, [
        `A ${v.kind ?? 'recovery'} in ${v.tenantName} still needs approval; it expires at ${v.approveBy ?? 'its deadline'}.`,
        `Decide: POST ${v.apiUrl ?? ''}/v1/recoveries/${v.recoveryId}/approvals`,
      ]);
    case 'decision_approved':
      return mail(`Approved: ${what}`, [`The ${v.kind ?? 'recovery'} you requested in ${v.tenantName} has the approvals it needs.`]);
    case 'decision_denied':
      return mail(`Denied: ${what}`, [`The ${v.kind ?? 'recovery'} you requested in ${v.tenantName} was denied and has ended.`]);
    case 'decision_expired':
      return mail(`Expired: ${what}`, [`The ${v.kind ?? 'recovery'} you requested in ${v.tenantName} did not get its approvals in time and has ended.`]);
  }
}

export type AccessTemplate =
  | 'access_approval_needed'
  | 'access_approval_escalation'
  | 'access_review_needed'
  | 'access_review_reminder'
  | 'access_review_escalation'
  | 'decision_approved'
  | 'decision_denied'
  | 'decision_expired';

/** A grant as its emails describe it. */
export interface AccessMailFacts {
  kind: string;
  grantId: string;
  accountId: string;
  tenantName: string;
  justification: string;
  ticketRef: string;
  requestedBy: string;
  apiUrl: string;
}

/** Emergency-access notices: the whole request in the body, so a reader can judge it from the email. */
export function accessEmail(t: AccessTemplate, raw: AccessMailFacts): Mail {
  const v = clean(raw);
  const what = `${v.kind === 'sso_bypass' ? 'SSO bypass' : 'break-glass access'} ${v.grantId} to ${v.accountId} in ${v.tenantName}`;
  const subjects: Record<AccessTemplate, string> = {
    access_approval_needed: `[break-glass] ${what} needs two approvals`,
    access_approval_escalation: `[security] No one has acted on ${what}`,
    access_review_needed: `[review] ${what} needs a post-action review`,
    access_review_reminder: `[review reminder] ${what} still needs its review`,
    access_review_escalation: `[security] ${what} has gone 24 h without review`,
    decision_approved: `Approved: ${what}`,
    decision_denied: `Denied: ${what}`,
    decision_expired: `Expired: ${what}`,
  };
  const pickup = t === 'decision_approved' ? `Pick the credential up once: POST ${v.apiUrl}/v1/break-glass/${v.grantId}/credential` : '';
  const text = `${subjects[t]}.\n\nJustification: ${v.justification}\nTicket: ${v.ticketRef}\nRequested by: ${v.requestedBy}\n${pickup}\nDetails: GET ${v.apiUrl}/v1/break-glass/${v.grantId}\n`;
  return { subject: oneLine(subjects[t]), text, html: `<pre>${text.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)}</pre>` };
}

/** SSO bypass: the tenant's security contact confirms the request (plain text only). */
export function accessConfirmationEmail(raw: Omit<AccessMailFacts, 'kind' | 'grantId' | 'apiUrl'> & { url: string; ttlMinutes: number }): Omit<Mail, 'html'> {
  const v = clean(raw);
  const text =
    `Your organisation's identity provider is reported down, and ${v.requestedBy} asked for temporary SSO-bypass access for ${v.accountId} in ${v.tenantName}.\n\n` +
    `Justification: ${v.justification}\nTicket: ${v.ticketRef}\n\nIf your organisation asked for this, confirm with this link (it works once and expires in ${v.ttlMinutes} minutes):\n\n${v.url}\n\n` +
    'If not, ignore it: nothing happens without your confirmation.\n';
  return { subject: oneLine(`Confirm SSO-bypass access for ${v.tenantName}`), text };
}

/** A principal's binding to its person: the holder confirms the address from the mailbox itself. */
export function personVerificationEmail(raw: { principalId: string; name: string; roles: string[]; createdBy: string; url: string; ttlHours: number }): Mail {
  const v = clean(raw);
  return mail(
    'Confirm your email address for your recovery-engine API key',
    [
      `An API key "${v.name}" (${v.principalId}, roles: ${v.roles.join(', ')}) was issued to this address by ${v.createdBy}.`,
      'If you hold this key, confirm with this link. Until you do, the key cannot approve, deny or review anything:',
      '{link}',
      `The link works once and expires in ${v.ttlHours} hours. If you do not hold this key, ignore this email and tell your security team.`,
    ],
    v.url,
  );
}

/** Sign-in to the engine's pages (decoded histories in the Temporal Web UI), asked for on /signin. */
export function consoleSigninEmail(raw: { principalId: string; name: string; url: string; ttlMinutes: number }): Mail {
  const v = clean(raw);
  return mail(
    'Your sign-in link for the recovery engine',
    [
      `Someone asked to sign in to the recovery engine as "${v.name}" (${v.principalId}) with this address.`,
      'If it was you, open this link and press the button on the page:',
      '{link}',
      `The link works once and expires in ${v.ttlMinutes} minutes. If it was not you, ignore this email: nothing happens without the link.`,
    ],
    v.url,
  );
}

/** The tenant's security contacts see every grant or change of a role that decides or reviews. */
export function approverChangeEmail(raw: {
  tenantName: string;
  change: 'created' | 'key_rotated' | 'disabled';
  principalId: string;
  name: string;
  email: string | null;
  roles: string[];
  tenantScope: string[];
  actor: string;
}): Mail {
  const v = clean(raw);
  const what = { created: 'was created', key_rotated: 'had its API key rotated', disabled: 'was disabled' }[v.change];
  return mail(`[security] A principal with an approver role ${what} (${v.tenantName})`, [
    `The principal "${v.name}" (${v.principalId}) ${what} by ${v.actor}.`,
    `Roles: ${v.roles.join(', ')}\nTenant scope: ${v.tenantScope.join(', ')}\nEmail: ${v.email ?? 'none'}`,
    'Its holders can approve, deny or review recoveries and emergency access in your tenant. If this change is unexpected, tell your administrator now.',
  ]);
}

/** To every address an account had before an admin change and has after it. */
export function accountChangedEmail(raw: { tenantName: string; changeId: string; changed: string[] }): Mail {
  const v = clean(raw);
  return mail(`Your ${v.tenantName} account was changed`, [
    `An administrator changed your ${v.tenantName} account (${v.changed.join(', ')}; change ${v.changeId}). This email goes to every address the account had before the change and has after it.`,
    'If you did not expect this, contact your security team now: a changed address is how an account is taken over.',
  ]);
}

/** A risk response as its alert to the tenant's security contacts describes it. */
export interface RiskResponseMailFacts {
  tenantName: string;
  responseId: string;
  accountId: string;
  action: string;
  state: string;
  evidence: string[];
  apiUrl: string;
}

/** The engine acted on its own: what it did, why, and how an admin reverses it. */
export function riskResponseEmail(raw: RiskResponseMailFacts): Mail {
  const v = clean(raw);
  return mail(`[security] Automatic ${v.action.replace(/_/g, ' ')} for account ${v.accountId} in ${v.tenantName}`, [
    `The recovery engine responded on its own to a risk signal for account ${v.accountId} in ${v.tenantName}: ${v.action.replace(/_/g, ' ')} (now ${v.state}).`,
    `Evidence:\n${v.evidence.map((e) => `- ${e}`).join('\n')}`,
    `Review it: GET ${v.apiUrl}/v1/risk-responses/${v.responseId}; an admin reverses it with POST ${v.apiUrl}/v1/risk-responses/${v.responseId}/reverse.`,
  ]);
}
