// The health of a tenant's saved directory, for ops: the save-time live checks (directory-health.ts)
// run on the saved settings with the secret opened, their error read as a typed problem instead of
// thrown. The board keeps each tenant's latest outcome for the `recovery_directory_healthy` gauge.
import type { Config } from '../infra/config';
import { openSealedWith } from '../infra/secrets';
import type { Db } from '../store/db';
import { databaseAnswers } from '../store/health';
import { directorySealPurpose } from '../store/directories';
import type { DirectoryKind, TenantDirectoryRow } from '../store/tenant-directories';
import { checkKeycloak, checkWebhook } from './directory-health';
import { ApiError } from './errors';

export interface DirectoryProblem {
  code: string;
  field?: string;
  message: string;
}

export interface DirectoryHealth {
  tenantId: string;
  kind: DirectoryKind;
  healthy: boolean;
  checkedAt: string;
  latencyMs: number;
  problem: DirectoryProblem | null;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** Throws the check's ApiError, or returns a problem found before any call (a secret that no longer opens). */
async function probe(deps: { db: Db; config: Config }, tenantId: string, row: TenantDirectoryRow | null, timeoutMs: number): Promise<DirectoryProblem | null> {
  if (!row || row.kind === 'builtin') {
    // The built-in directory is this engine's own Postgres.
    if (await databaseAnswers(deps.db)) return null;
    return { code: 'directory_unreachable', message: 'the built-in directory: the database does not answer' };
  }
  const secret = row.secretSealed === null ? null : openSealedWith(deps.config.tokenKeys, row.secretKeyId, directorySealPurpose(tenantId), row.secretSealed);
  if (secret === null) {
    const key = row.secretKeyId ?? '(none recorded)';
    return {
      code: 'directory_secret_unreadable',
      field: row.kind === 'webhook' ? 'secret' : 'clientSecret',
      message: `the saved secret is sealed under token key ${key}, which no configured TOKEN_HMAC_KEYS key opens: save the directory again`,
    };
  }
  const s = row.settings;
  if (row.kind === 'webhook') await checkWebhook({ baseUrl: str(s.baseUrl), keyId: str(s.keyId), secret }, deps.config.production, timeoutMs);
  else
    await checkKeycloak({ baseUrl: str(s.baseUrl), realm: str(s.realm), clientId: str(s.clientId), clientSecret: secret }, deps.config.production, timeoutMs);
  return null;
}

/** Checks the tenant's saved directory (none saved: the built-in one). Never throws: a failure is a problem. */
export async function checkSavedDirectory(
  deps: { db: Db; config: Config },
  tenantId: string,
  row: TenantDirectoryRow | null,
  timeoutMs?: number,
): Promise<DirectoryHealth> {
  const started = performance.now();
  let problem: DirectoryProblem | null;
  try {
    problem = await probe(deps, tenantId, row, timeoutMs ?? 5_000);
  } catch (err) {
    // The checks' errors carry a code and the failure's kind only, never the secret.
    const field = err instanceof ApiError ? (err.details as { field?: string } | undefined)?.field : undefined;
    problem =
      err instanceof ApiError
        ? { code: err.code, ...(field ? { field } : {}), message: err.message }
        : { code: 'directory_check_failed', message: 'the health check failed unexpectedly' };
  }
  return {
    tenantId,
    kind: row?.kind ?? 'builtin',
    healthy: problem === null,
    checkedAt: new Date().toISOString(),
    latencyMs: Math.round(performance.now() - started),
    problem,
  };
}

/** Each tenant's latest outcome, from the endpoint and the periodic check alike. */
export class DirectoryHealthBoard {
  private readonly latest = new Map<string, { kind: DirectoryKind; healthy: boolean; code: string | null }>();

  /** Records an outcome; true when it differs from the tenant's previous one (log on change only). */
  record(h: DirectoryHealth): boolean {
    const before = this.latest.get(h.tenantId);
    const now = { kind: h.kind, healthy: h.healthy, code: h.problem?.code ?? null };
    this.latest.set(h.tenantId, now);
    return !before || before.kind !== now.kind || before.healthy !== now.healthy || before.code !== now.code;
  }

  entries(): [tenantId: string, state: { kind: DirectoryKind; healthy: boolean }][] {
    return [...this.latest];
  }
}
