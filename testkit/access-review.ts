// What the access-review tests place in Postgres directly: an account's activity at a chosen
// moment (the time-skipping server's clock runs ahead of Postgres's), and a break-glass grant
// whose credential has ended, in the state its workflow left it in.
import crypto from 'node:crypto';
import type { Db } from '../store/db';

/** The account's last sign-in (null: never) and, optionally, when it was created. */
export async function placeAccountActivity(db: Db, tenantId: string, accountId: string, a: { lastLoginAt: Date | null; createdAt?: Date }) {
  await db
    .updateTable('accounts')
    .set({ last_login_at: a.lastLoginAt, ...(a.createdAt ? { created_at: a.createdAt } : {}) })
    .where('tenant_id', '=', tenantId)
    .where('external_id', '=', accountId)
    .execute();
}

/** A break-glass grant whose credential was issued and has ended at `endedAt`, left in `state`. */
export async function placeEndedBreakGlassGrant(db: Db, g: { tenantId: string; accountId: string; state: string; endedAt: Date }): Promise<string> {
  const id = `bg_${crypto.randomBytes(12).toString('base64url').slice(0, 16)}`;
  await db
    .insertInto('access_grants')
    .values({
      id,
      tenant_id: g.tenantId,
      account_id: g.accountId,
      kind: 'break_glass',
      state: g.state,
      requested_by: 'prn_test',
      justification: 'production outage (test)',
      ticket_ref: 'INC-1',
      duration_seconds: 900,
      workflow_id: `access:${id}`,
      ...(g.state === 'completed' ? { ended_at: g.endedAt } : {}),
    })
    .execute();
  await db
    .insertInto('access_credentials')
    .values({
      grant_id: id,
      tenant_id: g.tenantId,
      account_id: g.accountId,
      key_id: 't1',
      credential_hash: crypto.randomBytes(32).toString('hex'),
      expires_at: g.endedAt,
    })
    .execute();
  return id;
}
