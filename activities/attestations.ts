// The one check a workflow makes before it counts a message sent on a principal's behalf: the
// API recorded it (MAC under a server key), for this kind, case and workflow, and it is unused.
// A message that fails is audited as rejected, a bounded number of times per case.
import { Context } from '@temporalio/activity';
import type { AttestationKind, Confirmation, ConfirmRequest, UnattestedReason } from '../contracts/attestations';
import { attestationKeys } from '../infra/secrets';
import { useAttestation } from '../store/attestations';
import { appendAudit } from '../store/audit';
import { takeRateSlot } from '../store/rate-limits';
import { tokenUsedFor } from '../store/tokens';
import { loadGrant, loadRecovery, loadResponseCase, type Deps } from './deps';

/** Rejected messages audited per case per hour; past it the worker only logs them (a forged flood must not grow the chain without limit). */
export const REJECTED_MESSAGES_AUDITED_PER_HOUR = 20;

const ATTESTATION_ID = /^att_[A-Za-z0-9_-]{22}$/;

export function createAttestationActivities({ db, config }: Deps) {
  const keys = attestationKeys(config.tokenKeys);

  async function check<K extends AttestationKind>(i: ConfirmRequest<K>, consumer: string): Promise<Confirmation<K>> {
    if (typeof i.attestationId !== 'string' || !ATTESTATION_ID.test(i.attestationId)) return { valid: false, reason: 'unattested' };
    const c = await useAttestation(db, keys, { id: i.attestationId, kind: i.kind, caseId: i.caseId, workflowId: i.workflowId, consumer });
    // An owner's cancel counts only if its link is really used for this workflow (FOR SHARE waits for the redeeming COMMIT).
    if (c.valid && i.kind === 'recovery.cancel') {
      const tokenId = (c.facts.message as { tokenId?: string }).tokenId;
      if (tokenId && !(await tokenUsedFor(db, tokenId, i.workflowId))) return { valid: false, reason: 'unattested' };
    }
    return c;
  }

  async function auditRejection(i: ConfirmRequest<AttestationKind>, reason: UnattestedReason, eventKey: string): Promise<void> {
    const c = i.caseId.startsWith('bg_')
      ? await loadGrant(db, i.caseId)
      : i.caseId.startsWith('rr_')
        ? await loadResponseCase(db, i.caseId)
        : await loadRecovery(db, i.caseId);
    if (!(await takeRateSlot(db, 'message_rejected', i.caseId, REJECTED_MESSAGES_AUDITED_PER_HOUR, 3600))) {
      Context.current().log.warn('rejected message not audited: hourly limit for this case reached', { caseId: i.caseId, kind: i.kind, reason });
      return;
    }
    await appendAudit(db, {
      tenantId: c.tenant_id,
      eventKey,
      actor: 'unverified_sender',
      action: 'message.rejected',
      target: `account:${c.account_id}`,
      recoveryId: c.id,
      details: {
        kind: i.kind,
        reason,
        workflowId: i.workflowId,
        // What the message named, cut short: it came from whoever could write to the namespace.
        attestationId: typeof i.attestationId === 'string' ? i.attestationId.slice(0, 64) : null,
      },
    });
  }

  return {
    /**
     * Loads the attestation a message names, verifies its MAC in constant time, checks kind,
     * case and workflow, and uses it; returns the facts the API recorded, or why the message is
     * not believed (after auditing it). Idempotent: a retry of this activity gets the same answer.
     */
    async confirmAttestation<K extends AttestationKind>(i: ConfirmRequest<K>): Promise<Confirmation<K>> {
      const info = Context.current().info;
      const consumer = `${info.workflowExecution?.runId ?? '-'}:${info.activityId}`;
      const c = await check(i, consumer);
      if (!c.valid) await auditRejection(i, c.reason, `${i.caseId}:message.rejected:${consumer}`);
      return c;
    },
  };
}
