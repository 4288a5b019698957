// One error shape for every route: { error: { code, message, details? } }, and one place that
// maps failures (validation, Temporal, Postgres) to HTTP statuses.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AccountIdCaseClashError, DirectoryRefusedError } from '../domain/directory';
import { KeycloakError } from '../infra/keycloak-errors';
import { WebhookDirectoryError } from '../infra/webhook-directory';
import {
  NamespaceNotFoundError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { ACTIVITY_REFUSALS, WORKFLOW_REJECTIONS } from '../contracts/rejections';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (field: string, code: string, message: string) => new ApiError(400, code, `${field}: ${message}`, { field });

/** Stable workflow failure types -> HTTP. */
const WORKFLOW_FAILURES: Record<string, number> = WORKFLOW_REJECTIONS;

function fieldOf(context: string | undefined, instancePath: string): string {
  const path = instancePath.replace(/^\//, '').replace(/\//g, '.');
  const where = context === 'querystring' ? 'query' : (context ?? 'body');
  return path ? (where === 'body' ? path : `${where}.${path}`) : where;
}

export function toApiError(err: unknown, url = ''): ApiError {
  if (err instanceof ApiError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const fe = err as FastifyError & { validationContext?: string };
    const fields = fe.validation!.map((v) => {
      // An unknown key is named itself, not by the object that holds it.
      const keys = (v.params as { keys?: string[] } | undefined)?.keys;
      const path = v.keyword === 'unrecognized_keys' && keys?.length ? `${v.instancePath.replace(/\/$/, '')}/${keys[0]}` : v.instancePath;
      // A refinement may name its own code (e.g. `invalid_characters`), which then is the answer's.
      const own = (v.params as { params?: { code?: string } } | undefined)?.params?.code;
      return { field: fieldOf(fe.validationContext, path), code: own ?? v.keyword, own, message: v.message };
    });
    const first = fields[0];
    return new ApiError(400, first.own ?? 'invalid_field', `${first.field}: ${first.message}`, {
      field: first.field,
      fields: fields.map(({ own: _own, ...f }) => f),
    });
  }
  const fe = err as FastifyError;
  switch (fe?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'malformed_body', 'body: not valid JSON', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'content-type: send application/json', { field: 'content-type' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'body_too_large', 'body: too large', { field: 'body' });
    case 'FST_ERR_BAD_URL': {
      const field = paramOfUrl(url);
      return new ApiError(400, 'invalid_field', `${field}: not valid percent-encoding`, { field });
    }
    case 'FST_ERR_MAX_PARAM_LENGTH': {
      const field = paramOfUrl(url);
      return new ApiError(414, 'invalid_field', `${field}: too long`, { field });
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'malformed_body', 'content-length: does not match the body', { field: 'content-length' });
  }
  if (err instanceof AccountIdCaseClashError) return new ApiError(409, 'account_id_case_duplicate', err.message, { field: err.field });
  // The tenant's identity system, reached during a request: a refusal names its code, an outage is a 502.
  if (err instanceof DirectoryRefusedError) {
    if (err.code === 'account_not_found')
      return new ApiError(404, 'account_not_found', 'accountId: no such account in the identity system', { field: 'accountId' });
    return new ApiError(502, 'directory_refused', `the identity system refused: ${err.code}`, { reason: err.code });
  }
  if (err instanceof WebhookDirectoryError || err instanceof KeycloakError) {
    return new ApiError(502, 'directory_unreachable', 'the identity system did not answer as expected; try again later');
  }
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const type = err.cause.type ?? 'rejected';
    return new ApiError(WORKFLOW_FAILURES[type] ?? 409, type, err.cause.message);
  }
  // Only the refusals listed: any other activity failure stays an internal error.
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure) {
    const refusal = err.cause.cause;
    const status = refusal.type ? ACTIVITY_REFUSALS[refusal.type] : undefined;
    if (status) return new ApiError(status, refusal.type!, refusal.message);
  }
  // The row said active but the workflow has just closed: a state conflict, not a missing id.
  if (err instanceof WorkflowNotFoundError) return new ApiError(409, 'invalid_state', 'the recovery has already ended');
  if (err instanceof WorkflowExecutionAlreadyStartedError)
    return new ApiError(409, 'already_active', 'a recovery of this kind is already active for the account');
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new ApiError(
      503,
      'unavailable',
      'the workflow did not answer in time (is a worker running?); read the resource before retrying, the request may still take effect',
      undefined,
      { 'retry-after': '5' },
    );
  }
  // A namespace missing on the server (misconfiguration, or a cluster being rebuilt) is an outage
  // of the backing service for this API, not a fault of the request.
  if (err instanceof NamespaceNotFoundError) {
    return new ApiError(503, 'unavailable', 'the workflow service does not have the configured namespace; retry later', undefined, { 'retry-after': '5' });
  }
  if (err instanceof ServiceError || (err as Error)?.name === 'ServiceError' || isConnectionError(err)) {
    return new ApiError(503, 'unavailable', 'a backing service is unavailable; retry later', undefined, { 'retry-after': '5' });
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiError(fe.statusCode, 'bad_request', fe.message);
  }
  return new ApiError(500, 'internal', 'internal error');
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string | number })?.code;
  // gRPC DEADLINE_EXCEEDED (4) and UNAVAILABLE (14) from a Temporal call past its deadline.
  if (code === 4 || code === 14) return true;
  // node-postgres reports a connection lost mid-query without a code.
  const message = (err as { message?: unknown })?.message;
  if (typeof message === 'string' && /^(Connection terminated|Client has encountered a connection error|Connection terminated unexpectedly)/.test(message))
    return true;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001', '08003'].includes(code);
}

