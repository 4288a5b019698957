// Risk responses over HTTP: read one, list a tenant's (or one account's), and an admin's reversal
// or acknowledgement, sent to the response's workflow as an attested Update (the workflow judges
// role and scope again on the facts recorded here). Another tenant's response answers 404.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { riskDecideUpdate } from '../../contracts/risk-response';
import { appendAudit } from '../../store/audit';
import { getResponse, listResponses, type ResponseRow } from '../../store/risk-responses';
import { attest, principalFacts } from '../attest';
import { withTemporalDeadline } from '../deadlines';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError, toApiError } from '../errors';
import { ListRiskResponsesQuery, RiskDecisionBody, RiskResponseList, RiskResponseOut, RiskResponseParams } from '../schemas';

const noSuchResponse = () => new ApiError(404, 'not_found', 'id: no such risk response', { field: 'id' });

async function responseInScope(deps: AppDeps, req: FastifyRequest, id: string, action: string): Promise<ResponseRow> {
  const r = await getResponse(deps.db, id);
  if (!r) throw noSuchResponse();
  await deps.auth.requireTenant(req, r.tenantId, action, {
    target: `account:${r.accountId}`,
    recoveryId: r.id,
    eventKey: `${r.id}:risk.denied_out_of_scope:${req.id}:${Date.now()}`,
    notFound: noSuchResponse(),
  });
  return r;
}

const view = (r: ResponseRow) => ({
  id: r.id,
  tenantId: r.tenantId,
  accountId: r.accountId,
  action: r.action,
  signal: r.signal,
  eventId: r.eventId,
  evidence: r.evidence,
  state: r.state,
  outcome: r.outcome,
  decision: r.decidedBy ? { by: r.decidedBy, at: r.decidedAt!, reason: r.decisionReason ?? '' } : null,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

const READERS = ['admin', 'auditor'] as const;

function readRoutes(r: Router, deps: AppDeps) {
  r.get(
    '/v1/risk-responses/:id',
    {
      onRequest: deps.auth.requireRole(...READERS),
      schema: {
        summary: 'Get a risk response: what the engine did on its own, why, and any admin decision',
        tags: ['risk'],
        params: RiskResponseParams,
        response: { 200: RiskResponseOut },
      },
    },
    async (req) => view(await responseInScope(deps, req, req.params.id, 'risk.response_get')),
  );
  r.get(
    '/v1/risk-responses',
    {
      onRequest: deps.auth.requireRole(...READERS),
      schema: {
        summary: "List a tenant's risk responses, newest first (optionally one account's)",
        tags: ['risk'],
        querystring: ListRiskResponsesQuery,
        response: { 200: RiskResponseList },
      },
    },
    async (req) => {
      const q = req.query;
      await deps.auth.requireTenant(req, q.tenantId, 'risk.response_list');
      const rows = await listResponses(deps.db, q);
      return { items: rows.map(view), nextBefore: rows.length === q.limit ? rows[rows.length - 1].createdAt : null };
    },
  );
}

function decisionRoute(r: Router, deps: AppDeps, decision: 'reverse' | 'acknowledge') {
  const summary =
    decision === 'reverse'
      ? 'Reverse a risk response (admin): a hold is released, a forced change withdrawn, an escalation dismissed; revoked sessions stay ended'
      : 'Acknowledge a risk response (admin): it was right and stands; an escalation is decided';
  r.post(
    `/v1/risk-responses/:id/${decision}`,
    {
      onRequest: deps.auth.requireRole('admin'),
      schema: { summary, tags: ['risk'], params: RiskResponseParams, body: RiskDecisionBody, response: { 200: RiskResponseOut } },
    },
    async (req) => {
      // Scope first: another tenant's response answers like a missing one.
      const row = await responseInScope(deps, req, req.params.id, `risk.response_${decision}`);
      const { reason } = req.body;
      const attested = await attest(deps, {
        kind: 'risk.decide',
        tenantId: row.tenantId,
        caseId: row.id,
        workflowId: row.workflowId,
        principal: principalFacts(req),
        message: { decision, reason },
      });
      try {
        await withTemporalDeadline(deps.temporal, 'update', () =>
          deps.temporal.workflow.getHandle(row.workflowId).executeUpdate(riskDecideUpdate, { args: [{ ...attested, decision, reason }] }),
        );
      } catch (err) {
        const e = toApiError(err);
        // A run that has ended (decided, or its review window over) can no longer be decided.
        const refusal = e.code === 'invalid_state' ? new ApiError(409, 'response_decided', `the response is ${row.state}`) : e;
        if (refusal.status >= 400 && refusal.status < 500) {
          await appendAudit(deps.db, {
            tenantId: row.tenantId,
            eventKey: `${row.id}:risk.${decision}_rejected:${req.id}:${Date.now()}`,
            actor: `principal:${req.principal!.id}`,
            action: `risk.${decision}_rejected`,
            target: `account:${row.accountId}`,
            recoveryId: row.id,
            details: { code: refusal.code },
          });
        }
        throw refusal;
      }
      return view((await getResponse(deps.db, row.id))!);
    },
  );
}

export function riskResponseRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  readRoutes(r, deps);
  decisionRoute(r, deps, 'reverse');
  decisionRoute(r, deps, 'acknowledge');
}
