// What ops see: Prometheus metrics (for a `*`-scoped scraper or admin key), and the codec endpoint
// the Temporal Web UI and CLI call to show encrypted payloads to `*`-scoped auditors and admins
// (./codec.ts), whose decode counter shares the metrics' registry.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../../store/db';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError } from '../errors';
import { authHook, type Auth } from '../auth';
import type { PrincipalRole } from '../../domain/types';
import { coversAllTenants } from '../../domain/scope';
import { codecRoutes } from './codec';
import type { DirectoryHealthBoard } from '../directory-status';
import { deliveryCounts } from '../../store/deliveries';
import { endedGrantCounts, grantCountsIn } from '../../store/grants';
import { endedRecoveryCounts, recoveryCountsIn } from '../../store/recoveries';
import { stormGauges } from '../../store/risk';

/** API latency by route, observed on every response but the scrape's own. */
function latencyHistogram(r: Router, registry: Registry) {
  const latency = new Histogram({
    name: 'recovery_http_request_duration_seconds',
    help: 'API latency by route',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  r.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    latency.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}

// Outcomes and backlogs come from the read model at scrape time, so they are right whichever
// process ran the workflow and survive restarts.
function readModelGauges(registry: Registry, db: Db) {
  new Gauge({
    name: 'recovery_workflow_outcomes',
    help: 'Recoveries and emergency-access grants by kind and final state',
    labelNames: ['kind', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = [...(await endedRecoveryCounts(db)), ...(await endedGrantCounts(db))];
      for (const row of rows) this.set({ kind: row.kind, state: row.state }, Number(row.n));
    },
  });
  new Gauge({
    name: 'recovery_pending',
    help: 'Open recoveries and grants waiting for people or timers, by stage',
    labelNames: ['kind', 'stage'],
    registers: [registry],
    async collect() {
      this.reset();
      const stages = ['awaiting_approval', 'waiting_period', 'awaiting_confirmation', 'active', 'awaiting_review'];
      const rows = [...(await recoveryCountsIn(db, stages)), ...(await grantCountsIn(db, stages))];
      for (const row of rows) this.set({ kind: row.kind, stage: row.state }, Number(row.n));
    },
  });
  new Gauge({
    name: 'recovery_email_deliveries',
    help: 'Email deliveries by template and outcome',
    labelNames: ['template', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await deliveryCounts(db);
      for (const row of rows) this.set({ template: row.template, status: row.status }, Number(row.n));
    },
  });
  // A tenant's reset storm (store/risk.ts opens and closes it, auditing both): on now, and how many began.
  const stormGauge = (name: string, help: string, value: (s: { active: boolean; started: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['tenant'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of await stormGauges(db)) this.set({ tenant: s.tenantId }, value(s));
      },
    });
  stormGauge('recovery_reset_storm_active', "Whether the tenant's reset rate is a storm now (1) or not (0)", (s) => (s.active ? 1 : 0));
  stormGauge('recovery_reset_storms_started', 'Reset storms ever started, by tenant', (s) => s.started);
}

/**
 * One of the roles, held with `*` scope: metrics count every tenant, and the codec decrypts the
 * payloads of every tenant (payload keys are not per tenant), so a tenant-scoped key gets neither.
 * Also what deployment-wide admin actions (re-sealing directory secrets) require.
 */
export function requireGlobalRole(auth: Auth, ...roles: PrincipalRole[]) {
  const hasRole = auth.requireRole(...roles);
  return authHook(async (req: FastifyRequest) => {
    await hasRole(req);
    if (!coversAllTenants(req.principal!.tenantScope))
      throw new ApiError(403, 'scope_too_narrow', `this endpoint serves every tenant: it needs one of the roles ${roles.join(', ')} with tenant scope "*"`);
  });
}

/** Each tenant's latest directory check (the health endpoint's and the periodic one's), 1 or 0. */
function directoryHealthGauge(registry: Registry, board: DirectoryHealthBoard) {
  new Gauge({
    name: 'recovery_directory_healthy',
    help: "Whether the tenant's directory answered its latest health check (1) or not (0)",
    labelNames: ['tenant', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [tenant, s] of board.entries()) this.set({ tenant, kind: s.kind }, s.healthy ? 1 : 0);
    },
  });
}

function metricsRoute(r: Router, { db, config, auth, directoryHealth }: AppDeps, registry: Registry) {
  collectDefaultMetrics({ register: registry, prefix: 'recovery_api_' });
  latencyHistogram(r, registry);
  readModelGauges(registry, db);
  directoryHealthGauge(registry, directoryHealth);

  r.get('/metrics', { schema: { hide: true }, onRequest: requireGlobalRole(auth, 'metrics', 'admin') }, async (_req, reply) => {
    let body = await registry.metrics();
    if (config.workerMetricsAddress) {
      // In `npm start` the worker shares this process; its SDK metrics are served on their own port.
      body += await fetch(`http://${config.workerMetricsAddress}/metrics`, { signal: AbortSignal.timeout(2000) })
        .then((res) => (res.ok ? res.text() : ''))
        .catch(() => '');
    }
    return reply.type(registry.contentType).send(body);
  });
}

export function observabilityRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  // One registry: the codec's decode counter is scraped beside the rest.
  const registry = new Registry();
  metricsRoute(r, deps, registry);
  codecRoutes(r, deps, registry);
}
