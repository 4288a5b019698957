// Invariant 7, checked against what really ran: every recorded path of every workflow is driven for
// real, its history is read back from Temporal, and each step in it (state transition, decision,
// notification, directory change) must be accounted for by the audit log, through the explicit
// table below. Every audit event of the case must name its actor, target, time and why, and carry
// the evidence where its step evaluated any. A step the table does not know fails the test: a new
// activity, update, signal, marker or event type cannot go unaudited by accident.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { AuditedStep, WorkflowActivities } from '../../contracts/activities';
import type { RiskResponseStatus } from '../../contracts/risk-response';
import { responseKind, type ResponseAction } from '../../domain/risk-response';
import { startHarness, type Harness } from '../../testkit/engine';
import { decodedHistory, historySteps, type HistoryStep } from '../../testkit/history';
import { auditEvents } from '../../testkit/inspect-audit';
import { driveRecordedPath, RECORDED_PATHS, type RecordedCase } from '../../testkit/recorded-paths';

type Details = Record<string, unknown>;
type AuditRow = Awaited<ReturnType<typeof auditEvents>>[number];

/** One audit event a step needs. */
interface Need {
  action: string | readonly string[];
  /** The event's exact key, when the step names it. */
  key?: string;
  match?: (d: Details, e: AuditRow) => boolean;
  /** Detail fields that must hold what the step evaluated (recorded; an empty list is a finding too). */
  evidence?: readonly string[];
}

type Category = 'transition' | 'decision' | 'notification' | 'directory change' | 'evidence' | 'bookkeeping';

interface Rule<S extends HistoryStep> {
  category: Category;
  /** Why these events, and only these, account for the step. */
  why: string;
  needs: (s: S, c: RecordedCase) => Need[];
}
type ActivityStep = Extract<HistoryStep, { kind: 'activity' }>;
type UpdateStep = Extract<HistoryStep, { kind: 'update' }>;
type SignalStep = Extract<HistoryStep, { kind: 'signal' }>;

const input = <T>(s: ActivityStep) => s.input as T;
const result = <T>(s: { result: unknown }) => s.result as T;
const keyed = (c: RecordedCase, step: string) => `${c.caseId}:${step}`;
const TRANSITION_EVIDENCE = ['signals', 'riskScore', 'reasons'] as const;
const APPROVAL_EVIDENCE = ['comment', 'approvalsSoFar', 'required'] as const;
/** The event that records a risk response carried out, by the state it leaves the response in. */
const RISK_APPLIED: Record<string, string> = {
  applied: 'risk.sessions_revoked',
  held: 'risk.enrolment_held',
  password_change_required: 'risk.password_change_required',
  escalated: 'risk.escalated',
};

/** The audit event a transition's recording activity reports (its marker holds no input). */
function auditedStep(s: ActivityStep): Need[] {
  const r = result<AuditedStep | undefined>(s);
  if (!r || typeof r.eventKey !== 'string') throw new Error(`${s.name} reported no audit event: its step cannot be traced to the log`);
  return [{ action: r.action, key: r.eventKey, match: (d) => d.state === r.state }];
}

/** A link mailed by the step's activity: sent, refused for good (5xx), or refused past the resend cap. */
function linkNeeds(s: ActivityStep, c: RecordedCase): Need[] {
  const step = input<{ step: string }>(s).step;
  if (!s.failure) return [{ action: ['link.sent', 'link.reminder_sent'], key: keyed(c, `${step}:issued`) }];
  if (s.failure.type === 'email_rejected') return [{ action: 'link.delivery_failed', key: keyed(c, `${step}:delivery_failed`) }];
  if (s.failure.type === 'possession_link_limit') return [{ action: 'link.resend_refused', key: keyed(c, `${step}:resend_refused`) }];
  throw new Error(`${s.name} failed with ${s.failure.type}, an outcome the table does not map`);
}

/** A notice sent once per step, audited under the same step. */
const notice =
  (action: string | readonly string[]): Rule<ActivityStep>['needs'] =>
  (s, c) => [{ action, key: keyed(c, input<{ step: string }>(s).step) }];

