// Test data as an operator creates it, through the real admin API (tenants, accounts, principals,
// policy, login events from an ingestion principal), and the one seed written straight to
// Postgres: bulk login history for the benchmarks (setup, never measured).
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { MailSink, SinkMessage } from '../dev/mail-sink';
import type { Db } from '../store/db';
import { expectStatus, type ApiClient } from './http';
import { mapLimit } from './load';
import { tokenFrom } from './mail';

/** Where seed data goes: the engine's API client and its admin key. */
export interface SeedTarget {
  http: ApiClient;
  adminKey: string;
  /** The engine's mail sink, where the principals' verification mails arrive. */
  sink?: MailSink;
}

export const OLD_PASSWORD = 'previous-passphrase-77';
export const KNOWLEDGE = { card_last4: '4242', postcode: 'SW1A 1AA' };
/** The request context every seeded account has logged in from: low risk, Tier 2 consistent. */
export const CONTEXT = { ip: '203.0.113.7', deviceId: 'laptop-1', geo: { country: 'GB', asn: 64500 } };

export const uniq = (prefix: string) => `${prefix}-${crypto.randomBytes(3).toString('hex')}`;

let ipSeq = 0;
/**
 * A distinct client IP per request, so the per-IP limit only bites where a test means it to: the
 * benchmarking range 198.18.0.0/15 (RFC 2544), then 2001:db8::/32.
 */
