// The risk engine's reads and records: an account's behaviour history as of a time, the reset
// rates around a request, every scored request (`risk_assessments`) and each tenant's reset
// storms (`risk_storms`), their only owner. assessAndRecord is the one assessment both
// POST /v1/risk/assess and a recovery's triage run.
import { sql, type Transaction } from 'kysely';
import { resolvePolicy, type PolicyOverride } from '../domain/policy';
import { hijackedSession } from '../domain/risk-response';
import { assessRisk, type HistoryEvent, type ResetCounts, type ResolvedGeo, type RiskAssessment } from '../domain/risk-signals';
import type { Database, Db } from './db';
import { appendAuditTx } from './audit';

/** How many of the newest events of each source are read: enough for familiarity, bounded for speed. */
export const HISTORY_LIMIT = 300;

/**
 * One event as the database function account_history (migration 0024) gives it: [type, at (ms
 * since the epoch), ip, device_id, user_agent, session_id, country, asn, lat, lon, success,
 * password flagged]. The function is the one definition of an account's history: its logins
 * (login_events, without the copies of batch logins) and its session uses, enrolments and batch
 * logins (ingested_events), strictly before a bound (or at or before it), the newest of each.
 */
type HistoryTuple = [
  HistoryEvent['type'],
  number,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
  number | string | null,
  number | string | null,
  number | string | null,
  boolean,
  boolean,
];

const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : undefined);

function geoOf(country: string | null, asnIn: unknown, latIn: unknown, lonIn: unknown): ResolvedGeo {
  const out: ResolvedGeo = {};
  if (country) out.country = country;
  const asn = num(asnIn);
  if (asn !== undefined) out.asn = asn;
  const lat = num(latIn);
  const lon = num(lonIn);
  if (lat !== undefined && lon !== undefined) Object.assign(out, { lat, lon });
  return out;
}

/** A history event as read, its geo as the reporter gave it (`locate`: the address to complete it from). */
export type StoredHistoryEvent = HistoryEvent & { locate: string };

/** The sessions the engine revoked or escalated as a possible hijack (few: their uses vouch for nothing), as their session ids. */
const suspectSessions = (dedupeKeys: readonly string[]) => new Set(dedupeKeys.map(hijackedSession));

/** An account's history tuples as events, newest first; a use of a suspect session is marked. */
function toHistory(rows: readonly HistoryTuple[], suspect: ReadonlySet<string>): StoredHistoryEvent[] {
  const out = rows.map(([type, at, ip, deviceId, userAgent, sessionId, country, asn, lat, lon, success, flagged]): StoredHistoryEvent => ({
    type,
    at: new Date(at),
    ip,
    deviceId,
    userAgent,
    sessionId,
    geo: geoOf(country, asn, lat, lon),
    success,
    passwordFlagged: flagged,
    sessionRevoked: type === 'session_use' && !!sessionId && suspect.has(sessionId),
    locate: ip,
  }));
  return out.sort((x, y) => y.at.getTime() - x.at.getTime());
}

/**
 * Each account's events up to `bound` (strictly before it, or at or before it with `inclusive`),
 * newest first (account_history, toHistory). One statement for all the accounts, beside one for
 * their suspect sessions.
 */
export async function histories(
  db: Db,
  accountUuids: readonly string[],
  bound: Date,
  o: { inclusive?: boolean; limit?: number } = {},
): Promise<Map<string, StoredHistoryEvent[]>> {
  const out = new Map<string, StoredHistoryEvent[]>(accountUuids.map((id) => [id, []]));
  if (!accountUuids.length) return out;
  const [{ rows }, suspects] = await Promise.all([
    sql<{
      account: string;
      history: HistoryTuple[];
    }>`select a.id as account, account_history(a.id, ${bound}, ${!!o.inclusive}, ${o.limit ?? HISTORY_LIMIT}) as history
      from unnest(${[...accountUuids]}::uuid[]) as a(id)`.execute(db),
    db
      .selectFrom('risk_responses')
      .select(['account_uuid', 'dedupe_key'])
      .where('account_uuid', 'in', [...accountUuids])
      .where('signal', '=', 'session_hijack')
      .execute(),
  ]);
  const keys = new Map<string, string[]>();
  for (const r of suspects) keys.set(r.account_uuid, [...(keys.get(r.account_uuid) ?? []), r.dedupe_key]);
  for (const r of rows) out.set(r.account, toHistory(r.history, suspectSessions(keys.get(r.account) ?? [])));
  return out;
}