/** Every activity of every workflow (the compiler insists on each one of the contract). */
const ACTIVITIES = {
  recordTransition: { category: 'transition', why: 'moves the recovery to a state; it returns the audit event that records the move', needs: auditedStep },
  recordGrantTransition: { category: 'transition', why: 'moves the grant (or records a decision on it); it returns its audit event', needs: auditedStep },
  assessRecovery: {
    category: 'evidence',
    why: 'gathers the facts triage weighs: the triage outcome records them with its reasons and score',
    needs: () => [{ action: ['recovery.triaged', 'recovery.refused'], evidence: TRANSITION_EVIDENCE }],
  },
  evaluateBehaviour: {
    category: 'evidence',
    why: 'the tier 2 evaluation: the verification it decides records its evidence',
    needs: (s) => [
      {
        action: ['verification.passed', 'verification.failed'],
        match: (d) => d.tier === 2 && isDeepStrictEqual(d.signals, result<{ evidence: string[] }>(s).evidence),
        evidence: ['signals'],
      },
    ],
  },
  recordVerification: {
    category: 'decision',
    why: 'a verification result, with the signals evaluated',
    needs: (s, c) => {
      const i = input<{ step: string; passed: boolean; pending?: boolean }>(s);
      return [
        {
          action: i.pending ? 'verification.pending' : i.passed ? 'verification.passed' : 'verification.failed',
          key: keyed(c, i.step),
          evidence: ['tier', 'signals'],
        },
      ];
    },
  },
  recordDecision: {
    category: 'decision',
    why: "an approver's decision, with the count it makes",
    needs: (s, c) => {
      const i = input<{ step: string; decision: string }>(s);
      return [{ action: i.decision === 'approve' ? 'approval.granted' : 'approval.denied', key: keyed(c, i.step), evidence: APPROVAL_EVIDENCE }];
    },
  },
  alertSecurity: { category: 'notification', why: "the tenant's security contacts are alerted", needs: notice('security.alerted') },
  issueLink: { category: 'notification', why: 'a single-use link mailed to the registered address(es)', needs: linkNeeds },
  issueContactConfirmation: { category: 'notification', why: "the security contact's confirmation link", needs: linkNeeds },
  confirmRedemption: {
    category: 'evidence',
    why: "checks that the API really used a link: the API's redemption event (tier 3 evidence) accounts for it; an unused one changes nothing",
    needs: (s, c) => {
      if (!result<{ used: boolean }>(s).used) return [];
      return [
        {
          action: ['link.redeemed', 'verification.passed', 'mfa.enrolled', 'access.contact_confirmation_used'],
          key: keyed(c, `link-redeemed:${input<{ tokenId: string }>(s).tokenId}`),
          evidence: ['evidence'],
        },
      ];
    },
  },
  invalidateToken: {
    category: 'bookkeeping',
    why: "ends an audited link early (no state of the case): the link's own event names it, the transition that follows says why",
    needs: (s) => [{ action: ['link.sent', 'link.reminder_sent'], match: (d) => d.tokenId === input<{ tokenId: string }>(s).tokenId }],
  },
  applyStagedPassword: {
    category: 'directory change',
    why: 'the new password set in the directory',
    needs: (_s, c) => [{ action: 'account.password_set', key: keyed(c, 'apply-password') }],
  },
  revokeSessions: {
    category: 'directory change',
    why: 'every session of the account ended in the directory',
    needs: (_s, c) => [{ action: 'account.sessions_revoked', key: keyed(c, 'revoke-sessions') }],
  },
  removeMfaFactors: {
    category: 'directory change',
    why: "the account's MFA factors removed in the directory",
    needs: (_s, c) => [{ action: 'account.mfa_factors_removed', key: keyed(c, 'remove-mfa') }],
  },
  notifyApprovers: { category: 'notification', why: 'approvers asked (or reminded) to decide', needs: notice(['approval.requested', 'approval.reminded']) },
  notifyRequester: { category: 'notification', why: 'the requester told how the approval stage ended', needs: notice('requester.notified') },
  notifyAccount: { category: 'notification', why: "the account's addresses told of the change", needs: notice('account.notified') },
  notifyAccessApprovers: { category: 'notification', why: 'break-glass approvers asked to decide', needs: notice('approval.requested') },
  notifyAccessRequester: { category: 'notification', why: 'the requester told how the approval stage ended', needs: notice('requester.notified') },
  escalateAccess: { category: 'notification', why: "the tenant's security contacts told nobody acted in time", needs: notice('access.escalated') },
  remindReviewers: {
    category: 'notification',
    why: 'independent reviewers asked (or reminded) to review',
    needs: notice(['review.requested', 'review.reminded']),
  },
  issueAccessCredential: {
    category: 'directory change',
    why: 'the emergency credential created (and told to a remote directory): the transition to active names it; a refusal ends the grant',
    needs: (s) =>
      s.failure
        ? [{ action: 'access.directory_refused' }]
        : [{ action: 'access.credential_issued', match: (d) => d.credentialId === result<{ credentialId: string }>(s).credentialId }],
  },
  revokeAccessCredential: {
    category: 'directory change',
    why: 'the credential and its sessions ended: the revocation event records how many and why',
    needs: () => [{ action: ['access.credential_revoked', 'access.credential_expired'], match: (d) => typeof d.sessionsRevoked === 'number' }],
  },
  rotateTargetCredential: {
    category: 'directory change',
    why: "the account's own credential rotated and its sessions ended: the review request records the rotation's outcome",
    needs: (s) => [{ action: 'access.review_requested', match: (d) => isDeepStrictEqual(d.rotation, s.result) }],
  },
  applyAccountChange: {
    category: 'directory change',
    why: "an admin's change of the account, applied once",
    needs: (s, c) =>
      result<{ applied: boolean }>(s).applied
        ? [{ action: 'account.changed', key: keyed(c, 'applied') }]
        : [{ action: 'account.change_failed', key: keyed(c, 'failed') }],
  },
  notifyAccountChange: {
    category: 'notification',
    why: 'every old and new address told of the change',
    needs: (_s, c) => [{ action: 'account.change_notified', key: keyed(c, 'notified') }],
  },
  applyRiskResponse: {
    category: 'directory change',
    why: 'the automatic response carried out (sessions revoked, enrolment held, change required, or escalated): its transition event, with the signal and evidence that started it',
    needs: (s, c) => {
      const shown = result<{ state: string }>(s).state;
      // A retry (or an admin who decided while it ran) finds the response past this step: its event is the first one's.
      const action = RISK_APPLIED[shown];
      return [
        {
          action: action ?? Object.values(RISK_APPLIED),
          key: keyed(c, 'applied'),
          match: (d) => !action || d.state === shown,
          evidence: ['evidence', 'signal'],
        },
      ];
    },
  },
  alertRiskResponse: {
    category: 'notification',
    why: "the tenant's security contacts told of the response, with how many were told",
    needs: (s, c) => [
      { action: 'security.alerted', key: keyed(c, input<{ step: string }>(s).step), match: (d) => d.contacts === result<{ recipients: number }>(s).recipients },
    ],
  },
  decideRiskResponse: {
    category: 'decision',
    why: "an admin's reversal or acknowledgement, by that admin, with the reason given and the state it ended",
    needs: (s, c) => {
      const i = input<{ decision: 'reverse' | 'acknowledge'; by: string }>(s);
      return [
        {
          action: i.decision === 'reverse' ? 'risk.response_reversed' : 'risk.response_acknowledged',
          key: keyed(c, `decided:${i.decision}`),
          match: (d, e) => e.actor === i.by && d.state === result<{ state: string }>(s).state,
          evidence: ['reason', 'previousState'],
        },
      ];
    },
  },
  closeRiskResponse: {
    category: 'transition',
    why: 'the review window ended with nobody deciding: the response stands',
    needs: (_s, c) => [{ action: 'risk.response_closed', key: keyed(c, 'closed'), match: (d) => d.state === 'closed', evidence: ['previousState'] }],
  },
  notifySecurityWebhook: {
    category: 'notification',
    why: 'the internal security webhook told (when one is configured), with its answer',
    needs: (s, c) => {
      const r = result<{ sent: boolean; status: number | null }>(s);
      return r.sent ? [{ action: 'security.webhook_sent', key: keyed(c, input<{ step: string }>(s).step), match: (d) => d.status === r.status }] : [];
    },
  },
  tellOfRiskResponse: {
    category: 'notification',
    why: 'the security contacts told (when the response alerts them), with how many were told, then the internal security webhook (when one is configured), with its answer',
    needs: (s, c) => {
      const r = result<{ recipients: number | null; webhook: { sent: boolean; status: number | null } }>(s);
      return [
        ...(r.recipients === null ? [] : [{ action: 'security.alerted', key: keyed(c, 'alert'), match: (d: Details) => d.contacts === r.recipients }]),
        ...(r.webhook.sent ? [{ action: 'security.webhook_sent', key: keyed(c, 'webhook'), match: (d: Details) => d.status === r.webhook.status }] : []),
      ];
    },
  },
  openAccessReview: {
    category: 'decision',
    why: "the review of a tenant opened as of its time, under the policy's action: its start, and one event per finding with the evidence evaluated",
    needs: (s, c) => {
      const r = result<{ findings: number; action: string }>(s);
      return [
        { action: 'access_review.started', key: keyed(c, 'started'), match: (d) => d.action === r.action, evidence: ['asOf', 'byKind'] },
        ...Array.from({ length: r.findings }, (_, n) => ({
          action: 'access_review.finding',
          key: keyed(c, `finding:${n}`),
          match: (d: Details) => d.n === n,
          evidence: ['kind', 'evidence'],
        })),
      ];
    },
  },
  applyAccessReviewFinding: {
    category: 'directory change',
    why: "a finding's suspension through the directory (with the sessions it ended), and the notice to the account; or the directory's refusal",
    needs: (s, c) => {
      const n = input<{ n: number }>(s).n;
      return result<{ suspended: boolean }>(s).suspended
        ? [
            { action: 'access_review.account_suspended', key: keyed(c, `${n}:suspended`), match: (d) => d.n === n, evidence: ['sessionsRevoked'] },
            { action: 'access_review.account_notified', key: keyed(c, `${n}:notified`), match: (d) => d.n === n, evidence: ['recipients'] },
          ]
        : [{ action: 'access_review.suspend_refused', key: keyed(c, `${n}:refused`), match: (d) => d.n === n, evidence: ['code'] }];
    },
  },
  sendAccessReviewReport: {
    category: 'notification',
    why: "the report mailed to the tenant's security contacts (how many), and the review completed",
    needs: (s, c) => [
      { action: 'access_review.completed', key: keyed(c, 'completed'), match: (d) => d.contacts === result<{ recipients: number }>(s).recipients },
    ],
  },
  recordInvitationTransition: {
    category: 'transition',
    why: 'moves the invitation to a state; it returns the audit event that records the move',
    needs: auditedStep,
  },
  issueInvitationLink: { category: 'notification', why: "the invitation's single-use link mailed to the account's primary address", needs: linkNeeds },
  confirmAttestation: {
    category: 'bookkeeping',
    why: 'checks a message was sent through the API: a confirmed one is recorded where it takes effect (its update or signal), a refused one as rejected',
    needs: (s) => (result<{ valid: boolean }>(s).valid ? [] : [{ action: 'message.rejected' }]),
  },
} satisfies Record<keyof WorkflowActivities, Rule<ActivityStep>>;

