// The scheduled access review's side effects: read the facts (Postgres, and the tenant's directory
// for accounts it holds remotely), store the report with its findings and audit each; suspend a
// finding's account through the directory with a notice to its own addresses; mail the report to
// the security contacts. Each is idempotent by the review id plus the finding's number.
import { ApplicationFailure } from '@temporalio/activity';
import { accessReviewActor, type AccessReviewActivities } from '../contracts/access-review';
import { accessReviewFindings, countByKind, type AccessReviewFinding, type ReviewAccount } from '../domain/access-review';
import type { Directory } from '../domain/directory';
import { resolvePolicy, type PolicyOverride } from '../domain/policy';
import { accessReviewReportEmail, accessReviewSuspendedEmail } from '../infra/templates';
import { completeAccessReview, getAccessReview, openAccessReviewOnce, recordFindingOutcome } from '../store/access-reviews';
import { appendAudit } from '../store/audit';
import { accountsForReview, findAccount, setAccountActive } from '../store/directory';
import { issuedBreakGlassGrants } from '../store/grants';
import { decidersWithAccountsIn } from '../store/principals';
import { DECIDING_ROLES } from '../domain/person';
import { getTenant, securityContacts } from '../store/tenants';
import { DIRECTORY_REFUSED, type Deps } from './deps';
import { sendOnce } from './mail';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
/** Findings listed in the mail itself; the rest are in the report the mail links to. */
const MAIL_LINES = 50;

/** Accounts as the review sees them; a remote directory is asked whether each may still sign in. */
async function reviewAccounts(deps: Deps, directory: Directory, tenantId: string, breakGlassAccount: string | null): Promise<ReviewAccount[]> {
  const rows = await accountsForReview(deps.db, tenantId);
  const out: ReviewAccount[] = [];
  for (const a of rows) {
    const remote = directory.kind !== 'builtin';
    const seen = remote ? await directory.lookup({ tenantId, accountId: a.external_id }) : null;
    out.push({
      accountId: a.external_id,
      status: a.status,
      authMethod: a.auth_method,
      createdAt: iso(a.created_at)!,
      lastLoginAt: iso(a.last_login_at),
      // A remote directory keeps the factors: the engine cannot tell, so it does not guess.
      mfaFactors: remote ? null : Number(a.mfa_factors ?? 0),
      directoryActive: remote ? (seen ? seen.active : null) : a.status === 'active',
      breakGlass: a.external_id === breakGlassAccount,
    });
  }
  return out;
}

async function loadReview(deps: Deps, reviewId: string) {
  const r = await getAccessReview(deps.db, reviewId);
  if (!r) throw ApplicationFailure.nonRetryable(`access review ${reviewId} not found`, 'access_review_not_found');
  return { ...r, findings: r.findings as AccessReviewFinding[] };
}

function openReview(deps: Deps): AccessReviewActivities['openAccessReview'] {
  return async ({ reviewId, tenantId, workflowId, asOf }) => {
    const { db } = deps;
    const tenant = await getTenant(db, tenantId);
    if (!tenant) throw ApplicationFailure.nonRetryable(`tenant ${tenantId} not found`, 'tenant_not_found');
    const action = resolvePolicy(tenant.policy_override as PolicyOverride | null).accessReview.action;
    const directory = await deps.directoryFor(tenantId);
    const accounts = await reviewAccounts(deps, directory, tenantId, tenant.break_glass_account);
    const breakGlassGrants = (await issuedBreakGlassGrants(db, tenantId)).map((g) => ({
      grantId: g.id,
      accountId: g.account_id,
      state: g.state,
      credentialEndsAt: iso(g.ends_at),
    }));
    const byId = new Map(accounts.map((a) => [a.accountId, a]));
    const approvers = (await decidersWithAccountsIn(db, tenantId, DECIDING_ROLES)).map((p) => {
      const a = byId.get(p.account_external_id!);
      return {
        principalId: p.id,
        name: p.name,
        roles: p.roles,
        account: a ? { accountId: a.accountId, status: a.status, createdAt: a.createdAt, lastLoginAt: a.lastLoginAt } : null,
      };
    });
    const actor = accessReviewActor(tenantId);
    // A retry finds the report its first attempt stored, and keeps those findings and that action.
    const row = await openAccessReviewOnce(db, {
      id: reviewId,
      tenantId,
      workflowId,
      actor,
      asOf: new Date(asOf),
      action,
      findings: accessReviewFindings({ asOf, accounts, breakGlassGrants, approvers }),
    });
    const findings = row.findings as AccessReviewFinding[];
    const byKind = countByKind(findings);
    const base = { tenantId, actor, recoveryId: reviewId };
    await appendAudit(db, {
      ...base,
      eventKey: `${reviewId}:started`,
      action: 'access_review.started',
      target: `tenant:${tenantId}`,
      details: { reason: "the tenant's scheduled access review", asOf, action: row.action, byKind },
    });
    for (const [n, f] of findings.entries()) {
      await appendAudit(db, {
        ...base,
        eventKey: `${reviewId}:finding:${n}`,
        action: 'access_review.finding',
        target: f.target,
        details: { n, kind: f.kind, reason: f.reason, evidence: f.evidence, action: f.suspendAccount && row.action === 'suspend' ? 'suspend' : 'report' },
      });
    }
    const toSuspend = row.action === 'suspend' ? findings.flatMap((f, n) => (f.suspendAccount ? [n] : [])) : [];
    return { findings: findings.length, byKind, action: row.action, toSuspend };
  };
}

