// The JSON shape of a recovery: the read model's row, overlaid with the workflow's live status
// when it answered, and the caller's next step.
import type { RecoveryStatus } from '../../contracts/recovery';
import type { RecoveryState } from '../../domain/types';
import type { RecoveryRow } from '../../store/recoveries';
import { iso, isoOrNull, remainingSeconds } from './time';

export function recoveryView(row: RecoveryRow, live: RecoveryStatus | null) {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    kind: row.kind,
    state: (live?.state ?? row.state) as RecoveryState,
    waitingFor: live?.waitingFor ?? null,
    riskTier: live?.riskTier ?? row.risk_tier,
    route: live?.route ?? row.route,
    reasons: live?.reasons ?? row.reasons,
    tiers: live?.tiers ?? null,
    approvals: live?.approvals ?? null,
    deadlines: live?.deadlines ?? {},
    currentDeadline: live?.currentDeadline ?? null,
    remainingSeconds: remainingSeconds(live?.currentDeadline),
    manualReview: live?.manualReview ?? false,
    requestedBy: row.requested_by,
    ticketRef: row.ticket_ref,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    endedAt: isoOrNull(row.ended_at),
  };
}

/** What the caller does next, from the workflow's live status. */
export function nextStep(s: RecoveryStatus) {
  switch (s.state) {
    case 'verifying': {
      // A password reset's Tier 3 is its completion link, sent once these pass.
      const viaLink = s.kind === 'password_reset';
      const req = s.tiers.required;
      const passed = s.tiers.passed;
      const all = (req?.all ?? []).filter((t) => !(viaLink && t === 3) && !passed.includes(t));
      const anyOf = (req?.anyOf ?? []).filter((t) => !(viaLink && t === 3));
      const anyOfOpen = anyOf.length > 0 && !anyOf.some((t) => passed.includes(t));
      return { action: 'submit_verification', allOf: all, oneOf: anyOfOpen ? anyOf : [] };
    }
    case 'awaiting_approval':
      return { action: 'await_approvals', required: s.approvals.required };
    case 'waiting_period':
      return { action: 'await_waiting_period', until: s.deadlines.waitUntil ?? null };
    case 'awaiting_completion':
      return { action: 'owner_uses_emailed_link', expiresAt: s.deadlines.linkExpiresAt ?? null };
    case 'received':
      return { action: 'poll', href: `/v1/recoveries/${s.recoveryId}` };
    default:
      return null;
  }
}
