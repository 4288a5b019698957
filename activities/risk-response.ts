// The risk-response workflow's steps: carry out the response once (through the tenant's directory
// where it acts on the account), alert the tenant's security contacts, record an admin's decision,
// and tell the internal security webhook (signed here: the secret never enters history).
import { ApplicationFailure } from '@temporalio/activity';
import type { SecurityEvent } from '../contracts/activities';
import { REVERSED_STATE } from '../domain/risk-response';
import { postSecurityEvent } from '../infra/security-webhook';
import { riskResponseEmail } from '../infra/templates';
import { appendAudit } from '../store/audit';
import { getRecovery } from '../store/recoveries';
import { getResponse, recordResponseTransition, type ResponseRow } from '../store/risk-responses';
import { securityContacts } from '../store/tenants';
import { DIRECTORY_REFUSED, type Deps } from './deps';
import { sendOnce } from './mail';

async function loadResponse(db: Deps['db'], id: string): Promise<ResponseRow> {
  const r = await getResponse(db, id);
  if (!r) throw ApplicationFailure.nonRetryable(`risk response ${id} not found`, 'response_not_found');
  return r;
}

/** The states a response is in before it is carried out (a retry of the step finds it done). */
const NOT_YET_APPLIED = new Set(['pending', 'held']);

function applying({ db, directoryFor }: Deps) {
  const move = (r: ResponseRow, state: string, action: string, outcome: Record<string, unknown>, details: Record<string, unknown> = {}) =>
    recordResponseTransition(db, {
      id: r.id,
      state,
      step: 'applied',
      action,
      actor: 'system',
      outcome,
      details: { evidence: r.evidence, ...outcome, ...details },
    });

  return {
    async applyRiskResponse({ responseId }: { responseId: string }): Promise<{ state: string; alert: boolean }> {
      const r = await loadResponse(db, responseId);
      const alert = r.action === 'revoke_sessions' || r.action === 'escalate';
      if (!NOT_YET_APPLIED.has(r.state) || (r.action === 'hold_enrolment' && r.outcome)) return { state: r.state, alert };
      const ref = { tenantId: r.tenantId, accountId: r.accountId };
      switch (r.action) {
        case 'revoke_sessions': {
          const directory = await directoryFor(r.tenantId);
          try {
            const { revoked } = await directory.revokeSessions(ref, { idempotencyKey: `${r.id}:revoke`, by: 'system', reason: r.signal });
            await move(r, 'applied', 'risk.sessions_revoked', { sessionsRevoked: revoked, directory: directory.kind });
            return { state: 'applied', alert };
          } catch (err) {
            if (!(err instanceof ApplicationFailure) || err.type !== DIRECTORY_REFUSED) throw err;
            // Nothing was revoked: a person must act, so the response becomes an escalation.
            const code = (err.details?.[0] as { code?: string } | undefined)?.code ?? DIRECTORY_REFUSED;
            await move(r, 'escalated', 'risk.escalated', { sessionsRevoked: 0, directoryRefused: code });
            return { state: 'escalated', alert: true };
          }
        }
        case 'hold_enrolment':
          await move(r, 'held', 'risk.enrolment_held', { held: true });
          return { state: 'held', alert };
        case 'force_password_change': {
          // No connector can expire a password today (the port has no such call): the requirement
          // is recorded and surfaced to the product (this response, its event's answer, the webhook).
          const directory = await directoryFor(r.tenantId);
          await move(r, 'password_change_required', 'risk.password_change_required', { directory: directory.kind, enforcedBy: 'product' });
          return { state: 'password_change_required', alert };
        }
        case 'escalate':
          await move(r, 'escalated', 'risk.escalated', { escalated: true });
          return { state: 'escalated', alert };
      }
    },

    async decideRiskResponse(i: { responseId: string; decision: 'reverse' | 'acknowledge'; by: string; reason: string }): Promise<{ state: string }> {
      const r = await loadResponse(db, i.responseId);
      const state = i.decision === 'reverse' ? REVERSED_STATE[r.action] : 'acknowledged';
      const note = i.decision === 'reverse' && r.action === 'revoke_sessions' ? 'revoked sessions stay ended; the owner signs in again' : undefined;
      await recordResponseTransition(db, {
        id: r.id,
        state,
        step: `decided:${i.decision}`,
        action: i.decision === 'reverse' ? 'risk.response_reversed' : 'risk.response_acknowledged',
        actor: i.by,
        decision: { by: i.by, reason: i.reason },
        details: { reason: i.reason, previousState: r.state, ...(note ? { note } : {}) },
      });
      return { state };
    },

    async closeRiskResponse({ responseId }: { responseId: string }): Promise<{ state: string }> {
      const r = await loadResponse(db, responseId);
      await recordResponseTransition(db, {
        id: r.id,
        state: 'closed',
        step: 'closed',
        action: 'risk.response_closed',
        actor: 'system',
        details: {
          previousState: r.state,
          reason: 'review_window_ended',
          note: 'nobody reversed or acknowledged it in the review window: it stands',
        },
      });
      return { state: 'closed' };
    },
  };
}

