// The schedule that exports every audit chain's signed head outside the database (at start, then
// every AUDIT_HEAD_EXPORT_SECONDS), writing only heads that moved since the last export.
import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import { appendHeadLines, exportedHeads, signHead } from '../infra/audit-heads';
import { auditHeads } from '../store/audit';
import type { Db } from '../store/db';

export interface AuditHeadExport {
  /** Exports the heads that moved; resolves to how many. */
  exportNow(): Promise<number>;
  stop(): Promise<void>;
}

export function startAuditHeadExport(o: { db: Db; config: Pick<Config, 'auditKeys' | 'auditHeadExport'>; log: Logger | false }): AuditHeadExport {
  const { file, intervalSeconds } = o.config.auditHeadExport;
  const keys = o.config.auditKeys;
  let last: Map<string, string> | null = null;
  let running: Promise<number> | null = null;

  async function run(): Promise<number> {
    // The file's own latest lines after a restart, so an unchanged head is not written again.
    last ??= new Map([...(await exportedHeads(file, keys))].map(([t, l]) => [t, `${l.seq}:${l.hash}`]));
    const moved = (await auditHeads(o.db)).filter((h) => last!.get(h.tenant_id) !== `${h.seq}:${h.hash}`);
    const lines = moved.map((h) => signHead(keys, { tenantId: h.tenant_id, seq: Number(h.seq), hash: h.hash }));
    await appendHeadLines(file, lines);
    for (const l of lines) {
      last.set(l.tenantId, `${l.seq}:${l.hash}`);
      // A second copy outside the database, for log shipping.
      if (o.log) o.log.info({ auditHead: l }, 'audit head exported');
    }
    return lines.length;
  }
  const exportNow = () => (running ??= run().finally(() => (running = null)));
  const tick = () =>
    void exportNow().catch((err: unknown) => {
      if (o.log) o.log.warn({ err }, 'audit head export failed; retrying at the next interval');
    });
  tick();
  const timer = setInterval(tick, intervalSeconds * 1000);
  timer.unref();
  return {
    exportNow,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
