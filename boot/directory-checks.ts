// The API's periodic check of every saved tenant directory, keeping the recovery_directory_healthy
// gauge current between ops' own health calls: a few checks at a time, each with a short
// timeout, one round at a time, an unref'd timer, and a log line only when a tenant's state changes.
import type { Logger } from 'pino';
import { checkSavedDirectory, type DirectoryHealthBoard } from '../api/directory-status';
import type { Config } from '../infra/config';
import type { Db } from '../store/db';
import { listTenantDirectories } from '../store/tenant-directories';

/** Shorter than the endpoint's 5 s: a round must not pile up behind a directory that hangs. */
const CHECK_TIMEOUT_MS = 3_000;
const CONCURRENCY = 4;

export interface DirectoryChecks {
  /** Runs a round now (or joins the one running); resolves to how many directories it checked. */
  checkNow(): Promise<number>;
  stop(): Promise<void>;
}

export function startDirectoryChecks(o: {
  db: Db;
  config: Config;
  board: DirectoryHealthBoard;
  log: Logger | false;
  intervalSeconds: number;
}): DirectoryChecks {
  let running: Promise<number> | null = null;
  let stopped = false;

  async function round(): Promise<number> {
    const queue = await listTenantDirectories(o.db);
    const total = queue.length;
    const lane = async () => {
      for (let row = queue.shift(); row && !stopped; row = queue.shift()) {
        const h = await checkSavedDirectory(o, row.tenantId, row, CHECK_TIMEOUT_MS);
        if (o.board.record(h) && o.log) {
          // Only transitions are logged, so a directory that stays down does not fill the log.
          if (h.healthy) o.log.info({ tenantId: h.tenantId, kind: h.kind }, 'tenant directory healthy');
          else o.log.warn({ tenantId: h.tenantId, kind: h.kind, code: h.problem?.code, field: h.problem?.field }, 'tenant directory unhealthy');
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    return total;
  }
  const checkNow = () => (running ??= round().finally(() => (running = null)));
  const tick = () =>
    void checkNow().catch((err: unknown) => {
      if (o.log) o.log.warn({ err: (err as Error).message }, 'tenant directory checks failed; retrying at the next interval');
    });
  const timer = o.intervalSeconds > 0 ? setInterval(tick, o.intervalSeconds * 1000) : null;
  timer?.unref();
  if (timer) tick();
  return {
    checkNow,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
