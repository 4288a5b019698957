// A risk response (SPEC section 2, risk table): the engine acts on its own on a behaviour event
// (revokes the account's sessions, holds an MFA enrolment, forces a password change, or asks a
// human), tells the internal security webhook, then waits for an admin to reverse or acknowledge
// it. Each step is recorded and audited by an activity; the run shows its state in the Temporal UI.
import * as wf from '@temporalio/workflow';
import { riskDecideUpdate, riskStatusQuery, type RiskResponseInput, type RiskResponseStatus } from '../contracts/risk-response';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, TenantIdKey } from '../contracts/search-attributes';
import { caseDetails } from '../domain/public-summary';
import { RISK_WAITING, responseKind } from '../domain/risk-response';
import { coversTenant } from '../domain/scope';
import { confirmed, principalOf, requireMessage } from './messages';
import { acts, localActs } from './proxies';
import { reject } from './stage';

export async function riskResponseWorkflow(input: RiskResponseInput): Promise<{ responseId: string; state: string }> {
  const { responseId, tenantId, accountId, action } = input;
  const status: RiskResponseStatus = {
    responseId,
    tenantId,
    accountId,
    kind: responseKind(action),
    action,
    state: 'pending',
    waitingFor: null,
    decision: null,
  };
  let deciding = false;
  let closing = false;
  // Patch `lean-risk-response`: a response that changes only the engine's own records is applied
  // as a local activity, and the contacts and the webhook are told in one activity task. Before
  // it: three activity tasks and a search-attribute upsert repeating the start's. During an
  // attack's burst these runs were the largest share of the machine's work.
  const lean = wf.patched('lean-risk-response');

  const show = (upsert = true) => {
    if (input.searchAttributes && upsert) {
      wf.upsertSearchAttributes([
        { key: TenantIdKey, value: tenantId },
        { key: AccountIdKey, value: accountId },
        { key: RecoveryKindKey, value: status.kind },
        { key: RecoveryStatusKey, value: status.state },
      ]);
    }
    wf.setCurrentDetails(caseDetails({ kind: status.kind, state: status.state, waitingFor: status.waitingFor, deadline: null }));
  };

  wf.setHandler(riskStatusQuery, () => ({ ...status }));
  wf.setHandler(
    riskDecideUpdate,
    async (msg) => {
      const facts = await confirmed('risk.decide', responseId, msg);
      const p = principalOf(facts);
      // On the verified facts, after the await: another decision may have landed meanwhile.
      if (!p.roles.includes('admin')) throw reject('decider_lacks_role', 'only an admin reverses or acknowledges a risk response');
      if (!coversTenant(p.tenantScope, tenantId)) throw reject('decider_out_of_scope', "the response is outside the admin's tenant scope");
      if (status.decision || deciding) throw reject('response_decided', 'the response was already reversed or acknowledged');
      deciding = true;
      const { decision, reason } = facts.message;
      const { state } = await acts.decideRiskResponse({ responseId, decision, by: `principal:${p.principalId}`, reason });
      status.decision = { decision, principalId: p.principalId, at: new Date(Date.now()).toISOString() };
      status.state = state;
      status.waitingFor = null;
      show();
      return { ...status };
    },
    {
      validator: (msg) => {
        requireMessage(msg);
        if (status.decision || deciding) throw reject('response_decided', 'the response was already reversed or acknowledged');
        if (closing) throw reject('response_decided', 'the review window of the response has ended');
      },
    },
  );

  // The start set the same search attributes: the lean run only shows its details.
  show(!lean);
  // Revoking sessions goes to the tenant's directory, which may be remote and slow: an activity task.
  const applying = lean && action !== 'revoke_sessions' ? localActs : acts;
  const applied = await applying.applyRiskResponse({ responseId });
  // An admin may have decided while the action ran: the decision's state stands.
  if (!status.decision && !deciding) {
    status.state = applied.state;
    status.waitingFor = RISK_WAITING;
    show();
  }
  if (lean) await acts.tellOfRiskResponse({ responseId, tenantId, alert: applied.alert });
  else {
    if (applied.alert) await acts.alertRiskResponse({ responseId, step: 'alert' });
    await acts.notifySecurityWebhook({ event: 'risk_response', caseId: responseId, tenantId, step: 'webhook' });
  }

  const decided = await wf.condition(() => status.decision !== null, input.reviewSeconds * 1000);
  if (!decided && !deciding) {
    closing = true;
    const closed = await acts.closeRiskResponse({ responseId });
    status.state = closed.state;
    status.waitingFor = null;
    show();
  }
  await wf.condition(wf.allHandlersFinished);
  return { responseId, state: status.state };
}
