// Benchmark data through the real admin API (tenants, bulk account import, principals, policy),
// plus login history written straight to the database: setup, not part of any measurement.
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { Engine } from './engine';
import { HOME_CONTEXT, HOME_IP, KNOWLEDGE, mapLimit } from './util';

export interface HttpResult<T = any> {
  status: number;
  body: T;
  text: string;
}

export async function http<T = any>(baseUrl: string, method: string, path: string, o: { key?: string | null; body?: unknown; timeoutMs?: number } = {}): Promise<HttpResult<T>> {
  const headers: Record<string, string> = {};
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: res.status, body, text };
}

function expect(r: HttpResult, status: number, what: string) {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
}

export const hex = (n: number) => crypto.randomBytes(n).toString('hex');

export async function createTenant(e: Engine, id: string, policy?: Record<string, unknown>): Promise<string> {
  expect(await http(e.baseUrl, 'POST', '/v1/admin/tenants', { key: e.adminKey, body: { id, name: `Bench ${id}`, authMode: 'local', securityContacts: [`security@${id}.test`] } }), 201, `create tenant ${id}`);
  if (policy) expect(await http(e.baseUrl, 'PUT', `/v1/admin/tenants/${id}/policy`, { key: e.adminKey, body: policy }), 200, `policy of ${id}`);
  return id;
}

export async function createPrincipal(e: Engine, roles: string[], tenantScope: string[]): Promise<{ id: string; key: string }> {
  const name = `bench-${roles.join('-')}-${hex(3)}`;
  const r = await http(e.baseUrl, 'POST', '/v1/admin/principals', { key: e.adminKey, body: { name, roles, tenantScope, email: `${name}@staff.test` } });
  expect(r, 201, `create principal ${name}`);
  return { id: r.body.id, key: r.body.apiKey };
}

export interface Account {
  tenantId: string;
  accountId: string;
}

/**
 * Imports `perTenant` standard local accounts into each tenant (batches of 1000, the API's
 * limit; no initial password, so no argon2 at import), then gives each one login from the
 * device and country the benchmarks' requests come from: low risk, Tier 2 consistent.
 * Returns the accounts interleaved across tenants, so load spreads over them.
 */
export async function seedAccounts(e: Engine, tenants: string[], perTenant: number, prefix = 'u'): Promise<Account[]> {
  const batches: { tenantId: string; ids: string[] }[] = [];
  for (const tenantId of tenants) {
    for (let start = 0; start < perTenant; start += 1000) {
      const ids = Array.from({ length: Math.min(1000, perTenant - start) }, (_, i) => `${prefix}-${start + i}`);
      batches.push({ tenantId, ids });
    }
  }
  await mapLimit(batches, 2, async ({ tenantId, ids }) => {
    const r = await http(e.baseUrl, 'POST', `/v1/admin/tenants/${tenantId}/accounts`, {
      key: e.adminKey,
      timeoutMs: 300_000,
      body: { accounts: ids.map((externalId) => ({ externalId, role: 'standard', authMethod: 'local', emails: [`${externalId}@${tenantId}.test`], knowledge: KNOWLEDGE })) },
    });
    expect(r, 200, `import accounts into ${tenantId}`);
  });
  for (const tenantId of tenants) {
    await sql`
      insert into login_events (account_id, at, ip, device_id, country, asn, success)
      select id, now() - interval '1 day', ${HOME_IP}, ${HOME_CONTEXT.deviceId}, ${HOME_CONTEXT.geo.country}, ${HOME_CONTEXT.geo.asn}, true
        from accounts where tenant_id = ${tenantId} and external_id like ${prefix + '-%'}`.execute(e.db);
    await sql`update accounts set last_login_at = now() - interval '1 day' where tenant_id = ${tenantId} and external_id like ${prefix + '-%'}`.execute(e.db);
  }
  const out: Account[] = [];
  for (let i = 0; i < perTenant; i++) for (const tenantId of tenants) out.push({ tenantId, accountId: `${prefix}-${i}` });
  return out;
}

/** Hands out each seeded account once; a recovery per account and kind can be active only once. */
export class AccountPool {
  private i = 0;
  constructor(readonly accounts: Account[]) {}
  next(): Account | null {
    return this.i < this.accounts.length ? this.accounts[this.i++] : null;
  }
  get used(): number {
    return this.i;
  }
}
