// What every activity is built with, and the lookups they share.
import { ApplicationFailure } from '@temporalio/activity';
import type { Config } from '../infra/config';
import type { Db } from '../store/db';
import type { Mailer } from '../infra/mailer';
import type { Directory, DirectoryFor } from '../domain/directory';
import { builtinDirectories } from '../store/builtin-directory';
import { getRecovery } from '../store/recoveries';
import { getGrant } from '../store/grants';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  config: Pick<Config, 'tokenKeys' | 'publicBaseUrl' | 'knowledgeKey'>;
  /** Defaults to the built-in directory for every tenant. */
  directoryFor?: DirectoryFor;
}

/** The dependencies with every default filled in, as each concern's factory takes them. */
export type Deps = ActivityDeps & { directoryFor: DirectoryFor };

export function withDefaults(deps: ActivityDeps): Deps {
  return { ...deps, directoryFor: deps.directoryFor ?? builtinDirectories(deps.db, deps.config.knowledgeKey) };
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
  if (!a) throw ApplicationFailure.nonRetryable('account not found', 'account_not_found');
  return a;
}
