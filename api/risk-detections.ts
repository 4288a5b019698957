// Ingestion-time detections (SPEC section 2, risk table): the events just recorded are judged on
// what the engine knew of the account, and each detection becomes a recorded risk response whose
// workflow carries it out. An event's answer lists what was done (`actions`) and the responses.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { RiskResponseWorkflow } from '../contracts/risk-response';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, TenantIdKey } from '../contracts/search-attributes';
import { caseSummary } from '../domain/public-summary';
import {
  ACTION_ANSWERS,
  detectCompromisedPassword,
  detectRiskyEnrolment,
  detectSessionHijack,
  initialState,
  responseKind,
  RISK_REVIEW_DAYS,
  type Detection,
} from '../domain/risk-response';
import type { HistoryEvent, ResolvedGeo } from '../domain/risk-signals';
import { completeGeo } from '../infra/ip-database';
import { newId } from '../infra/secrets';
import { sameNetwork } from '../domain/network';
import { sessionLogins, type NewEvent } from '../store/events';
import { histories, type StoredHistoryEvent } from '../store/risk';
import { recordResponse, type ResponseRow } from '../store/risk-responses';
import { withTemporalDeadline } from './deadlines';
import type { AppDeps } from './deps';

/** What an event's answer carries about the engine's response to it. */
export interface EventResponses {
  actions: string[];
  responseIds: string[];
}

const noResponses = (): EventResponses => ({ actions: [], responseIds: [] });

/**
 * An event as detection reads it: what was recorded, the account's external id, and the login's
 * breached-password flag. A single login (POST /v1/events/login) has no event id: null.
 */
export type JudgedEvent = Omit<NewEvent, 'eventId' | 'source'> & { eventId: string | null; accountId: string; passwordCompromised?: boolean };

/** How many of each account's newest events of each source detection reads: weeks of presence, and a batch of hundreds of accounts stays one quick read. */
const DETECTION_HISTORY_LIMIT = 120;

type Issued = { at: Date; ip: string; geo: ResolvedGeo; deviceId: string | null; userAgent: string | null };
const sessionKey = (accountUuid: string, sessionId: string) => `${accountUuid}\n${sessionId}`;

/**
 * What detection reads for one batch, in two statements at most: the login that issued each
 * session used in the batch; then the history of the accounts that need judging (a session used
 * from another network than its login, an enrolment; another client needs no history), up to the
 * batch's newest such event (the batch's own events, just recorded, included), geo completed from
 * the IP database. Most uses are on their login's network and need no history at all.
 */
async function readForBatch(deps: AppDeps, events: readonly JudgedEvent[]): Promise<BatchContext> {
  const located = (ip: string, geo: ResolvedGeo | Record<string, unknown> | null | undefined) => completeGeo(deps.ipDatabase, ip, geo ?? {});
  const uses = events.filter((e) => e.type === 'session_use');
  const enrolments = events.filter((e) => e.type === 'mfa_enroll');
  const issued = new Map<string, Issued>();
  if (uses.length) {
    const logins = await sessionLogins(deps.db, {
      accountUuids: [...new Set(uses.map((e) => e.accountUuid))],
      sessionIds: [...new Set(uses.map((e) => e.sessionId!))],
      upTo: new Date(Math.max(...uses.map((e) => e.at.getTime()))),
    });
    for (const l of logins)
      issued.set(sessionKey(l.accountUuid, l.sessionId), { at: l.at, ip: l.ip, geo: located(l.ip, l.geo), deviceId: l.deviceId, userAgent: l.userAgent });
  }
  const judged = [
    ...enrolments,
    ...uses.filter((e) => {
      const login = issued.get(sessionKey(e.accountUuid, e.sessionId!));
      return !!login && sameNetwork({ ip: login.ip, asn: login.geo.asn }, { ip: e.ip, asn: located(e.ip, e.geo).asn }) === false;
    }),
  ];
  const read = judged.length
    ? await histories(deps.db, [...new Set(judged.map((e) => e.accountUuid))], new Date(Math.max(...judged.map((e) => e.at.getTime()))), {
        inclusive: true,
        limit: DETECTION_HISTORY_LIMIT,
      })
    : new Map<string, StoredHistoryEvent[]>();
  for (const list of read.values()) for (const h of list) h.geo = located(h.locate, h.geo);
  return new BatchContext(read, issued);
}

/** Detection's reads for one batch, and the sessions it has revoked or escalated so far (their later uses vouch for nothing). */
class BatchContext {
  private revoked = new Set<string>();
  constructor(
    private readonly read: Map<string, StoredHistoryEvent[]>,
    private readonly logins: Map<string, Issued>,
  ) {}

  /** The account's events strictly before `at`, newest first. */
  before(accountUuid: string, at: Date): HistoryEvent[] {
    const list = (this.read.get(accountUuid) ?? []).filter((h) => h.at < at);
    return this.revoked.size
      ? list.map((h) => (h.sessionId && this.revoked.has(sessionKey(accountUuid, h.sessionId)) ? { ...h, sessionRevoked: true } : h))
      : list;
  }