export function nextIp(): string {
  const n = ++ipSeq;
  if (n < 131072) return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
  return `2001:db8::${(n >> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
}

/** A password-reset request body from the seeded context and a fresh client IP. */
export function recoveryBody(tenantId: string, accountId: string, over: Record<string, unknown> = {}) {
  return { tenantId, accountId, kind: 'password_reset', reason: 'cannot sign in', ticketRef: 'T-1', context: { ...CONTEXT, ip: nextIp() }, ...over };
}

export async function seedTenant(t: SeedTarget, authMode: 'local' | 'mixed' | 'sso_enforced', id = uniq('t')): Promise<string> {
  const body = { id, name: `Tenant ${id}`, authMode, securityContacts: [`security@${id}.test`] };
  expectStatus(await t.http.call('POST', '/v1/admin/tenants', { key: t.adminKey, body }), 201, `create tenant ${id}`);
  return id;
}

export async function setPolicy(t: SeedTarget, tenantId: string, override: Record<string, unknown>) {
  return expectStatus(await t.http.call('PUT', `/v1/admin/tenants/${tenantId}/policy`, { key: t.adminKey, body: override }), 200, `policy of ${tenantId}`).body;
}

export interface AccountSpec {
  externalId: string;
  role?: string;
  authMethod?: 'local' | 'sso';
  /** Default: `<id>@<tenant>.test` (primary) and `<id>.home@example.test`. */
  emails?: string[];
  mfa?: boolean;
  /** null: no initial password (and no argon2 at import). */
  password?: string | null;
  knowledge?: Record<string, string>;
}

/** One entry of POST /v1/admin/tenants/:id/accounts. */
export function accountEntry(tenantId: string, a: AccountSpec) {
  return {
    externalId: a.externalId,
    role: a.role ?? 'standard',
    authMethod: a.authMethod ?? 'local',
    emails: a.emails ?? [`${a.externalId}@${tenantId}.test`, `${a.externalId}.home@example.test`],
    knowledge: a.knowledge ?? KNOWLEDGE,
    ...(typeof a.password === 'string' ? { password: a.password } : {}),
    ...(a.mfa ? { mfaFactors: [{ type: 'totp', label: 'old phone' }] } : {}),
  };
}

/**
 * Imports new accounts in batches (at most 1000, the API's limit), `concurrency` batches at a
 * time. Import only creates: an id that exists already fails the seed (it would stay unchanged).
 */
export async function importAccounts(
  t: SeedTarget,
  tenantId: string,
  accounts: AccountSpec[],
  o: { batchSize?: number; concurrency?: number; timeoutMs?: number } = {},
) {
  const size = Math.min(1000, o.batchSize ?? 1000);
  const batches: AccountSpec[][] = [];
  for (let i = 0; i < accounts.length; i += size) batches.push(accounts.slice(i, i + size));
  await mapLimit(batches, o.concurrency ?? 1, async (batch) => {
    const body = { accounts: batch.map((a) => accountEntry(tenantId, a)) };
    const r = expectStatus(
      await t.http.call('POST', `/v1/admin/tenants/${tenantId}/accounts`, { key: t.adminKey, body, timeoutMs: o.timeoutMs }),
      200,
      `import accounts into ${tenantId}`,
    );
    const existing = (r.body as { existing: string[] }).existing;
    if (existing.length) throw new Error(`import into ${tenantId}: ${existing.length} accounts exist already (${existing.slice(0, 5).join(', ')})`);
  });
}

/**
 * One standard account, local unless said otherwise; a local one gets the default password unless
 * `password: null` (an SSO-managed one has none); returns its external id.
 */
export async function seedAccount(t: SeedTarget, tenantId: string, o: Partial<AccountSpec> = {}): Promise<string> {
  const externalId = o.externalId ?? uniq('u');
  const password = o.password === null || (o.password === undefined && o.authMethod === 'sso') ? null : (o.password ?? OLD_PASSWORD);
  await importAccounts(t, tenantId, [{ ...o, externalId, password }]);
  return externalId;
}

/** The person link mailed for a principal, taken from the sink and used: its holder confirms the address. */
export async function confirmPerson(t: SeedTarget & { sink: MailSink }, principalId: string, email: string) {
  const isLink = (m: SinkMessage) =>
    m.subject.startsWith('Confirm your email address') && m.to.some((a) => a.toLowerCase() === email.toLowerCase()) && m.text.includes(principalId);
  // The API mails the link once; a mail server that refused it (a flaky one, in the chaos drills)
  // leaves it recorded as failed, and the operator asks for a fresh link, as done here.
  for (let attempt = 1; ; attempt++) {
    try {
      const mail = await t.sink.waitFor(isLink, 5_000);
      expectStatus(
        await t.http.call('POST', '/v1/persons/verify', { key: null, body: { token: tokenFrom(mail) } }),
        200,
        `confirm the person of ${principalId}`,
      );
      return;
    } catch (err) {
      if (attempt >= 5 || !String((err as Error).message).startsWith('MailSink.waitFor')) throw err;
      expectStatus(
        await t.http.call('POST', `/v1/admin/principals/${principalId}/person-link`, { key: t.adminKey }),
        200,
        `a fresh person link for ${principalId}`,
      );
    }
  }
}

/**
 * A principal created through the admin API. With the engine's mail sink at hand, its person is
 * confirmed the way its holder would: the link mailed to its address, used.
 */
export async function seedPrincipal(
  t: SeedTarget,
  roles: string[],
  tenantScope: string[],
  account?: { tenantId: string; accountId: string },
  o: { email?: string } = {},
) {
  const name = uniq('p');
  const email = o.email ?? `${name}@staff.test`;
  const r = expectStatus(
    await t.http.call('POST', '/v1/admin/principals', { key: t.adminKey, body: { name, roles, tenantScope, email, ...(account ? { account } : {}) } }),
    201,
    `create principal ${name}`,
  );
  const id = r.body.id as string;
  if (t.sink) await confirmPerson({ ...t, sink: t.sink }, id, email);
  return { id, key: r.body.apiKey as string, email };
}

/** The product's own backend: an `ingestion` principal, the only role that reports logins. */
export function seedIngestion(t: SeedTarget, tenantScope: string[]) {
  return seedPrincipal(t, ['ingestion'], tenantScope);
}

/** A successful login from the seeded context, reported by an ingestion principal. */
export async function seedLogin(t: SeedTarget, ingestionKey: string, tenantId: string, accountId: string) {
  expectStatus(
    await t.http.call('POST', '/v1/events/login', { key: ingestionKey, body: { tenantId, accountId, ...CONTEXT, success: true } }),
    202,
    `login event of ${accountId}`,
  );
}

export const HOUR_MS = 3_600_000;
/** Places for risk tests: country, network and coordinates as an IP database would give them. */
export const LONDON = { country: 'GB', asn: 2856, lat: 51.5074, lon: -0.1278 };
export const NEW_YORK = { country: 'US', asn: 7922, lat: 40.7128, lon: -74.006 };

/** Successful home logins (London, laptop-1) of an account at these times, as `POST /v1/events` events. */
export function homeLoginEvents(tenantId: string, accountId: string, times: number[]) {
  return times.map((at) => ({
    eventId: uniq(`home-${accountId}`),
    type: 'login',
    tenantId,
    accountId,
    at: new Date(at).toISOString(),
    ip: '81.2.69.160',
    deviceId: 'laptop-1',
    outcome: 'success',
    geo: LONDON,
  }));
}

/** A new account whose history is successful home logins (homeLoginEvents) at these times, sent as one batch. */
export async function seedHomeLogins(t: SeedTarget, ingestionKey: string, tenantId: string, times: number[]): Promise<string> {
  const accountId = await seedAccount(t, tenantId);
  const events = homeLoginEvents(tenantId, accountId, times);
  const r = await t.http.call('POST', '/v1/events', { key: ingestionKey, body: { events } });
  expectStatus(r, 200, `home logins of ${accountId}`);
  if ((r.body as { accepted?: number }).accepted !== events.length) throw new Error(`home logins of ${accountId}: ${JSON.stringify(r.body)}`);
  return accountId;
}

/** seedLogin for many accounts, `lanes` at a time. */
export async function seedLogins(t: SeedTarget, ingestionKey: string, tenantId: string, accountIds: string[], lanes = 8) {
  await mapLimit(accountIds, lanes, (id) => seedLogin(t, ingestionKey, tenantId, id));
}

/** A local tenant, a standard account with a login history, and an agent scoped to the tenant. */
export async function seedLocalAccount(t: SeedTarget) {
  const tenantId = await seedTenant(t, 'local');
  const accountId = await seedAccount(t, tenantId);
  const agent = await seedPrincipal(t, ['agent'], [tenantId]);
  await seedLogin(t, (await seedIngestion(t, [tenantId])).key, tenantId, accountId);
  return { tenantId, accountId, agent };
}

/**
 * A tenant with a designated break-glass admin account (local with a password, or SSO without
 * one), an agent to request, two break-glass approvers and a reviewer, all scoped to the tenant.
 */
export async function seedBreakGlassTeam(t: SeedTarget, authMode: 'local' | 'sso_enforced' = 'local') {
  const bgAccount = uniq('bg-admin');
  const tenantId = uniq('t');
  const body = { id: tenantId, name: `Tenant ${tenantId}`, authMode, securityContacts: [`security@${tenantId}.test`], breakGlassAccount: bgAccount };
  expectStatus(await t.http.call('POST', '/v1/admin/tenants', { key: t.adminKey, body }), 201, `create tenant ${tenantId}`);
  const sso = authMode === 'sso_enforced';
  await seedAccount(t, tenantId, { externalId: bgAccount, role: 'admin', authMethod: sso ? 'sso' : 'local', password: sso ? null : undefined });
  return {
    tenantId,
    bgAccount,
    requester: await seedPrincipal(t, ['agent'], [tenantId]),
    p1: await seedPrincipal(t, ['break_glass_approver'], [tenantId]),
    p2: await seedPrincipal(t, ['break_glass_approver'], [tenantId]),
    reviewer: await seedPrincipal(t, ['reviewer'], [tenantId]),
  };
}

/**
 * A login a day ago from the seeded context for every account of the tenant whose external id
 * starts with `prefix-`, written straight to the database (the benchmarks seed thousands).
 */
export async function seedLoginHistorySql(db: Db, tenantId: string, prefix: string) {
  await sql`
    insert into login_events (account_id, at, ip, device_id, country, asn, success, source)
    select id, now() - interval '1 day', ${CONTEXT.ip}, ${CONTEXT.deviceId}, ${CONTEXT.geo.country}, ${CONTEXT.geo.asn}, true, 'seed:benchmark'
      from accounts where tenant_id = ${tenantId} and external_id like ${prefix + '-%'}`.execute(db);
  await sql`update accounts set last_login_at = now() - interval '1 day' where tenant_id = ${tenantId} and external_id like ${prefix + '-%'}`.execute(db);
}

/**
 * `count` synthetic events appended to a tenant's audit chain (benchmark setup: an export reads
 * them; their hashes extend the head, as the append trigger demands, but are not HMACs, so the
 * chain does not verify past them). 2,000 per statement, each its own transaction: the trigger
 * updates the head row once per event, and one transaction's chain of row versions grows slower
 * to walk with every update (100,000 in one took minutes).
 */
export async function seedAuditEventsSql(db: Db, tenantId: string, count: number) {
  for (let done = 0; done < count; done += 2_000) {
    const n = Math.min(2_000, count - done);
    await sql`
      with head as (select seq, hash from audit_heads where tenant_id = ${tenantId})
      insert into audit_events (tenant_id, seq, event_key, at, actor, action, target, recovery_id, details, prev_hash, hash, key_id)
      select ${tenantId}, head.seq + g, 'bench-export:' || (head.seq + g), now() - interval '1 hour', 'principal:prn_bench',
             'recovery.completed', 'account:u-' || (g % 1000), null,
             jsonb_build_object('kind', 'password_reset', 'sessionsRevoked', g % 3, 'note', 'synthetic event ' || g),
             case when g = 1 then head.hash else encode(sha256(convert_to('bench' || (head.seq + g - 1), 'UTF8')), 'hex') end,
             encode(sha256(convert_to('bench' || (head.seq + g), 'UTF8')), 'hex'), 'bench'
        from head, generate_series(1, ${n}::int) g
       order by g`.execute(db);
  }
}