/** A tier 3 answer whose possession link could not be mailed. */
const isUndelivered = (s: UpdateStep) => result<{ evidence: string[] }>(s).evidence.some((e) => e.includes('could not be delivered'));

/** The decision an approval update counted: the latest one in its answer. */
const lastDecider = (s: UpdateStep) => result<{ approvals: { received: { principalId: string; decision: string }[] } }>(s).approvals.received.at(-1)!;

const UPDATES: Record<string, Rule<UpdateStep>> = {
  awaitTriage: { category: 'bookkeeping', why: 'answers the create call once triage is recorded; changes nothing', needs: () => [] },
  submitVerification: {
    category: 'decision',
    why: 'a verification submitted by the agent: its result is recorded with the evidence evaluated',
    needs: (s) => {
      const r = result<{ tier: number }>(s);
      const recorded: Need = {
        action: ['verification.passed', 'verification.failed', 'verification.pending'],
        match: (d) => d.tier === r.tier,
        evidence: ['signals'],
      };
      // A possession link the mail server refused evaluated nothing: the refusal is what happened.
      const undelivered: Need = { action: 'link.delivery_failed', match: (d) => d.purpose === 'verify_possession' };
      return [r.tier === 3 && isUndelivered(s) ? undelivered : recorded];
    },
  },
  decide: {
    category: 'decision',
    why: "an approval or denial, by the principal who made it; or an admin's reversal or acknowledgement of a risk response",
    needs: (s, c) => {
      if (c.workflow === 'riskResponseWorkflow') {
        const r = result<RiskResponseStatus>(s).decision!;
        return [
          {
            action: r.decision === 'reverse' ? 'risk.response_reversed' : 'risk.response_acknowledged',
            match: (_d, e) => e.actor === `principal:${r.principalId}`,
            evidence: ['reason', 'previousState'],
          },
        ];
      }
      const d = lastDecider(s);
      return [
        {
          action: d.decision === 'approve' ? 'approval.granted' : 'approval.denied',
          match: (_d, e) => e.actor === `principal:${d.principalId}`,
          evidence: ['comment', 'approvalsSoFar', 'required'],
        },
      ];
    },
  },
  cancel: {
    category: 'decision',
    why: 'a cancel by the agent or the owner ends the recovery',
    needs: () => [{ action: 'recovery.cancelled', evidence: ['via'] }],
  },
  review: { category: 'decision', why: 'the post-action review', needs: () => [{ action: 'access.reviewed', evidence: ['outcome', 'reviewer'] }] },
  revoke: {
    category: 'decision',
    why: 'an early revocation (or cancel before issue)',
    needs: () => [{ action: ['access.credential_revoked', 'access.cancelled'] }],
  },
};

