// buildApp(deps) returns the Fastify instance; server.ts only listens. Tests inject their own
// Temporal client and database.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { directoriesFor } from '../store/directories';
import { createAuth, demandsKey } from './auth';
import { DirectoryHealthBoard } from './directory-status';
import type { AppDeps, AppOptions } from './deps';
import { ApiError, errorHandler } from './errors';
import { httpServerOptions, registerHttpEdges } from './http-edges';
import { inputProblem, MAX_INPUT_DEPTH } from './input-walk';
import { registerJsonBody } from './json-body';
import { openApiDecorations } from './openapi-links';
import { registerIdempotency } from './idempotency';
import { accessRoutes } from './routes/access';
import { adminRoutes } from './routes/admin';
import { consoleRoutes } from './routes/console';
import { invitationLinkRoutes } from './routes/invitation-links';
import { invitationRoutes } from './routes/invitations';
import { linkRoutes } from './routes/links';
import { opsRoutes } from './routes/ops';
import { auditRoutes } from './routes/audit';
import { evidenceRoutes } from './routes/evidence';
import { accessReviewRoutes } from './routes/access-reviews';
import { scimRoutes } from './routes/scim';
import { eventRoutes } from './routes/events';
import { riskRoutes } from './routes/risk';
import { sharedIpDatabase } from '../infra/ip-database';
import { riskResponseRoutes } from './routes/risk-responses';
import { observabilityRoutes } from './routes/observability';
import { pageRoutes } from './routes/pages';
import { recoveryRoutes } from './routes/recoveries';
import { redactUrl } from '../infra/logger';
import { webhookOpenApi } from '../infra/webhook-openapi';

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: (opts.logger || undefined) as FastifyBaseLogger | undefined,
    trustProxy: opts.config.trustProxy,
    bodyLimit: 256 * 1024,
    routerOptions: { maxParamLength: 1024 },
    // Errors the router raises before any route runs get the one error shape too.
    frameworkErrors: (err, req, reply) => errorHandler(err, req, reply),
    // Bounded reads, and Node's own errors on a connection (400, 408, 431) in the one shape too.
    ...httpServerOptions(opts.config.http),
  });
  registerHttpEdges(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  registerJsonBody(app);
  // Before any schema runs: no input nests deeper than the cap, and no field anywhere may carry
  // NUL or a lone surrogate.
  app.addHook('preValidation', async (req) => {
    for (const [where, value] of [
      ['query', req.query],
      ['params', req.params],
      ['body', req.body],
    ] as const) {
      const problem = inputProblem(value, where === 'body' ? '' : where);
      if (problem?.kind === 'too_deep') throw new ApiError(400, 'nesting_too_deep', `${where}: nested deeper than ${MAX_INPUT_DEPTH} levels`, { field: where });
      if (problem) {
        const field = problem.field || 'body';
        throw new ApiError(400, 'invalid_field', `${field}: contains a NUL or an unpaired surrogate`, { field });
      }
    }
  });
  // Through the error handler: a known path asked with another method becomes a 405 there.
  app.setNotFoundHandler((req, reply) =>
    errorHandler(new ApiError(404, 'route_not_found', `no route ${req.method} ${redactUrl(req.url.split('?')[0])}`), req, reply),
  );

  const deps: AppDeps = {
    ...opts,
    auth: createAuth(opts.db),
    log: opts.logger || console,
    directoryFor: opts.directoryFor ?? directoriesFor(opts.db, opts.config),
    directoryHealth: opts.directoryHealth ?? new DirectoryHealthBoard(),
    ipDatabase: opts.ipDatabase ?? sharedIpDatabase(opts.config.ipDatabases),
  };

  // A route without an authenticating hook is public: it is documented without the global bearer.
  // (Its error statuses are documented from api/openapi-errors.ts.)
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { hide?: boolean; security?: unknown[] } | undefined;
    if (!schema || schema.hide) return;
    if (!demandsKey(route.onRequest, route.preValidation, route.preHandler)) schema.security = [];
  });

  const { transform, transformObject } = openApiDecorations(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Recovery engine API',
        version: '1',
        description:
          'Account recovery and emergency access as durable Temporal workflows. Authenticate with `Authorization: Bearer <api key>`. ' +
          'Errors are `{ "error": { "code", "message", "details" } }`, from every layer. `Idempotency-Key` on POSTs makes retries safe. ' +
          'Any operation may also answer 408 `request_timeout` (request not received within the read bounds), 413 `body_too_large`, ' +
          '431 `headers_too_large` or 400 `malformed_request` (not valid HTTP); a path asked with a method it does not serve answers ' +
          '405 `method_not_allowed` with `Allow`, an unknown method 501 `method_not_implemented`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform,
    transformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The contract a customer's user store implements for the webhook directory: its own document.
  app.get('/docs/directory-webhook', { schema: { hide: true } }, async () => webhookOpenApi());

  registerIdempotency(app, opts.db, opts.config.tokenKeys[0].key);
  adminRoutes(app, deps);
  recoveryRoutes(app, deps);
  accessRoutes(app, deps);
  linkRoutes(app, deps);
  invitationRoutes(app, deps);
  invitationLinkRoutes(app, deps);
  opsRoutes(app, deps);
  eventRoutes(app, deps);
  riskRoutes(app, deps);
  riskResponseRoutes(app, deps);
  auditRoutes(app, deps);
  evidenceRoutes(app, deps);
  accessReviewRoutes(app, deps);
  scimRoutes(app, deps);
  observabilityRoutes(app, deps);
  pageRoutes(app, deps);
  consoleRoutes(app, deps);
  return app;
}

export { ApiError };
export type { AppDeps, AppOptions };
