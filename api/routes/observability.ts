// What ops see: Prometheus metrics (for a `*`-scoped scraper or admin key), and the codec endpoint
// the Temporal Web UI and CLI call to show encrypted payloads to `*`-scoped auditors and admins.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Payload } from '@temporalio/common';
import { EncryptionCodec } from '../../infra/codec';
import type { Db } from '../../store/db';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError } from '../errors';
import { authHook, type Auth } from '../auth';
import type { PrincipalRole } from '../../domain/types';
import { coversAllTenants } from '../../domain/scope';
import { AnyText, CodecOut } from '../schemas';
import type { DirectoryHealthBoard } from '../directory-status';
import { deliveryCounts } from '../../store/deliveries';
import { endedGrantCounts, grantCountsIn } from '../../store/grants';
import { endedRecoveryCounts, recoveryCountsIn } from '../../store/recoveries';

const B64 = z
  .string()
  .max(4 * 1024 * 1024)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
// The remote codec protocol: a Payloads message as JSON. Go's CLI leaves out empty fields, so an
// empty list arrives as `{}` and a payload may come without `data`.
const CodecBody = z
  .object({
    payloads: z
      .array(z.object({ metadata: z.record(AnyText(), B64).optional(), data: B64.optional() }).strict())
      .max(1000)
      .default([]),
  })
  .strict();
/**
 * The CLI and the Web UI name the namespace whose payloads they send; this engine serves its own
 * only (the route refuses any other), and the document names it.
 */
const codecHeaders = (namespace: string) => z.looseObject({ 'x-namespace': AnyText().max(1000).meta({ const: namespace }).optional() });

const toPayload = (p: z.infer<typeof CodecBody>['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const fromPayload = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

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

function metricsRoute(r: Router, { db, config, auth, directoryHealth }: AppDeps) {
  const registry = new Registry();
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

// The Temporal Web UI: Settings -> Data Encoder.
function codecRoutes(r: Router, { auth, config }: AppDeps) {
  const codec = new EncryptionCodec(config.payloadKeys);
  const allowed = new Set(config.codecCorsOrigins);
  const CodecHeaders = codecHeaders(config.temporal.namespace);
  const cors = (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      void reply
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-credentials', 'true')
        .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-max-age', '600')
        .header('vary', 'origin');
    }
  };
  for (const op of ['encode', 'decode'] as const) {
    r.options(`/codec/${op}`, { schema: { hide: true } }, async (req, reply) => {
      cors(req, reply);
      return reply.code(204).send();
    });
    r.post(
      `/codec/${op}`,
      {
        onRequest: [async (req, reply) => cors(req, reply), requireGlobalRole(auth, 'auditor', 'admin')],
        bodyLimit: 8 * 1024 * 1024,
        schema: {
          summary: `${op} Temporal payloads (the remote codec protocol of the Temporal CLI and Web UI)`,
          tags: ['ops'],
          headers: CodecHeaders,
          body: CodecBody,
          response: { 200: CodecOut },
        },
      },
      async (req) => {
        const ns = req.headers['x-namespace'];
        if (ns !== undefined && ns !== config.temporal.namespace)
          throw new ApiError(400, 'invalid_field', `x-namespace: this codec serves the namespace ${config.temporal.namespace} only`, { field: 'x-namespace' });
        try {
          const out = op === 'encode' ? await codec.encode(req.body.payloads.map(toPayload)) : await codec.decode(req.body.payloads.map(toPayload));
          return { payloads: out.map(fromPayload) };
        } catch {
          throw new ApiError(400, 'invalid_field', 'payloads: a payload could not be decrypted (unknown key or tampered data)', { field: 'payloads' });
        }
      },
    );
  }
}

export function observabilityRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  metricsRoute(r, deps);
  codecRoutes(r, deps);
}
