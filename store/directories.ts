// Which identity system holds a tenant's accounts: the saved per-tenant configuration
// (tenant_directories) made into a Directory, the built-in one when none is saved. A remote
// directory's secret is opened from its sealed copy only here, in memory; its clients are kept
// per tenant until the configuration changes.
import { DirectoryRefusedError, type AccountRef, type Directory, type DirectoryAccount, type DirectoryFor } from '../domain/directory';
import type { HmacKey } from '../infra/config';
import { keycloakDirectory, webhookDirectory } from '../infra/remote-directories';
import { openSealedWith } from '../infra/secrets';
import { webhookDirectoryClient } from '../infra/webhook-directory';
import { createBuiltinDirectory } from './builtin-directory';
import type { Db } from './db';
import { mirrorRemoteAccount } from './directory';
import { getTenantDirectory, type TenantDirectoryRow } from './tenant-directories';

/** The purpose bound into the sealing key: a secret sealed for one tenant opens for no other use. */
export const directorySealPurpose = (tenantId: string) => `tenant-directory:${tenantId}`;

export interface DirectoryKeys {
  tokenKeys: readonly HmacKey[];
  knowledgeKey: Buffer;
  production: boolean;
}

/** The tenant's remote directory, made from its saved row. A secret that no longer opens is a refusal. */
export function remoteDirectory(db: Db, row: TenantDirectoryRow, keys: DirectoryKeys): Directory {
  const secret = row.secretSealed ? openSealedWith(keys.tokenKeys, row.secretKeyId, directorySealPurpose(row.tenantId), row.secretSealed) : null;
  if (secret === null)
    throw new DirectoryRefusedError('directory_secret_unreadable', `the directory secret is sealed under key ${row.secretKeyId}, which is not configured`);
  const mirror = (ref: AccountRef, a: DirectoryAccount) => mirrorRemoteAccount(db, ref, a);
  const s = row.settings as Record<string, string>;
  if (row.kind === 'webhook') {
    return webhookDirectory(webhookDirectoryClient({ baseUrl: s.baseUrl, key: { id: s.keyId, secret }, production: keys.production }), mirror);
  }
  return keycloakDirectory({ baseUrl: s.baseUrl, realm: s.realm, clientId: s.clientId, clientSecret: secret }, mirror);
}

/** Resolves each tenant's directory from its saved configuration, on every call (a primary-key read). */
export function directoriesFor(db: Db, keys: DirectoryKeys): DirectoryFor {
  const builtin = createBuiltinDirectory(db, keys.knowledgeKey);
  const cache = new Map<string, { version: string; directory: Directory }>();
  return async (tenantId) => {
    const row = await getTenantDirectory(db, tenantId);
    if (!row || row.kind === 'builtin') return builtin;
    const version = `${row.updatedAt.toISOString()}:${row.secretKeyId}`;
    const hit = cache.get(tenantId);
    if (hit?.version === version) return hit.directory;
    const directory = remoteDirectory(db, row, keys);
    cache.set(tenantId, { version, directory });
    return directory;
  };
}
