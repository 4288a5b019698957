// Public endpoints for account owners. A GET never consumes (mail scanners prefetch links); a
// POST consumes with one atomic UPDATE. Every failure answers the same status and body, in the
// same time, so a caller learns nothing about which tokens, tenants or accounts exist (invariant 6).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { WorkflowUpdateStage } from '@temporalio/client';
import { invitationEnrolment, invitationRegisteredSignal } from '../../contracts/invitation';
import { linkRedeemedSignal, cancelUpdate } from '../../contracts/recovery';
import { checkNewPassword } from '../../domain/password';
import { appendAudit, appendAuditTx } from '../../store/audit';
import { accountUuid } from '../../store/directory';
import { enrolFactor, factorEnrolledVia } from '../../store/mfa-factors';
import { tenantName } from '../../store/tenants';
import { consumeToken, stagePassword, stagedPasswordPurpose, tokenByHash, type StagedForm } from '../../store/tokens';
import { constantTimeEqualHex, hashPassword, sealSecret, tokenHash } from '../../infra/secrets';
import { newTotpSecret, otpauthUri, sealTotpSecret } from '../../infra/totp';
import type { Transaction } from 'kysely';
import type { Database, Db } from '../../store/db';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError, toApiError } from '../errors';
import { LinkCancelBody, LinkOut, LinkParams, LinkQuery, LinkUsedOut, RedeemBody } from '../schemas';
import { withTemporalDeadline } from '../deadlines';
import { afterResponse } from '../after-response';
import { attest } from '../attest';

export const LINK_INVALID = () => new ApiError(404, 'link_invalid', 'this link is invalid, used or expired');

/** Finds a live token by its HMAC. Unknown, malformed, used and expired tokens look alike. */
async function findLiveToken(db: Db, keys: AppDeps['config']['tokenKeys'], presented: string) {
  const h = tokenHash(keys, presented);
  // A malformed token still costs one indexed lookup, so timing does not tell it apart.
  const probe = h?.hash ?? '0'.repeat(64);
  const row = await tokenByHash(db, probe);
  if (!h || !row || !constantTimeEqualHex(row.token_hash, h.hash) || row.key_id !== h.keyId) return null;
  return row;
}

/**
 * The live token presented, or null; one presented in another tenant's context is audited, after
 * the answer is sent: that failure then costs what an unknown token costs, so timing does not
 * tell a live token from a made-up one.
 */
export async function liveTokenFor({ db, config }: AppDeps, token: string, tenantId: string | undefined, req: FastifyRequest, reply: FastifyReply) {
  const row = await findLiveToken(db, config.tokenKeys, token);
  if (!row) return null;
  if (tenantId !== undefined && tenantId !== row.tenant_id) {
    // Invariant 4: a token presented in another tenant's context is rejected and audited.
    afterResponse(req, reply, 'the tenant-mismatch audit event', () =>
      appendAudit(db, {
        tenantId: row.tenant_id,
        eventKey: `link-tenant-mismatch:${req.id}:${Date.now()}`,
        actor: 'public',
        action: 'link.rejected_tenant_mismatch',
        target: `account:${row.account_id}`,
        recoveryId: row.recovery_id,
        details: { tokenId: row.id, presentedTenant: tenantId },
      }),
    );
    return null;
  }
  return row.live ? row : null;
}

export type TokenRow = NonNullable<Awaited<ReturnType<typeof liveTokenFor>>>;
type Used = z.infer<typeof LinkUsedOut>;

/** The default way to tell the workflow: the link-redeemed signal. */
const signalRedeemed = ({ temporal }: AppDeps, workflowId: string, tokenId: string) =>
  withTemporalDeadline(temporal, 'signal', () => temporal.workflow.getHandle(workflowId).signal(linkRedeemedSignal, { tokenId }));

/**
 * Consumes the token atomically, runs `stage` in the same transaction, tells the workflow (by
 * default the link-redeemed signal), then appends the audit event, and commits. If any step
 * fails, everything rolls back and the link stays usable: the owner is never told something
 * happened that did not, and a link is never used without its audit event. The event comes
 * after the signal so the tenant's audit head is not held across a Temporal call.
 */
export async function consume<T>(
  deps: AppDeps,
  row: TokenRow,
  stage: (trx: Transaction<Database>) => Promise<T>,
  event: { action: string; details: Record<string, unknown> } | null,
  tell: (workflowId: string, tokenId: string) => Promise<unknown> = (workflowId, tokenId) => signalRedeemed(deps, workflowId, tokenId),
) {
  return deps.db.transaction().execute(async (trx) => {
    const used = await consumeToken(trx, row.id);
    if (!used) return null;
    const staged = await stage(trx);
    await tell(used.workflow_id, used.id);
    if (event) {
      await appendAuditTx(trx, {
        tenantId: row.tenant_id,
        eventKey: `${row.recovery_id}:link-redeemed:${row.id}`,
        actor: row.purpose === 'sso_bypass_confirm' ? 'security_contact' : 'account_owner',
        action: event.action,
        target: `account:${row.account_id}`,
        recoveryId: row.recovery_id,
        details: { tokenId: row.id, purpose: row.purpose, ...event.details },
      });
    }
    return { used, staged };
  });
}