/** Router errors come before a route matched: name the parameter from the URL's shape. */
function paramOfUrl(url: string): string {
  const path = url.split('?')[0];
  if (/^\/v1\/links\/[^/]*$/.test(path)) return 'params.token';
  if (/^\/v1\/admin\/tenants\/[^/]+/.test(path)) return 'params.tenantId';
  if (/^\/v1\/(recoveries|break-glass|invitations)\/[^/]+/.test(path)) return 'params.id';
  return 'url';
}

/**
 * The request's own connection failed (the client closed it, or it was cut at a read timeout)
 * while its body was being read: an abort, not an outage of a service behind the API.
 */
export function isClientAbort(err: unknown, req: FastifyRequest): boolean {
  const socket = req.raw.socket as { destroyed?: boolean } | null;
  if (socket && !socket.destroyed) return false;
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE' || message === 'aborted';
}

/** Methods a route can be registered with here; HEAD comes with every GET. */
const ROUTABLE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * The methods the path of `url` is served with (empty: no such path), for a 405's Allow header. A
 * concrete path owns its URL before a templated one that matches it too, as OpenAPI matches paths:
 * only the routes with the fewest path parameters count (`/v1/links/redeem` is not a link).
 */
export function allowedMethods(app: FastifyInstance, url: string): string[] {
  const path = url.split('?')[0];
  const found = ROUTABLE_METHODS.flatMap((method) => {
    try {
      const route = app.findRoute({ method, url: path });
      return route ? [{ method, params: Object.keys(route.params ?? {}).length }] : [];
    } catch {
      // A path the router cannot even decode serves nothing.
      return [];
    }
  });
  const fewest = Math.min(...found.map((f) => f.params));
  return found.filter((f) => f.params === fewest).map((f) => f.method);
}

/** A 405 naming the methods the path is served with. */
export const notAllowed = (method: string, allow: string[]) =>
  new ApiError(405, 'method_not_allowed', `method: ${method} is not served here; use ${allow.join(', ')}`, { field: 'method' }, { allow: allow.join(', ') });

/** A path that exists, asked with a method it does not serve: 405 naming the ones it does. */
function methodNotAllowed(req: FastifyRequest): ApiError | null {
  if (!req.is404) return null;
  const allow = allowedMethods(req.server, req.url);
  if (!allow.length || allow.includes(req.method)) return null;
  return notAllowed(req.method, allow);
}

/** What a wrapped error (a Temporal ServiceError's gRPC status) says underneath: its code and details, never a payload. */
function causeOf(err: unknown): { code?: unknown; details?: unknown; message?: unknown } | undefined {
  const c = (err as { cause?: { code?: unknown; details?: unknown; message?: unknown } })?.cause;
  return c && typeof c === 'object' ? { code: c.code, details: c.details, message: c.message } : undefined;
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply) {
  if (isClientAbort(err, req)) {
    req.log.info(
      { err: { message: (err as Error)?.message, code: (err as { code?: string })?.code } },
      'request aborted: the connection closed before it was read',
    );
    void reply.code(400).send({ error: { code: 'request_aborted', message: 'the connection closed before the request was read' } });
    return;
  }
  const e = methodNotAllowed(req) ?? toApiError(err, req.url);
  if (e.status >= 500)
    req.log.error(
      { err: { type: (err as Error)?.name, message: (err as Error)?.message, code: (err as { code?: string })?.code, cause: causeOf(err) } },
      'request failed',
    );
  void reply
    .code(e.status)
    .headers(e.headers)
    .send({ error: { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) } });
}
