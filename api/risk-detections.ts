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
import { newId } from '../infra/secrets';
import { loginHistoryUpTo } from '../store/directory';
import { sessionIssuedAt, type NewEvent } from '../store/events';
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

/** `key`: the event's id, or for an event without one, the response's own id (never a duplicate). */
async function detect(deps: AppDeps, e: JudgedEvent, key: string): Promise<Detection | null> {
  switch (e.type) {
    case 'login':
      return detectCompromisedPassword(key, { success: e.outcome === 'success', passwordCompromised: e.passwordCompromised });
    case 'session_use': {
      const issued = await sessionIssuedAt(deps.db, { tenantId: e.tenantId, accountUuid: e.accountUuid, sessionId: e.sessionId!, at: e.at });
      return detectSessionHijack(e.sessionId!, issued, { ip: e.ip, asn: e.geo?.asn });
    }
    case 'mfa_enroll': {
      const logins = (await loginHistoryUpTo(deps.db, e.accountUuid, e.at)).map((h) => ({ ...h, at: new Date(h.at) }));
      const login = logins.find((h) => h.success) ?? null;
      const earlier = login ? logins.filter((h) => h.at < login.at) : [];
      return detectRiskyEnrolment(key, e.at, login, earlier);
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

/** Judges one freshly recorded event; records and starts its response, if any. */
export async function respondToEvent(deps: AppDeps, e: JudgedEvent): Promise<EventResponses> {
  const id = newId('rr');
  const d = await detect(deps, e, e.eventId ?? id);
  if (!d) return noResponses();
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
