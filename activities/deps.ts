// What every activity is built with, and the lookups they share.
import { ApplicationFailure } from '@temporalio/activity';
import { DEFAULT_CITY_DATABASES, type Config } from '../infra/config';
import type { Db } from '../store/db';
import type { Mailer } from '../infra/mailer';
import { sharedIpDatabase, type IpDatabase } from '../infra/ip-database';
import { DirectoryRefusedError, type Directory, type DirectoryFor } from '../domain/directory';
import { directoriesFor } from '../store/directories';
import { getRecovery } from '../store/recoveries';
import { getGrant } from '../store/grants';
import { getResponse } from '../store/risk-responses';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  config: Pick<Config, 'tokenKeys' | 'publicBaseUrl' | 'knowledgeKey' | 'production'> & { securityWebhook?: Config['securityWebhook'] } & Partial<
      Pick<Config, 'ipDatabases'>
    >;
  /** Defaults to each tenant's saved directory (the built-in one when none is saved). */
  directoryFor?: DirectoryFor;
  /** Defaults to the configured IP databases (the packaged DB-IP Lite files), opened once per process. */
  ipDatabase?: IpDatabase;
}

/** The dependencies with every default filled in, as each concern's factory takes them. */
export type Deps = ActivityDeps & { directoryFor: DirectoryFor; ipDatabase: IpDatabase };

export function withDefaults(deps: ActivityDeps): Deps {
  const resolve = deps.directoryFor ?? directoriesFor(deps.db, deps.config);
  return {
    ...deps,
    directoryFor: async (tenantId) => refusalsAsFailures(await refused(() => resolve(tenantId))),
    ipDatabase: deps.ipDatabase ?? sharedIpDatabase(deps.config.ipDatabases ?? { city: DEFAULT_CITY_DATABASES, asn: [] }),
  };
}

/** What a workflow catches when a directory refuses for good: the recovery or grant fails with the code. */
export const DIRECTORY_REFUSED = 'directory_refused';

async function refused<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof DirectoryRefusedError) throw ApplicationFailure.nonRetryable(err.message, DIRECTORY_REFUSED, { code: err.code });
    throw err;
  }
}

/** Every call of the port: a DirectoryRefusedError becomes a non-retryable failure carrying its code. */
function refusalsAsFailures(d: Directory): Directory {
  return new Proxy(d, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => refused(() => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

export async function loadRecovery(db: Db, recoveryId: string) {
  const r = await getRecovery(db, recoveryId);
  if (!r) throw ApplicationFailure.nonRetryable(`recovery ${recoveryId} not found`, 'recovery_not_found');
  return r;
}

export async function loadGrant(db: Db, grantId: string) {
  const g = await getGrant(db, grantId);
  if (!g) throw ApplicationFailure.nonRetryable(`grant ${grantId} not found`, 'grant_not_found');
  return g;
}

/** The account must exist in its directory: a missing one ends the step for good. */
export async function requireAccount(directory: Directory, tenantId: string, accountId: string) {
  const a = await directory.lookup({ tenantId, accountId });
  if (!a) throw ApplicationFailure.nonRetryable('account not found', DIRECTORY_REFUSED, { code: 'account_not_found' });
  return a;
}

/** A risk response as the audit of a rejected message names its case. */
export async function loadResponseCase(db: Db, responseId: string) {
  const r = await getResponse(db, responseId);
  if (!r) throw ApplicationFailure.nonRetryable(`risk response ${responseId} not found`, 'response_not_found');
  return { id: r.id, tenant_id: r.tenantId, account_id: r.accountId };
}
