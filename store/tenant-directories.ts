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

export async function getTenantDirectory(db: Db, tenantId: string): Promise<TenantDirectoryRow | null> {
  const r = await db.selectFrom('tenant_directories').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!r) return null;
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
