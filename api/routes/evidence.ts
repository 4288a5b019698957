// GET /v1/recoveries/:id/evidence and /v1/break-glass/:id/evidence: one case's evidence bundle
// for an auditor (tenant-scoped), as JSON or as a printable page (?format=html).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildEvidence, type CaseFacts, type EvidenceFacts } from '../../domain/evidence';
import { exportedHeads } from '../../infra/audit-heads';
import { caseEvents, verifyAuditChain } from '../../store/audit';
import { caseDeliveries } from '../../store/deliveries';
import { grantCredentialTimes, type GrantRow } from '../../store/grants';
import { principalsWithPersons } from '../../store/principals';
import type { RecoveryRow } from '../../store/recoveries';
import { caseTokens } from '../../store/tokens';
import { typed, type AppDeps, type Router } from '../deps';
import { AccessParams, EvidenceOut, EvidenceQuery, IdParams } from '../schemas';
import { evidencePage } from '../views/evidence-html';
import { PAGE_CSP } from '../views/html';
import { iso, isoOrNull } from '../views/time';
import { grantInScope } from './access';
import { loadInScope } from './recoveries';

/** Everything the store holds about a case, read once; the bundle is built from these facts. */
async function factsOf(deps: AppDeps, c: CaseFacts): Promise<EvidenceFacts> {
  const { db, config } = deps;
  const events = (await caseEvents(db, c.id)).map((e) => ({
    seq: Number(e.seq),
    at: iso(e.at),
    actor: e.actor,
    action: e.action,
    target: e.target,
    details: e.details,
    prevHash: e.prev_hash,
    hash: e.hash,
    keyId: e.key_id,
  }));
  const principalIds = [
    ...new Set([
      c.requestedBy,
      ...events
        .map((e) => e.actor)
        .filter((a) => a.startsWith('principal:'))
        .map((a) => a.slice('principal:'.length)),
    ]),
  ];
  const exportedHead = (await exportedHeads(config.auditHeadExport.file, config.auditKeys)).get(c.tenantId) ?? null;
  const chain = await verifyAuditChain(db, c.tenantId, { keys: config.auditKeys, exportedHead });
  return {
    case: c,
    events,
    principals: (await principalsWithPersons(db, principalIds)).map((p) => ({
      id: p.id,
      name: p.name,
      roles: p.roles,
      personEmail: p.person_email,
      personConfirmed: p.person_confirmed_at !== null,
    })),
    tokens: (await caseTokens(db, c.id)).map((t) => ({
      purpose: t.purpose,
      createdAt: iso(t.created_at),
      expiresAt: iso(t.expires_at),
      mailSentAt: isoOrNull(t.mail_sent_at),
      usedAt: isoOrNull(t.used_at),
      invalidatedAt: isoOrNull(t.invalidated_at),
      invalidatedReason: t.invalidated_reason,
    })),
    deliveries: (await caseDeliveries(db, c.id)).map((d) => ({
      template: d.template,
      recipients: d.recipients,
      status: d.status,
      error: d.error,
      createdAt: iso(d.created_at),
      sentAt: isoOrNull(d.sent_at),
    })),
    credentials:
      c.type === 'break_glass'
        ? (await grantCredentialTimes(db, c.id)).map((k) => ({
            createdAt: iso(k.created_at),
            expiresAt: iso(k.expires_at),
            fetchedAt: isoOrNull(k.fetched_at),
            revokedAt: isoOrNull(k.revoked_at),
            revokeReason: k.revoke_reason,
          }))
        : [],
    chain: {
      valid: chain.valid,
      events: chain.events,
      headHash: chain.headHash,
      firstBrokenSeq: chain.firstBrokenSeq,
      problem: chain.problem,
      exportedHead: chain.exportedHead,
    },
    temporal: { namespace: config.temporal.namespace, uiUrl: config.temporalUiUrl },
  };
}

async function answer(deps: AppDeps, reply: FastifyReply, c: CaseFacts, format: 'json' | 'html') {
  const bundle = buildEvidence(await factsOf(deps, c));
  reply.header('cache-control', 'no-store');
  if (format === 'html') return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(evidencePage(bundle));
  return bundle;
}

const SUMMARY =
  'The evidence bundle of one case: request, risk, verification, approvals (by person), waiting period, notifications, link and credential times (never values), revocations, the final state, the run with a link into the Temporal UI, and the audit events with the proof that their chain verifies. ?format=html: a printable page.';

/** A recovery's row as the bundle's case. */
const recoveryCase = (row: RecoveryRow): CaseFacts => ({
  type: 'recovery',
  id: row.id,
  tenantId: row.tenant_id,
  accountId: row.account_id,
  kind: row.kind,
  state: row.state,
  createdAt: iso(row.created_at),
  endedAt: isoOrNull(row.ended_at),
  requestedBy: row.requested_by,
  justification: row.reason,
  ticketRef: row.ticket_ref,
  workflowId: row.workflow_id,
  runId: row.run_id,
  risk: { tier: row.risk_tier, route: row.route, reasons: row.reasons, context: row.context, errorSource: row.error_source, urgency: row.urgency },
});

/** A grant's row as the bundle's case. */
const grantCase = (g: GrantRow): CaseFacts => ({
  type: 'break_glass',
  id: g.id,
  tenantId: g.tenant_id,
  accountId: g.account_id,
  kind: g.kind,
  state: g.state,
  createdAt: iso(g.created_at),
  endedAt: isoOrNull(g.ended_at),
  requestedBy: g.requested_by,
  justification: g.justification,
  ticketRef: g.ticket_ref,
  workflowId: g.workflow_id,
  runId: g.run_id,
  durationSeconds: g.duration_seconds,
});

function evidenceRoute(
  r: Router,
  deps: AppDeps,
  o: { path: string; params: typeof IdParams | typeof AccessParams; summary: string; load: (req: FastifyRequest, id: string) => Promise<CaseFacts> },
) {
  r.get(
    o.path,
    {
      onRequest: deps.auth.requireRole('auditor'),
      schema: { summary: o.summary, description: SUMMARY, tags: ['evidence'], params: o.params, querystring: EvidenceQuery, response: { 200: EvidenceOut } },
    },
    async (req, reply) => answer(deps, reply, await o.load(req, req.params.id), req.query.format),
  );
}

export function evidenceRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  evidenceRoute(r, deps, {
    path: '/v1/recoveries/:id/evidence',
    params: IdParams,
    summary: "A recovery's evidence bundle (auditor)",
    load: async (req, id) => recoveryCase(await loadInScope(deps, req, id, 'recovery.evidence')),
  });
  evidenceRoute(r, deps, {
    path: '/v1/break-glass/:id/evidence',
    params: AccessParams,
    summary: "An emergency-access grant's evidence bundle (auditor)",
    load: async (req, id) => grantCase(await grantInScope(deps, req, id, 'access.evidence')),
  });
}
