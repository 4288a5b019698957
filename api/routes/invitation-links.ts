// An invitee's link, beside the other public link routes and hardened like them (one answer for
// every unknown, used, expired or foreign token): enrol a TOTP factor (its secret shown once,
// stored sealed), then confirm it with a code. The password comes last, through POST
// /v1/links/redeem, and only once the factor is confirmed. A GET never changes anything.
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { invitationEnrolment } from '../../contracts/invitation';
import { matchingStep, newTotpSecret, openTotpSecret, otpauthUri, sealTotpSecret } from '../../infra/totp';
import { appendAudit } from '../../store/audit';
import { accountUuid } from '../../store/directory';
import { acceptTotpStep, factorEnrolledVia, startPendingTotp } from '../../store/mfa-factors';
import { takeRateSlot } from '../../store/rate-limits';
import { tenantName } from '../../store/tenants';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError } from '../errors';
import { ConfirmFactorBody, EnrolFactorBody, LinkUsedOut } from '../schemas';
import { LINK_INVALID, liveTokenFor, type TokenRow } from './links';

/** Per invitation: enrolments started and codes tried (README, security). A code is 6 digits: guesses must stay few. */
export const INVITATION_LIMITS = { enrolmentsPerHour: 5, codesPer15Minutes: 5 } as const;

const limited = (what: string, seconds: number) =>
  new ApiError(429, 'rate_limited', `too many ${what} for this invitation; try again later`, undefined, { 'retry-after': String(seconds) });

const audit = (deps: AppDeps, row: TokenRow, action: string, details: Record<string, unknown>) =>
  appendAudit(deps.db, {
    tenantId: row.tenant_id,
    eventKey: `${row.recovery_id}:${action}:${crypto.randomUUID()}`,
    actor: 'invitee',
    action,
    target: `account:${row.account_id}`,
    recoveryId: row.recovery_id,
    details: { tokenId: row.id, purpose: row.purpose, ...details },
  });

function enrolRoute(r: Router, deps: AppDeps) {
  const { db, config } = deps;
  r.post(
    '/v1/links/factor',
    {
      config: { secretResponse: true },
      schema: {
        summary: "An invitation's first step: enrol a TOTP authenticator (the secret is shown once)",
        tags: ['public'],
        body: EnrolFactorBody,
        response: { 200: LinkUsedOut },
      },
    },
    async (req, reply) => {
      const { token, tenantId, factor } = req.body;
      const row = await liveTokenFor(deps, token, tenantId, req, reply);
      if (!row || row.purpose !== 'invitation') throw LINK_INVALID();
      const acct = await accountUuid(db, { tenantId: row.tenant_id, accountId: row.account_id });
      if (!acct) throw LINK_INVALID();
      if (!(await takeRateSlot(db, 'invitation_enrolment', row.recovery_id, INVITATION_LIMITS.enrolmentsPerHour, 3600))) throw limited('enrolments', 3600);
      const secret = newTotpSecret();
      const factorId = await startPendingTotp(db, acct, {
        label: factor.label ?? 'authenticator',
        secretSealed: sealTotpSecret(config.knowledgeKey, secret),
        enrolledVia: invitationEnrolment(row.recovery_id),
      });
      if (!factorId) throw new ApiError(409, 'factor_confirmed', 'factor: an authenticator is confirmed already; set the password', { field: 'factor' });
      await audit(deps, row, 'invitation.factor_started', { factorId, factorType: 'totp' });
      return {
        status: 'enrolment_started',
        purpose: row.purpose,
        message: 'Add this secret to your authenticator app now: it is shown once. Then confirm it with the code the app shows.',
        totp: { secret, otpauthUri: otpauthUri(secret, await tenantName(db, row.tenant_id), row.account_id) },
      };
    },
  );
}

function confirmRoute(r: Router, deps: AppDeps) {
  const { db, config } = deps;
  r.post(
    '/v1/links/factor/confirm',
    {
      schema: {
        summary: "An invitation's second step: confirm the authenticator with a code it shows",
        tags: ['public'],
        body: ConfirmFactorBody,
        response: { 200: LinkUsedOut },
      },
    },
    async (req, reply) => {
      const { token, tenantId, code } = req.body;
      const row = await liveTokenFor(deps, token, tenantId, req, reply);
      if (!row || row.purpose !== 'invitation') throw LINK_INVALID();
      if (!(await takeRateSlot(db, 'invitation_code', row.recovery_id, INVITATION_LIMITS.codesPer15Minutes, 900))) throw limited('codes', 900);
      const factor = await factorEnrolledVia(db, invitationEnrolment(row.recovery_id));
      if (!factor?.secret_enc) throw new ApiError(409, 'factor_not_started', 'factor: enrol an authenticator first', { field: 'factor' });
      if (factor.confirmed_at)
        throw new ApiError(409, 'factor_confirmed', 'factor: the authenticator is confirmed already; set the password', { field: 'factor' });
      const step = matchingStep(openTotpSecret(config.knowledgeKey, factor.secret_enc), code, Date.now());
      const accepted = step !== null && (await acceptTotpStep(db, factor.id, step));
      await audit(deps, row, accepted ? 'invitation.factor_confirmed' : 'invitation.factor_code_refused', { factorId: factor.id });
      if (!accepted) throw new ApiError(400, 'totp_invalid', 'code: not the code the authenticator shows now', { field: 'code' });
      return { status: 'factor_confirmed', purpose: row.purpose, message: 'Your authenticator is confirmed. Now choose your password.' };
    },
  );
}

export function invitationLinkRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  enrolRoute(r, deps);
  confirmRoute(r, deps);
}
