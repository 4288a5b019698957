// The signed webhook directory's contract: every call the engine makes to a customer's user store,
// its body and the answer expected, as zod schemas. The client parses answers with them, the
// reference receiver in the test kit serves them, and /docs/directory-webhook is generated from them.
import { z } from 'zod';
import { ACCOUNT_AUTH_METHODS, ACCOUNT_ROLES } from '../domain/types';

export const WebhookError = z
  .object({ error: z.object({ code: z.string().max(100), message: z.string().max(500).optional() }) })
  .describe('Any non-2xx answer. `code` is machine-readable and is recorded as the reason of a refusal.');

export const AccountAnswer = z
  .discriminatedUnion('exists', [
    z.object({
      exists: z.literal(true),
      role: z.enum(ACCOUNT_ROLES),
      authMethod: z.enum(ACCOUNT_AUTH_METHODS).describe('`sso`: the identity provider owns the credential; the engine will not set a password.'),
      addresses: z.array(z.email()).max(20).describe('Registered, verified email addresses, primary first. Recovery links go only here.'),
      active: z.boolean(),
      knowledgeFactors: z.literal('none').describe('A remote directory holds no knowledge factors: policy then requires Tier 2 and Tier 3.'),
    }),
    z.object({ exists: z.literal(false) }),
  ])
  .describe('`{exists: false}` and a 404 both mean the account does not exist.');

const By = z.string().min(1).max(200).describe('Who or what made the change, for your own records.');
const Reason = z.string().min(1).max(200);

export const PasswordBody = z.object({
  password: z.string().min(1).max(1024).describe('The new password, in the clear: hash it at once, never log it.'),
  by: By,
});
export const MfaResetBody = z.object({
  by: By,
  keepEnrolledBy: z.string().max(200).optional().describe('Keep factors this actor enrolled (someone acting on their own account).'),
});
export const SessionsRevokeBody = z.object({
  reason: Reason,
  grantId: z.string().max(200).optional().describe('Only the sessions opened with this emergency credential; all sessions when absent.'),
});
export const LifecycleBody = z.object({ reason: Reason, by: By });
export const RotateBody = z.object({ by: By });
export const AccessGrantBody = z.object({
  grantId: z.string().min(1).max(200),
  credential: z.string().min(16).max(1024).describe('The emergency credential, in the clear: hash it at once, never log it. Honour it until `expiresAt` only.'),
  expiresAt: z.iso.datetime().describe('The credential stops working at this instant even if `access/end` never arrives.'),
  by: By,
});
export const AccessEndBody = z.object({ grantId: z.string().min(1).max(200), reason: Reason, by: By });

export const Applied = z.object({ applied: z.literal(true) });
export const MfaResetAnswer = z.object({ removed: z.number().int().min(0), enrolmentRequired: z.literal(true) });
export const RevokedAnswer = z.object({ revoked: z.number().int().min(0) });
export const ActiveAnswer = z.object({ active: z.boolean() });
export const RotatedAnswer = z.object({ rotated: z.boolean(), note: z.string().max(500) });

/** One call of the contract. `body` is undefined for a GET. */
export interface WebhookOperation {
  method: 'GET' | 'POST';
  /** Relative to the configured base URL; `{id}` is the percent-encoded account id. */
  path: string;
  summary: string;
  body?: z.ZodType;
  answer: z.ZodType;
}

export const WEBHOOK_OPERATIONS = {
  lookup: { method: 'GET', path: '/accounts/{id}', summary: 'Look up an account: existence, role, auth method, addresses, state.', answer: AccountAnswer },
  setPassword: {
    method: 'POST',
    path: '/accounts/{id}/password',
    summary: 'Set a new password (a completed password reset).',
    body: PasswordBody,
    answer: Applied,
  },
  resetMfa: {
    method: 'POST',
    path: '/accounts/{id}/mfa/reset',
    summary: 'Remove every MFA factor and require enrolment at the next sign-in.',
    body: MfaResetBody,
    answer: MfaResetAnswer,
  },
  revokeSessions: {
    method: 'POST',
    path: '/accounts/{id}/sessions/revoke',
    summary: 'Revoke sessions and refresh tokens.',
    body: SessionsRevokeBody,
    answer: RevokedAnswer,
  },
  disable: { method: 'POST', path: '/accounts/{id}/disable', summary: 'Disable the account (no sign-in).', body: LifecycleBody, answer: ActiveAnswer },
  enable: { method: 'POST', path: '/accounts/{id}/enable', summary: 'Enable the account again.', body: LifecycleBody, answer: ActiveAnswer },
  grantAccess: {
    method: 'POST',
    path: '/accounts/{id}/access/grant',
    summary:
      'Honour an emergency credential (break-glass, SSO bypass) for this account until it expires. SSO-managed accounts accept it too: that is the bypass.',
    body: AccessGrantBody,
    answer: Applied,
  },
  endAccess: {
    method: 'POST',
    path: '/accounts/{id}/access/end',
    summary: 'The emergency credential stops working; end every session opened with it.',
    body: AccessEndBody,
    answer: RevokedAnswer,
  },
  rotateCredential: {
    method: 'POST',
    path: '/accounts/{id}/credential/rotate',
    summary: 'Replace the account credential with one nobody knows (after break-glass). SSO-managed accounts answer `rotated: false`.',
    body: RotateBody,
    answer: RotatedAnswer,
  },
} as const satisfies Record<string, WebhookOperation>;

export type WebhookOperationName = keyof typeof WEBHOOK_OPERATIONS;

/** How the engine reads an answer's status: what a receiver should answer, and what the engine does. */
export const STATUS_SEMANTICS: readonly { status: string; meaning: string; retried: boolean }[] = [
  { status: '2xx', meaning: 'Done (the answer schema applies). A repeated Idempotency-Key must give the first answer again.', retried: false },
  { status: '400', meaning: 'Malformed request (a contract mismatch).', retried: false },
  { status: '401', meaning: 'Signature, key id or timestamp refused.', retried: false },
  { status: '403', meaning: 'The engine may not act on this account.', retried: false },
  { status: '404', meaning: 'No such account.', retried: false },
  { status: '409, 422', meaning: 'Refused for a reason named in `error.code` (e.g. `sso_managed`, `idempotency_key_reused`).', retried: false },
  { status: '408, 429, 5xx, timeout', meaning: 'Temporary: retried with backoff, with the same Idempotency-Key.', retried: true },
];