/** What using the link still takes; an invitation's steps go factor, code, then password. */
async function requires({ db }: AppDeps, row: TokenRow): Promise<string[]> {
  if (row.purpose === 'password_reset') return ['newPassword'];
  if (row.purpose === 'mfa_enrolment') return ['factor'];
  if (row.purpose !== 'invitation') return [];
  const factor = await factorEnrolledVia(db, invitationEnrolment(row.recovery_id));
  if (factor?.confirmed_at) return ['newPassword'];
  return factor ? ['code', 'newPassword'] : ['factor', 'code', 'newPassword'];
}

function describeRoute(r: Router, deps: AppDeps) {
  r.get(
    '/v1/links/:token',
    { schema: { summary: 'Describe a link without using it', tags: ['public'], params: LinkParams, querystring: LinkQuery, response: { 200: LinkOut } } },
    async (req, reply) => {
      const row = await liveTokenFor(deps, req.params.token, req.query.tenant, req, reply);
      if (!row) throw LINK_INVALID();
      return { valid: true, purpose: row.purpose, expiresAt: new Date(row.expires_at).toISOString(), requires: await requires(deps, row) };
    },
  );
}

/** The new password checked against the rules and the account's names, in the form the tenant's directory takes it. */
async function stagedForm(deps: AppDeps, row: TokenRow, newPassword: string | undefined): Promise<StagedForm> {
  if (newPassword === undefined) throw new ApiError(400, 'invalid_field', 'newPassword: required for this link', { field: 'newPassword' });
  const directory = await deps.directoryFor(row.tenant_id);
  const addresses = await directory.addresses({ tenantId: row.tenant_id, accountId: row.account_id });
  const verdict = checkNewPassword(newPassword, [row.account_id, ...addresses, ...addresses.map((a) => a.split('@')[0])]);
  if (!verdict.ok) throw new ApiError(400, verdict.code, `newPassword: ${verdict.message}`, { field: 'newPassword' });
  const key = deps.config.tokenKeys[0];
  // A remote directory hashes the password itself: it waits sealed, and only until it is applied.
  // Otherwise hash before taking a connection: argon2id is deliberately slow.
  return directory.passwordForm === 'plaintext'
    ? { sealed: sealSecret(key.key, stagedPasswordPurpose(row.id), newPassword), keyId: key.id }
    : { hash: await hashPassword(newPassword) };
}

/** A password-reset link: the new password is checked and hashed, then staged as the link is used. */
async function resetPassword(deps: AppDeps, row: TokenRow, newPassword: string | undefined): Promise<Used> {
  const form = await stagedForm(deps, row, newPassword);
  const done = await consume(deps, row, (trx) => stagePassword(trx, row.id, form), {
    action: 'link.redeemed',
    details: { evidence: 'tier 3: possession of the registered address' },
  });
  if (!done) throw LINK_INVALID();
  return { status: 'accepted', purpose: row.purpose, message: 'Your new password is being applied. Every session will be signed out.' };
}

/** An invitation's last step: the password, only once the invitee confirmed an authenticator with a code. */
async function registerPassword(deps: AppDeps, row: TokenRow, newPassword: string | undefined): Promise<Used> {
  const factor = await factorEnrolledVia(deps.db, invitationEnrolment(row.recovery_id));
  if (!factor?.confirmed_at)
    throw new ApiError(409, 'factor_not_confirmed', 'factor: enrol an authenticator and confirm it with a code before setting a password', { field: 'factor' });
  const form = await stagedForm(deps, row, newPassword);
  const tell = (workflowId: string, tokenId: string) =>
    withTemporalDeadline(deps.temporal, 'signal', () => deps.temporal.workflow.getHandle(workflowId).signal(invitationRegisteredSignal, { tokenId }));
  const done = await consume(
    deps,
    row,
    (trx) => stagePassword(trx, row.id, form),
    { action: 'link.redeemed', details: { evidence: 'invitation registered: authenticator confirmed, password set' } },
    tell,
  );
  if (!done) throw LINK_INVALID();
  return { status: 'accepted', purpose: row.purpose, message: 'Your password is being set. Sign in with it and a code from your authenticator app.' };
}

