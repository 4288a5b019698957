// POST /v1/risk/assess: scores a reset request as of a time without acting on it (no workflow, no
// refusal, no alert). The request is recorded for the reset-rate signals, as every recovery's
// own assessment is; the answer does not wait for that record's commit (a later assessment in
// this process waits for it before it reads the rates). Agents (before they start a recovery), approvers and admins may ask, each
// within their tenant scope; auditors may not (the scored request counts toward the rates).
import type { FastifyInstance } from 'fastify';
import { eventTimeProblem } from '../../domain/events';
import { completeGeo } from '../../infra/ip-database';
import { assessAndRecord } from '../../store/risk';
import { typed, type AppDeps } from '../deps';
import { ApiError } from '../errors';
import { RiskAssessIn, RiskAssessOut } from '../schemas';

export function riskRoutes(app: FastifyInstance, { db, auth, ipDatabase }: AppDeps) {
  typed(app).post(
    '/v1/risk/assess',
    {
      onRequest: auth.requireRole('agent', 'approver', 'admin'),
      schema: {
        summary: 'Score a reset request against the account history and reset rates, without acting on it',
        description:
          'Answers the score, tier (low < 30 <= medium < 60 <= high), the response the tier calls for (challenge, approval_and_wait, refuse) and every signal with its weight and evidence. ' +
          '`at` (default now) evaluates as of that time using only earlier events. Geo given in the context wins; fields left out come from the offline IP database.',
        tags: ['risk'],
        body: RiskAssessIn,
        response: { 200: RiskAssessOut },
      },
    },
    async (req) => {
      const b = req.body;
      await auth.requireTenant(req, b.tenantId, 'risk.assess');
      const at = b.at ? new Date(b.at) : new Date();
      const problem = eventTimeProblem(at, Date.now());
      if (problem) throw new ApiError(400, 'invalid_field', problem, { field: 'at' });
      const result = await assessAndRecord(
        db,
        (ip, given) => completeGeo(ipDatabase, ip, given),
        {
          tenantId: b.tenantId,
          accountId: b.accountId,
          kind: b.kind,
          at,
          ip: b.context.ip,
          deviceId: b.context.deviceId,
          userAgent: b.context.userAgent,
          geo: completeGeo(ipDatabase, b.context.ip, b.context.geo),
          source: 'assess',
        },
        { answerFirst: true },
      );
      if ('missing' in result && result.missing === 'tenant') throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
      if ('missing' in result) throw new ApiError(404, 'account_not_found', 'accountId: no such account in the tenant', { field: 'accountId' });
      // A record that fails after the answer is logged: the rates then miss one request.
      result.recorded.catch((err: unknown) => req.log.error({ err: { message: (err as Error)?.message } }, 'recording a risk assessment failed'));
      const { score, tier, response, signals } = result.assessment;
      return { score, tier, response, signals };
    },
  );
}
