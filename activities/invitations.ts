// An invitation's side effects: its states recorded (read model and audit, once per step) and its
// one single-use link mailed to the account's registered address, never to one from the request.
import { ApplicationFailure } from '@temporalio/activity';
import type { InvitationTransition, IssuedLink } from '../contracts/activities';
import { invitationEnrolment } from '../contracts/invitation';
import { appendAuditTx } from '../store/audit';
import { getInvitation, INVITATION_TERMINAL, moveInvitation } from '../store/invitations';
import { endFactorsEnrolledVia } from '../store/mfa-factors';
import type { Deps } from './deps';
import { issueCaseLink } from './links';
import { currentRunId } from './run';

export function createInvitationActivities(deps: Deps) {
  const { db } = deps;
  const load = async (id: string) => {
    const inv = await getInvitation(db, id);
    if (!inv) throw ApplicationFailure.nonRetryable(`invitation ${id} not found`, 'invitation_not_found');
    return inv;
  };
  return {
    /** Moves the read model and audits the step, atomically and once; an invitation ended without a password leaves no factor. */
    async recordInvitationTransition(i: InvitationTransition): Promise<void> {
      const terminal = (INVITATION_TERMINAL as readonly string[]).includes(i.state);
      if (terminal && i.state !== 'registered') await endFactorsEnrolledVia(db, invitationEnrolment(i.invitationId));
      await db.transaction().execute(async (trx) => {
        const expiresAt = typeof i.details.expiresAt === 'string' ? new Date(i.details.expiresAt) : undefined;
        const r = await moveInvitation(trx, { id: i.invitationId, state: i.state, terminal, runId: currentRunId(), expiresAt });
        if (!r) throw ApplicationFailure.nonRetryable(`invitation ${i.invitationId} not found`, 'invitation_not_found');
        await appendAuditTx(trx, {
          tenantId: i.tenantId,
          eventKey: `${i.invitationId}:${i.step}`,
          actor: i.actor,
          action: i.action,
          target: `account:${r.account_id}`,
          recoveryId: i.invitationId,
          details: { state: i.state, ...i.details },
        });
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