/** A possession link (the owner's, or the security contact's for an SSO bypass): using it is the evidence. */
async function confirmPossession(deps: AppDeps, row: TokenRow): Promise<Used> {
  const event =
    row.purpose === 'verify_possession'
      ? { action: 'verification.passed', details: { tier: 3, evidence: 'possession of the registered address (email link)' } }
      : { action: 'access.contact_confirmation_used', details: { tier: 3, evidence: 'the security contact on record used the link' } };
  const done = await consume(deps, row, async () => null, event);
  if (!done) throw LINK_INVALID();
  if (row.purpose === 'verify_possession') {
    return { status: 'accepted', purpose: row.purpose, message: 'Thank you: your support team can now continue.' };
  }
  return { status: 'accepted', purpose: row.purpose, message: 'Confirmed. Two internal approvals are still required before any access is granted.' };
}

/** An enrolment link: a new TOTP factor, its secret shown once in the answer. */
async function enrolTotp(deps: AppDeps, row: TokenRow, factor: z.infer<typeof RedeemBody>['factor']): Promise<Used> {
  const { db, config } = deps;
  if (!factor) throw new ApiError(400, 'invalid_field', 'factor: required for an enrolment link', { field: 'factor' });
  const secret = newTotpSecret();
  const acct = await accountUuid(db, { tenantId: row.tenant_id, accountId: row.account_id });
  if (!acct) throw LINK_INVALID();
  const factorRow = {
    label: factor.label ?? 'authenticator',
    secretSealed: sealTotpSecret(config.knowledgeKey, secret),
    enrolledVia: `recovery:${row.recovery_id}`,
  };
  const done = await consume(deps, row, (trx) => enrolFactor(trx, acct, factorRow), {
    action: 'mfa.enrolled',
    details: { factorType: 'totp', evidence: 'tier 3: the enrolment link sent to the registered address was used' },
  });
  if (!done) throw LINK_INVALID();
  const name = await tenantName(db, row.tenant_id);
  return {
    status: 'enrolled',
    purpose: row.purpose,
    message: 'Add this secret to your authenticator app now: it is shown once.',
    totp: { secret, otpauthUri: otpauthUri(secret, name, row.account_id) },
  };
}

function redeemRoute(r: Router, deps: AppDeps) {
  r.post(
    '/v1/links/redeem',
    {
      config: { secretResponse: true },
      schema: {
        summary: 'Use a link: set a new password, confirm possession, or enrol a factor',
        tags: ['public'],
        body: RedeemBody,
        response: { 200: LinkUsedOut },
      },
    },
    async (req, reply) => {
      const { token, tenantId, newPassword, factor } = req.body;
      const row = await liveTokenFor(deps, token, tenantId, req, reply);
      if (!row || row.purpose === 'cancel') throw LINK_INVALID();
      if (row.purpose === 'password_reset') return resetPassword(deps, row, newPassword);
      if (row.purpose === 'verify_possession' || row.purpose === 'sso_bypass_confirm') return confirmPossession(deps, row);
      if (row.purpose === 'mfa_enrolment') return enrolTotp(deps, row, factor);
      if (row.purpose === 'invitation') return registerPassword(deps, row, newPassword);
      throw LINK_INVALID();
    },
  );
}

function cancelRoute(r: Router, deps: AppDeps) {
  const { temporal } = deps;
  r.post(
    '/v1/links/cancel',
    { schema: { summary: '"This wasn\'t me": cancel a pending recovery', tags: ['public'], body: LinkCancelBody, response: { 200: LinkUsedOut } } },
    async (req, reply) => {
      const { token, tenantId } = req.body;
      const row = await liveTokenFor(deps, token, tenantId, req, reply);
      if (!row || row.purpose !== 'cancel') throw LINK_INVALID();
      // Committed before the token is consumed, so the workflow can read it; it counts only once
      // the workflow also finds the token used for it (the consuming transaction committed).
      const message = { actor: 'account_owner', via: 'owner' as const, reason: 'the account owner reported this was not them', tokenId: row.id };
      const attested = await attest(deps, {
        kind: 'recovery.cancel',
        tenantId: row.tenant_id,
        caseId: row.recovery_id,
        workflowId: row.workflow_id,
        principal: null,
        message,
      });
      // Waits only until the workflow accepted the cancel (its validator passed): the cancel's own
      // activities need database connections this transaction may be holding.
      const done = await consume(
        deps,
        row,
        async () => null,
        // The workflow records the cancel (recovery.cancelled) with who asked for it.
        null,
        (workflowId) =>
          withTemporalDeadline(temporal, 'update', () =>
            temporal.workflow.getHandle(workflowId).startUpdate(cancelUpdate, { args: [attested], waitForStage: WorkflowUpdateStage.ACCEPTED }),
          ),
      ).catch((err) => {
        const e = toApiError(err);
        if (e.code === 'invalid_state') throw new ApiError(409, 'not_cancellable', 'the recovery can no longer be cancelled: it has ended or been applied');
        throw e;
      });
      if (!done) throw LINK_INVALID();
      return { status: 'cancelled', message: 'The recovery was cancelled and your security team was told.' };
    },
  );
}

export function linkRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  describeRoute(r, deps);
  redeemRoute(r, deps);
  cancelRoute(r, deps);
}
