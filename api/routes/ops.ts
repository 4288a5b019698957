// Health: liveness and readiness.
import type { FastifyInstance } from 'fastify';
import { databaseAnswers } from '../../store/health';
import { typed, type AppDeps, type Router } from '../deps';
import { HealthOut, NotReadyOut, ReadyOut } from '../schemas';

function healthRoutes(r: Router, { db, temporal }: AppDeps) {
  r.get('/healthz', { schema: { summary: 'Liveness', tags: ['health'], response: { 200: HealthOut } } }, async () => ({ status: 'ok' }));

  r.get(
    '/readyz',
    { schema: { summary: 'Readiness: Postgres and Temporal answer', tags: ['health'], response: { 200: ReadyOut, 503: NotReadyOut } } },
    async (_req, reply) => {
      const checks: Record<string, string> = {};
      checks.postgres = (await databaseAnswers(db)) ? 'ok' : 'unavailable';
      await temporal
        .withDeadline(Date.now() + 2000, () => temporal.workflowService.getSystemInfo({}))
        .then(
          () => (checks.temporal = 'ok'),
          () => (checks.temporal = 'unavailable'),
        );
      const ok = Object.values(checks).every((v) => v === 'ok');
      return reply
        .code(ok ? 200 : 503)
        .headers(ok ? {} : { 'retry-after': '5' })
        .send({ status: ok ? 'ready' : 'unavailable', checks });
    },
  );
}

export function opsRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  healthRoutes(r, deps);
}
