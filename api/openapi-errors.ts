// The error answers each documented operation can give, in /openapi.json: exact statuses, each
// with the one error shape, instead of 4XX/5XX ranges, so a client (and schemathesis) knows what
// to expect. The table lists what each route itself answers; the statuses every route of a kind
// answers are added by the rules below. A documented route without an entry fails the document.
import type { RouteOptions } from 'fastify';
import type { z } from 'zod';
import { demandsKey } from './auth';
import { ErrorBody } from './schemas';

/**
 * Any operation: a malformed request or input (400), a request not read within the bounds (408),
 * headers too large (431), the API draining or a backing service (Postgres, Temporal) down (503).
 */
const EVERY = [400, 408, 431, 503];
/** A body is read (POST, PUT, PATCH): larger than the route's limit (413), not JSON in UTF-8 (415). */
const BODY = [413, 415];
/** A POST's Idempotency-Key: its first request still running (409), used for another request (422). */
const IDEMPOTENT = [409, 422];
/** A path parameter over the router's length limit (414). */
const PATH_PARAM = [414];

/** A bearer key: none or an unknown one (401); without the role or the tenant scope asked for (403). */
const KEYED = [401, 403];
/** A record by id (404: none, or another tenant's, which answers alike). */
const BY_ID = [404];
/** A workflow Update: the case's state refuses it (409), its rules refuse the caller (403). */
const UPDATE = [403, 409];
/** The tenant's identity system is reached: it refused or did not answer (502). */
const DIRECTORY = [502];

/** Route (as Fastify registers it) -> the error statuses it answers beside the rules above. */
export const ROUTE_ERRORS: Record<string, readonly number[]> = {
  'POST /v1/admin/tenants': [...KEYED, 409],
  'POST /v1/admin/tenants/:tenantId/accounts': [...KEYED, 404, 409, ...DIRECTORY],
  'PATCH /v1/admin/tenants/:tenantId/accounts/:accountId': [...KEYED, 404, 409, ...DIRECTORY],
  'POST /v1/admin/principals': KEYED,
  'POST /v1/admin/principals/:id/disable': [...KEYED, ...BY_ID],
  'POST /v1/admin/principals/:id/rotate-key': [...KEYED, ...BY_ID, 409],
  'POST /v1/admin/principals/:id/person-link': [...KEYED, ...BY_ID, 409],
  'POST /v1/admin/principals/:id/console-sessions/revoke': [...KEYED, ...BY_ID],
  // Public: an invalid, used or expired link is 404.
  'POST /v1/persons/verify': [404],
  'PUT /v1/admin/tenants/:tenantId/policy': [...KEYED, 404],
  'GET /v1/admin/tenants/:tenantId/policy': [...KEYED, 404],
  // The access-review Schedule: no tenant, or (except PUT) no schedule yet, is 404.
  'PUT /v1/admin/tenants/:tenantId/access-review-schedule': [...KEYED, 404],
  'GET /v1/admin/tenants/:tenantId/access-review-schedule': [...KEYED, 404],
  'POST /v1/admin/tenants/:tenantId/access-review-schedule/pause': [...KEYED, 404, 409],
  'POST /v1/admin/tenants/:tenantId/access-review-schedule/unpause': [...KEYED, 404, 409],
  'POST /v1/admin/tenants/:tenantId/access-review-schedule/trigger': [...KEYED, 404, 409],
  'GET /v1/access-reviews/:id': [...KEYED, ...BY_ID],
  'GET /v1/access-reviews': KEYED,
  'PUT /v1/admin/tenants/:tenantId/directory': [...KEYED, 404, ...DIRECTORY],
  'GET /v1/admin/tenants/:tenantId/directory': [...KEYED, 404],
  'GET /v1/admin/tenants/:tenantId/directory/health': [...KEYED, 404],
  'POST /v1/admin/directory-secrets/reseal': KEYED,
  'POST /v1/admin/tenants/:tenantId/scim-token': [...KEYED, 404],
  'POST /v1/recoveries': [...KEYED, 404, 409, 429],
  'GET /v1/recoveries': KEYED,
  'GET /v1/recoveries/:id': [...KEYED, ...BY_ID],
  'GET /v1/recoveries/:id/evidence': [...KEYED, ...BY_ID],
  // Tier 3 may be refused for too many possession links (429).
  'POST /v1/recoveries/:id/verifications': [...KEYED, ...BY_ID, ...UPDATE, 429, ...DIRECTORY],
  'POST /v1/recoveries/:id/cancel': [...KEYED, ...BY_ID, ...UPDATE],
  'POST /v1/recoveries/:id/approvals': [...KEYED, ...BY_ID, ...UPDATE, ...DIRECTORY],
  // Public: every failure of a link is the same 404; a cancel may come too late (409).
  'GET /v1/links/:token': [404],
  // An invitation's password before its factor is confirmed: 409.
  'POST /v1/links/redeem': [404, 409, ...DIRECTORY],
  'POST /v1/links/cancel': [404, 409],
  // An invitee's link: the factor is confirmed already or not started (409); codes and enrolments are limited (429).
  'POST /v1/links/factor': [404, 409, 429],
  'POST /v1/links/factor/confirm': [404, 409, 429],
  // Refused for an SSO tenant or account, a registered account or an open invitation (409).
  'POST /v1/invitations': [...KEYED, 404, 409, ...DIRECTORY],
  'GET /v1/invitations/:id': [...KEYED, ...BY_ID],
  'POST /v1/break-glass': [...KEYED, 404, 409, ...DIRECTORY],
  'GET /v1/break-glass/:id': [...KEYED, ...BY_ID],
  'GET /v1/break-glass/:id/evidence': [...KEYED, ...BY_ID],
  'POST /v1/break-glass/:id/approvals': [...KEYED, ...BY_ID, ...UPDATE, ...DIRECTORY],
  'POST /v1/break-glass/:id/credential': [...KEYED, ...BY_ID, 409],
  'POST /v1/break-glass/:id/revoke': [...KEYED, ...BY_ID, ...UPDATE],
  'POST /v1/break-glass/:id/review': [...KEYED, ...BY_ID, ...UPDATE],
  // Public sign-ins: a credential or password not valid now is 401; both share a rate limit (429).
  'POST /v1/directory/sessions': [401, 429],
  'POST /v1/directory/password-sessions': [401, 429],
  // Per-event problems are answered in the 200's results; the batch itself: key, role.
  'POST /v1/events': KEYED,
  'POST /v1/events/login': [...KEYED, 404, ...DIRECTORY],
  'POST /v1/risk/assess': [...KEYED, 404],
  'GET /v1/risk-responses': KEYED,
  'GET /v1/risk-responses/:id': [...KEYED, ...BY_ID],
  'POST /v1/risk-responses/:id/reverse': [...KEYED, ...BY_ID, ...UPDATE],
  'POST /v1/risk-responses/:id/acknowledge': [...KEYED, ...BY_ID, ...UPDATE],
  'GET /v1/audit': KEYED,
  'GET /v1/audit/verify': KEYED,
  'POST /codec/encode': KEYED,
  // A principal decoding past CODEC_DECODE_PAYLOADS_PER_MINUTE: 429.
  'POST /codec/decode': [...KEYED, 429],
  'GET /healthz': [],
  'GET /readyz': [],
};

