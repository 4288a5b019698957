// What the engine did on its own about a behaviour event, and what an admin decided about it: the
// read model of the risk-response workflow. The only owner of `risk_responses`.
import type { Selectable, Transaction } from 'kysely';
import type { ResponseAction, ResponseSignal } from '../domain/risk-response';
import { appendAuditTx } from './audit';
import { json, type Database, type Db, type RiskResponsesTable } from './db';

type Trx = Transaction<Database>;

export interface NewResponse {
  id: string;
  tenantId: string;
  accountId: string;
  accountUuid: string;
  action: ResponseAction;
  signal: ResponseSignal;
  dedupeKey: string;
  eventId: string | null;
  evidence: string[];
  state: string;
  workflowId: string;
}

export interface ResponseRow {
  id: string;
  tenantId: string;
  accountId: string;
  action: ResponseAction;
  signal: string;
  eventId: string | null;
  evidence: string[];
  state: string;
  outcome: Record<string, unknown> | null;
  workflowId: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function rowOf(r: Selectable<RiskResponsesTable>): ResponseRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    accountId: r.account_id,
    action: r.action,
    signal: r.signal,
    eventId: r.event_id,
    evidence: r.evidence,
    state: r.state,
    outcome: r.outcome,
    workflowId: r.workflow_id,
    decidedBy: r.decided_by,
    decidedAt: iso(r.decided_at),
    decisionReason: r.decision_reason,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

/**
 * Records a response with its audit event, once per (tenant, dedupe key): the response already
 * made for that key is returned instead (a replayed event, a second use of one hijacked session).
 */
export function recordResponse(db: Db, r: NewResponse): Promise<{ row: ResponseRow; inserted: boolean }> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('risk_responses')
      .values({
        id: r.id,
        tenant_id: r.tenantId,
        account_id: r.accountId,
        account_uuid: r.accountUuid,
        action: r.action,
        signal: r.signal,
        dedupe_key: r.dedupeKey,
        event_id: r.eventId,
        evidence: json(r.evidence),
        state: r.state,
        workflow_id: r.workflowId,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'dedupe_key']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) {
      await appendAuditTx(trx, {
        tenantId: r.tenantId,
        eventKey: `${r.id}:recorded`,
        actor: 'system',
        action: 'risk.response_recorded',
        target: `account:${r.accountId}`,
        recoveryId: r.id,
        details: { action: r.action, signal: r.signal, reason: r.signal, eventId: r.eventId, evidence: r.evidence, state: r.state },
      });
      return { row: rowOf(inserted), inserted: true };
    }
    const existing = await trx
      .selectFrom('risk_responses')
      .selectAll()
      .where('tenant_id', '=', r.tenantId)
      .where('dedupe_key', '=', r.dedupeKey)
      .executeTakeFirstOrThrow();
    return { row: rowOf(existing), inserted: false };
  });
}

export async function getResponse(db: Db | Trx, id: string): Promise<ResponseRow | null> {
  const r = await db.selectFrom('risk_responses').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? rowOf(r) : null;
}

/** A tenant's responses, newest first, optionally of one account; `before` is the previous page's last createdAt. */
export async function listResponses(db: Db, q: { tenantId: string; accountId?: string; limit: number; before?: string }): Promise<ResponseRow[]> {
  let query = db.selectFrom('risk_responses').selectAll().where('tenant_id', '=', q.tenantId);
  if (q.accountId) query = query.where('account_id', '=', q.accountId);
  if (q.before) query = query.where('created_at', '<', new Date(q.before));
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
  return rows.map(rowOf);
}

export interface ResponseTransition {
  id: string;
  state: string;
  /** Unique per run step: recording the same step twice writes once. */
  step: string;
  action: string;
  actor: string;
  outcome?: Record<string, unknown>;
  decision?: { by: string; reason: string };
  details: Record<string, unknown>;
}

/** Moves a response to a state with its audit event, in one transaction (idempotent by step). */
export function recordResponseTransition(db: Db, t: ResponseTransition): Promise<ResponseRow> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('risk_responses')
      .set({
        state: t.state,
        updated_at: new Date(),
        ...(t.outcome ? { outcome: json(t.outcome) } : {}),
        ...(t.decision ? { decided_by: t.decision.by, decided_at: new Date(), decision_reason: t.decision.reason } : {}),
      })
      .where('id', '=', t.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAuditTx(trx, {
      tenantId: row.tenant_id,
      eventKey: `${t.id}:${t.step}`,
      actor: t.actor,
      action: t.action,
      target: `account:${row.account_id}`,
      recoveryId: t.id,
      details: { action: row.action, signal: row.signal, reason: row.signal, state: t.state, ...t.details },
    });
    return rowOf(row);
  });
}
