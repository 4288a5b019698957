// Login events (feeding risk) and health. One function per concern.
import type { FastifyInstance } from 'fastify';
import { findAccount, recordLogin } from '../../store/directory';
import { databaseAnswers } from '../../store/health';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError } from '../errors';
import { HealthOut, LoginEvent, NotReadyOut, ReadyOut, RecordedOut } from '../schemas';

/** How far ahead of this server's clock a reported login may be (the reporter's clock skew). */
const LOGIN_CLOCK_SKEW_MS = 60_000;
/**
 * How old a reported login may be. Tier 2 and risk read the latest logins and call an account
 * inactive after 90 days; nothing older than 400 days (a year and a season) says anything about
 * the account now, so an older report is a mistake (or a made-up history) and refused.
 */
const LOGIN_HISTORY_WINDOW_DAYS = 400;

/** An account of a remote directory the engine has not seen yet: looked up there (which mirrors it), then read. */
async function mirroredRemote(directoryFor: AppDeps['directoryFor'], db: AppDeps['db'], tenantId: string, accountId: string) {
  const directory = await directoryFor(tenantId);
  if (directory.kind === 'builtin' || !(await directory.lookup({ tenantId, accountId }))) return undefined;
  return findAccount(db, tenantId, accountId);
}

// Login history feeds Tier 2 and risk, so only the product's own backend (the dedicated
// `ingestion` role) reports it: an agent or approver key could plant the device it then presents.
function loginEventRoute(r: Router, { db, auth, directoryFor }: AppDeps) {
  r.post(
    '/v1/events/login',
    {
      onRequest: auth.requireRole('ingestion'),
      schema: {
        summary: 'Record a login event (feeds risk and Tier 2); ingestion role only',
        tags: ['events'],
        body: LoginEvent,
        response: { 202: RecordedOut },
      },
    },
    async (req, reply) => {
      const b = req.body;
      await auth.requireTenant(req, b.tenantId, 'events.login');
      const now = Date.now();
      const at = b.at ? new Date(b.at) : new Date(now);
      if (at.getTime() > now + LOGIN_CLOCK_SKEW_MS)
        throw new ApiError(400, 'invalid_field', `at: in the future (more than ${LOGIN_CLOCK_SKEW_MS / 1000} s ahead of the server clock)`, { field: 'at' });
      if (at.getTime() < now - LOGIN_HISTORY_WINDOW_DAYS * 86_400_000)
        throw new ApiError(400, 'invalid_field', `at: older than the login-history window (${LOGIN_HISTORY_WINDOW_DAYS} days)`, { field: 'at' });
      const acct = (await findAccount(db, b.tenantId, b.accountId)) ?? (await mirroredRemote(directoryFor, db, b.tenantId, b.accountId));
      if (!acct) throw new ApiError(404, 'account_not_found', 'accountId: no such account in the tenant', { field: 'accountId' });
      await recordLogin(db, acct.id, {
        source: `principal:${req.principal!.id}`,
        at,
        ip: b.ip,
        deviceId: b.deviceId,
        country: b.geo?.country,
        asn: b.geo?.asn,
        lat: b.geo?.lat,
        lon: b.geo?.lon,
        success: b.success,
      });
      return reply.code(202).send({ recorded: true });
    },
  );
}

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
  loginEventRoute(r, deps);
  healthRoutes(r, deps);
}