  /** The login that issued the session, at or before its use, or null when none was reported. */
  issued(e: JudgedEvent): Issued | null {
    const login = this.logins.get(sessionKey(e.accountUuid, e.sessionId!));
    return login && login.at <= e.at ? login : null;
  }

  revoke(accountUuid: string, sessionId: string) {
    this.revoked.add(sessionKey(accountUuid, sessionId));
  }
}

/** `key`: the event's id, or for an event without one, the response's own id (never a duplicate). */
async function detect(deps: AppDeps, ctx: BatchContext, e: JudgedEvent, key: string): Promise<Detection | null> {
  switch (e.type) {
    case 'login':
      return detectCompromisedPassword(key, { success: e.outcome === 'success', passwordCompromised: e.passwordCompromised });
    case 'session_use': {
      // A use on its login's network (most of them) reads no history: the rule answers on the client and the network alone.
      const use = { at: e.at, ip: e.ip, deviceId: e.deviceId, userAgent: e.userAgent, geo: completeGeo(deps.ipDatabase, e.ip, e.geo) };
      const d = detectSessionHijack(e.sessionId!, use, ctx.issued(e), ctx.before(e.accountUuid, e.at));
      // A session judged a possible hijack vouches for nothing from here on (another browser family alone is not one).
      if (d?.signal === 'session_hijack') ctx.revoke(e.accountUuid, e.sessionId!);
      return d;
    }
    case 'mfa_enroll': {
      const enrol = { at: e.at, ip: e.ip, deviceId: e.deviceId, sessionId: e.sessionId, geo: completeGeo(deps.ipDatabase, e.ip, e.geo) };
      return detectRiskyEnrolment(key, enrol, ctx.before(e.accountUuid, e.at));
    }
  }
}

/** Starts a response's run (again, harmlessly: the id is the response's own). */
async function startResponse(deps: AppDeps, r: ResponseRow): Promise<void> {
  const kind = responseKind(r.action);
  try {
    await withTemporalDeadline(deps.temporal, 'start', () =>
      deps.temporal.workflow.start<RiskResponseWorkflow>('riskResponseWorkflow', {
        taskQueue: deps.taskQueue,
        workflowId: r.workflowId,
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [
          {
            responseId: r.id,
            tenantId: r.tenantId,
            accountId: r.accountId,
            action: r.action,
            reviewSeconds: RISK_REVIEW_DAYS * 86_400,
            searchAttributes: deps.searchAttributes,
          },
        ],
        ...(deps.searchAttributes
          ? {
              typedSearchAttributes: [
                { key: TenantIdKey, value: r.tenantId },
                { key: AccountIdKey, value: r.accountId },
                { key: RecoveryKindKey, value: kind },
                { key: RecoveryStatusKey, value: r.state },
              ],
            }
          : {}),
        staticSummary: caseSummary(kind, r.id),
      }),
    );
  } catch (err) {
    // A closed run of this response (its review window ended) is the same response: nothing to do.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

const answerOf = (rows: ResponseRow[]): EventResponses => ({ actions: rows.map((r) => ACTION_ANSWERS[r.action]), responseIds: rows.map((r) => r.id) });

/** Records a detection's response and starts its run (a replayed event finds the response already made). */
async function respond(deps: AppDeps, e: JudgedEvent, id: string, d: Detection): Promise<EventResponses> {
  const { row } = await recordResponse(deps.db, {
    id,
    tenantId: e.tenantId,
    accountId: e.accountId,
    accountUuid: e.accountUuid,
    action: d.action,
    signal: d.signal,
    dedupeKey: d.dedupeKey,
    eventId: e.eventId,
    evidence: d.evidence,
    state: initialState(d.action),
    workflowId: `risk-response:${id}`,
  });
  await startResponse(deps, row);
  return answerOf([row]);
}

/** How many responses of one batch are recorded and started at once (each a transaction and a workflow start). */
const RESPONSE_CONCURRENCY = 8;

/**
 * Judges freshly recorded events in the order given (a login earlier in the batch counts for an
 * enrolment after it), then records and starts each detection's response, several at once: one
 * per dedupe key (a second use of one hijacked session answers the first's response). One
 * history read per batch.
 */
export async function respondToEvents(deps: AppDeps, events: readonly JudgedEvent[]): Promise<EventResponses[]> {
  const ctx = await readForBatch(deps, events);
  const out: EventResponses[] = events.map(noResponses);
  const byKey = new Map<string, { e: JudgedEvent; id: string; d: Detection; at: number[] }>();
  for (const [n, e] of events.entries()) {
    const id = newId('rr');
    const d = await detect(deps, ctx, e, e.eventId ?? id);
    if (!d) continue;
    const key = `${e.tenantId}\n${d.dedupeKey}`;
    const first = byKey.get(key);
    if (first) first.at.push(n);
    else byKey.set(key, { e, id, d, at: [n] });
  }
  const pending = [...byKey.values()];
  const work = async () => {
    for (let r = pending.shift(); r; r = pending.shift()) {
      const answer = await respond(deps, r.e, r.id, r.d);
      for (const n of r.at) out[n] = answer;
    }
  };
  await Promise.all(Array.from({ length: Math.min(RESPONSE_CONCURRENCY, pending.length) }, work));
  return out;
}
