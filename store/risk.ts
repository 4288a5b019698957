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

interface HistoryRow {
  account: string;
  type: HistoryEvent['type'];
  at: Date;
  ip: string;
  device_id: string | null;
  user_agent: string | null;
  session_id: string | null;
  country: string | null;
  asn: string | number | null;
  lat: number | null;
  lon: number | null;
  success: boolean;
  geo: Record<string, unknown> | null;
  from_batch: boolean;
  flagged: boolean;
}

const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : undefined);

function geoOfRow(r: HistoryRow): ResolvedGeo {
  const g = r.geo ?? {};
  const out: ResolvedGeo = {};
  const country = r.country ?? (typeof g.country === 'string' ? g.country : undefined);
  if (country) out.country = country;
  const asn = num(r.asn ?? g.asn);
  if (asn !== undefined) out.asn = asn;
  const lat = num(r.lat ?? g.lat);
  const lon = num(r.lon ?? g.lon);
  if (lat !== undefined && lon !== undefined) Object.assign(out, { lat, lon });
  return out;
}

/** A history event as read, its geo as the reporter gave it (`locate`: the address to complete it from). */
export type StoredHistoryEvent = HistoryEvent & { locate: string };

/**
 * The history subquery for an outer row `a(id)` (an account's uuid): its logins (login_events:
 * both event routes write there) and its session uses and enrolments (ingested_events) up to
 * `bound`, the newest `limit` of each.
 */
function historyLateral(bound: Date, o: { inclusive?: boolean; limit?: number }) {
  const limit = o.limit ?? HISTORY_LIMIT;
  const until = o.inclusive ? sql`<=` : sql`<`;
  return sql`lateral (
      (select 'login' as type, at, ip, device_id, null as user_agent, null as session_id, country, asn, lat, lon, success,
              null::jsonb as geo, false as from_batch, password_compromised as flagged
         from login_events where account_id = a.id and at ${until} ${bound} order by at desc limit ${limit})
      union all
      (select e.type, e.at, e.ip, e.device_id, e.user_agent, e.session_id, null, null, null, null, e.outcome is distinct from 'failure',
              e.geo, true, e.password_compromised
         from ingested_events e where e.account_id = a.id and e.at ${until} ${bound} order by e.at desc limit ${limit})
    )`;
}

/** The sessions the engine revoked or escalated as a possible hijack (few: their uses vouch for nothing), as `account|session`. */
const suspectKey = (account: string, dedupeKey: string) => `${account}|${hijackedSession(dedupeKey)}`;

/**
 * History rows (any accounts, any order) as events, newest first per account. A batch login is
 * in both tables; its ingested copy (which has the session id) is the one kept. A use of a
 * suspect session is marked.
 */
function toHistories(out: Map<string, StoredHistoryEvent[]>, rows: readonly HistoryRow[], suspect: ReadonlySet<string>) {
  const batchLogins = new Set(rows.filter((r) => r.from_batch && r.type === 'login').map((r) => `${r.account}|${new Date(r.at).getTime()}|${r.ip}`));
  for (const r of rows) {
    if (!r.from_batch && batchLogins.has(`${r.account}|${new Date(r.at).getTime()}|${r.ip}`)) continue;
    out.get(r.account)!.push({
      type: r.type,
      at: new Date(r.at),
      ip: r.ip,
      deviceId: r.device_id,
      userAgent: r.user_agent,
      sessionId: r.session_id,
      geo: geoOfRow(r),
      success: r.success,
      passwordFlagged: r.flagged,
      sessionRevoked: r.type === 'session_use' && !!r.session_id && suspect.has(`${r.account}|${r.session_id}`),
      locate: r.ip,
    });
  }
  for (const list of out.values()) list.sort((x, y) => y.at.getTime() - x.at.getTime());
  return out;
}

/**
 * Each account's events up to `bound` (strictly before it, or at or before it with `inclusive`),
 * newest first (historyLateral, toHistories). One statement for all the accounts, beside one for
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
    sql<HistoryRow>`select a.id as account, h.* from unnest(${[...accountUuids]}::uuid[]) as a(id) cross join ${historyLateral(bound, o)} as h`.execute(db),
    db
      .selectFrom('risk_responses')
      .select(['account_uuid', 'dedupe_key'])
      .where('account_uuid', 'in', [...accountUuids])
      .where('signal', '=', 'session_hijack')
      .execute(),
  ]);
  return toHistories(out, rows, new Set(suspects.map((r) => suspectKey(r.account_uuid, r.dedupe_key))));
}

/** What an assessment reads, in one statement: the tenant's policy, the account, its history, its suspect sessions and the reset rates. */
interface AssessmentRow extends Record<keyof ResetCounts, string> {
  tenantExists: boolean;
  policy: unknown;
  accountUuid: string | null;
  history: Omit<HistoryRow, 'account'>[];
  suspects: string[];
  stormOpen: boolean;
}

