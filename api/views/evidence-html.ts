// The evidence bundle as a page a person would rather read: server-rendered, no script, and laid
// out to print cleanly (to PDF from a browser). Every value is escaped.
import type { EvidenceBundle } from '../../domain/evidence';
import { cell, esc, page, table, text } from './html';

type Who = { actor: string; name: string | null; person: string | null; principalId: string | null; personConfirmed: boolean };

const who = (w: Who) =>
  w.principalId
    ? `${esc(w.name ?? w.principalId)} <span class="muted">(${esc(w.principalId)}${w.person ? `, ${esc(w.person)}${w.personConfirmed ? ', confirmed' : ''}` : ''})</span>`
    : esc(w.actor);

export function evidencePage(b: EvidenceBundle): string {
  const c = b.case;
  const title = `Evidence: ${c.type === 'recovery' ? 'recovery' : 'emergency access'} ${c.id}`;
  const proof = b.audit.proof;
  const verdict =
    proof.chainValid && proof.caseEventsCovered
      ? `<p class="ok">The audit chain verifies: ${esc(String(proof.chainEvents))} events, head <span class="hash">${esc(proof.headHash)}</span>.</p>`
      : `<p class="bad">The audit chain does not verify: ${esc(proof.problem ?? 'events lie outside the verified chain')} (first broken event ${esc(text(proof.firstBrokenSeq))}).</p>`;
  const sections = [
    `<h1>${esc(title)}</h1><p class="muted">Tenant ${esc(c.tenantId)}, account ${esc(c.accountId)}, ${esc(c.kind)}. Final state: <strong>${esc(c.finalState)}</strong>.</p>`,
    `<h2>Request</h2><dl><dt>Requested</dt><dd>${esc(b.request.at)}</dd><dt>By</dt><dd>${who(b.request.requestedBy)}</dd><dt>Justification</dt><dd>${esc(b.request.justification)}</dd><dt>Ticket</dt><dd>${esc(text(b.request.ticketRef))}</dd></dl>`,
    `<h2>Risk assessment</h2><dl><dt>Tier</dt><dd>${esc(text(b.risk.tier))}</dd><dt>Route</dt><dd>${esc(text(b.risk.route))}</dd><dt>Assessed</dt><dd>${esc(text(b.risk.assessedAt))}</dd><dt>Score</dt><dd>${esc(text(b.risk.score ?? null))}</dd><dt>Signals</dt><dd>${esc(text(b.risk.signals ?? []))}</dd><dt>Reasons</dt><dd>${esc(text(b.risk.reasons))}</dd></dl>`,
    `<h2>Verification</h2>${table(
      ['Tier', 'Result', 'Evidence', 'When', 'By'],
      b.verifications.map((v) => [cell(v.tier), cell(v.result), cell(v.evidence), cell(v.at), `<td>${who(v.by)}</td>`]),
      'No verification was attempted.',
    )}`,
    `<h2>Approvals</h2>${table(
      ['Decision', 'By', 'When', 'Comment'],
      b.approvals.map((a) => [cell(a.decision), `<td>${who(a.by)}</td>`, cell(a.at), cell(a.comment)]),
      'No approval was given or needed.',
    )}`,
    `<h2>Waiting period</h2>${
      b.waitingPeriod
        ? `<dl><dt>Started</dt><dd>${esc(b.waitingPeriod.startedAt)}</dd><dt>Until</dt><dd>${esc(text(b.waitingPeriod.until))}</dd><dt>Ended</dt><dd>${esc(text(b.waitingPeriod.endedAt))} ${esc(b.waitingPeriod.endedBy ? `(${b.waitingPeriod.endedBy})` : '')}</dd></dl>`
        : '<p class="muted">No waiting period.</p>'
    }`,
    `<h2>Notifications</h2>${table(
      ['Notice', 'To', 'Recipients', 'Status', 'When'],
      b.notifications.map((n) => [cell(n.template), cell(n.to), cell(n.recipients), cell(n.status), cell(n.at)]),
      'No notification was sent.',
    )}`,
    `<h2>Links</h2>${table(
      ['Purpose', 'Issued', 'Mailed', 'Expires', 'Used', 'Voided'],
      b.tokens.map((t) => [
        cell(t.purpose),
        cell(t.issuedAt),
        cell(t.mailedAt),
        cell(t.expiresAt),
        cell(t.redeemedAt),
        cell(t.invalidatedAt ? `${t.invalidatedAt} (${t.invalidatedReason ?? ''})` : null),
      ]),
      'No link was issued.',
    )}`,
    ...('credentials' in b && b.credentials
      ? [
          `<h2>Credential</h2>${table(
            ['Issued', 'Fetched', 'Expires', 'Revoked'],
            b.credentials.map((k) => [
              cell(k.createdAt),
              cell(k.fetchedAt),
              cell(k.expiresAt),
              cell(k.revokedAt ? `${k.revokedAt} (${k.revokeReason ?? ''})` : null),
            ]),
            'No credential was issued.',
          )}`,
        ]
      : []),
    `<h2>Revocations and rotations</h2>${table(
      ['What', 'When', 'Details'],
      b.revocationsAndRotations.map((r) => [cell(r.action), cell(r.at), cell(r.details)]),
      'None.',
    )}`,
    ...('review' in b
      ? [
          `<h2>Review</h2>${b.review ? `<dl><dt>By</dt><dd>${who(b.review.by)}</dd><dt>When</dt><dd>${esc(b.review.at)}</dd><dt>Outcome</dt><dd>${esc(text(b.review.outcome))}</dd><dt>Notes</dt><dd>${esc(text(b.review.notes))}</dd></dl>` : '<p class="muted">Not reviewed yet.</p>'}`,
        ]
      : []),
    `<h2>Workflow</h2><dl><dt>Workflow id</dt><dd class="hash">${esc(b.workflow.workflowId)}</dd><dt>Run id</dt><dd class="hash">${esc(text(b.workflow.runId))}</dd><dt>Namespace</dt><dd>${esc(b.workflow.namespace)}</dd><dt>History</dt><dd>${b.workflow.uiLink ? `<a href="${esc(b.workflow.uiLink)}">${esc(b.workflow.uiLink)}</a>` : '—'}</dd></dl>`,
    `<h2>Audit events</h2>${verdict}${table(
      ['#', 'When', 'Action', 'By', 'Details', 'Hash'],
      b.audit.events.map((e) => [cell(e.seq), cell(e.at), cell(e.action), `<td>${who(e.by)}</td>`, cell(e.details), `<td class="hash">${esc(e.hash)}</td>`]),
      'No audit events.',
    )}<p class="muted">${esc(proof.how)}.</p>`,
  ];
  return page(title, sections);
}
