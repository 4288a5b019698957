// The access review's reports (migrations/0019): opened once per run with its findings, each
// finding's outcome recorded under its number, then completed. The only owner of `access_reviews`.
import { sql } from 'kysely';
import type { Db } from './db';

export type AccessReviewRow = NonNullable<Awaited<ReturnType<typeof getAccessReview>>>;

/** Opens the report, or finds the one a retry opened already (same id): the findings stay the first ones. */
export async function openAccessReviewOnce(
  db: Db,
  r: { id: string; tenantId: string; workflowId: string; actor: string; asOf: Date; action: 'report' | 'suspend'; findings: unknown[] },
): Promise<AccessReviewRow> {
  await db
    .insertInto('access_reviews')
    .values({
      id: r.id,
      tenant_id: r.tenantId,
      workflow_id: r.workflowId,
      actor: r.actor,
      as_of: r.asOf,
      action: r.action,
      findings: JSON.stringify(r.findings),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return (await getAccessReview(db, r.id))!;
}

export function getAccessReview(db: Db, id: string) {
  return db.selectFrom('access_reviews').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A tenant's reports, newest first, without their findings. */
export function listAccessReviews(db: Db, tenantId: string, limit: number) {
  return db
    .selectFrom('access_reviews')
    .select(['id', 'tenant_id', 'workflow_id', 'as_of', 'action', 'state', 'created_at', 'completed_at'])
    .select(sql<number>`jsonb_array_length(findings)`.as('finding_count'))
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** What the policy's action did with finding `n` (a retry overwrites it with the same outcome). */
export async function recordFindingOutcome(db: Db, id: string, n: number, outcome: Record<string, unknown>): Promise<void> {
  await db
    .updateTable('access_reviews')
    .set({ outcomes: sql`outcomes || jsonb_build_object(${String(n)}::text, ${JSON.stringify(outcome)}::jsonb)` })
    .where('id', '=', id)
    .execute();
}

export async function completeAccessReview(db: Db, id: string, recipients: number): Promise<void> {
  await db
    .updateTable('access_reviews')
    .set({ state: 'completed', recipients, completed_at: sql`coalesce(completed_at, now())` })
    .where('id', '=', id)
    .execute();
}