function telling({ db, mailer, config }: Deps) {
  /** What the webhook is told: ids, codes and evidence phrases (no address, IP or device). */
  async function securityEvent(event: SecurityEvent, caseId: string): Promise<Record<string, unknown>> {
    if (event === 'risk_response') {
      const r = await loadResponse(db, caseId);
      const { id, tenantId, accountId, action, signal, state, evidence, createdAt } = r;
      return { type: 'risk_response.fired', id, tenantId, accountId, action, signal, state, evidence, at: createdAt };
    }
    const rec = await getRecovery(db, caseId);
    if (!rec) throw ApplicationFailure.nonRetryable(`recovery ${caseId} not found`, 'recovery_not_found');
    return { type: 'recovery.refused_high_risk', id: rec.id, tenantId: rec.tenant_id, accountId: rec.account_id, kind: rec.kind, reasons: rec.reasons };
  }

  const told = {
    async alertRiskResponse({ responseId, step }: { responseId: string; step: string }): Promise<{ recipients: number }> {
      const r = await loadResponse(db, responseId);
      const tenant = await securityContacts(db, r.tenantId);
      const to = tenant.contacts;
      if (to.length) {
        const mail = riskResponseEmail({
          tenantName: tenant.name,
          responseId: r.id,
          accountId: r.accountId,
          action: r.action,
          state: r.state,
          evidence: r.evidence,
          apiUrl: config.publicBaseUrl,
        });
        await sendOnce(db, mailer, { dedupeKey: `${r.id}:${step}`, tenantId: r.tenantId, recoveryId: r.id, template: 'risk_response_alert', to, ...mail });
      }
      await appendAudit(db, {
        tenantId: r.tenantId,
        eventKey: `${r.id}:${step}`,
        actor: 'system',
        action: 'security.alerted',
        target: `tenant:${r.tenantId}`,
        recoveryId: r.id,
        details: { contacts: to.length, action: r.action, signal: r.signal, reason: r.signal },
      });
      return { recipients: to.length };
    },

    async notifySecurityWebhook(i: {
      event: SecurityEvent;
      caseId: string;
      tenantId: string;
      step: string;
    }): Promise<{ sent: boolean; status: number | null }> {
      const hook = config.securityWebhook;
      if (!hook) return { sent: false, status: null };
      const idempotencyKey = `${i.caseId}:${i.step}`;
      const { status } = await postSecurityEvent(hook, { idempotencyKey, body: await securityEvent(i.event, i.caseId) });
      await appendAudit(db, {
        tenantId: i.tenantId,
        eventKey: idempotencyKey,
        actor: 'system',
        action: 'security.webhook_sent',
        target: `tenant:${i.tenantId}`,
        recoveryId: i.caseId,
        details: { event: i.event, reason: i.event, status },
      });
      return { sent: true, status };
    },
  };
  return {
    ...told,
    async tellOfRiskResponse({ responseId, tenantId, alert }: { responseId: string; tenantId: string; alert: boolean }) {
      const recipients = alert ? (await told.alertRiskResponse({ responseId, step: 'alert' })).recipients : null;
      const webhook = await told.notifySecurityWebhook({ event: 'risk_response', caseId: responseId, tenantId, step: 'webhook' });
      return { recipients, webhook };
    },
  };
}

export function createRiskResponseActivities(all: Deps) {
  return { ...applying(all), ...telling(all) };
}
