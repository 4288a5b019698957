// Benchmark data: tenants, thousands of accounts through the real bulk import (no initial
// password, so no argon2 at import), their login history (testkit's direct SQL: setup, not part
// of any measurement), and a pool that hands out each account once.
import { importAccounts, seedLoginHistorySql, seedTenant, setPolicy, type AccountSpec, type SeedTarget } from '../../testkit/seed';
import type { Db } from '../../store/db';
import { mapLimit } from '../../testkit/load';

/** The knowledge factor each benchmark account has and Tier 1 answers with. */
export const TIER1_ANSWERS = { card_last4: '4242' };

/** `count` local tenants `<prefix>-0..`, each with the policy override if given. */
export async function createTenants(e: SeedTarget, prefix: string, count: number, policy?: Record<string, unknown>): Promise<string[]> {
  const tenants: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = await seedTenant(e, 'local', `${prefix}-${i}`);
    if (policy) await setPolicy(e, id, policy);
    tenants.push(id);
  }
  return tenants;
}

export interface Account {
  tenantId: string;
  accountId: string;
}

/**
 * Imports `perTenant` standard local accounts into each tenant (batches of 1000, the API's
 * limit; two imports at a time), then gives each one login from the device and country the benchmarks'
 * requests come from: low risk, Tier 2 consistent. Returns the accounts interleaved across
 * tenants, so load spreads over them.
 */
export async function seedAccounts(e: SeedTarget & { db: Db }, tenants: string[], perTenant: number, prefix = 'u'): Promise<Account[]> {
  await mapLimit(tenants, 2, async (tenantId) => {
    const accounts: AccountSpec[] = Array.from({ length: perTenant }, (_, i) => ({
      externalId: `${prefix}-${i}`,
      emails: [`${prefix}-${i}@${tenantId}.test`],
      knowledge: TIER1_ANSWERS,
      password: null,
    }));
    await importAccounts(e, tenantId, accounts, { batchSize: 1000, timeoutMs: 300_000 });
  });
  for (const tenantId of tenants) await seedLoginHistorySql(e.db, tenantId, prefix);
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
