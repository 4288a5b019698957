// The audit log in the Open Cybersecurity Schema Framework (OCSF), for SIEMs that ingest it:
// category Identity & Access Management (3), classes Account Change (3001), Authentication
// (3002) and User Management (3007). User Management is defined from schema 1.9.0 on; the
// version each event names is that schema's. Pure: one audit event in, one OCSF event out.

export const OCSF_SCHEMA_VERSION = '1.9.0-dev';
const IAM = 3;
export const OCSF_CLASS = { accountChange: 3001, authentication: 3002, userManagement: 3007 } as const;

/** An audit event as exported: the chain's fields. */
export interface AuditEventOut {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  recovery_id: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
  /** The audit key id of `hash` (null: an unkeyed event from before the chain was keyed). */
  key_id: string | null;
}

interface Mapped {
  classUid: number;
  activityId: number;
  activityName: string;
}

const OTHER = 99;

/** Account Change activities (3001) the engine performs on an account in its directory. */
const ACCOUNT_CHANGE = { passwordChange: 3, passwordReset: 4, disable: 5, mfaEnable: 10, mfaDisable: 11 } as const;

/** Which OCSF class and activity an audit action is; anything else is User Management, Other. */
export function ocsfClassOf(action: string, details: Record<string, unknown>): Mapped {
  const account = (activityId: number, activityName: string): Mapped => ({ classUid: OCSF_CLASS.accountChange, activityId, activityName });
  const user = (activityId: number, activityName: string): Mapped => ({ classUid: OCSF_CLASS.userManagement, activityId, activityName });
  const logon: Mapped = { classUid: OCSF_CLASS.authentication, activityId: 1, activityName: 'Logon' };
  switch (action) {
    case 'directory.signed_in':
    case 'directory.sign_in_refused':
    case 'access.credential_used':
      return logon;
    case 'recovery.completed':
      if (details.kind === 'password_reset') return account(ACCOUNT_CHANGE.passwordReset, 'Password Reset');
      if (details.kind === 'mfa_reset') return account(ACCOUNT_CHANGE.mfaDisable, 'MFA Factor Disable');
      return account(OTHER, 'Other');
    case 'mfa.enrolled':
      return account(ACCOUNT_CHANGE.mfaEnable, 'MFA Factor Enable');
    case 'account.changed':
      return account(ACCOUNT_CHANGE.passwordChange, 'Password Change');
    case 'access.rotation_started':
      return account(ACCOUNT_CHANGE.passwordChange, 'Password Change');
    case 'principal.created':
    case 'principal.bootstrapped':
      return user(1, 'Create');
    case 'principal.disabled':
      return user(5, 'Disable');
    case 'principal.key_rotated':
      return user(8, 'Password Change');
    default:
      return user(OTHER, 'Other');
  }
}

/** An action that records a refusal or a failure, not something done. */
const FAILED = /(refused|rejected|failed|denied|undelivered|out_of_scope)/;
/** Actions a security team wants to see first: someone tried to cross a line, or got emergency access. */
const HIGH = new Set(['separation.refused', 'security.alerted', 'access.credential_issued', 'access.credential_used', 'link.rejected_tenant_mismatch']);

/** OCSF severity_id: 1 Informational, 3 Medium (a refusal or failure), 4 High (see HIGH). */
function severityOf(action: string): { id: number; name: string } {
  if (HIGH.has(action)) return { id: 4, name: 'High' };
  if (FAILED.test(action)) return { id: 3, name: 'Medium' };
  return { id: 1, name: 'Informational' };
}

/** `principal:prn_x` -> { type: 'principal', uid: 'prn_x' }; a bare word (`system`) is its own type. */
function party(ref: string): { uid: string; type: string } {
  const i = ref.indexOf(':');
  return i < 0 ? { uid: ref, type: ref } : { uid: ref.slice(i + 1), type: ref.slice(0, i) };
}

export interface OcsfProduct {
  name: string;
  vendorName: string;
  version: string;
}

/** One audit event as an OCSF event, with the chain's hashes kept in `unmapped` so it still verifies. */
export function toOcsf(tenantId: string, e: AuditEventOut, product: OcsfProduct): Record<string, unknown> {
  const m = ocsfClassOf(e.action, e.details);
  const severity = severityOf(e.action);
  const failed = FAILED.test(e.action);
  const actor = party(e.actor);
  const target = party(e.target);
  return {
    category_uid: IAM,
    category_name: 'Identity & Access Management',
    class_uid: m.classUid,
    activity_id: m.activityId,
    activity_name: m.activityName,
    type_uid: m.classUid * 100 + m.activityId,
    severity_id: severity.id,
    severity: severity.name,
    status_id: failed ? 2 : 1,
    status: failed ? 'Failure' : 'Success',
    time: Date.parse(e.at),
    message: e.action,
    metadata: {
      version: OCSF_SCHEMA_VERSION,
      product: { name: product.name, vendor_name: product.vendorName, version: product.version },
      uid: e.hash,
      sequence: e.seq,
      tenant_uid: tenantId,
      log_name: 'audit',
      ...(e.recovery_id ? { correlation_uid: e.recovery_id } : {}),
    },
    actor: { user: { uid: actor.uid, type: actor.type } },
    user: { uid: target.uid, type: target.type },
    unmapped: { action: e.action, target: e.target, details: e.details, prev_hash: e.prev_hash, hash: e.hash, key_id: e.key_id },
  };
}
