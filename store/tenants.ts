// Tenants: name, auth mode, security contacts, policy overrides, designated break-glass account.
// The only owner of `tenants`.
import type { Transaction } from 'kysely';
import type { Database, Db } from './db';

type Trx = Transaction<Database>;

export function getTenant(db: Db, id: string) {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function tenantExists(db: Db, id: string): Promise<boolean> {
  return !!(await db.selectFrom('tenants').select('id').where('id', '=', id).executeTakeFirst());
}

/** Which of these ids name tenants. */
export async function existingTenantIds(db: Db, ids: string[]): Promise<string[]> {
  if (!ids.length) return [];
  return (await db.selectFrom('tenants').select('id').where('id', 'in', ids).execute()).map((t) => t.id);
}

/** False when a tenant with this id exists already. */
export async function insertTenant(
  trx: Trx,
  t: {
    id: string;
    name: string;
    authMode: 'sso_enforced' | 'mixed' | 'local';
    securityContacts: string[];
    breakGlassAccount: string | null;
    caseSensitiveAccountIds: boolean;
  },
): Promise<boolean> {
  const row = await trx
    .insertInto('tenants')
    .values({
      id: t.id,
      name: t.name,
      auth_mode: t.authMode,
      security_contacts: JSON.stringify(t.securityContacts),
      policy_override: null,
      break_glass_account: t.breakGlassAccount,
      case_sensitive_account_ids: t.caseSensitiveAccountIds,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return !!row;
}

/** Whether the tenant's account ids differing only in case are different accounts (false: refused). */
export async function accountIdsCaseSensitive(db: Db | Trx, id: string): Promise<boolean> {
  const t = await db.selectFrom('tenants').select('case_sensitive_account_ids').where('id', '=', id).executeTakeFirst();
  return t?.case_sensitive_account_ids ?? false;
}

export async function setPolicyOverride(trx: Trx, id: string, override: unknown): Promise<void> {
  await trx
    .updateTable('tenants')
    .set({ policy_override: JSON.stringify(override), updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

export async function tenantName(db: Db, id: string): Promise<string> {
  return (await db.selectFrom('tenants').select('name').where('id', '=', id).executeTakeFirstOrThrow()).name;
}

export async function securityContacts(db: Db, id: string): Promise<{ name: string; contacts: string[] }> {
  const t = await db.selectFrom('tenants').select(['name', 'security_contacts']).where('id', '=', id).executeTakeFirstOrThrow();
  return { name: t.name, contacts: t.security_contacts };
}

/** The security contacts of every tenant a scope covers ('*': all of them), tenant by tenant. */
export async function securityContactsInScope(db: Db, scope: readonly string[]): Promise<{ id: string; name: string; contacts: string[] }[]> {
  let q = db.selectFrom('tenants').select(['id', 'name', 'security_contacts']).orderBy('id');
  if (!scope.includes('*')) q = q.where('id', 'in', scope.length ? [...scope] : ['-']);
  return (await q.execute()).map((t) => ({ id: t.id, name: t.name, contacts: t.security_contacts }));
}
