// Re-sealing tenant directory secrets after a TOKEN_HMAC_KEYS rotation: each secret sealed under a
// key that is no longer first is opened with that key and sealed again under the first, so the old
// key can be retired. Run at API start and on demand; safe to run twice or from two processes.
import crypto from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import { openSealedWith, sealSecret } from '../infra/secrets';
import { appendAuditTx } from '../store/audit';
import type { Db } from '../store/db';
import { directoriesSealedWithOtherThan, resealTenantDirectorySecret } from '../store/tenant-directories';
import { directorySealPurpose } from '../store/directories';

export interface ResealReport {
  /** The key id every re-sealed secret is now sealed with. */
  sealedWith: string;
  resealed: string[];
  /** Secrets no configured key opens (their key was retired before a re-seal): the tenant must save its directory again. */
  unreadable: { tenantId: string; keyId: string | null }[];
}

export async function resealDirectorySecrets(
  deps: { db: Db; config: Pick<Config, 'tokenKeys'>; log: Logger | Console | false },
  actor: string,
): Promise<ResealReport> {
  const { db, log } = deps;
  const current = deps.config.tokenKeys[0];
  const report: ResealReport = { sealedWith: current.id, resealed: [], unreadable: [] };
  for (const row of await directoriesSealedWithOtherThan(db, current.id)) {
    const purpose = directorySealPurpose(row.tenantId);
    const secret = openSealedWith(deps.config.tokenKeys, row.secretKeyId, purpose, row.secretSealed!);
    if (secret === null) {
      report.unreadable.push({ tenantId: row.tenantId, keyId: row.secretKeyId });
      if (log)
        log.warn({ tenantId: row.tenantId, keyId: row.secretKeyId }, 'directory secret sealed under a key no longer configured: save the directory again');
      continue;
    }
    const from = { keyId: row.secretKeyId, sealed: row.secretSealed! };
    const to = { keyId: current.id, sealed: sealSecret(current.key, purpose, secret) };
    const wrote = await db.transaction().execute(async (trx) => {
      if (!(await resealTenantDirectorySecret(trx, { tenantId: row.tenantId, from, to }))) return false;
      await appendAuditTx(trx, {
        tenantId: row.tenantId,
        // One event per ciphertext replaced: a retry of the same re-seal appends nothing.
        eventKey: `directory-resealed:${row.tenantId}:${crypto.createHash('sha256').update(from.sealed).digest('hex').slice(0, 32)}`,
        actor,
        action: 'directory.resealed',
        target: `tenant:${row.tenantId}`,
        details: { kind: row.kind, from: from.keyId, to: current.id },
      });
      return true;
    });
    // Not written: another run or a save changed the row since it was read; it is current or newer.
    if (wrote) report.resealed.push(row.tenantId);
  }
  return report;
}
