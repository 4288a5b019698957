// Per-tenant directory configuration (issue 12): the only owner of `tenant_directories`. The
// secret arrives already sealed; this module never sees it in the clear.
import type { Db } from './db';

export type DirectoryKind = 'builtin' | 'webhook' | 'keycloak';

export interface TenantDirectoryRow {
  tenantId: string;
  kind: DirectoryKind;
  settings: Record<string, unknown>;
  secretSealed: string | null;
  secretKeyId: string | null;
  updatedAt: Date;
  updatedBy: string;
}

type Selected = Awaited<ReturnType<typeof selectAll>>[number];
const selectAll = (db: Db) => db.selectFrom('tenant_directories').selectAll().execute();

function toRow(r: Selected): TenantDirectoryRow {
  return {
    tenantId: r.tenant_id,
    kind: r.kind,
    settings: r.settings,
    secretSealed: r.secret_sealed,
    secretKeyId: r.secret_key_id,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

export async function getTenantDirectory(db: Db, tenantId: string): Promise<TenantDirectoryRow | null> {
  const r = await db.selectFrom('tenant_directories').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  return r ? toRow(r) : null;
}

/** Every saved configuration, for the periodic health check (one row per tenant that saved one). */
export async function listTenantDirectories(db: Db): Promise<TenantDirectoryRow[]> {
  return (await selectAll(db)).map(toRow);
}

/** The configurations whose secret is sealed under another key than `currentKeyId` (or under no recorded key). */
export async function directoriesSealedWithOtherThan(db: Db, currentKeyId: string): Promise<TenantDirectoryRow[]> {
  const rows = await db
    .selectFrom('tenant_directories')
    .selectAll()
    .where('secret_sealed', 'is not', null)
    .where((eb) => eb.or([eb('secret_key_id', 'is', null), eb('secret_key_id', '<>', currentKeyId)]))
    .orderBy('tenant_id')
    .execute();
  return rows.map(toRow);
}

/**
 * Replaces a sealed secret with the same secret sealed under another key, only if the row still
 * holds exactly what was read (same key id and ciphertext): a concurrent re-seal, or a save by an
 * engine still on the old keys, wins and this one writes nothing. True when it wrote.
 */
export async function resealTenantDirectorySecret(
  db: Db,
  c: { tenantId: string; from: { keyId: string | null; sealed: string }; to: { keyId: string; sealed: string } },
): Promise<boolean> {
  const r = await db
    .updateTable('tenant_directories')
    .set({ secret_sealed: c.to.sealed, secret_key_id: c.to.keyId })
    .where('tenant_id', '=', c.tenantId)
    .where('secret_sealed', '=', c.from.sealed)
    .where('secret_key_id', c.from.keyId === null ? 'is' : '=', c.from.keyId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Inserts or replaces the tenant's configuration; returns when it was written. */
export async function putTenantDirectory(
  db: Db,
  c: { tenantId: string; kind: DirectoryKind; settings: Record<string, unknown>; secretSealed: string | null; secretKeyId: string | null; updatedBy: string },
): Promise<Date> {
  const values = {
    kind: c.kind,
    settings: JSON.stringify(c.settings),
    secret_sealed: c.secretSealed,
    secret_key_id: c.secretKeyId,
    updated_at: new Date(),
    updated_by: c.updatedBy,
  };
  const row = await db
    .insertInto('tenant_directories')
    .values({ tenant_id: c.tenantId, ...values })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
    .returning('updated_at')
    .executeTakeFirstOrThrow();
  return row.updated_at;
}
