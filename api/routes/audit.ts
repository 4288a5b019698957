// The audit log out: one tenant's chain as JSON pages, or streamed as JSON lines, CSV or OCSF
// for a SIEM, in keyset pages of up to a million events; and the chain's verification.
import { Readable, pipeline } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toOcsf, type AuditEventOut } from '../../domain/ocsf';
import { exportedHeads } from '../../infra/audit-heads';
import { PRODUCT } from '../../infra/product';
import { auditEventBatches, listAuditEvents, verifyAuditChain } from '../../store/audit';
import type { AuditEventsTable } from '../../store/db';
import type { Selectable } from 'kysely';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError } from '../errors';
import { AUDIT_JSON_MAX_LIMIT, AuditOut, AuditQuery, AuditVerifyQuery, ChainOut } from '../schemas';

const CSV_COLUMNS = ['seq', 'at', 'actor', 'action', 'target', 'recovery_id', 'details', 'prev_hash', 'hash', 'key_id'] as const;

function exported(e: Selectable<AuditEventsTable>): AuditEventOut {
  return {
    seq: Number(e.seq),
    at: new Date(e.at).toISOString(),
    actor: e.actor,
    action: e.action,
    target: e.target,
    recovery_id: e.recovery_id,
    details: e.details,
    prev_hash: e.prev_hash,
    hash: e.hash,
    key_id: e.key_id,
  };
}

type Query = ReturnType<typeof AuditQuery.parse>;

/** The range's events in batches as they are read: nothing holds the whole export. */
async function* batchesOf(db: AppDeps['db'], q: Query) {
  for await (const batch of auditEventBatches(db, { tenantId: q.tenantId, from: q.from, to: q.to, after: q.cursor, limit: q.limit })) {
    yield batch.map(exported);
  }
}

/** JSON lines, one chunk per batch (a million one-line writes would cost more than the export). */
async function* jsonLines(batches: AsyncIterable<AuditEventOut[]>, line: (e: AuditEventOut) => unknown) {
  for await (const batch of batches) yield batch.map((e) => `${JSON.stringify(line(e))}\n`).join('');
}

async function* oneByOne(batches: AsyncIterable<AuditEventOut[]>) {
  for await (const batch of batches) yield* batch;
}

/** A streamed export. A failure half-way (Postgres gone) cuts the connection: a client never takes a truncated file for a whole one. */
function stream(req: FastifyRequest, reply: FastifyReply, type: string, body: Readable) {
  body.on('error', (err) => req.log.error({ err: err.message }, 'audit export stopped half-way'));
  return reply.type(type).header('cache-control', 'no-store').send(body);
}

function auditExportRoute(r: Router, { db, auth }: AppDeps) {
  r.get(
    '/v1/audit',
    {
      onRequest: auth.requireRole('auditor', 'admin'),
      schema: {
        summary: 'Export the audit log: JSON pages, or streamed JSON lines, CSV or OCSF',
        description:
          "One tenant's hash chain in chain order. Paging is by keyset: pass the `seq` of the last event you received as `cursor` " +
          '(JSON answers give it as `nextCursor`; in OCSF it is `metadata.sequence`); a page shorter than `limit` is the last. ' +
          `JSON pages hold up to ${AUDIT_JSON_MAX_LIMIT} events; jsonl, csv and ocsf stream up to 1,000,000. ` +
          'CSV cells that a spreadsheet would run as a formula (leading = + - @, tab or CR) are prefixed with a quote. ' +
          'OCSF: one event per line, classes Account Change (3001), Authentication (3002) and User Management (3007), schema 1.9.0-dev.',
        tags: ['audit'],
        querystring: AuditQuery,
        response: { 200: AuditOut },
      },
    },
    async (req, reply) => {
      const q = req.query;
      await auth.requireChain(req, q.tenantId, 'audit.export');
      if (q.format === 'json') {
        if (q.limit > AUDIT_JSON_MAX_LIMIT)
          throw new ApiError(400, 'invalid_field', `limit: at most ${AUDIT_JSON_MAX_LIMIT} for format=json (stream larger exports as jsonl, csv or ocsf)`, {
            field: 'query.limit',
          });
        const events = (await listAuditEvents(db, { tenantId: q.tenantId, from: q.from, to: q.to, after: q.cursor, limit: q.limit })).map(exported);
        const nextCursor = events.length === q.limit ? events[events.length - 1].seq : null;
        return { tenantId: q.tenantId, events, nextCursor };
      }
      const batches = batchesOf(db, q);
      if (q.format === 'jsonl') return stream(req, reply, 'application/x-ndjson', Readable.from(jsonLines(batches, (e) => e)));
      if (q.format === 'ocsf') return stream(req, reply, 'application/x-ndjson', Readable.from(jsonLines(batches, (e) => toOcsf(q.tenantId, e, PRODUCT))));
      const csv = stringify({
        header: true,
        columns: [...CSV_COLUMNS],
        escape_formulas: true,
        cast: { object: (v) => JSON.stringify(v) },
      });
      return stream(
        req,
        reply,
        'text/csv; charset=utf-8',
        pipeline(Readable.from(oneByOne(batches)), csv, () => undefined),
      );
    },
  );
}

function auditVerifyRoute(r: Router, { db, auth, config }: AppDeps) {
  r.get(
    '/v1/audit/verify',
    {
      onRequest: auth.requireRole('auditor', 'admin'),
      schema: {
        summary: "Verify a tenant's audit hash chain (or _system's, for a *-scoped auditor)",
        tags: ['audit'],
        querystring: AuditVerifyQuery,
        response: { 200: ChainOut },
      },
    },
    async (req) => {
      await auth.requireChain(req, req.query.tenantId, 'audit.verify');
      // Checked against the latest head exported outside the database, under keys it never held.
      const exportedHead = (await exportedHeads(config.auditHeadExport.file, config.auditKeys)).get(req.query.tenantId) ?? null;
      return verifyAuditChain(db, req.query.tenantId, { keys: config.auditKeys, exportedHead });
    },
  );
}

export function auditRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  auditExportRoute(r, deps);
  auditVerifyRoute(r, deps);
}
