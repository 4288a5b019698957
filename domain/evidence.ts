// The evidence bundle of one case (a recovery or an emergency-access grant): what an auditor needs
// to see that the action was justified, from the request to the final state, with the audit
// events that record it and the proof that the chain holding them verifies. Pure: facts read from
// the store in, the bundle out. No secret is ever among the facts (tokens and credentials come as
// times only), and notices say to whom by audience and count, never the link.

export interface EvidenceEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
  keyId: string | null;
}

export interface PrincipalFacts {
  id: string;
  name: string;
  roles: string[];
  personEmail: string | null;
  personConfirmed: boolean;
}

export interface ChainFacts {
  valid: boolean;
  events: number;
  headHash: string;
  firstBrokenSeq: number | null;
  problem: string | null;
  exportedHead: { seq: number; at: string } | null;
}

export interface CaseFacts {
  type: 'recovery' | 'break_glass';
  id: string;
  tenantId: string;
  accountId: string;
  kind: string;
  state: string;
  createdAt: string;
  endedAt: string | null;
  requestedBy: string;
  justification: string;
  ticketRef: string | null;
  workflowId: string;
  runId: string | null;
  /** Recoveries: the triage outcome and the request's context. */
  risk?: { tier: string | null; route: string | null; reasons: unknown; context: unknown; errorSource: string; urgency: string };
  /** Grants: how long the credential was asked for. */
  durationSeconds?: number;
}

export interface EvidenceFacts {
  case: CaseFacts;
  events: EvidenceEvent[];
  principals: PrincipalFacts[];
  tokens: {
    purpose: string;
    createdAt: string;
    expiresAt: string;
    mailSentAt: string | null;
    usedAt: string | null;
    invalidatedAt: string | null;
    invalidatedReason: string | null;
  }[];
  deliveries: { template: string; recipients: number; status: string; error: string | null; createdAt: string; sentAt: string | null }[];
  credentials: { createdAt: string; expiresAt: string; fetchedAt: string | null; revokedAt: string | null; revokeReason: string | null }[];
  chain: ChainFacts;
  temporal: { namespace: string; uiUrl: string | null };
}

/** Who a principal is: the key's name and roles, and the person (verified address) behind it. */
export function whoIs(principals: readonly PrincipalFacts[], actor: string) {
  const id = actor.startsWith('principal:') ? actor.slice('principal:'.length) : null;
  const p = id ? principals.find((x) => x.id === id) : undefined;
  if (!id) return { actor, principalId: null, name: null, roles: [], person: null, personConfirmed: false };
  return { actor, principalId: id, name: p?.name ?? null, roles: p?.roles ?? [], person: p?.personEmail ?? null, personConfirmed: p?.personConfirmed ?? false };
}

/** Who a notice template goes to. */
const AUDIENCE: Record<string, string> = {
  approval_needed: 'approvers of the tenant',
  approval_reminder: 'approvers of the tenant',
  decision_denied: 'the requester',
  decision_expired: 'the requester',
  password_changed: "the account's registered addresses",
  mfa_reset: "the account's registered addresses",
  recovery_cancelled: "the tenant's security contacts",
};
const audienceOf = (template: string) =>
  AUDIENCE[template] ??
  (/security|alert|bypass|break_glass|access_/.test(template) ? "the tenant's security contacts or approvers" : "the account's registered addresses");

const REVOCATION = /revoked|revoke|rotation|rotated|credential_expired|sessions/;

