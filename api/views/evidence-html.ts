// The evidence bundle as a page a person would rather read: server-rendered, no script, and laid
// out to print cleanly (to PDF from a browser). Every value is escaped.
import type { EvidenceBundle } from '../../domain/evidence';
import { esc } from './html';

type Who = { actor: string; name: string | null; person: string | null; principalId: string | null; personConfirmed: boolean };

const text = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
const cell = (v: unknown) => `<td>${esc(text(v))}</td>`;
const who = (w: Who) =>
  w.principalId
    ? `${esc(w.name ?? w.principalId)} <span class="muted">(${esc(w.principalId)}${w.person ? `, ${esc(w.person)}${w.personConfirmed ? ', confirmed' : ''}` : ''})</span>`
    : esc(w.actor);

function table(head: string[], rows: string[][], empty: string): string {
  if (!rows.length) return `<p class="muted">${esc(empty)}</p>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody></table>`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.1em;margin:1.6em 0 .4em;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;margin:.3em 0}th,td{border:1px solid #bbb;padding:.25em .4em;text-align:left;vertical-align:top}
th{background:#eee}.muted{color:#555}.hash{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
.ok{color:#075e07;font-weight:600}.bad{color:#a00;font-weight:600}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr{break-inside:avoid}a{color:inherit;text-decoration:none}}`;

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
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><meta name="viewport" content="width=device-width"><meta name="referrer" content="no-referrer"><style>${STYLE}</style></head><body>${sections.join('\n')}</body></html>`;
}
