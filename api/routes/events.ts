// Behaviour events in, from the product's own backend only (the dedicated `ingestion` role: an
// agent or approver key could plant the device it then presents): POST /v1/events takes a batch
// of logins, session uses and MFA enrolments and answers per event; POST /v1/events/login is the
// single-login form. Both feed Tier 2 and risk.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { eventTimeProblem } from '../../domain/events';
import { coversTenant } from '../../domain/scope';
import { accountsByExternalIds, findAccount, recordLogin } from '../../store/directory';
import { eventKey, ingestEvents, type NewEvent } from '../../store/events';
import { typed, type AppDeps, type Router } from '../deps';
import { respondToEvents, type EventResponses } from '../risk-detections';
import { ApiError } from '../errors';
import { EVENT_BATCH_BODY_LIMIT, EVENT_BATCH_MAX, EventBatch, EventBatchOut, IngestedEvent, LoginEvent, RecordedOut } from '../schemas';

/** An account of a remote directory the engine has not seen yet: looked up there (which mirrors it), then read. */
async function mirroredRemote(directoryFor: AppDeps['directoryFor'], db: AppDeps['db'], tenantId: string, accountId: string) {
  const directory = await directoryFor(tenantId);
  if (directory.kind === 'builtin' || !(await directory.lookup({ tenantId, accountId }))) return undefined;
  return findAccount(db, tenantId, accountId);
}

function loginEventRoute(r: Router, deps: AppDeps) {
  const { db, auth, directoryFor } = deps;
  r.post(
    '/v1/events/login',
    {
      onRequest: auth.requireRole('ingestion'),
      schema: {
        summary: 'Record a login event (feeds risk and Tier 2); ingestion role only',
        description:
          'Answers `recorded` with `actions` and `responseIds`: a successful login with `passwordCompromised: true` forces a password change (`password_change_forced`).',
        tags: ['events'],
        body: LoginEvent,
        response: { 202: RecordedOut },
      },
    },
    async (req, reply) => {
      const b = req.body;
      await auth.requireTenant(req, b.tenantId, 'events.login');
      const at = b.at ? new Date(b.at) : new Date();
      const problem = eventTimeProblem(at, Date.now());
      if (problem) throw new ApiError(400, 'invalid_field', problem, { field: 'at' });
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
        passwordCompromised: b.passwordCompromised,
      });
      const [done] = await respondToEvents(deps, [
        {
          tenantId: b.tenantId,
          eventId: null,
          type: 'login',
          accountId: b.accountId,
          accountUuid: acct.id,
          at,
          ip: b.ip,
          outcome: b.success ? 'success' : 'failure',
          passwordCompromised: b.passwordCompromised,
        },
      ]);
      return reply.code(202).send({ recorded: true, ...done });
    },
  );
}

type Item = z.infer<typeof IngestedEvent>;
interface ItemError {
  code: string;
  message: string;
  status: number;
  details: { field: string };
}
type Result = { index: number; eventId: string | null; status: 'accepted' | 'duplicate' | 'rejected'; error?: ItemError } & Partial<EventResponses>;

const itemError = (status: number, code: string, field: string, message: string): ItemError => ({ status, code, message, details: { field } });

/** An event's own problem, as a 400/403/404 would name it, or its valid form. */
function checkItem(raw: unknown, index: number, scope: readonly string[], now: number): { item: Item } | { error: ItemError } {
  const parsed = IngestedEvent.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.map(String);
    // An unknown key is named itself, as everywhere in the API.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const field = [`events.${index}`, ...path, ...keys.slice(0, 1)].join('.');
    return { error: itemError(400, 'invalid_field', field, `${field}: ${issue.message}`) };
  }
  const item = parsed.data;
  const problem = eventTimeProblem(new Date(item.at), now);
  if (problem) return { error: itemError(400, 'invalid_field', `events.${index}.at`, `events.${index}.${problem}`) };
  if (!coversTenant(scope, item.tenantId)) {
    return { error: itemError(403, 'tenant_out_of_scope', `events.${index}.tenantId`, `events.${index}.tenantId: outside this key's tenant scope`) };
  }
  return { item };
}

/** The engine's account rows the valid events name, per tenant; remote accounts not seen yet are looked up (and mirrored). */
async function accountIndex(deps: AppDeps, items: readonly Item[]): Promise<Map<string, string>> {
  const byTenant = new Map<string, Set<string>>();
  for (const it of items) byTenant.set(it.tenantId, (byTenant.get(it.tenantId) ?? new Set()).add(it.accountId));
  const index = new Map<string, string>();
  for (const [tenantId, ids] of byTenant) {
    for (const row of await accountsByExternalIds(deps.db, tenantId, [...ids])) index.set(`${tenantId}\n${row.external_id}`, row.id);
    for (const id of ids) {
      if (index.has(`${tenantId}\n${id}`)) continue;
      const mirrored = await mirroredRemote(deps.directoryFor, deps.db, tenantId, id);
      if (mirrored) index.set(`${tenantId}\n${id}`, mirrored.id);
    }
  }
  return index;
}