const DESCRIPTIONS: Record<number, string> = {
  400: 'Refused: malformed HTTP, JSON or input (`details.field` names the field)',
  401: 'Unauthenticated: no valid bearer key (or, signing in, the credential or password is not valid now)',
  403: 'Forbidden: the key lacks the role or tenant scope, or the rules of the case refuse this caller',
  404: 'Not found (a record of another tenant answers alike)',
  408: 'The request was not received within the read bounds',
  409: 'Conflict with the current state, or an Idempotency-Key whose first request is still running',
  413: 'The body is larger than this operation accepts',
  414: 'A path parameter is too long',
  415: 'The body is not `application/json` in UTF-8',
  422: 'The Idempotency-Key was already used with a different request',
  429: 'Rate limited: see Retry-After',
  431: 'The headers are larger than the server accepts',
  502: "The tenant's identity system refused or did not answer",
  503: 'Unavailable: the API is draining or a backing service is down; see Retry-After',
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The error statuses of a route: its entry in ROUTE_ERRORS and the rules for its method and path. */
export function errorStatuses(method: string, url: string): number[] {
  const key = `${method} ${url}`;
  const own = ROUTE_ERRORS[key];
  if (!own) throw new Error(`${key}: no error statuses in api/openapi-errors.ts`);
  const all = new Set([...EVERY, ...own]);
  if (BODY_METHODS.has(method)) for (const s of BODY) all.add(s);
  if (method === 'POST') for (const s of IDEMPOTENT) all.add(s);
  if (url.includes(':')) for (const s of PATH_PARAM) all.add(s);
  return [...all].sort((a, b) => a - b);
}

/**
 * The route's response schemas for the document: its own (which win where they name a status),
 * and the shared error shape for each of its error statuses. A route that demands a bearer key
 * must list 401 and 403.
 */
export function documentedResponses(method: string, route: Pick<RouteOptions, 'url' | 'onRequest' | 'preValidation' | 'preHandler'>, own: unknown) {
  const statuses = errorStatuses(method, route.url);
  if (demandsKey(route.onRequest, route.preValidation, route.preHandler) && !(statuses.includes(401) && statuses.includes(403)))
    throw new Error(`${method} ${route.url}: demands a bearer key, so its entry in api/openapi-errors.ts lists 401 and 403`);
  const errors: Record<string, z.ZodType> = {};
  for (const s of statuses) errors[s] = ErrorBody.describe(DESCRIPTIONS[s] ?? 'Error');
  return { ...errors, ...((own ?? {}) as Record<string, unknown>) };
}
