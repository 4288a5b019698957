// Invitation (onboarding without SSO): issuing -> pending (one single-use link, at most 24 h) ->
// registering (the invitee confirmed a TOTP factor and set a password; it is applied through the
// tenant's directory) -> registered; or expired (audited) when the link was not used in time, or
// failed when the mail server or the directory refused for good. Pure orchestration.
import * as wf from '@temporalio/workflow';
import {
  invitationRegisteredSignal,
  invitationStatusQuery,
  type InvitationOutcome,
  type InvitationState,
  type InvitationStatus,
  type InvitationWorkflowInput,
} from '../contracts/invitation';
import { acts, directoryRefusal, isDeliveryRefused } from './proxies';
import { createStage } from './stage';

export async function invitationWorkflow(input: InvitationWorkflowInput): Promise<InvitationOutcome> {
  const { invitationId, tenantId, accountId, ttlSeconds } = input;
  const status: InvitationStatus = {
    invitationId,
    tenantId,
    accountId,
    kind: 'invitation',
    state: 'issuing',
    waitingFor: 'the invitation email',
    approvals: { required: 0, received: [] },
    deadlines: {},
    currentDeadline: null,
  };
  const stage = createStage({
    status,
    searchAttributes: input.searchAttributes,
    riskTier: () => null,
    summaryShowsDeadline: true,
    record: (books, t) => books.recordInvitationTransition({ invitationId, tenantId, ...t }),
  });
  const registered = new Set<string>();
  wf.setHandler(invitationStatusQuery, stage.snapshot);
  wf.setHandler(invitationRegisteredSignal, async (msg) => {
    // A signal cannot be refused: one without a readable token id is dropped.
    if (!msg || typeof msg !== 'object' || typeof msg.tokenId !== 'string') return;
    // Sent before the API's COMMIT: Postgres says whether the link is really used.
    if ((await acts.confirmRedemption({ tokenId: msg.tokenId, workflowId: wf.workflowInfo().workflowId })).used) registered.add(msg.tokenId);
  });
  stage.show();

  const end = async (state: InvitationState, action: string, details: Record<string, unknown>, actor = 'system') => {
    stage.clearDeadline();
    await stage.enter(state, null, action, details, actor);
    await wf.condition(wf.allHandlersFinished);
    return { invitationId, state };
  };

  let link;
  try {
    link = await acts.issueInvitationLink({ invitationId, step: 'invitation-link', ttlSeconds });
  } catch (err) {
    if (!isDeliveryRefused(err)) throw err;
    return end('failed', 'invitation.delivery_failed', { note: 'the mail server refused the invitation permanently; the token is invalidated' });
  }
  stage.setDeadline('linkExpiresAt', ttlSeconds);
  await stage.enter('pending', 'the invitee to register', 'invitation.link_issued', { tokenId: link.tokenId, ttlSeconds, expiresAt: link.expiresAt });

  const used = await wf.condition(() => registered.has(link.tokenId), ttlSeconds * 1000);
  if (!used) {
    await acts.invalidateToken({ tokenId: link.tokenId, reason: 'expired' });
    return end('expired', 'invitation.expired', { tokenId: link.tokenId, ttlSeconds });
  }
  stage.clearDeadline();
  await stage.enter('registering', 'the directory update', 'invitation.password_set', { tokenId: link.tokenId }, 'invitee');
  try {
    await acts.applyStagedPassword({ recoveryId: invitationId, tokenId: link.tokenId });
  } catch (err) {
    const code = directoryRefusal(err);
    if (code === null) throw err;
    return end('failed', 'invitation.directory_refused', { code, note: 'the identity system refused the password; nothing was applied' });
  }
  return end('registered', 'invitation.registered', { tokenId: link.tokenId, factor: 'totp' });
}
