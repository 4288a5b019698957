// The built-in directory's public sign-ins share one rate limit (this file), and its password
// sign-in lives here: the way anyone proves a reset worked, or that an old password stopped.
import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { appendAudit } from '../../store/audit';
import { passwordSignInFacts } from '../../store/directory';
import { liveTotpFactors } from '../../store/mfa-factors';
import { openPasswordSession, takeSignInSlots } from '../../store/sessions';
import { tenantExists } from '../../store/tenants';
import { dummyPasswordHash, verifyPasswordOrDummy } from '../../infra/secrets';
import type { AppDeps, Router } from '../deps';
import { ApiError } from '../errors';
import { checkTotpCode } from '../totp-check';
import { DirectoryPasswordSession, PasswordSessionOut } from '../schemas';

/**
 * The public sign-ins' limits (README, security), one budget for both kinds: every attempt counts,
 * valid or not, whether or not the account exists, so the answer says nothing about which
 * accounts exist, and switching between a password and a credential buys no extra guesses.
 */
export const SIGN_IN_LIMITS = { perIp: 20, perAccount: 10, windowSeconds: 600 } as const;

/** A password session's lifetime (README): a working day; a reset or revocation ends it sooner. */
export const PASSWORD_SESSION_SECONDS = 12 * 3600;

/** Takes the attempt's slots of the shared sign-in limits, or refuses it with 429. */
export async function takeSignInSlotsOr429({ db }: AppDeps, ip: string, tenantId: string, accountId: string): Promise<void> {
  if (await takeSignInSlots(db, ip, `${tenantId}/${accountId}`, SIGN_IN_LIMITS)) return;
  const minutes = SIGN_IN_LIMITS.windowSeconds / 60;
  throw new ApiError(429, 'rate_limited', `too many sign-in attempts from this address or for this account in ${minutes} minutes; try again later`, undefined, {
    'retry-after': String(SIGN_IN_LIMITS.windowSeconds),
  });
}

type Refusal = 'unknown_account' | 'sso_managed' | 'account_inactive' | 'no_password' | 'wrong_password' | 'totp_required' | 'totp_wrong' | 'totp_reused';

/** An account with an enrolled authenticator also needs a code from it; checked only after the right password, so no step is used up by a guess. */
async function secondFactor(deps: AppDeps, accountUuid: string, code: string | undefined): Promise<Refusal | null> {
  if (code === undefined) return (await liveTotpFactors(deps.db, accountUuid)).length ? 'totp_required' : null;
  const outcome = await checkTotpCode(deps, accountUuid, code);
  return outcome === 'wrong' ? 'totp_wrong' : outcome === 'reused' ? 'totp_reused' : null;
}

/** Decides a password sign-in: always exactly one argon2id verify, whatever the account. */
async function decide(deps: AppDeps, tenantId: string, accountId: string, password: string, totp: string | undefined) {
  const a = await passwordSignInFacts(deps.db, tenantId, accountId);
  const ok = await verifyPasswordOrDummy(a?.password_hash, password);
  let refusal: Refusal | null = null;
  if (!a) refusal = 'unknown_account';
  else if (a.auth_method !== 'local') refusal = 'sso_managed';
  else if (!a.password_hash) refusal = 'no_password';
  else if (!ok) refusal = 'wrong_password';
  // Checked after the password, so a disabled account answers like any refusal, right password or not.
  else if (a.status !== 'active') refusal = 'account_inactive';
  else refusal = await secondFactor(deps, a.id, totp);
  return { account: a, refusal };
}

/** Audits a sign-in outcome in the tenant's chain (an unknown tenant has no chain to write to). */
async function audit(deps: AppDeps, req: FastifyRequest, tenantId: string, accountId: string, action: string, details: Record<string, unknown>) {
  if (!(await tenantExists(deps.db, tenantId))) return;
  await appendAudit(deps.db, {
    tenantId,
    eventKey: `${tenantId}:${action}:${accountId}:${crypto.randomUUID()}`,
    actor: `sign_in:${accountId}`,
    action,
    target: `account:${accountId}`,
    details: { method: 'password', ip: req.ip, ...details },
  });
}

export function directoryPasswordSessionRoute(r: Router, deps: AppDeps) {
  // Made now, not on the first unknown account: that attempt must not be the slow one.
  void dummyPasswordHash();
  r.post(
    '/v1/directory/password-sessions',
    {
      schema: {
        summary:
          'Sign in to the built-in directory with a password, and a TOTP code when the account has an authenticator (rate-limited per IP and per account, shared with the credential sign-in)',
        tags: ['directory'],
        body: DirectoryPasswordSession,
        response: { 201: PasswordSessionOut },
      },
    },
    async (req, reply) => {
      const { tenantId, accountId, password, totp } = req.body;
      await takeSignInSlotsOr429(deps, req.ip, tenantId, accountId);
      const { account, refusal } = await decide(deps, tenantId, accountId, password, totp);
      const session =
        !refusal && account?.password_hash
          ? await openPasswordSession(deps.db, { accountUuid: account.id, passwordHash: account.password_hash, lifetimeSeconds: PASSWORD_SESSION_SECONDS })
          : null;
      if (session) {
        await audit(deps, req, tenantId, accountId, 'directory.signed_in', {
          sessionId: session.id,
          expiresAt: session.expiresAt.toISOString(),
          ...(totp !== undefined ? { secondFactor: 'totp' } : {}),
        });
        return reply.code(201).send({ sessionId: session.id, expiresAt: session.expiresAt.toISOString() });
      }
      // The real reason is audited; the answer is one and the same for all of them.
      await audit(deps, req, tenantId, accountId, 'directory.sign_in_refused', { reason: refusal ?? 'changed_meanwhile' });
      throw new ApiError(401, 'invalid_credentials', 'password: not valid for this account now', { field: 'password' });
    },
  );
}
