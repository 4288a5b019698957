// The JSON shape of an emergency-access grant: the read model's row, overlaid with the
// workflow's live status when it answered.
import type { AccessStatus } from '../../contracts/access';
import type { GrantRow } from '../../store/grants';
import { iso, isoOrNull, remainingSeconds } from './time';

export function grantView(g: GrantRow, live: AccessStatus | null) {
  return {
    id: g.id,
    kind: g.kind,
    tenantId: g.tenant_id,
    accountId: g.account_id,
    state: live?.state ?? g.state,
    waitingFor: live?.waitingFor ?? null,
    requestedBy: g.requested_by,
    justification: g.justification,
    ticketRef: g.ticket_ref,
    durationSeconds: g.duration_seconds,
    approvals: live?.approvals ?? null,
    deadlines: live?.deadlines ?? {},
    currentDeadline: live?.currentDeadline ?? null,
    remainingSeconds: remainingSeconds(live?.currentDeadline),
    credential: live?.credential ?? null,
    rotated: live?.rotated ?? null,
    review: live?.review ?? null,
    reviewReminders: live?.reviewReminders ?? null,
    escalated: live?.escalated ?? null,
    createdAt: iso(g.created_at),
    endedAt: isoOrNull(g.ended_at),
  };
}
