// Mail the API sends about principals itself, recorded like every notice (email_deliveries, and an
// audit event when it fails): the single-use link that confirms a principal's person, and the
// notice to the security contacts of every tenant in scope when a role that decides or reviews is
// granted or changed.
import type { Transaction } from 'kysely';
import type { Database } from '../store/db';
import { appendAudit } from '../store/audit';
import { claimNotice, failNotice, markNoticeSent } from '../store/deliveries';
import { insertVerification } from '../store/persons';
import { insertSigninLink } from '../store/console-sessions';
import { securityContactsInScope } from '../store/tenants';
import { personVerificationEmail, approverChangeEmail, consoleSigninEmail, type Mail } from '../infra/templates';
import { messageIdFor } from '../infra/mailer';
import { newToken } from '../infra/secrets';
import { holdsDecidingRole } from '../domain/person';
import type { AppDeps } from './deps';

/** How long a person's verification link works. */
export const PERSON_LINK_TTL_HOURS = 72;

/** The tenant a principal's own events and mails are filed under: its first named tenant, or `_system`. */
export const homeTenant = (scope: readonly string[]) => [...scope].filter((t) => t !== '*').sort()[0] ?? '_system';

export interface PrincipalFacts {
  id: string;
  name: string;
  roles: string[];
  tenantScope: string[];
  email: string | null;
}

/** Sends one mail once per dedupe key; a refusal is recorded (delivery row and audit event), never thrown. */
async function sendRecorded(deps: AppDeps, d: { dedupeKey: string; tenantId: string; template: string; to: string[]; mail: Mail }): Promise<boolean> {
  const { db, mailer } = deps;
  const status = await claimNotice(db, { dedupeKey: d.dedupeKey, tenantId: d.tenantId, recoveryId: null, template: d.template, recipients: d.to.length });
  if (status === 'sent') return true;
  const messageId = messageIdFor(d.dedupeKey);
  try {
    await mailer.send({ to: d.to, subject: d.mail.subject, text: d.mail.text, html: d.mail.html, messageId });
  } catch (err) {
    const error = String((err as Error).message).slice(0, 500);
    await failNotice(db, { ...d, recipients: d.to.length }, { smtpCode: (err as { responseCode?: number }).responseCode ?? null, error });
    return false;
  }
  await markNoticeSent(db, d.dedupeKey, messageId);
  return true;
}

/**
 * Issues the link that confirms a principal's person, inside the transaction that binds it (earlier
 * links of the principal stop working); returns the mailing to run once that transaction commits.
 */
export async function issuePersonLink(
  deps: AppDeps,
  trx: Transaction<Database>,
  p: PrincipalFacts & { personId: string; createdBy: string },
): Promise<() => Promise<boolean>> {
  const token = newToken(deps.config.tokenKeys);
  const expiresAt = new Date(Date.now() + PERSON_LINK_TTL_HOURS * 3600_000);
  const id = await insertVerification(trx, { personId: p.personId, principalId: p.id, keyId: token.keyId, tokenHash: token.hash, expiresAt });
  const url = `${deps.config.publicBaseUrl}/verify-email#${token.value}`;
  const mail = personVerificationEmail({ principalId: p.id, name: p.name, roles: p.roles, createdBy: p.createdBy, url, ttlHours: PERSON_LINK_TTL_HOURS });
  return () =>
    sendRecorded(deps, { dedupeKey: `person-link:${id}`, tenantId: homeTenant(p.tenantScope), template: 'link:person_verification', to: [p.email!], mail });
}

/** How long a sign-in link works (the default of every emailed link). */
export const SIGNIN_LINK_TTL_MINUTES = 15;

/**
 * Mails a single-use sign-in link to a principal's confirmed address. The token follows every
 * link's rules (256 bits, only its HMAC under a keyed id stored, single use, 15 minutes); the link
 * opens a page whose button consumes it, so a mail scanner's GET signs nobody in.
 */
export async function mailSigninLink(deps: AppDeps, p: { id: string; name: string; tenantScope: string[]; email: string }): Promise<boolean> {
  const token = newToken(deps.config.tokenKeys);
  const expiresAt = new Date(Date.now() + SIGNIN_LINK_TTL_MINUTES * 60_000);
  const id = await insertSigninLink(deps.db, { principalId: p.id, keyId: token.keyId, tokenHash: token.hash, expiresAt });
  const url = `${deps.config.publicBaseUrl}/signin/link?token=${encodeURIComponent(token.value)}`;
  const mail = consoleSigninEmail({ principalId: p.id, name: p.name, url, ttlMinutes: SIGNIN_LINK_TTL_MINUTES });
  return sendRecorded(deps, { dedupeKey: `signin-link:${id}`, tenantId: homeTenant(p.tenantScope), template: 'link:console_signin', to: [p.email], mail });
}

/**
 * Tells the security contacts of every tenant in the principal's scope that a principal holding a
 * deciding role was created or changed, and audits the notice in each tenant's chain.
 */
export async function notifyApproverChange(
  deps: AppDeps,
  p: PrincipalFacts,
  change: 'created' | 'key_rotated' | 'disabled',
  o: { actor: string; eventKey: string },
): Promise<void> {
  if (!holdsDecidingRole(p.roles)) return;
  for (const t of await securityContactsInScope(deps.db, p.tenantScope)) {
    const key = `${o.eventKey}:${t.id}`;
    const mail = approverChangeEmail({
      tenantName: t.name,
      change,
      principalId: p.id,
      name: p.name,
      email: p.email,
      roles: p.roles,
      tenantScope: p.tenantScope,
      actor: o.actor,
    });
    const delivered = t.contacts.length
      ? await sendRecorded(deps, { dedupeKey: key, tenantId: t.id, template: 'approver_change', to: t.contacts, mail })
      : false;
    await appendAudit(deps.db, {
      tenantId: t.id,
      eventKey: `${key}:notified`,
      actor: 'system',
      action: 'security.approver_change_notified',
      target: `principal:${p.id}`,
      details: { change, roles: p.roles, contacts: t.contacts.length, delivered },
    });
  }
}
