// Principals: API keys (stored as SHA-256) with roles, a tenant scope, a contact address and the
// person behind them. The only owner of `principals`, including the bootstrap admin of a first start.
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from './db';
import { apiKeyHash, newApiKey } from '../infra/secrets';
import { appendAudit } from './audit';
import { SYSTEM_CHAIN } from '../domain/scope';

type Trx = Transaction<Database>;

export function principalByKeyHash(db: Db, keyHash: string) {
  return db.selectFrom('principals').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
}

export async function principalEmail(db: Db, id: string): Promise<string | null> {
  const p = await db.selectFrom('principals').select('email').where('id', '=', id).executeTakeFirst();
  return p?.email ?? null;
}

export interface NewPrincipal {
  id: string;
  name: string;
  roles: string[];
  tenantScope: string[];
  keyHash: string;
  account: { tenantId: string; accountId: string } | null;
  createdBy: string;
  email: string | null;
  /** The person of `email`; the binding is unconfirmed until its holder uses the emailed link. */
  personId: string | null;
}

export async function insertPrincipal(trx: Trx, p: NewPrincipal): Promise<void> {
  await trx
    .insertInto('principals')
    .values({
      id: p.id,
      name: p.name,
      roles: p.roles,
      tenant_scope: p.tenantScope,
      key_hash: p.keyHash,
      account_tenant_id: p.account?.tenantId ?? null,
      account_external_id: p.account?.accountId ?? null,
      created_by: p.createdBy,
      email: p.email,
      person_id: p.personId,
    })
    .execute();
}

export function principalById(db: Db, id: string) {
  return db.selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
}

/** What separation of duties compares: the principal's creator and its person (with the person's address). */
export function principalWithPerson(db: Db, id: string) {
  return db
    .selectFrom('principals')
    .leftJoin('persons', 'persons.id', 'principals.person_id')
    .select(['principals.id', 'principals.created_by', 'principals.person_id', 'principals.person_confirmed_at', 'persons.email as person_email'])
    .where('principals.id', '=', id)
    .executeTakeFirst();
}

/** The holder used the link mailed to the person's address: the binding is confirmed. */
export async function confirmPerson(trx: Trx, principalId: string, personId: string): Promise<boolean> {
  const row = await trx
    .updateTable('principals')
    .set({ person_confirmed_at: new Date() })
    .where('id', '=', principalId)
    .where('person_id', '=', personId)
    .where('disabled_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return !!row;
}

/** Disables a principal (its key answers 401 from now on); returns when it was disabled. */
export async function disablePrincipal(trx: Trx, id: string): Promise<{ disabledAt: Date; now: boolean }> {
  const row = await trx
    .updateTable('principals')
    .set({ disabled_at: new Date() })
    .where('id', '=', id)
    .where('disabled_at', 'is', null)
    .returning('disabled_at')
    .executeTakeFirst();
  if (row?.disabled_at) return { disabledAt: row.disabled_at, now: true };
  const was = await trx.selectFrom('principals').select('disabled_at').where('id', '=', id).executeTakeFirstOrThrow();
  return { disabledAt: was.disabled_at!, now: false };
}

/**
 * Replaces an enabled principal's key. The person binding must be confirmed again: whoever
 * rotated the key has seen it, and only the person's mailbox proves who holds it now.
 */
export async function rotatePrincipalKey(trx: Trx, id: string, keyHash: string): Promise<boolean> {
  const row = await trx
    .updateTable('principals')
    .set({ key_hash: keyHash, person_confirmed_at: null })
    .where('id', '=', id)
    .where('disabled_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return !!row;
}

/** Enabled principals with an address, holding `role`, whose scope covers the tenant. */
export function principalsToNotify(db: Db, tenantId: string, role: string) {
  return db
    .selectFrom('principals')
    .select(['id', 'email', 'account_tenant_id', 'account_external_id'])
    .where('disabled_at', 'is', null)
    .where('email', 'is not', null)
    .where(sql<boolean>`roles @> array[${role}]::text[]`)
    .where(sql<boolean>`(tenant_scope @> array[${tenantId}]::text[] or tenant_scope @> array['*']::text[])`)
    .execute();
}

/** First start: an admin principal, its API key returned once (or taken from BOOTSTRAP_ADMIN_KEY). */
export async function ensureBootstrapAdmin(db: Db, presetKey?: string): Promise<{ created: boolean; apiKey?: string }> {
  const values = (hash: string) => ({
    id: 'prn_bootstrap',
    name: 'bootstrap admin',
    roles: ['admin'],
    tenant_scope: ['*'],
    key_hash: hash,
    account_tenant_id: null,
    account_external_id: null,
    created_by: null,
  });
  if (presetKey) {
    const hash = apiKeyHash(presetKey);
    if (await principalByKeyHash(db, hash)) return { created: false };
    await db
      .insertInto('principals')
      .values(values(hash))
      .onConflict((oc) => oc.column('id').doUpdateSet({ key_hash: hash, disabled_at: null }))
      .execute();
    await appendAudit(db, {
      tenantId: SYSTEM_CHAIN,
      eventKey: `bootstrap-admin:${hash.slice(0, 16)}`,
      actor: 'system',
      action: 'principal.bootstrapped',
      target: 'principal:prn_bootstrap',
      details: { source: 'BOOTSTRAP_ADMIN_KEY' },
    });
    return { created: true };
  }
  const any = await db.selectFrom('principals').select('id').limit(1).executeTakeFirst();
  if (any) return { created: false };
  const apiKey = newApiKey();
  await db
    .insertInto('principals')
    .values(values(apiKeyHash(apiKey)))
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  await appendAudit(db, {
    tenantId: SYSTEM_CHAIN,
    eventKey: 'bootstrap-admin:generated',
    actor: 'system',
    action: 'principal.bootstrapped',
    target: 'principal:prn_bootstrap',
    details: { source: 'generated' },
  });
  return { created: true, apiKey };
}

/** Who principals are, for evidence: name, roles and the person (verified address) behind each. */
export function principalsWithPersons(db: Db, ids: readonly string[]) {
  if (!ids.length) return Promise.resolve([]);
  return db
    .selectFrom('principals')
    .leftJoin('persons', 'persons.id', 'principals.person_id')
    .select(['principals.id', 'principals.name', 'principals.roles', 'principals.person_id', 'principals.person_confirmed_at', 'persons.email as person_email'])
    .where('principals.id', 'in', ids)
    .execute();
}

/**
 * The enabled principals holding any of `roles` for this tenant (scope names it, or `*`) whose own
 * account is in this tenant: the access review checks that account.
 */
export function decidersWithAccountsIn(db: Db, tenantId: string, roles: readonly string[]) {
  return db
    .selectFrom('principals')
    .select(['id', 'name', 'roles', 'account_external_id'])
    .where('disabled_at', 'is', null)
    .where(sql<boolean>`roles && ${sql.val([...roles])}::text[]`)
    .where(sql<boolean>`(tenant_scope @> array[${tenantId}]::text[] or tenant_scope @> array['*']::text[])`)
    .where('account_tenant_id', '=', tenantId)
    .where('account_external_id', 'is not', null)
    .orderBy('id')
    .execute();
}