const SIGNALS: Record<string, Rule<SignalStep>> = {
  linkRedeemed: {
    category: 'evidence',
    why: 'the API used a link; its redemption event holds the tier 3 evidence (a hint it did not commit is dropped, see confirmRedemption)',
    needs: () => [],
  },
  invitationRegistered: {
    category: 'evidence',
    why: "the API used the invitation's link; the redemption is checked and recorded as for linkRedeemed (see confirmRedemption)",
    needs: () => [],
  },
  credentialFetched: { category: 'decision', why: 'the requester picked the credential up, once', needs: () => [{ action: 'credential.fetched' }] },
};

/** Search attributes are the state ops filter on: each value shown must be the audited one. */
const SEARCH_ATTRIBUTES: Record<string, Rule<Extract<HistoryStep, { kind: 'search_attribute' }>>> = {
  TemporalChangeVersion: { category: 'bookkeeping', why: 'which patches the run took: code versions, not case state', needs: () => [] },
  TenantId: { category: 'bookkeeping', why: 'fixed at the start; every event is in this tenant', needs: () => [] },
  AccountId: { category: 'bookkeeping', why: 'fixed at the start; every event targets it', needs: () => [] },
  RecoveryKind: {
    category: 'bookkeeping',
    why: "fixed at the start; every transition of a recovery or grant records it, a risk response's first event its action",
    needs: (s, c) =>
      c.workflow === 'riskResponseWorkflow'
        ? [{ action: 'risk.response_recorded', key: keyed(c, 'recorded'), match: (d) => responseKind(d.action as ResponseAction) === (s.value as string[])[0] }]
        : [],
  },
  RecoveryStatus: {
    category: 'transition',
    why: "the state shown: a recovery is `received` from the API's request event until triage records the next one",
    needs: (s) => {
      const shown = (s.value as string[])[0];
      return [shown === 'received' ? { action: 'recovery.requested' } : { action: [], match: (d) => d.state === shown }];
    },
  },
  RiskTier: {
    category: 'transition',
    why: "the risk tier shown: a recovery's triage records it; emergency access is high risk by definition",
    needs: (s, c) => (c.workflow === 'recoveryWorkflow' ? [{ action: [], match: (d) => d.riskTier === (s.value as string[])[0] }] : []),
  },
};