/** The Temporal Web UI page of the run, when the UI's address is configured. */
export function temporalUiLink(uiUrl: string | null, namespace: string, workflowId: string, runId: string | null): string | null {
  if (!uiUrl) return null;
  const base = `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

export function buildEvidence(f: EvidenceFacts) {
  const c = f.case;
  const who = (actor: string) => whoIs(f.principals, actor);
  const by = (prefix: string) => f.events.filter((e) => e.action.startsWith(prefix));
  const first = (action: string) => f.events.find((e) => e.action === action);

  const verifications = by('verification.').map((e) => ({
    tier: e.details.tier ?? null,
    result: e.action.slice('verification.'.length),
    evidence: e.details.signals ?? [],
    at: e.at,
    by: who(e.actor),
  }));
  const approvals = f.events
    .filter((e) => e.action === 'approval.granted' || e.action === 'approval.denied')
    .map((e) => ({ decision: e.action === 'approval.granted' ? 'approve' : 'deny', at: e.at, by: who(e.actor), comment: e.details.comment ?? null }));
  const waitStart = first('recovery.waiting_period_started');
  const afterWait = waitStart
    ? f.events.find((e) => e.seq > waitStart.seq && e.details.state !== undefined && e.details.state !== 'waiting_period')
    : undefined;
  const review = first('access.reviewed');
  const chainCovers = f.chain.valid && f.events.every((e) => e.seq <= f.chain.events);

  return {
    case: {
      type: c.type,
      id: c.id,
      tenantId: c.tenantId,
      accountId: c.accountId,
      kind: c.kind,
      finalState: c.state,
      createdAt: c.createdAt,
      endedAt: c.endedAt,
    },
    request: {
      at: c.createdAt,
      justification: c.justification,
      ticketRef: c.ticketRef,
      requestedBy: who(`principal:${c.requestedBy}`),
      ...(c.durationSeconds !== undefined ? { durationSeconds: c.durationSeconds } : {}),
      ...(c.risk ? { errorSource: c.risk.errorSource, urgency: c.risk.urgency, context: c.risk.context } : {}),
    },
    risk: c.risk
      ? assessment(c.risk, first('recovery.triaged') ?? first('recovery.refused'))
      : {
          tier: 'high',
          route: null,
          reasons: [{ code: 'emergency_access', detail: 'every emergency-access grant is treated as high risk' }],
          assessedAt: c.createdAt,
        },
    verifications,
    approvals,
    waitingPeriod: waitStart
      ? {
          startedAt: waitStart.at,
          until: (waitStart.details.waitUntil as string | undefined) ?? null,
          endedAt: afterWait?.at ?? null,
          endedBy: afterWait?.action ?? null,
        }
      : null,
    notifications: f.deliveries.map((d) => ({
      template: d.template,
      to: audienceOf(d.template),
      recipients: d.recipients,
      status: d.status,
      at: d.sentAt ?? d.createdAt,
      ...(d.error ? { error: d.error } : {}),
    })),
    tokens: f.tokens.map((t) => ({
      purpose: t.purpose,
      issuedAt: t.createdAt,
      mailedAt: t.mailSentAt,
      expiresAt: t.expiresAt,
      redeemedAt: t.usedAt,
      invalidatedAt: t.invalidatedAt,
      invalidatedReason: t.invalidatedReason,
    })),
    ...(c.type === 'break_glass' ? { credentials: f.credentials } : {}),
    revocationsAndRotations: f.events
      .filter((e) => REVOCATION.test(e.action) || typeof e.details.sessionsRevoked === 'number')
      .map((e) => ({ action: e.action, at: e.at, details: e.details })),
    ...(c.type === 'break_glass'
      ? { review: review ? { at: review.at, by: who(review.actor), outcome: review.details.outcome ?? null, notes: review.details.notes ?? null } : null }
      : {}),
    workflow: {
      workflowId: c.workflowId,
      runId: c.runId,
      namespace: f.temporal.namespace,
      uiLink: temporalUiLink(f.temporal.uiUrl, f.temporal.namespace, c.workflowId, c.runId),
    },
    audit: {
      events: f.events.map((e) => ({ ...e, by: who(e.actor) })),
      proof: {
        chainValid: f.chain.valid,
        chainEvents: f.chain.events,
        headHash: f.chain.headHash,
        firstBrokenSeq: f.chain.firstBrokenSeq,
        problem: f.chain.problem,
        exportedHead: f.chain.exportedHead,
        caseEventsCovered: chainCovers,
        how: "GET /v1/audit/verify recomputed the tenant's whole chain under the audit keys, from genesis to its head, and checked the head exported outside the database; every event above lies within it",
      },
    },
  };
}

export type EvidenceBundle = ReturnType<typeof buildEvidence>;

/** A recovery's risk assessment: the tier and route it was given, and the score and signals (each with weight and evidence) triage recorded. */
function assessment(risk: NonNullable<CaseFacts['risk']>, triaged: EvidenceEvent | undefined) {
  const d = triaged?.details ?? {};
  return {
    tier: risk.tier,
    route: risk.route,
    reasons: risk.reasons,
    assessedAt: triaged?.at ?? null,
    ...(typeof d.riskScore === 'number' ? { score: d.riskScore } : {}),
    ...(Array.isArray(d.signals) ? { signals: d.signals } : {}),
  };
}
