// The scheduled access review (SPEC.md 3.3): each tenant's Temporal Schedule, set from its policy,
// paused, unpaused and run now by an admin (every change audited), and the reports it produces,
// read by auditors and admins of the tenant as JSON or as a printable page.
import type { FastifyInstance } from 'fastify';
import { accessReviewScheduleId } from '../../domain/access-review';
import { resolvePolicy, type PolicyOverride } from '../../domain/policy';
import { getAccessReview, listAccessReviews } from '../../store/access-reviews';
import { appendAudit } from '../../store/audit';
import { describeSchedule, putSchedule, setSchedulePaused, triggerSchedule } from '../access-review-schedule';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError } from '../errors';
import {
  AccessReviewList,
  AccessReviewOut,
  AccessReviewReportParams,
  EvidenceQuery,
  ListAccessReviewsQuery,
  ReviewScheduleOut,
  ReviewTriggerOut,
  ScheduleNoteBody,
  TenantParams,
} from '../schemas';
import { accessReviewPage, accessReviewView } from '../views/access-review';
import { PAGE_CSP } from '../views/html';
import { iso } from '../views/time';
import { tenantOr404 } from './admin';

const PATH = '/v1/admin/tenants/:tenantId/access-review-schedule';

/** The tenant's access-review settings in effect (after a 404 for an unknown tenant). */
async function reviewPolicy(deps: AppDeps, tenantId: string) {
  const t = await tenantOr404(deps, tenantId);
  return resolvePolicy(t.policy_override as PolicyOverride | null).accessReview;
}

function scheduleRoutes(r: Router, deps: AppDeps) {
  const { auth, db } = deps;
  const audit = (tenantId: string, principalId: string, requestId: string, action: string, details: Record<string, unknown>) =>
    appendAudit(db, {
      tenantId,
      eventKey: `${action}:${requestId}:${Date.now()}`,
      actor: `principal:${principalId}`,
      action,
      target: `schedule:${accessReviewScheduleId(tenantId)}`,
      details,
    });

  r.put(
    PATH,
    {
      onRequest: auth.requireRole('admin'),
      schema: {
        summary: "Create or update the tenant's access-review Schedule from its policy (cadence)",
        description: 'Idempotent. Setting the policy (PUT /v1/admin/tenants/{tenantId}/policy) updates an existing schedule as well.',
        tags: ['access-reviews'],
        params: TenantParams,
        response: { 200: ReviewScheduleOut },
      },
    },
    async (req) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'access_review.schedule');
      const p = await reviewPolicy(deps, tenantId);
      const { created, state } = await putSchedule(deps, tenantId, p);
      await audit(tenantId, req.principal!.id, req.id, created ? 'access_review.schedule_created' : 'access_review.schedule_updated', {
        cadenceSeconds: p.cadenceSeconds,
      });
      return state;
    },
  );

  r.get(
    PATH,
    {
      onRequest: auth.requireRole('admin', 'auditor'),
      schema: {
        summary: "The tenant's access-review Schedule: cadence, paused, next and recent runs",
        tags: ['access-reviews'],
        params: TenantParams,
        response: { 200: ReviewScheduleOut },
      },
    },
    async (req) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'access_review.schedule_read');
      return describeSchedule(deps, tenantId, await reviewPolicy(deps, tenantId));
    },
  );

  for (const paused of [true, false]) {
    r.post(
      `${PATH}/${paused ? 'pause' : 'unpause'}`,
      {
        onRequest: auth.requireRole('admin'),
        schema: {
          summary: paused ? "Pause the tenant's access-review Schedule, with a note" : "Unpause the tenant's access-review Schedule, with a note",
          tags: ['access-reviews'],
          params: TenantParams,
          body: ScheduleNoteBody,
          response: { 200: ReviewScheduleOut },
        },
      },
      async (req) => {
        const { tenantId } = req.params;
        await auth.requireTenant(req, tenantId, 'access_review.schedule');
        const state = await setSchedulePaused(deps, tenantId, await reviewPolicy(deps, tenantId), paused, req.body.note);
        await audit(tenantId, req.principal!.id, req.id, paused ? 'access_review.schedule_paused' : 'access_review.schedule_unpaused', { note: req.body.note });
        return state;
      },
    );
  }

  r.post(
    `${PATH}/trigger`,
    {
      onRequest: auth.requireRole('admin'),
      schema: {
        summary: 'Run the access review now, through the Schedule (also while paused)',
        tags: ['access-reviews'],
        params: TenantParams,
        response: { 202: ReviewTriggerOut },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      await auth.requireTenant(req, tenantId, 'access_review.schedule');
      await tenantOr404(deps, tenantId);
      await triggerSchedule(deps, tenantId);
      await audit(tenantId, req.principal!.id, req.id, 'access_review.schedule_triggered', {});
      return reply.code(202).send({ scheduleId: accessReviewScheduleId(tenantId), triggered: true });
    },
  );
}

function reportRoutes(r: Router, deps: AppDeps) {
  const { auth, db } = deps;
  r.get(
    '/v1/access-reviews/:id',
    {
      onRequest: auth.requireRole('auditor', 'admin'),
      schema: {
        summary: 'One access review report (auditor, admin); ?format=html: a printable page',
        tags: ['access-reviews'],
        params: AccessReviewReportParams,
        querystring: EvidenceQuery,
        response: { 200: AccessReviewOut },
      },
    },
    async (req, reply) => {
      const notFound = new ApiError(404, 'not_found', 'id: no such access review', { field: 'id' });
      const row = await getAccessReview(db, req.params.id);
      if (!row) throw notFound;
      // Another tenant's report answers as a missing one.
      await auth.requireTenant(req, row.tenant_id, 'access_review.read', { target: `access-review:${row.id}`, recoveryId: row.id, notFound });
      const view = accessReviewView(row);
      reply.header('cache-control', 'no-store');
      if (req.query.format === 'html') return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(accessReviewPage(view));
      return view;
    },
  );

  r.get(
    '/v1/access-reviews',
    {
      onRequest: auth.requireRole('auditor', 'admin'),
      schema: {
        summary: "A tenant's access review reports, newest first",
        tags: ['access-reviews'],
        querystring: ListAccessReviewsQuery,
        response: { 200: AccessReviewList },
      },
    },
    async (req) => {
      const { tenantId, limit } = req.query;
      await auth.requireTenant(req, tenantId, 'access_review.list');
      const rows = await listAccessReviews(db, tenantId, limit);
      return {
        items: rows.map((x) => ({
          id: x.id,
          tenantId: x.tenant_id,
          workflowId: x.workflow_id,
          state: x.state,
          asOf: iso(x.as_of),
          action: x.action,
          findings: Number(x.finding_count),
          createdAt: iso(x.created_at),
        })),
      };
    },
  );
}

export function accessReviewRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  scheduleRoutes(r, deps);
  reportRoutes(r, deps);
}