/** What an assessment reads, in one call: the tenant's policy, the account, its history, its suspect sessions and the reset rates. */
interface AssessmentRead extends Record<keyof ResetCounts, number> {
  tenantExists: boolean;
  policy: PolicyOverride | null;
  accountUuid: string | null;
  history: HistoryTuple[];
  suspects: string[];
  stormOpen: boolean;
}

/**
 * Everything an assessment reads, as of `at`, in one round trip (a request waits for each): the
 * database function risk_assessment_read (migration 0024) reads the tenant (its policy
 * override), the account, the account's events strictly before `at` (account_history) with its
 * suspect sessions, and the reset rates from the recorded assessments strictly before `at`. The
 * tenant and account rows are read here, not written.
 */
async function assessmentReads(db: Db, q: { tenantId: string; accountId: string; ip: string; deviceId?: string; at: Date }) {
  const { rows } = await sql<{
    read: AssessmentRead;
  }>`select risk_assessment_read(${q.tenantId}, ${q.accountId}, ${q.ip}, ${q.deviceId ?? null}, ${q.at}, ${HISTORY_LIMIT}) as read`.execute(db);
  const r = rows[0].read;
  const resets: ResetCounts = {
    account24h: Number(r.account24h),
    ipAccounts1h: Number(r.ipAccounts1h),
    deviceAccounts24h: Number(r.deviceAccounts24h),
    tenant1h: Number(r.tenant1h),
    tenantBaseline7d: Number(r.tenantBaseline7d),
  };
  const history = r.accountUuid ? toHistory(r.history, suspectSessions(r.suspects)) : [];
  return { tenantExists: r.tenantExists, policy: r.policy, accountUuid: r.accountUuid, history, resets, stormOpen: r.stormOpen };
}

export interface AssessInput {
  tenantId: string;
  accountId: string;
  kind: string;
  at: Date;
  ip: string;
  deviceId?: string;
  userAgent?: string;
  /** The caller's geo, already completed from the IP database. */
  geo: ResolvedGeo;
  /** `assess`, or `recovery:<id>` (recorded once). */
  source: string;
}

export type StormChange = { change: 'started' | 'ended'; stormId: string } | null;

/**
 * Records the scored request; during an open storm (`stormPeak`: the last hour's count), raises
 * the storm's peak in the same statement, so a request in a storm costs no extra round trip.
 */
function recordAssessment(db: Db, i: AssessInput, a: RiskAssessment, stormPeak: number | null) {
  const insert = db
    .insertInto('risk_assessments')
    .values({
      tenant_id: i.tenantId,
      account_id: i.accountId,
      kind: i.kind,
      at: i.at,
      ip: i.ip,
      device_id: i.deviceId ?? null,
      score: a.score,
      tier: a.tier,
      signals: JSON.stringify(a.signals),
      source: i.source,
    })
    .onConflict((oc) => oc.column('source').where('source', '<>', 'assess').doNothing());
  if (stormPeak === null) return insert.execute();
  // A data-modifying CTE runs whether or not the outer statement reads it.
  return db
    .with('recorded', () => insert.returning('id'))
    .updateTable('risk_storms')
    .set({ peak_per_hour: sql`greatest(peak_per_hour, ${stormPeak})` })
    .where('tenant_id', '=', i.tenantId)
    .where('ended_at', 'is', null)
    .execute();
}

/** Opens or closes the tenant's storm, auditing either, in one transaction; null when nothing changed. */
async function moveStormTx(trx: Transaction<Database>, i: AssessInput, storm: RiskAssessment['storm']): Promise<StormChange> {
  if (storm.active) {
    const opened = await trx
      .insertInto('risk_storms')
      .values({ tenant_id: i.tenantId, started_at: i.at, peak_per_hour: storm.lastHour, baseline_per_hour: storm.baselinePerHour })
      .onConflict((oc) => oc.column('tenant_id').where('ended_at', 'is', null).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!opened) return null;
    await stormAudit(trx, i.tenantId, String(opened.id), 'started', i.at, storm);
    return { change: 'started', stormId: String(opened.id) };
  }
  const closed = await trx
    .updateTable('risk_storms')
    .set({ ended_at: i.at })
    .where('tenant_id', '=', i.tenantId)
    .where('ended_at', 'is', null)
    .where('started_at', '<', i.at)
    .returning(['id', 'peak_per_hour'])
    .executeTakeFirst();
  if (!closed) return null;
  await stormAudit(trx, i.tenantId, String(closed.id), 'ended', i.at, storm, closed.peak_per_hour);
  return { change: 'ended', stormId: String(closed.id) };
}

