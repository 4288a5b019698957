// Behaviour events the product's backend reports (issue 13): logins, uses of an existing session,
// MFA enrolments; recorded once per (tenant, eventId). The only owner of `ingested_events`.
import type { Db } from './db';
import { recordLoginsTx } from './directory';

export interface NewEvent {
  tenantId: string;
  eventId: string;
  type: 'login' | 'session_use' | 'mfa_enroll';
  accountUuid: string;
  at: Date;
  ip: string;
  deviceId?: string;
  userAgent?: string;
  sessionId?: string;
  outcome?: 'success' | 'failure';
  geo?: { country?: string; asn?: number; lat?: number; lon?: number };
  source: string;
}

export const eventKey = (e: { tenantId: string; eventId: string }) => `${e.tenantId}\n${e.eventId}`;

/**
 * Records, in one transaction, the events not recorded before; logins among them also go to the
 * login history. Returns the keys (eventKey) of those newly recorded: the rest were duplicates.
 */
export async function ingestEvents(db: Db, events: readonly NewEvent[]): Promise<Set<string>> {
  if (!events.length) return new Set();
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .insertInto('ingested_events')
      .values(
        events.map((e) => ({
          tenant_id: e.tenantId,
          event_id: e.eventId,
          type: e.type,
          account_id: e.accountUuid,
          at: e.at,
          ip: e.ip,
          device_id: e.deviceId ?? null,
          user_agent: e.userAgent ?? null,
          session_id: e.sessionId ?? null,
          outcome: e.outcome ?? null,
          geo: e.geo ? JSON.stringify(e.geo) : null,
          source: e.source,
        })),
      )
      .onConflict((oc) => oc.columns(['tenant_id', 'event_id']).doNothing())
      .returning(['tenant_id', 'event_id'])
      .execute();
    const fresh = new Set(rows.map((r) => eventKey({ tenantId: r.tenant_id, eventId: r.event_id })));
    await recordLoginsTx(
      trx,
      events
        .filter((e) => e.type === 'login' && fresh.has(eventKey(e)))
        .map((e) => ({ accountUuid: e.accountUuid, at: e.at, ip: e.ip, deviceId: e.deviceId, ...e.geo, success: e.outcome === 'success', source: e.source })),
    );
    return fresh;
  });
}

/** How many events of a tenant are recorded (tests and checks). */
export async function countIngestedEvents(db: Db, tenantId: string): Promise<number> {
  const r = await db
    .selectFrom('ingested_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * Where the session was issued: the latest successful login reported with this session id for the
 * account, at or before `at`, or null when none was reported.
 */
export async function sessionIssuedAt(
  db: Db,
  q: { tenantId: string; accountUuid: string; sessionId: string; at: Date },
): Promise<{ ip: string; asn: number | null } | null> {
  const row = await db
    .selectFrom('ingested_events')
    .select(['ip', 'geo'])
    .where('tenant_id', '=', q.tenantId)
    .where('account_id', '=', q.accountUuid)
    .where('type', '=', 'login')
    .where('outcome', '=', 'success')
    .where('session_id', '=', q.sessionId)
    .where('at', '<=', q.at)
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  const asn = (row.geo as { asn?: unknown } | null)?.asn;
  return { ip: row.ip, asn: typeof asn === 'number' ? asn : null };
}
