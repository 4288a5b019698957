// An invitation's side effects: its states recorded (read model and audit, once per step) and its
// one single-use link mailed to the account's registered address, never to one from the request.
import { ApplicationFailure } from '@temporalio/activity';
import type { AuditedStep, InvitationTransition, IssuedLink } from '../contracts/activities';
import { invitationEnrolment } from '../contracts/invitation';
import { appendAuditTx } from '../store/audit';
import { getInvitation, INVITATION_TERMINAL, moveInvitation } from '../store/invitations';
import { endFactorsEnrolledVia } from '../store/mfa-factors';
import type { Deps } from './deps';
import { issueCaseLink } from './links';
import { currentRunId } from './run';

/** Why each recorded step of an invitation happened, for its audit event. */
const REASONS: Record<string, string> = {
  'invitation.link_issued': "the invitation's single-use link was mailed to the primary registered address",
  'invitation.delivery_failed': 'the mail server refused the invitation permanently',
  'invitation.expired': 'the link was not used within its lifetime',
  'invitation.password_set': 'the invitee confirmed a TOTP factor and set a password through the link',
  'invitation.directory_refused': 'the identity system refused the password',
  'invitation.registered': "the tenant's directory applied the invitee's password",
};

export function createInvitationActivities(deps: Deps) {
  const { db } = deps;
  const load = async (id: string) => {
    const inv = await getInvitation(db, id);
    if (!inv) throw ApplicationFailure.nonRetryable(`invitation ${id} not found`, 'invitation_not_found');
    return inv;
  };
  return {
    /** Moves the read model and audits the step, atomically and once; an invitation ended without a password leaves no factor. */
    async recordInvitationTransition(i: InvitationTransition): Promise<AuditedStep> {
      const terminal = (INVITATION_TERMINAL as readonly string[]).includes(i.state);
      if (terminal && i.state !== 'registered') await endFactorsEnrolledVia(db, invitationEnrolment(i.invitationId));
      const eventKey = `${i.invitationId}:${i.step}`;
      return db.transaction().execute(async (trx) => {
        const expiresAt = typeof i.details.expiresAt === 'string' ? new Date(i.details.expiresAt) : undefined;
        const r = await moveInvitation(trx, { id: i.invitationId, state: i.state, terminal, runId: currentRunId(), expiresAt });
        if (!r) throw ApplicationFailure.nonRetryable(`invitation ${i.invitationId} not found`, 'invitation_not_found');
        const { seq } = await appendAuditTx(trx, {
          tenantId: i.tenantId,
          eventKey,
          actor: i.actor,
          action: i.action,
          target: `account:${r.account_id}`,
          recoveryId: i.invitationId,
          details: { state: i.state, reason: REASONS[i.action], ...i.details },
        });
        return { eventKey, seq, action: i.action, state: i.state };
      });
    },

    /** The invitation's single-use link, to the account's primary registered address. */
    async issueInvitationLink(i: { invitationId: string; step: string; ttlSeconds: number }): Promise<IssuedLink> {
      const inv = await load(i.invitationId);
      return issueCaseLink(deps, {
        caseRow: { id: inv.id, tenant_id: inv.tenant_id, account_id: inv.account_id, workflow_id: inv.workflow_id },
        step: i.step,
        purpose: 'invitation',
        ttlSeconds: i.ttlSeconds,
        to: 'primary',
      });
    },
  };
}
