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
  /** A login that reported its password on a breached or common list. */
  passwordCompromised?: boolean;
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
          password_compromised: e.passwordCompromised ?? false,
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
        .map((e) => ({
          accountUuid: e.accountUuid,
          at: e.at,
          ip: e.ip,
          deviceId: e.deviceId,
          ...e.geo,
          success: e.outcome === 'success',
          source: e.source,
          passwordCompromised: e.passwordCompromised,
          ingested: true,
        })),
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
 * The successful logins that issued the given sessions of the given accounts, at or before
 * `upTo`, the latest per session: where each session was issued. One statement.
 */
export async function sessionLogins(
  db: Db,
  q: { accountUuids: readonly string[]; sessionIds: readonly string[]; upTo: Date },
): Promise<
  { accountUuid: string; sessionId: string; at: Date; ip: string; geo: Record<string, unknown> | null; deviceId: string | null; userAgent: string | null }[]
> {
  if (!q.accountUuids.length || !q.sessionIds.length) return [];
  const rows = await db
    .selectFrom('ingested_events')
    .select(['account_id', 'session_id', 'at', 'ip', 'geo', 'device_id', 'user_agent'])
    .distinctOn(['account_id', 'session_id'])
    .where('account_id', 'in', [...q.accountUuids])
    .where('session_id', 'in', [...q.sessionIds])
    .where('type', '=', 'login')
    .where('outcome', '=', 'success')
    .where('at', '<=', q.upTo)
    .orderBy('account_id')
    .orderBy('session_id')
    .orderBy('at', 'desc')
    .execute();
  return rows.map((r) => ({
    accountUuid: r.account_id,
    sessionId: r.session_id!,
    at: new Date(r.at),
    ip: r.ip,
    geo: r.geo,
    deviceId: r.device_id,
    userAgent: r.user_agent,
  }));
}
