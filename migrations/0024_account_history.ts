// An account's behaviour history as one function, the only definition both the risk assessment
// and the detections at ingestion read (issue 13), and the assessment's whole read as another.
// PL/pgSQL keeps each statement's plan for the session, so a request no longer plans a dozen
// subqueries; each event is a compact JSON array (about a third of the bytes of a row object,
// and cheaper to build and to parse). A login reported in a batch is in both tables that hold
// logins: `login_events.ingested` marks the copy, so the history reads each login once.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table login_events add column ingested boolean not null default false`.execute(db);
  await sql`update login_events l set ingested = true
    where exists (select 1 from ingested_events e
      where e.account_id = l.account_id and e.type = 'login' and e.at = l.at and e.ip = l.ip)`.execute(db);
  // Each event: [type, at (ms since the epoch), ip, device_id, user_agent, session_id, country,
  // asn, lat, lon, success, password flagged], newest first per source, strictly before p_bound
  // (at or before it with p_inclusive), the newest p_limit of each source.
  await sql`create function account_history(p_account uuid, p_bound timestamptz, p_inclusive boolean, p_limit int) returns json
    language plpgsql stable as $fn$
    begin
      return (select coalesce(json_agg(h.ev), '[]'::json) from (
        (select json_build_array('login', floor(extract(epoch from l.at) * 1000)::bigint, l.ip, l.device_id, null, null,
                                 l.country, l.asn, l.lat, l.lon, l.success, l.password_compromised) as ev
           from login_events l
          where l.account_id = p_account and not l.ingested and l.at <= p_bound and (p_inclusive or l.at < p_bound)
          order by l.at desc limit p_limit)
        union all
        (select json_build_array(e.type, floor(extract(epoch from e.at) * 1000)::bigint, e.ip, e.device_id, e.user_agent, e.session_id,
                                 e.geo->'country', e.geo->'asn', e.geo->'lat', e.geo->'lon', e.outcome is distinct from 'failure', e.password_compromised)
           from ingested_events e
          where e.account_id = p_account and e.at <= p_bound and (p_inclusive or e.at < p_bound)
          order by e.at desc limit p_limit)
      ) as h);
    end
    $fn$`.execute(db);
  // What an assessment reads as of p_at (store/risk.ts assessmentReads), one call.
  await sql`create function risk_assessment_read(t text, a text, p_ip text, p_device text, p_at timestamptz, p_limit int) returns json
    language plpgsql stable as $fn$
    declare
      acct uuid := (select id from accounts where tenant_id = t and external_id = a);
    begin
      return json_build_object(
        'tenantExists', exists (select 1 from tenants where id = t),
        'policy', (select policy_override from tenants where id = t),
        'accountUuid', acct,
        'history', case when acct is null then '[]'::json else account_history(acct, p_at, false, p_limit) end,
        'suspects', (select coalesce(json_agg(dedupe_key), '[]'::json) from risk_responses
           where account_uuid = acct and signal = 'session_hijack'),
        'account24h', (select count(*) from risk_assessments where tenant_id = t and account_id = a
           and at > p_at - interval '24 hours' and at < p_at),
        'ipAccounts1h', (select count(distinct account_id) from risk_assessments where tenant_id = t and ip = p_ip and account_id <> a
           and at > p_at - interval '1 hour' and at < p_at),
        'deviceAccounts24h', (select count(distinct account_id) from risk_assessments where tenant_id = t and device_id = p_device and account_id <> a
           and at > p_at - interval '24 hours' and at < p_at),
        'tenant1h', (select count(*) from risk_assessments where tenant_id = t
           and at > p_at - interval '1 hour' and at < p_at),
        'tenantBaseline7d', (select count(*) from risk_assessments where tenant_id = t
           and at > p_at - interval '169 hours' and at <= p_at - interval '1 hour'),
        'stormOpen', exists (select 1 from risk_storms where tenant_id = t and ended_at is null));
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function risk_assessment_read(text, text, text, text, timestamptz, int)`.execute(db);
  await sql`drop function account_history(uuid, timestamptz, boolean, int)`.execute(db);
  await sql`alter table login_events drop column ingested`.execute(db);
}