/** `peakPerHour`: at the end, the storm's busiest hour (raised by every request while it went on). */
function stormAudit(
  trx: Transaction<Database>,
  tenantId: string,
  id: string,
  change: 'started' | 'ended',
  at: Date,
  storm: RiskAssessment['storm'],
  peakPerHour?: number,
) {
  return appendAuditTx(trx, {
    tenantId,
    eventKey: `risk-storm:${tenantId}:${id}:${change}`,
    actor: 'system:risk',
    action: `risk.storm_${change}`,
    target: `tenant:${tenantId}`,
    details: {
      at: at.toISOString(),
      resetsLastHour: storm.lastHour,
      baselinePerHour: storm.baselinePerHour,
      ...(peakPerHour === undefined ? {} : { peakPerHour }),
    },
  });
}

/**
 * Records of assessments answered before they were written (assessAndRecord's `answerFirst`),
 * per tenant, until written: an assessment in this process waits for its tenant's before it
 * reads, so its reset rates count every request answered before it.
 */
const unwritten = new Map<string, Set<Promise<unknown>>>();

function trackUnwritten(tenantId: string, p: Promise<unknown>) {
  const set = unwritten.get(tenantId) ?? new Set();
  unwritten.set(tenantId, set.add(p));
  const done = () => {
    set.delete(p);
    if (!set.size && unwritten.get(tenantId) === set) unwritten.delete(tenantId);
  };
  p.then(done, done);
}

async function unwrittenSettled(tenantId: string) {
  const set = unwritten.get(tenantId);
  if (set?.size) await Promise.allSettled([...set]);
}

/**
 * Scores a reset request as of `i.at` under the tenant's policy and records it. `locate`
 * completes a history event's geo from the IP database where the reporter gave none. Names what
 * is missing when the tenant or the account does not exist (nothing recorded then).
 * `answerFirst`: returns once scored, the record still being written (`recorded`; a start or end
 * of a storm is still written before returning), for an answer that does not wait for a commit.
 */
export async function assessAndRecord(
  db: Db,
  locate: (ip: string, given: ResolvedGeo) => ResolvedGeo,
  i: AssessInput,
  o: { answerFirst?: boolean } = {},
): Promise<{ assessment: RiskAssessment; storm: StormChange; recorded: Promise<unknown> } | { missing: 'tenant' | 'account' }> {
  await unwrittenSettled(i.tenantId);
  const read = await assessmentReads(db, i);
  if (!read.tenantExists) return { missing: 'tenant' };
  if (!read.accountUuid) return { missing: 'account' };
  const history = read.history.map(({ locate: ip, ...e }) => ({ ...e, geo: locate(ip, e.geo) }));
  const assessment = assessRisk({
    at: i.at,
    ip: i.ip,
    deviceId: i.deviceId,
    userAgent: i.userAgent,
    geo: i.geo,
    history,
    resets: read.resets,
    perAccountPer24h: resolvePolicy(read.policy).rateLimits.perAccountPer24h,
  });
  // A storm going on has its peak raised with the record; only a start or an end (audited) costs a transaction.
  const going = read.stormOpen && assessment.storm.active;
  const recorded = recordAssessment(db, i, assessment, going ? assessment.storm.lastHour : null);
  const moves = assessment.storm.active !== read.stormOpen;
  if (o.answerFirst && !moves) {
    trackUnwritten(i.tenantId, recorded);
    return { assessment, storm: null, recorded };
  }
  await recorded;
  const storm = moves ? await db.transaction().execute((trx) => moveStormTx(trx, i, assessment.storm)) : null;
  return { assessment, storm, recorded };
}

/** Each tenant's storm state, for /metrics: open storms and how many ever started. */
export async function stormGauges(db: Db): Promise<{ tenantId: string; active: boolean; started: number }[]> {
  const rows = await db
    .selectFrom('risk_storms')
    .select((eb) => ['tenant_id', eb.fn.countAll<string>().as('started'), sql<boolean>`bool_or(ended_at is null)`.as('active')])
    .groupBy('tenant_id')
    .execute();
  return rows.map((r) => ({ tenantId: r.tenant_id, active: !!r.active, started: Number(r.started) }));
}