const MARKERS: Record<string, string> = { core_patch: 'a patch decision: code versions, not case state' };

/** The rule for one step of a history; throws for a step the table does not map. */
function ruleOf(s: HistoryStep): Rule<never> {
  const unmapped = (what: string) => new Error(`${what} is not in the audit coverage table`);
  switch (s.kind) {
    case 'activity':
      return (ACTIVITIES as Record<string, Rule<ActivityStep>>)[s.name] ?? throwing(unmapped(`activity ${s.name}`));
    case 'update':
      return UPDATES[s.name] ?? throwing(unmapped(`update ${s.name}`));
    case 'signal':
      return SIGNALS[s.name] ?? throwing(unmapped(`signal ${s.name}`));
    case 'search_attribute':
      return SEARCH_ATTRIBUTES[s.key] ?? throwing(unmapped(`search attribute ${s.key}`));
    case 'marker':
      if (!MARKERS[s.name]) throw unmapped(`marker ${s.name}`);
      return { category: 'bookkeeping', why: MARKERS[s.name], needs: () => [] };
    case 'closed':
      return CLOSED;
    case 'event':
      throw unmapped(`history event ${s.type}`);
  }
}
const throwing = (err: Error): never => {
  throw err;
};

/** The end state must be recorded: a recovery's or grant's last state, an account change applied or failed. */
const CLOSED: Rule<Extract<HistoryStep, { kind: 'closed' }>> = {
  category: 'transition',
  why: "the run ended: its result is the case's final state",
  needs: (s, c) => {
    if (c.workflow === 'accountChangeWorkflow') return [{ action: result<{ applied: boolean }>(s).applied ? 'account.changed' : 'account.change_failed' }];
    if (c.workflow === 'accessReviewWorkflow') {
      // A review has no state: its result counts what it did, and the log must count the same.
      const r = result<{ reviewId: string; findings: number; suspended: number; recipients: number }>(s);
      return [
        {
          action: 'access_review.completed',
          key: keyed(c, 'completed'),
          match: (d) => r.reviewId === c.caseId && d.findings === r.findings && d.contacts === r.recipients,
        },
        ...Array.from({ length: r.suspended }, () => ({ action: 'access_review.account_suspended' })),
      ];
    }
    const end = result<{ state?: unknown }>(s).state;
    if (typeof end !== 'string') throw new Error(`${c.workflow} closed without a state: its end cannot be traced to the log`);
    return [{ action: [], match: (d) => d.state === end }];
  },
};

