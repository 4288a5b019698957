// Public endpoints for account owners. A GET never consumes (mail scanners prefetch links); a
// POST consumes with one atomic UPDATE. Every failure answers the same status and body, so a
// caller learns nothing about which tokens, tenants or accounts exist (invariant 6).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { linkRedeemedSignal, cancelUpdate } from '../../workflows/messages';
import { checkNewPassword } from '../../domain/password';
import { appendAudit } from '../../infra/audit';
import { hashPassword, registeredAddresses, findAccount } from '../../infra/directory';
import { constantTimeEqualHex, tokenHash } from '../../infra/secrets';
import type { Db } from '../../infra/db';
import type { AppDeps } from '../app';
import { ApiError } from '../errors';
import { LinkCancelBody, LinkParams, RedeemBody } from '../schemas';

export const LINK_INVALID = () => new ApiError(404, 'link_invalid', 'this link is invalid, used or expired');

/** Finds a live token by its HMAC. Unknown, malformed, used and expired tokens look alike. */
async function findLiveToken(db: Db, keys: AppDeps['config']['tokenKeys'], presented: string) {
  const h = tokenHash(keys, presented);
  // A malformed token still costs one indexed lookup, so timing does not tell it apart.
  const probe = h?.hash ?? '0'.repeat(64);
  const row = await db
    .selectFrom('one_time_tokens')
    .selectAll()
    .select(sql<boolean>`(used_at is null and invalidated_at is null and expires_at > now())`.as('live'))
    .where('token_hash', '=', probe)
    .executeTakeFirst();
  if (!h || !row || !constantTimeEqualHex(row.token_hash, h.hash) || row.key_id !== h.keyId) return null;
  return row;
}

export function linkRoutes(app: FastifyInstance, deps: AppDeps) {
  const { db, temporal, config } = deps;
  const r = app.withTypeProvider<ZodTypeProvider>();

  async function liveTokenFor(token: string, tenantId: string | undefined, req: { id: string }) {
    const row = await findLiveToken(db, config.tokenKeys, token);
    if (!row) return null;
    if (tenantId !== undefined && tenantId !== row.tenant_id) {
      // Invariant 4: a token presented in another tenant's context is rejected and audited.
      await appendAudit(db, {
        tenantId: row.tenant_id,
        eventKey: `link-tenant-mismatch:${req.id}:${Date.now()}`,
        actor: 'public',
        action: 'link.rejected_tenant_mismatch',
        target: `account:${row.account_id}`,
        recoveryId: row.recovery_id,
        details: { tokenId: row.id, presentedTenant: tenantId },
      });
      return null;
    }
    return row.live ? row : null;
  }

  r.get(
    '/v1/links/:token',
    { schema: { summary: 'Describe a link without using it', tags: ['public'], params: LinkParams } },
    async (req) => {
      const row = await liveTokenFor(req.params.token, (req.query as { tenant?: string })?.tenant, req);
      if (!row) throw LINK_INVALID();
      return {
        valid: true,
        purpose: row.purpose,
        expiresAt: new Date(row.expires_at).toISOString(),
        requires: row.purpose === 'password_reset' ? ['newPassword'] : [],
      };
    },
  );

  r.post(
    '/v1/links/redeem',
    { schema: { summary: 'Use a link: set the new password', tags: ['public'], body: RedeemBody } },
    async (req) => {
      const { token, tenantId, newPassword } = req.body;
      const row = await liveTokenFor(token, tenantId, req);
      if (!row || row.purpose !== 'password_reset') throw LINK_INVALID();
      if (newPassword === undefined) throw new ApiError(400, 'invalid_field', 'newPassword: required for a password reset', { field: 'newPassword' });
      const acct = await findAccount(db, row.tenant_id, row.account_id);
      const addresses = acct ? await registeredAddresses(db, acct.id) : [];
      const verdict = checkNewPassword(newPassword, [row.account_id, ...addresses.map((a) => a.email), ...addresses.map((a) => a.email.split('@')[0])]);
      if (!verdict.ok) throw new ApiError(400, verdict.code, `newPassword: ${verdict.message}`, { field: 'newPassword' });

      // Hash before taking a connection: argon2id is deliberately slow.
      const passwordHash = await hashPassword(newPassword);
      const consumed = await db.transaction().execute(async (trx) => {
        const used = await trx
          .updateTable('one_time_tokens')
          .set({ used_at: new Date() })
          .where('id', '=', row.id)
          .where('used_at', 'is', null)
          .where('invalidated_at', 'is', null)
          .where('expires_at', '>', sql<Date>`now()`)
          .returning(['id', 'workflow_id', 'recovery_id'])
          .executeTakeFirst();
        if (!used) return null;
        await trx.insertInto('staged_credentials').values({ token_id: used.id, password_hash: passwordHash }).execute();
        // Signal inside the transaction: if Temporal is unreachable, the token stays unused.
        await temporal.workflow.getHandle(used.workflow_id).signal(linkRedeemedSignal, { tokenId: used.id });
        return used;
      });
      if (!consumed) throw LINK_INVALID();
      await appendAudit(db, {
        tenantId: row.tenant_id,
        eventKey: `${row.recovery_id}:link-redeemed:${row.id}`,
        actor: 'account_owner',
        action: 'link.redeemed',
        target: `account:${row.account_id}`,
        recoveryId: row.recovery_id,
        details: { tokenId: row.id, purpose: row.purpose, evidence: 'tier 3: possession of the registered address' },
      });
      return { status: 'accepted', message: 'Your new password is being applied. Every session will be signed out.' };
    },
  );

  r.post(
    '/v1/links/cancel',
    { schema: { summary: '"This wasn\'t me": cancel a pending recovery', tags: ['public'], body: LinkCancelBody } },
    async (req) => {
      const { token, tenantId } = req.body;
      const row = await liveTokenFor(token, tenantId, req);
      if (!row || row.purpose !== 'cancel') throw LINK_INVALID();
      const used = await db
        .updateTable('one_time_tokens')
        .set({ used_at: new Date() })
        .where('id', '=', row.id)
        .where('used_at', 'is', null)
        .where('invalidated_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()`)
        .returning(['id'])
        .executeTakeFirst();
      if (!used) throw LINK_INVALID();
      await temporal.workflow
        .getHandle(row.workflow_id)
        .executeUpdate(cancelUpdate, { args: [{ actor: 'account_owner', via: 'owner', reason: 'the account owner reported this was not them' }] })
        .catch(() => undefined);
      return { status: 'cancelled', message: 'The recovery was cancelled and your security team was told.' };
    },
  );
}
