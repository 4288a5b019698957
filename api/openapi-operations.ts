// Every documented operation's stable operationId and its request examples, keyed by the route as
// Fastify registers it. Examples are checked against the route's own zod schemas when the document
// is built (api/openapi-links.ts), so they cannot drift from what the server accepts; they double as
// schemathesis's example-phase seeds, so they name one plausible tenant (`acme`) throughout.

/** One operation: its id and, per input, one or more examples (several: each is shown). */
export interface OperationDoc {
  id: string;
  body?: unknown[];
  params?: Record<string, string>;
  querystring?: Record<string, unknown>;
}

const tenant = { tenantId: 'acme' };
const account = { tenantId: 'acme', accountId: 'u-1001' };
const recovery = { id: 'rec_8Jd2kLq9ZxW4mN7p' };
const grant = { id: 'bg_Tq3vN8sLw2XkR5mZ' };
const principal = { id: 'prn_3fJq9ZkL2mXw8RtB' };
const riskResponse = { id: 'rr_Vb7kQ2mZx9LwN4pT' };
const token = 'k1.hV3q9sKx2LmN8pRt4WzY7bCd1FgJ6aEo0uQiSyTnMvU';
const context = { ip: '203.0.113.24', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/132.0', deviceId: 'dev-7f3a9c' };

export const OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/admin/tenants': {
    id: 'createTenant',
    body: [{ id: 'acme', name: 'Acme Corp', authMode: 'mixed', securityContacts: ['security@acme.example'], breakGlassAccount: 'u-1001' }],
  },
  'POST /v1/admin/tenants/:tenantId/accounts': {
    id: 'importAccounts',
    params: tenant,
    body: [
      {
        accounts: [
          {
            externalId: 'u-1001',
            displayName: 'Dana Whitfield',
            role: 'standard',
            authMethod: 'local',
            emails: ['dana@acme.example'],
            knowledge: { first_school: 'Hillside Primary' },
          },
        ],
      },
    ],
  },
  'PATCH /v1/admin/tenants/:tenantId/accounts/:accountId': {
    id: 'changeAccount',
    params: account,
    body: [{ reason: 'Dana asked to add her private address (ticket IT-4821)', emails: ['dana@acme.example', 'dana.w@example.net'] }],
  },
  'POST /v1/admin/principals': {
    id: 'createPrincipal',
    body: [{ name: 'Helpdesk agent Sam Ortiz', roles: ['agent'], tenantScope: ['acme'], email: 'sam.ortiz@acme.example' }],
  },
  'POST /v1/admin/principals/:id/disable': { id: 'disablePrincipal', params: principal, body: [{ reason: 'Sam moved to another team' }] },
  'POST /v1/admin/principals/:id/rotate-key': { id: 'rotatePrincipalKey', params: principal },
  'POST /v1/admin/principals/:id/person-link': { id: 'sendPersonLink', params: principal },
  'POST /v1/admin/principals/:id/console-sessions/revoke': { id: 'revokeConsoleSessions', params: principal },
  'POST /v1/persons/verify': { id: 'verifyPerson', body: [{ token }] },
  'PUT /v1/admin/tenants/:tenantId/policy': {
    id: 'setTenantPolicy',
    params: tenant,
    body: [
      { tokenTtlSeconds: 900, knowledgeFactors: ['first_school'], rateLimits: { perIpPerHour: 10 }, rules: { mfa_reset: { standard: { approvals: 2 } } } },
    ],
  },
  'GET /v1/admin/tenants/:tenantId/policy': { id: 'getTenantPolicy', params: tenant },
  'PUT /v1/admin/tenants/:tenantId/access-review-schedule': { id: 'setAccessReviewSchedule', params: tenant },
  'GET /v1/admin/tenants/:tenantId/access-review-schedule': { id: 'getAccessReviewSchedule', params: tenant },
  'POST /v1/admin/tenants/:tenantId/access-review-schedule/pause': {
    id: 'pauseAccessReviewSchedule',
    params: tenant,
    body: [{ note: 'Paused during the directory migration (CHG-2291)' }],
  },
  'POST /v1/admin/tenants/:tenantId/access-review-schedule/unpause': {
    id: 'unpauseAccessReviewSchedule',
    params: tenant,
    body: [{ note: 'Directory migration finished (CHG-2291)' }],
  },
  'POST /v1/admin/tenants/:tenantId/access-review-schedule/trigger': { id: 'triggerAccessReview', params: tenant },
  'GET /v1/access-reviews/:id': { id: 'getAccessReview', params: { id: 'arv_5d41402abc4b2a76b9719d911017c592' }, querystring: { format: 'json' } },
  'GET /v1/access-reviews': { id: 'listAccessReviews', querystring: { tenantId: 'acme' } },
  // The built-in directory: an example pointing at a made-up webhook would leave the tenant unreachable.
  'PUT /v1/admin/tenants/:tenantId/directory': { id: 'setTenantDirectory', params: tenant, body: [{ kind: 'builtin' }] },
  'GET /v1/admin/tenants/:tenantId/directory': { id: 'getTenantDirectory', params: tenant },
  'GET /v1/admin/tenants/:tenantId/directory/health': { id: 'checkTenantDirectory', params: tenant },
  'POST /v1/admin/directory-secrets/reseal': { id: 'resealDirectorySecrets' },
  'POST /v1/recoveries': {
    id: 'startRecovery',
    body: [
      {
        ...account,
        kind: 'password_reset',
        reason: 'Locked out after a holiday; called the helpdesk',
        ticketRef: 'IT-4821',
        context,
        errorSource: 'local',
        urgency: 'routine',
      },
    ],
  },
  'GET /v1/recoveries': { id: 'listRecoveries', querystring: { tenantId: 'acme', status: 'awaiting_approval', accountId: 'u-1001', limit: 50 } },
  'GET /v1/recoveries/:id': { id: 'getRecovery', params: recovery },
  'GET /v1/recoveries/:id/evidence': { id: 'getRecoveryEvidence', params: recovery, querystring: { format: 'json' } },
  'POST /v1/recoveries/:id/verifications': {
    id: 'submitVerification',
    params: recovery,
    body: [
      { tier: 1, answers: { first_school: 'Hillside Primary' } },
      { tier: 2 },
      { tier: 3, channel: 'email' },
      { tier: 3, channel: 'totp', code: '492039' },
    ],
  },
  'POST /v1/recoveries/:id/cancel': { id: 'cancelRecovery', params: recovery, body: [{ reason: 'Dana remembered her password' }] },
  'POST /v1/recoveries/:id/approvals': {
    id: 'decideRecovery',
    params: recovery,
    body: [{ decision: 'approve', comment: 'Confirmed with her manager on a video call' }],
  },
  'GET /v1/links/:token': { id: 'describeLink', params: { token }, querystring: { tenant: 'acme' } },
  'POST /v1/links/redeem': {
    id: 'redeemLink',
    body: [
      { token, tenantId: 'acme', newPassword: 'plinth-orbit-saffron-42' },
      { token, tenantId: 'acme', factor: { type: 'totp', label: 'Work phone' } },
    ],
  },
  'POST /v1/links/cancel': { id: 'cancelByLink', body: [{ token, tenantId: 'acme' }] },
  'POST /v1/links/factor': { id: 'enrolFactorByLink', body: [{ token, tenantId: 'acme', factor: { type: 'totp', label: 'Work phone' } }] },
  'POST /v1/links/factor/confirm': { id: 'confirmFactorByLink', body: [{ token, tenantId: 'acme', code: '492039' }] },
  'POST /v1/invitations': { id: 'createInvitation', body: [account] },
  'GET /v1/invitations/:id': { id: 'getInvitation', params: { id: 'inv_Wq8mZ2kLx9Rt4NbV' } },
  'POST /v1/break-glass': {
    id: 'requestBreakGlass',
    body: [
      {
        tenantId: 'acme',
        kind: 'break_glass',
        target: { designated: true },
        justification: 'The identity provider is down and payroll must run today',
        ticketRef: 'INC-2291',
        durationMinutes: 30,
      },
    ],
  },
  'GET /v1/break-glass/:id': { id: 'getGrant', params: grant },
  'GET /v1/break-glass/:id/evidence': { id: 'getGrantEvidence', params: grant, querystring: { format: 'html' } },
  'POST /v1/break-glass/:id/approvals': {
    id: 'decideGrant',
    params: grant,
    body: [{ decision: 'approve', comment: 'Outage confirmed on the status page; INC-2291' }],
  },
  'POST /v1/break-glass/:id/credential': { id: 'pickUpCredential', params: grant },
  'POST /v1/break-glass/:id/revoke': { id: 'revokeGrant', params: grant, body: [{ reason: 'Payroll ran; access no longer needed' }] },
  'POST /v1/break-glass/:id/review': {
    id: 'reviewGrant',
    params: grant,
    body: [{ outcome: 'appropriate', notes: 'Used for the payroll run only, as the session log shows' }],
  },
  'POST /v1/directory/sessions': {
    id: 'createDirectorySession',
    body: [{ ...account, credential: 'bgc_k1.Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5' }],
  },
  'POST /v1/directory/password-sessions': { id: 'createPasswordSession', body: [{ ...account, password: 'plinth-orbit-saffron-42' }] },
  'POST /v1/events': {
    id: 'recordEvents',
    body: [
      {
        events: [
          {
            eventId: 'evt-7f3a-0001',
            type: 'login',
            tenantId: 'acme',
            accountId: 'u-1001',
            at: '2026-11-30T08:15:00Z',
            ip: '203.0.113.24',
            deviceId: 'dev-7f3a9c',
            outcome: 'success',
            sessionId: 'sess-41',
          },
          {
            eventId: 'evt-7f3a-0002',
            type: 'session_use',
            tenantId: 'acme',
            accountId: 'u-1001',
            at: '2026-11-30T08:20:00Z',
            ip: '203.0.113.24',
            sessionId: 'sess-41',
          },
          {
            eventId: 'evt-7f3a-0003',
            type: 'mfa_enroll',
            tenantId: 'acme',
            accountId: 'u-1001',
            at: '2026-11-30T08:21:00Z',
            ip: '203.0.113.24',
            deviceId: 'dev-7f3a9c',
          },
        ],
      },
    ],
  },
  'POST /v1/events/login': {
    id: 'recordLogin',
    body: [
      { ...account, ip: '203.0.113.24', deviceId: 'dev-7f3a9c', geo: { country: 'DE', asn: 3320 }, success: true },
      { ...account, ip: '203.0.113.24', deviceId: 'dev-7f3a9c', success: true, passwordCompromised: true },
    ],
  },
  'GET /v1/risk-responses': { id: 'listRiskResponses', querystring: { tenantId: 'acme', accountId: 'u-1001', limit: 50 } },
  'GET /v1/risk-responses/:id': { id: 'getRiskResponse', params: riskResponse },
  'POST /v1/risk-responses/:id/reverse': {
    id: 'reverseRiskResponse',
    params: riskResponse,
    body: [{ reason: 'The owner confirmed the new phone by video call (ticket 4821)' }],
  },
  'POST /v1/risk-responses/:id/acknowledge': {
    id: 'acknowledgeRiskResponse',
    params: riskResponse,
    body: [{ reason: 'Confirmed: the session was used from an unknown network; the owner was told' }],
  },
  'POST /v1/risk/assess': {
    id: 'assessRisk',
    body: [
      {
        ...account,
        kind: 'password_reset',
        at: '2026-11-30T09:00:00Z',
        context: { ip: '203.0.113.24', deviceId: 'dev-7f3a9c', userAgent: 'Mozilla/5.0', geo: { country: 'DE', asn: 3320, lat: 52.52, lon: 13.405 } },
      },
    ],
  },
  'POST /v1/admin/tenants/:tenantId/scim-token': { id: 'issueScimToken', params: tenant },
  'GET /v1/audit': { id: 'exportAudit', querystring: { tenantId: 'acme', from: '2026-11-01T00:00:00Z', format: 'jsonl', limit: 1000, cursor: 0 } },
  'GET /v1/audit/verify': { id: 'verifyAuditChain', querystring: { tenantId: 'acme' } },
  // A Temporal JSON payload as the CLI sends it: metadata and data base64.
  'POST /codec/encode': { id: 'encodePayloads', body: [{ payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'eyJ0ZW5hbnQiOiJhY21lIn0=' }] }] },
  'POST /codec/decode': { id: 'decodePayloads', body: [{ payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'eyJ0ZW5hbnQiOiJhY21lIn0=' }] }] },
  'GET /healthz': { id: 'liveness' },
  'GET /readyz': { id: 'readiness' },
};