/** What must be in the log for one step. A rejected update changed nothing (validators refuse before history; handlers after confirming). */
function needsOf(s: HistoryStep, c: RecordedCase): Need[] {
  const rule = ruleOf(s) as Rule<HistoryStep>;
  return s.kind === 'update' && s.rejected ? [] : rule.needs(s, c);
}

const present = (v: unknown) => recorded(v) && !(Array.isArray(v) && v.length === 0);
/** Evidence is recorded even when it found nothing (no risk signal fired is a finding). */
const recorded = (v: unknown) => v !== undefined && v !== null && v !== '';
/** Where an event says why it happened (a link's purpose is why it was sent or used). */
const WHY = ['reason', 'reasons', 'justification', 'comment', 'purpose'] as const;

/** What is wrong with one audit event on its own: actor, target, time, why. */
function eventProblems(e: AuditRow): string[] {
  const d = e.details;
  const out: string[] = [];
  if (!present(e.actor)) out.push('no actor');
  if (!/^(account|tenant):./.test(e.target)) out.push(`target '${e.target}'`);
  if (!(e.at instanceof Date) || Number.isNaN(e.at.getTime())) out.push('no time');
  if (!WHY.some((k) => present(d[k]))) out.push(`no ${WHY.join('/')}`);
  return out.map((p) => `${e.action} (${e.event_key}): ${p}`);
}