/**
 * Everything an assessment reads, as of `at`, in one round trip (a request waits for each): the
 * tenant (its policy override), the account, the account's events strictly before `at`
 * (historyLateral) with its suspect sessions, and the reset rates from the recorded assessments
 * strictly before `at`. The tenant and account rows are read here, not written.
 */
async function assessmentReads(db: Db, q: { tenantId: string; accountId: string; ip: string; deviceId?: string; at: Date }) {
  const { tenantId: t, accountId: a, ip, at } = q;
  const { rows } = await sql<AssessmentRow>`
    with acct as (select id from accounts where tenant_id = ${t} and external_id = ${a})
    select
      exists (select 1 from tenants where id = ${t}) as "tenantExists",
      (select policy_override from tenants where id = ${t}) as "policy",
      (select id from acct) as "accountUuid",
      (select coalesce(json_agg(h), '[]'::json) from acct as a cross join ${historyLateral(at, {})} as h) as "history",
      (select coalesce(json_agg(dedupe_key), '[]'::json) from risk_responses
         where account_uuid = (select id from acct) and signal = 'session_hijack') as "suspects",
      (select count(*) from risk_assessments where tenant_id = ${t} and account_id = ${a}
         and at > ${at}::timestamptz - interval '24 hours' and at < ${at}) as "account24h",
      (select count(distinct account_id) from risk_assessments where tenant_id = ${t} and ip = ${ip} and account_id <> ${a}
         and at > ${at}::timestamptz - interval '1 hour' and at < ${at}) as "ipAccounts1h",
      (select count(distinct account_id) from risk_assessments where tenant_id = ${t} and device_id = ${q.deviceId ?? null} and account_id <> ${a}
         and at > ${at}::timestamptz - interval '24 hours' and at < ${at}) as "deviceAccounts24h",
      (select count(*) from risk_assessments where tenant_id = ${t}
         and at > ${at}::timestamptz - interval '1 hour' and at < ${at}) as "tenant1h",
      (select count(*) from risk_assessments where tenant_id = ${t}
         and at > ${at}::timestamptz - interval '169 hours' and at <= ${at}::timestamptz - interval '1 hour') as "tenantBaseline7d",
      exists (select 1 from risk_storms where tenant_id = ${t} and ended_at is null) as "stormOpen"`.execute(db);
  const r = rows[0];
  const resets: ResetCounts = {
    account24h: Number(r.account24h),
    ipAccounts1h: Number(r.ipAccounts1h),
    deviceAccounts24h: Number(r.deviceAccounts24h),
    tenant1h: Number(r.tenant1h),
    tenantBaseline7d: Number(r.tenantBaseline7d),
  };
  const account = r.accountUuid;
  const history = account
    ? toHistories(
        new Map([[account, []]]),
        r.history.map((h) => ({ ...h, account })),
        new Set(r.suspects.map((k) => suspectKey(account, k))),
      ).get(account)!
    : [];
  return { tenantExists: r.tenantExists, policy: r.policy as PolicyOverride | null, accountUuid: account, history, resets, stormOpen: r.stormOpen };
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
 * Scores a reset request as of `i.at` under the tenant's policy and records it. `locate`
 * completes a history event's geo from the IP database where the reporter gave none. Names what
 * is missing when the tenant or the account does not exist (nothing recorded then).
 */
export async function assessAndRecord(
  db: Db,
  locate: (ip: string, given: ResolvedGeo) => ResolvedGeo,
  i: AssessInput,
): Promise<{ assessment: RiskAssessment; storm: StormChange } | { missing: 'tenant' | 'account' }> {
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
  await recordAssessment(db, i, assessment, going ? assessment.storm.lastHour : null);
  const storm = assessment.storm.active !== read.stormOpen ? await db.transaction().execute((trx) => moveStormTx(trx, i, assessment.storm)) : null;
  return { assessment, storm };
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