function applyFinding(deps: Deps): AccessReviewActivities['applyAccessReviewFinding'] {
  return async ({ reviewId, n }) => {
    const { db, mailer } = deps;
    const r = await loadReview(deps, reviewId);
    const f = r.findings[n];
    if (!f?.suspendAccount) throw ApplicationFailure.nonRetryable(`finding ${n} of ${reviewId} suspends nothing`, 'finding_not_suspendable');
    const tenantId = r.tenant_id;
    const ref = { tenantId, accountId: f.suspendAccount };
    const target = `account:${f.suspendAccount}`;
    const base = { tenantId, actor: r.actor, recoveryId: reviewId, target };
    const reason = `access review ${reviewId}: ${f.reason}`;
    const directory = await deps.directoryFor(tenantId);
    let revoked: number;
    try {
      await directory.setActive(ref, false, { idempotencyKey: `${reviewId}:${n}:suspend`, by: r.actor, reason });
      revoked = (await directory.revokeSessions(ref, { idempotencyKey: `${reviewId}:${n}:sessions`, by: r.actor, reason })).revoked;
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || err.type !== DIRECTORY_REFUSED) throw err;
      const code = (err.details?.[0] as { code?: string } | undefined)?.code ?? DIRECTORY_REFUSED;
      await appendAudit(db, {
        ...base,
        eventKey: `${reviewId}:${n}:refused`,
        action: 'access_review.suspend_refused',
        details: { n, kind: f.kind, reason: f.reason, code },
      });
      await recordFindingOutcome(db, reviewId, n, { status: 'refused', code });
      return { suspended: false };
    }
    // The engine's own record of a remote account follows (the built-in directory is that record).
    const row = directory.kind === 'builtin' ? null : await findAccount(db, tenantId, f.suspendAccount);
    if (row) await setAccountActive(db, row.id, false);
    await appendAudit(db, {
      ...base,
      eventKey: `${reviewId}:${n}:suspended`,
      action: 'access_review.account_suspended',
      details: { n, kind: f.kind, reason: f.reason, sessionsRevoked: revoked },
    });
    const to = await directory.addresses(ref);
    const tenantName = (await getTenant(db, tenantId))?.name ?? tenantId;
    const sent = to.length
      ? await sendOnce(db, mailer, {
          dedupeKey: `${reviewId}:${n}:notice`,
          tenantId,
          recoveryId: reviewId,
          template: 'access_review_suspended',
          to,
          ...accessReviewSuspendedEmail({ tenantName, reviewId, reason: f.reason }),
        })
      : { sent: false, failed: false };
    await appendAudit(db, {
      ...base,
      eventKey: `${reviewId}:${n}:notified`,
      action: 'access_review.account_notified',
      details: { n, reason: f.reason, recipients: to.length, deliveryFailed: sent.failed },
    });
    await recordFindingOutcome(db, reviewId, n, { status: 'suspended', sessionsRevoked: revoked, noticeRecipients: to.length });
    return { suspended: true };
  };
}

function sendReport(deps: Deps): AccessReviewActivities['sendAccessReviewReport'] {
  return async ({ reviewId }) => {
    const { db, mailer, config } = deps;
    const r = await loadReview(deps, reviewId);
    const tenant = await securityContacts(db, r.tenant_id);
    const to = tenant.contacts;
    const mail = accessReviewReportEmail({
      tenantName: tenant.name,
      reviewId,
      asOf: iso(r.as_of)!,
      action: r.action,
      counts: countByKind(r.findings),
      lines: r.findings.slice(0, MAIL_LINES).map((f, n) => `${n + 1}. ${f.kind} ${f.target}: ${f.reason}`),
      more: Math.max(0, r.findings.length - MAIL_LINES),
      url: `${config.publicBaseUrl}/v1/access-reviews/${reviewId}?format=html`,
    });
    const sent = to.length
      ? await sendOnce(db, mailer, {
          dedupeKey: `${reviewId}:report`,
          tenantId: r.tenant_id,
          recoveryId: reviewId,
          template: 'access_review_report',
          to,
          ...mail,
        })
      : { sent: false, failed: false };
    await completeAccessReview(db, reviewId, to.length);
    await appendAudit(db, {
      tenantId: r.tenant_id,
      eventKey: `${reviewId}:completed`,
      actor: r.actor,
      action: 'access_review.completed',
      target: `tenant:${r.tenant_id}`,
      recoveryId: reviewId,
      details: {
        reason: "the review's report was mailed to the tenant's security contacts",
        findings: r.findings.length,
        contacts: to.length,
        deliveryFailed: sent.failed,
      },
    });
    return { recipients: to.length };
  };
}

export function createAccessReviewActivities(deps: Deps): AccessReviewActivities {
  return { openAccessReview: openReview(deps), applyAccessReviewFinding: applyFinding(deps), sendAccessReviewReport: sendReport(deps) };
}