function unmet(need: Need, events: AuditRow[]): string | null {
  const actions = typeof need.action === 'string' ? [need.action] : need.action;
  const candidates = events.filter(
    (e) =>
      (actions.length === 0 || actions.includes(e.action)) && (need.key === undefined || e.event_key === need.key) && (!need.match || need.match(e.details, e)),
  );
  const what = `${actions.join('|') || 'any transition'}${need.key ? ` keyed ${need.key}` : ''}`;
  if (!candidates.length) return `no ${what}`;
  const missing = (need.evidence ?? []).filter((k) => !candidates.some((e) => recorded(e.details[k])));
  return missing.length ? `${what} lacks evidence ${missing.join(', ')}` : null;
}

let h: Harness;
before(async () => {
  h = await startHarness({ timeSkipping: true });
});
after(async () => {
  await h?.close();
});

describe('the coverage table', () => {
  const c: RecordedCase = { path: 'none', workflow: 'recoveryWorkflow', caseId: 'rec_x', tenantId: 't', workflowId: 'w', runId: 'r' };
  it('refuses a step it does not map: a new activity, update, signal, search attribute, marker or event', () => {
    const unknown: HistoryStep[] = [
      { kind: 'activity', name: 'suspendAccount', local: false, input: {}, result: {}, failure: null },
      { kind: 'update', name: 'extend', input: {}, result: {}, rejected: false },
      { kind: 'signal', name: 'nudge', input: {} },
      { kind: 'search_attribute', key: 'Owner', value: ['x'] },
      { kind: 'marker', name: 'custom' },
      { kind: 'event', type: 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED' },
    ];
    for (const s of unknown) assert.throws(() => needsOf(s, c), /not in the audit coverage table/, JSON.stringify(s));
  });

  it('refuses a transition whose activity reports no audit event, and a link outcome it does not know', () => {
    assert.throws(
      () => needsOf({ kind: 'activity', name: 'recordTransition', local: true, input: undefined, result: undefined, failure: null }, c),
      /no audit event/,
    );
    const failed = {
      kind: 'activity',
      name: 'issueLink',
      local: false,
      input: { step: 's' },
      result: undefined,
      failure: { type: 'no_registered_address', message: '' },
    } as const;
    assert.throws(() => needsOf(failed, c), /does not map/);
    // A run whose result names no state would match any event: its end is a finding instead.
    assert.throws(() => needsOf({ kind: 'closed', status: 'COMPLETED', result: { caseId: 'rec_x' } }, c), /closed without a state/);
  });
});

describe('every recorded path is accounted for by the audit log', () => {
  for (const p of RECORDED_PATHS) {
    it(`${p.name}: each transition, decision, notification and directory change has its event, complete`, async () => {
      const c = await driveRecordedPath(h, p);
      const steps = historySteps(await decodedHistory(h.client, h.config.payloadKeys, c.workflowId, c.runId));
      const events = await auditEvents(h.db, { caseId: c.caseId });
      const problems: string[] = [];
      for (const s of steps) {
        const label = `${ruleOf(s).category}: ${s.kind} ${'name' in s ? s.name : 'key' in s ? s.key : ''}`;
        for (const need of needsOf(s, c)) {
          const miss = unmet(need, events);
          if (miss) problems.push(`${label}: ${miss}`);
        }
      }
      for (const e of events) {
        problems.push(...eventProblems(e));
        if (e.tenant_id !== c.tenantId) problems.push(`${e.action}: tenant ${e.tenant_id}`);
      }
      // A history with no recorded transition would make the check above vacuous.
      assert.ok(
        steps.some(
          (s) =>
            s.kind === 'activity' &&
            ['recordTransition', 'recordGrantTransition', 'applyAccountChange', 'recordInvitationTransition', 'applyRiskResponse', 'openAccessReview'].includes(
              s.name,
            ),
        ),
      );
      assert.deepEqual(problems, []);
    });
  }
});