function eventBatchRoute(r: Router, deps: AppDeps) {
  r.post(
    '/v1/events',
    {
      onRequest: deps.auth.requireRole('ingestion'),
      // A full batch of realistic events is several hundred KiB: more room than the API's 256 KiB.
      bodyLimit: EVENT_BATCH_BODY_LIMIT,
      schema: {
        summary: `Record up to ${EVENT_BATCH_MAX} behaviour events (logins, session uses, MFA enrolments); ingestion role only`,
        description:
          'Each event is checked on its own and answered in `results` (same order): `accepted`, `duplicate` (its eventId was recorded before: nothing is written twice), ' +
          'or `rejected` with the error a single request would get (status 400, 403 or 404, code, and the field named as `events.<i>.<field>`). One bad event never refuses the others. ' +
          'Shapes: login {eventId, type:"login", tenantId, accountId, at, ip, deviceId?, userAgent?, geo?, outcome:"success"|"failure", sessionId?, passwordCompromised?}; ' +
          'session_use {eventId, type:"session_use", tenantId, accountId, at, ip, sessionId, deviceId?, userAgent?, geo?}; mfa_enroll {eventId, type:"mfa_enroll", tenantId, accountId, at, ip, deviceId?, sessionId?, geo?}. ' +
          `The body may be up to ${EVENT_BATCH_BODY_LIMIT / 1024 / 1024} MiB (larger: 413). ` +
          '`at` may be in the past (up to 400 days: replays, late delivery) but at most 60 s ahead of the server clock. ' +
          'Accepted and duplicate events carry `actions` (what the engine did on its own: `session_revoked` for a session token presented by another deviceId than its login, or used from another network than its login where that is implausible for the account (a network never seen for it, or impossible travel), ' +
          "`enrolment_held` for an MFA enrolment within 60 s of a login from an unfamiliar context (15 min in that login's session or on its device and network), `password_change_forced` for a successful login with passwordCompromised, " +
          '`escalated` for a session presented by another browser family than its login on a plausible network, or used from a country never seen for the account that could still be reached in the time since its last activity, or from a network the account used only from its other devices at least 200 km from everywhere it was seen: the session is not revoked, the security contacts are asked to decide) ' +
          'and `responseIds` (GET /v1/risk-responses/{id}).',
        tags: ['events'],
        body: EventBatch,
        response: { 200: EventBatchOut },
      },
    },
    async (req) => {
      const now = Date.now();
      const scope = req.principal!.tenantScope;
      const checked = req.body.events.map((raw, i) => ({ i, ...checkItem(raw, i, scope, now) }));
      const valid = checked.flatMap((c) => ('item' in c ? [{ i: c.i, item: c.item }] : []));
      const accounts = await accountIndex(
        deps,
        valid.map((v) => v.item),
      );
      const results: Result[] = checked.map((c) =>
        'error' in c
          ? { index: c.i, eventId: eventIdOf(req.body.events[c.i]), status: 'rejected', error: c.error }
          : { index: c.i, eventId: c.item.eventId, status: 'accepted' },
      );
      const seen = new Set<string>();
      const toWrite: NewEvent[] = [];
      const source = `principal:${req.principal!.id}`;
      for (const { i, item } of valid) {
        const uuid = accounts.get(`${item.tenantId}\n${item.accountId}`);
        if (!uuid) {
          results[i] = {
            index: i,
            eventId: item.eventId,
            status: 'rejected',
            error: itemError(404, 'account_not_found', `events.${i}.accountId`, `events.${i}.accountId: no such account in the tenant`),
          };
          continue;
        }
        const key = eventKey(item);
        if (seen.has(key)) {
          results[i] = { index: i, eventId: item.eventId, status: 'duplicate' };
          continue;
        }
        seen.add(key);
        toWrite.push({
          tenantId: item.tenantId,
          eventId: item.eventId,
          type: item.type,
          accountUuid: uuid,
          at: new Date(item.at),
          ip: item.ip,
          deviceId: 'deviceId' in item ? item.deviceId : undefined,
          userAgent: 'userAgent' in item ? item.userAgent : undefined,
          sessionId: 'sessionId' in item ? item.sessionId : undefined,
          outcome: 'outcome' in item ? item.outcome : undefined,
          geo: item.geo,
          source,
          passwordCompromised: item.type === 'login' ? item.passwordCompromised : undefined,
        });
      }
      const fresh = await ingestEvents(deps.db, toWrite);
      for (const { i, item } of valid)
        if (results[i].status === 'accepted' && !fresh.has(eventKey(item))) results[i] = { index: i, eventId: item.eventId, status: 'duplicate' };
      await answerResponses(deps, valid, results, new Map(toWrite.map((e) => [eventKey(e), e])));
      const count = (s: Result['status']) => results.filter((x) => x.status === s).length;
      return { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected'), results };
    },
  );
}

/**
 * Judges the events in batch order (a login earlier in the batch counts for an enrolment after
 * it). A duplicate is judged again: its response, made the first time, is found by its dedupe key
 * and answered (and its run started, had a failure cut the first answer short).
 */
async function answerResponses(deps: AppDeps, valid: { i: number; item: Item }[], results: Result[], written: Map<string, NewEvent>) {
  const judged = valid.filter(({ i }) => results[i].status !== 'rejected');
  const answers = await respondToEvents(
    deps,
    judged.map(({ item }) => ({ ...written.get(eventKey(item))!, accountId: item.accountId })),
  );
  judged.forEach(({ i }, n) => Object.assign(results[i], answers[n]));
}

const eventIdOf = (raw: unknown) => {
  const id = (raw as { eventId?: unknown }).eventId;
  return typeof id === 'string' && id.length <= 128 ? id : null;
};

export function eventRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  loginEventRoute(r, deps);
  eventBatchRoute(r, deps);
}
