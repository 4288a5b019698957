// An access review report as the API answers it (JSON), and as a printable page (no script, every
// value escaped). The findings are numbered as the review found them; each carries its outcome.
import { countByKind, type AccessReviewFinding } from '../../domain/access-review';
import type { AccessReviewRow } from '../../store/access-reviews';
import { cell, esc, page, table } from './html';
import { iso, isoOrNull } from './time';

export function accessReviewView(row: AccessReviewRow) {
  const findings = row.findings as AccessReviewFinding[];
  const outcomes = row.outcomes as Record<string, { status: string }>;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    workflowId: row.workflow_id,
    actor: row.actor,
    state: row.state,
    asOf: iso(row.as_of),
    action: row.action,
    createdAt: iso(row.created_at),
    completedAt: isoOrNull(row.completed_at),
    recipients: row.recipients,
    counts: countByKind(findings),
    findings: findings.map((f, n) => ({
      n: n + 1,
      kind: f.kind,
      target: f.target,
      reason: f.reason,
      evidence: f.evidence,
      // What the action did: suspended (or refused by the directory), else reported only.
      outcome: outcomes[String(n)] ?? { status: 'reported' },
    })),
  };
}

export function accessReviewPage(v: ReturnType<typeof accessReviewView>): string {
  const title = `Access review ${v.id}`;
  return page(title, [
    `<h1>${esc(title)}</h1><p class="muted">Tenant ${esc(v.tenantId)}, as of ${esc(v.asOf)}. Policy action: <strong>${esc(v.action)}</strong>. State: <strong>${esc(v.state)}</strong>.</p>`,
    `<h2>Summary</h2>${table(
      ['Finding', 'Count'],
      Object.entries(v.counts).map(([k, n]) => [cell(k), cell(n)]),
      'No findings.',
    )}`,
    `<h2>Findings</h2>${table(
      ['#', 'Kind', 'Subject', 'Reason', 'Evidence', 'Outcome'],
      v.findings.map((f) => [cell(f.n), cell(f.kind), cell(f.target), cell(f.reason), cell(f.evidence), cell(f.outcome.status)]),
      'Nothing to question: no finding.',
    )}`,
    `<h2>Run</h2><dl><dt>Workflow id</dt><dd class="hash">${esc(v.workflowId)}</dd><dt>Actor</dt><dd>${esc(v.actor)}</dd><dt>Started</dt><dd>${esc(v.createdAt)}</dd><dt>Completed</dt><dd>${esc(v.completedAt ?? '—')}</dd><dt>Report mailed to</dt><dd>${esc(String(v.recipients ?? 0))} security contact(s)</dd></dl>`,
  ]);
}
