// Request and response schemas (zod), the single source for validation and the OpenAPI document.
import { z } from 'zod';
import {
  ACCOUNT_AUTH_METHODS,
  ACTIVE_STATES,
  ACCOUNT_ROLES,
  ERROR_SOURCES,
  PRINCIPAL_ROLES,
  RECOVERY_KINDS,
  RECOVERY_STATES,
  TENANT_AUTH_MODES,
  TERMINAL_STATES,
  URGENCIES,
} from '../domain/types';
import { PASSWORD_MAX } from '../domain/password';
import { ACCESS_DURATION, ACCESS_KINDS } from '../domain/access';
import type { PolicyMode } from '../domain/policy';
import { DECIDING_ROLES, holdsDecidingRole } from '../domain/person';
import { safeTextPattern, UNSAFE_MULTI_LINE, UNSAFE_SINGLE_LINE, WELL_FORMED } from '../domain/text';

const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const TenantId = z.string().regex(TENANT_ID, 'lowercase letters, digits and dashes, 2-63 characters');
/**
 * A string no narrower rule covers: any characters but NUL and a lone surrogate. The request walk
 * (api/input-walk.ts) refuses those in every field first; the pattern says so in the document.
 */
export const AnyText = () => z.string().regex(WELL_FORMED, 'no NUL or unpaired surrogate');
/**
 * An identity source's stable account id. Account ids sit in clear in workflow ids and the
 * AccountId search attribute, outside the payload codec's reach, so an email address (personal
 * data) is refused here rather than written into Temporal visibility.
 */
export const AccountId = z
  .string()
  .refine((s) => !/[@\uff20\ufe6b]|%40|\(at\)|\[at\]/i.test(s), 'a stable account id, not an email address (account ids are visible in Temporal)')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/, '1-128 characters of A-Z a-z 0-9 . _ + -');
export const RecoveryId = z.string().regex(/^rec_[A-Za-z0-9_-]{16}$/, 'a recovery id (rec_...)');
/** RFC 5321: a local part of at most 64 characters, an address of at most 254. */
const EMAIL_LOCAL_MAX = 64;
/** zod's address pattern, with the local part's length as a lookahead (zod's allows no `@` there). */
const EMAIL = new RegExp(`^(?=[^@]{1,${EMAIL_LOCAL_MAX}}@)${z.regexes.email.source.slice(1)}`);
const Email = z.email({ pattern: EMAIL, error: `an email address (at most ${EMAIL_LOCAL_MAX} characters before the @)` }).max(254);
const Ip = z.union([z.ipv4(), z.ipv6()]);
/**
 * A query-string integer: decimal digits only. z.coerce.number would take `0x10`, `0b11`, ` 5 `
 * and `1e1`; a value that is not all digits stays a string here and is refused as one.
 */
const QueryInt = (min: number, max: number, byDefault: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^[0-9]{1,15}$/.test(v) ? Number(v) : v),
    z
      .number({ error: (iss) => (iss.code === 'invalid_type' ? 'a decimal integer (digits only)' : undefined) })
      .int()
      .min(min)
      .max(max)
      // Inside the preprocess, so the document shows the default.
      .default(byDefault),
  );
/**
 * Free text that can reach an email, an export or the UI holds no control characters (a
 * multi-line field allows LF), no bidi embeddings, overrides, isolates or marks and no zero-width
 * characters: refused as `invalid_characters` naming the field. The pattern documents it.
 */
const printable = (s: z.ZodString, o: { multiLine?: boolean; trimmed?: boolean } = {}) => {
  const unsafe = o.multiLine ? UNSAFE_MULTI_LINE : UNSAFE_SINGLE_LINE;
  return s
    .refine((v) => !unsafe.test(v), {
      message: `no control${o.multiLine ? ' (other than LF)' : ', line-break'}, bidi or zero-width characters`,
      params: { code: 'invalid_characters' },
    })
    .meta({ pattern: safeTextPattern({ multiLine: !!o.multiLine, trimmed: !!o.trimmed }) });
};
/**
 * One line of free text: at most `max` characters as sent (the bound the document's maxLength
 * states), then trimmed, and not empty after that (white space only is refused; the pattern says so).
 */
export const SingleLine = (max: number) => printable(z.string().max(max).trim().min(1), { trimmed: true });
/** Free text that may span lines (LF only), bounded and trimmed as SingleLine. */
const MultiLine = (max: number) => printable(z.string().max(max).trim().min(1), { multiLine: true, trimmed: true });
/**
 * `base`, in one of `shapes`. `base` checks each item (and names the one at fault); the shapes are
 * both what the refinement checks and what the document states (anyOf), so the two cannot differ.
 */
const inOneShape = <T extends z.ZodType>(base: T, shapes: z.ZodType[], message: string) =>
  base
    .refine((v) => shapes.some((shape) => shape.safeParse(v).success), message)
    .meta({
      anyOf: shapes.map((shape) => {
        const json: Record<string, unknown> = { ...z.toJSONSchema(shape, { io: 'input' }) };
        delete json.$schema;
        return json;
      }),
    });
/** Free text fields are single-line unless they say otherwise. */
const Text = SingleLine;

/** A UTC time (ISO 8601, `Z`) from 1970 on: year 0000 is no time anything happened. */
const IsoUtc = z.iso.datetime();
const FROM_1970 = /^(?:19[7-9]\d|[2-9]\d{3})-/;
const Instant = IsoUtc.refine((s) => FROM_1970.test(s), 'a time from 1970-01-01T00:00:00Z on').meta({
  // zod's own date-time pattern, with the year's bound as a lookahead: the document says both.
  pattern: `^(?=${FROM_1970.source.slice(1)})${(z.toJSONSchema(IsoUtc) as { pattern: string }).pattern.slice(1)}`,
});

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export const Geo = z
  .object({
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, upper case')
      .optional(),
    lat: z.number().min(-90).max(90).optional(),
    lon: z.number().min(-180).max(180).optional(),
    asn: z.number().int().min(0).max(4294967295).optional(),
  })
  .strict();

export const RequestContext = z
  .object({
    ip: Ip,
    userAgent: printable(z.string().max(512)).optional(),
    deviceId: printable(z.string().min(1).max(128)).optional(),
    geo: Geo.optional(),
  })
  .strict();

export const CreateTenant = z
  .object({
    id: TenantId,
    name: Text(200),
    authMode: z.enum(TENANT_AUTH_MODES),
    securityContacts: z.array(Email).max(20).default([]),
    /** The account break-glass requests with `target: { designated: true }` act on. */
    breakGlassAccount: AccountId.optional(),
    /**
     * Fixed at creation. false (default): account ids that differ only in case are the same id,
     * and a second one is refused (409 account_id_case_duplicate). true: they are different accounts.
     */
    caseSensitiveAccountIds: z.boolean().default(false),
  })
  .strict();

const Emails = z
  .array(Email)
  .min(1)
  .max(10)
  .refine((a) => new Set(a.map((e) => e.toLowerCase())).size === a.length, 'an address appears twice')
  // uniqueItems is as close as JSON Schema gets: addresses that differ only in case are refused too.
  .meta({ uniqueItems: true, description: 'No address twice (compared without regard to case).' });
const KnowledgeName = z.string().regex(/^[a-z0-9_]{1,64}$/);
const KnowledgeValue = AnyText().min(1).max(256);
const Knowledge = z.record(KnowledgeName, KnowledgeValue);
/**
 * A record of `min` to `max` entries. zod has no size check for records: the refinement enforces
 * it and the same numbers document it (minProperties, maxProperties).
 */
const sizedRecord = <K extends z.ZodString, V extends z.ZodType>(key: K, value: V, min: number, max: number) =>
  z
    .record(key, value)
    .refine((r) => Object.keys(r).length >= min && Object.keys(r).length <= max, `between ${min} and ${max} entries`)
    .meta({ minProperties: min, maxProperties: max });

/** Import creates accounts only: an externalId that exists already is listed in `existing`, unchanged. */
export const ImportAccounts = z
  .object({
    accounts: z
      .array(
        z
          .object({
            externalId: AccountId,
            displayName: printable(z.string().max(200)).optional(),
            role: z.enum(ACCOUNT_ROLES).default('standard'),
            authMethod: z.enum(ACCOUNT_AUTH_METHODS),
            emails: Emails,
            knowledge: Knowledge.optional(),
            password: AnyText().min(1).max(PASSWORD_MAX).optional(),
            mfaFactors: z
              .array(z.object({ type: z.enum(['totp', 'webauthn', 'sms']), label: printable(z.string().max(100)).optional() }).strict())
              .max(10)
              .optional(),
          })
          .strict()
          // Invariant 5: no local password is ever created for an SSO-managed account.
          .refine((a) => !(a.authMethod === 'sso' && a.password !== undefined), {
            message: 'an SSO-managed account has no local password',
            path: ['password'],
          })
          .meta({ if: { required: ['authMethod'], properties: { authMethod: { const: 'sso' } } }, then: { not: { required: ['password'] } } }),
      )
      .min(1)
      .max(1000),
  })
  .strict();

export const CreatePrincipal = z
  .object({
    name: Text(200),
    // The ingestion key (the product's own backend) reports login history: no person's role with it.
    roles: inOneShape(
      z.array(z.enum(PRINCIPAL_ROLES)).min(1).max(PRINCIPAL_ROLES.length),
      [
        z.array(z.literal('ingestion')).length(1),
        z
          .array(z.enum(PRINCIPAL_ROLES.filter((r) => r !== 'ingestion')))
          .min(1)
          .max(PRINCIPAL_ROLES.length),
      ],
      'ingestion is a role of its own; it cannot be combined with another',
    ),
    // Every tenant, today's and later ones, or the tenants named.
    tenantScope: inOneShape(
      z
        .array(z.union([TenantId, z.literal('*')]))
        .min(1)
        .max(100),
      [z.array(z.literal('*')).length(1), z.array(TenantId).min(1).max(100)],
      '"*" stands alone',
    ),
    account: z.object({ tenantId: TenantId, accountId: AccountId }).strict().optional(),
    email: Email.optional(),
  })
  .strict()
  // Only a verified person decides: a deciding role needs an address to verify.
  .refine((b) => !holdsDecidingRole(b.roles) || b.email !== undefined, {
    message: `required with the roles ${DECIDING_ROLES.join(', ')}: only a verified person decides`,
    path: ['email'],
  })
  .meta({ if: { required: ['roles'], properties: { roles: { contains: { enum: [...DECIDING_ROLES] } } } }, then: { required: ['email'] } });

export const PrincipalParams = z.object({ id: z.string().regex(/^prn_[A-Za-z0-9_-]{1,32}$/, 'a principal id (prn_...)') }).strict();
export const DisablePrincipal = z.object({ reason: Text(1000) }).strict();

export const Decision = z.object({ decision: z.enum(['approve', 'deny']), comment: Text(1000) }).strict();

export const CreateRecovery = z
  .object({
    tenantId: TenantId,
    accountId: AccountId,
    kind: z.enum(RECOVERY_KINDS),
    reason: Text(1000),
    ticketRef: SingleLine(200).optional(),
    context: RequestContext,
    errorSource: z.enum(ERROR_SOURCES).default('unknown'),
    urgency: z.enum(URGENCIES).default('routine'),
  })
  .strict();

/** A code from an authenticator app (RFC 6238): six digits. */
export const TotpCode = z.string().regex(/^[0-9]{6}$/, 'the six digits the authenticator app shows');

export const Verification = z.discriminatedUnion('tier', [
  z
    .object({
      tier: z.literal(1),
      answers: sizedRecord(KnowledgeName, KnowledgeValue, 1, 10),
    })
    .strict(),
  z.object({ tier: z.literal(2) }).strict(),
  z.discriminatedUnion('channel', [
    z.object({ tier: z.literal(3), channel: z.literal('email') }).strict(),
    // Checked against the account's enrolled authenticator here and dropped: only the outcome travels.
    z.object({ tier: z.literal(3), channel: z.literal('totp'), code: TotpCode }).strict(),
  ]),
]);

export const CancelBody = z.object({ reason: Text(1000) }).strict();

export const ListRecoveriesQuery = z
  .object({
    tenantId: TenantId,
    status: z.enum(RECOVERY_STATES as [string, ...string[]]).optional(),
    accountId: AccountId.optional(),
    limit: QueryInt(1, 200, 50),
    before: Instant.optional(),
  })
  .strict();

export const IdParams = z.object({ id: RecoveryId }).strict();
export const TenantParams = z.object({ tenantId: TenantId }).strict();
export const AccountParams = z.object({ tenantId: TenantId, accountId: AccountId }).strict();

/**
 * An audited admin change of an existing account: addresses, knowledge answers (replaced as a
 * set), role, display name. Never a password, MFA factor or sign-in method: those change through
 * a recovery. Every old and new address is told.
 */
const ACCOUNT_CHANGES = ['emails', 'knowledge', 'role', 'displayName'] as const;
export const AccountChange = z
  .object({
    reason: Text(1000),
    emails: Emails.optional(),
    knowledge: Knowledge.optional(),
    role: z.enum(ACCOUNT_ROLES).optional(),
    displayName: printable(z.string().max(200)).optional(),
  })
  .strict()
  .refine((c) => ACCOUNT_CHANGES.some((k) => c[k] !== undefined), {
    message: `name at least one of ${ACCOUNT_CHANGES.join(', ')}`,
    path: ['emails'],
  })
  .meta({ anyOf: ACCOUNT_CHANGES.map((k) => ({ required: [k] })) });

export const LinkToken = AnyText().min(1).max(200);
export const LinkParams = z.object({ token: LinkToken }).strict();
export const RedeemBody = z
  .object({
    token: LinkToken,
    tenantId: TenantId.optional(),
    /** Password-reset links. */
    newPassword: AnyText()
      .max(4 * PASSWORD_MAX)
      .optional(),
    /** Enrolment links: the factor to enrol. */
    factor: z
      .object({ type: z.literal('totp'), label: SingleLine(100).optional() })
      .strict()
      .optional(),
  })
  .strict();
export const LinkQuery = z.object({ tenant: TenantId.optional() }).strict();
export const LinkCancelBody = z.object({ token: LinkToken, tenantId: TenantId.optional() }).strict();
export const PersonVerifyBody = z.object({ token: LinkToken }).strict();
/** An invitation link, first step: a TOTP factor to enrol (its secret is shown once). */
export const EnrolFactorBody = z
  .object({
    token: LinkToken,
    tenantId: TenantId.optional(),
    factor: z.object({ type: z.literal('totp'), label: SingleLine(100).optional() }).strict(),
  })
  .strict();
/** An invitation link, second step: a code from the app confirms the factor. */
export const ConfirmFactorBody = z.object({ token: LinkToken, tenantId: TenantId.optional(), code: TotpCode }).strict();

/** An invitation: only whom to invite. The link goes to the address the engine holds for the account. */
export const CreateInvitation = z.object({ tenantId: TenantId, accountId: AccountId }).strict();
export const InvitationIdParams = z.object({ id: z.string().regex(/^inv_[A-Za-z0-9_-]{16}$/, 'an invitation id (inv_...)') }).strict();

/** The product found the password used at this login in a breached or common-password list: a successful one forces a change. */
const PasswordCompromised = z
  .boolean()
  .optional()
  .describe('True when the password used at this login is in a breached or common-password list; on a successful login the engine forces a password change');
export const LoginEvent = z
  .object({
    tenantId: TenantId,
    accountId: AccountId,
    // Checked against the clock by the route: not older than the login-history window (400 days),
    // not more than 60 s ahead of the server clock; either is a 400 naming `at`.
    at: Instant.optional().describe('When the login happened: at most 400 days ago and at most 60 s ahead of the server clock (default: now)'),
    ip: Ip,
    deviceId: printable(z.string().min(1).max(128)).optional(),
    geo: Geo.optional(),
    success: z.boolean(),
    passwordCompromised: PasswordCompromised,
  })
  .strict();

export const RiskAssessIn = z
  .object({
    tenantId: TenantId,
    accountId: AccountId,
    kind: z.enum(RECOVERY_KINDS),
    at: Instant.optional().describe('Evaluate as of this time, using only events before it: at most 400 days ago and at most 60 s ahead (default: now)'),
    context: RequestContext,
  })
  .strict();

/** The at most this many events `POST /v1/events` takes at once. */
export const EVENT_BATCH_MAX = 1000;
/** The largest body `POST /v1/events` reads (the API's default is 256 KiB). */
export const EVENT_BATCH_BODY_LIMIT = 1024 * 1024;
const EventId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "the reporter's id of the event: letters, digits and . _ : -, 1 to 128");
const SessionId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'a session id: letters, digits and . _ : -, 1 to 128');
const EventCommon = {
  eventId: EventId,
  tenantId: TenantId,
  accountId: AccountId,
  at: Instant.describe('When it happened: at most 400 days ago and at most 60 s ahead of the server clock'),
  ip: Ip,
  geo: Geo.optional(),
};
/** One event of a batch; each is checked on its own, so one bad event never refuses the others. */
export const IngestedEvent = z.discriminatedUnion('type', [
  z
    .object({
      ...EventCommon,
      type: z.literal('login'),
      deviceId: printable(z.string().min(1).max(128)).optional(),
      userAgent: printable(z.string().max(512)).optional(),
      outcome: z.enum(['success', 'failure']),
      sessionId: SessionId.optional(),
      passwordCompromised: PasswordCompromised,
    })
    .strict(),
  z
    .object({
      ...EventCommon,
      type: z.literal('session_use'),
      sessionId: SessionId,
      // The client that presented the token, when the reporter sees it: another device or browser family than the session's login is a copied token.
      deviceId: printable(z.string().min(1).max(128)).optional(),
      userAgent: printable(z.string().max(512)).optional(),
    })
    .strict(),
  z
    .object({
      ...EventCommon,
      type: z.literal('mfa_enroll'),
      deviceId: printable(z.string().min(1).max(128)).optional(),
      // The session the enrolment was made in, when the product knows it: an enrolment in the session of an unfamiliar login is held up to 15 min after it.
      sessionId: SessionId.optional(),
    })
    .strict(),
]);
export const EventBatch = z
  .object({
    events: z
      .array(z.looseObject({}).describe('An event: login, session_use or mfa_enroll (see the description of the operation); checked one by one'))
      .min(1)
      .max(EVENT_BATCH_MAX),
  })
  .strict();
/** A tenant's audit chain, or `_system`: the chain of what `*`-scoped principals do. */
const AuditChainId = z.string().regex(/^(_system|[a-z0-9][a-z0-9-]{1,62})$/, 'a tenant id (lowercase letters, digits and dashes, 2-63 characters) or _system');
/** A JSON page of the audit log holds at most this many events; the streamed formats go to 1,000,000. */
export const AUDIT_JSON_MAX_LIMIT = 10_000;
export const AuditQuery = z
  .object({
    tenantId: AuditChainId,
    from: Instant.optional(),
    to: Instant.optional(),
    format: z.enum(['json', 'jsonl', 'csv', 'ocsf']).default('json'),
    /** At most AUDIT_JSON_MAX_LIMIT for format=json (checked in the route, naming `limit`). */
    limit: QueryInt(1, 1_000_000, 1000),
    /** The `seq` of the last event already received: the page starts after it. */
    cursor: QueryInt(0, Number.MAX_SAFE_INTEGER, 0),
  })
  .strict();
export const EvidenceQuery = z.object({ format: z.enum(['json', 'html']).default('json') }).strict();
export const AuditVerifyQuery = z.object({ tenantId: AuditChainId }).strict();

export const AccessId = z.string().regex(/^bg_[A-Za-z0-9_-]{16}$/, 'a grant id (bg_...)');
export const AccessParams = z.object({ id: AccessId }).strict();

/**
 * A break-glass or SSO-bypass request. `durationSeconds` (second-scale grants, to exercise the whole
 * flow quickly) exists in dev policy mode only: in production the field is refused, and the
 * document a production engine serves says so.
 */
export const createAccessGrantSchema = (mode: PolicyMode) => {
  const devSeconds = z.number().int().min(1).max(ACCESS_DURATION.maxDevSeconds);
  const seconds: z.ZodType<number> =
    mode === 'dev'
      ? devSeconds
      : z.never({
          error: `only in dev policy mode; use durationMinutes (${ACCESS_DURATION.minMinutes}-${ACCESS_DURATION.maxMinutes})`,
        });
  return z
    .object({
      tenantId: TenantId,
      kind: z.enum(ACCESS_KINDS).default('break_glass'),
      target: z.union([z.object({ accountId: AccountId }).strict(), z.object({ designated: z.literal(true) }).strict()]),
      justification: Text(2000),
      ticketRef: SingleLine(200),
      durationMinutes: z.number().int().min(ACCESS_DURATION.minMinutes).max(ACCESS_DURATION.maxMinutes).default(ACCESS_DURATION.defaultMinutes),
      durationSeconds: seconds.optional(),
    })
    .strict();
};

export const AccessRevoke = z.object({ reason: Text(1000) }).strict();
export const AccessReviewBody = z.object({ outcome: z.enum(['appropriate', 'inappropriate']), notes: MultiLine(4000) }).strict();

export const RiskResponseParams = z.object({ id: z.string().regex(/^rr_[A-Za-z0-9_-]{16}$/, 'a risk response id (rr_...)') }).strict();
export const ListRiskResponsesQuery = z
  .object({ tenantId: TenantId, accountId: AccountId.optional(), limit: QueryInt(1, 200, 50), before: Instant.optional() })
  .strict();
/** An admin's reversal or acknowledgement of a risk response: the reason is audited. */
export const RiskDecisionBody = z.object({ reason: Text(1000) }).strict();

export const DirectorySession = z.object({ tenantId: TenantId, accountId: AccountId, credential: AnyText().min(1).max(200) }).strict();
/** A password sign-in: any length the policy ever allowed fits; the cap only bounds the hashing. */
export const DirectoryPasswordSession = z
  .object({
    tenantId: TenantId,
    accountId: AccountId,
    password: AnyText().min(1).max(1024),
    /** Required when the account has an enrolled authenticator. */
    totp: TotpCode.optional(),
  })
  .strict();

// ---- responses (documented for clients and checked by the serializer; loose: extra fields pass) ----
const Iso = z.string();
/** Checked at runtime by the serializer; typed loosely so handlers keep their own precise types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately loose, see above
const out = <T extends z.ZodType>(schema: T) => schema as unknown as z.ZodType<any>;
const ReasonOut = z.looseObject({ code: z.string(), detail: z.string() });
export const TenantOut = out(
  z.looseObject({ id: z.string(), name: z.string(), authMode: z.string(), securityContacts: z.array(z.string()), caseSensitiveAccountIds: z.boolean() }),
);
export const ImportOut = out(z.looseObject({ created: z.number(), existing: z.array(z.string()) }));
export const AccountChangeOut = out(z.looseObject({ id: z.string(), tenantId: z.string(), accountId: z.string(), state: z.string() }));
export const PrincipalOut = out(
  z.looseObject({
    id: z.string(),
    name: z.string(),
    roles: z.array(z.string()),
    tenantScope: z.array(z.string()),
    email: z.string().nullable(),
    personId: z.string().nullable(),
    personConfirmed: z.boolean(),
    apiKey: z.string(),
  }),
);
export const PrincipalDisabledOut = out(z.looseObject({ id: z.string(), disabledAt: z.string() }));
export const PrincipalKeyOut = out(z.looseObject({ id: z.string(), apiKey: z.string(), personConfirmed: z.boolean() }));
export const PersonLinkOut = out(z.looseObject({ id: z.string(), sent: z.boolean(), expiresInHours: z.number() }));
export const PersonVerifiedOut = out(z.looseObject({ status: z.literal('verified'), principalId: z.string(), message: z.string() }));
export const PolicyOut = out(z.looseObject({ tenantId: z.string(), override: z.unknown(), effective: z.looseObject({}) }));
const RecoveryStateOut = z.enum([...ACTIVE_STATES, ...TERMINAL_STATES]);
const TierOut = z.union([z.literal(1), z.literal(2), z.literal(3)]);
/**
 * What the caller does next (api/views/recovery.ts nextStep), one shape per action, so a generated
 * client can branch on `action` and read e.g. the tiers to submit without a cast.
 */
const NextStepOut = z
  .discriminatedUnion('action', [
    z.looseObject({ action: z.literal('submit_verification'), allOf: z.array(TierOut), oneOf: z.array(TierOut) }),
    z.looseObject({ action: z.literal('await_approvals'), required: z.number() }),
    z.looseObject({ action: z.literal('await_waiting_period'), until: Iso.nullable() }),
    z.looseObject({ action: z.literal('owner_uses_emailed_link'), expiresAt: Iso.nullable() }),
    z.looseObject({ action: z.literal('poll'), href: z.string() }),
  ])
  .nullable();
// A refusal is the 200 answer (RecoveryRefused): `status` tells the two apart.
export const RecoveryAccepted = out(z.looseObject({ id: z.string(), status: RecoveryStateOut.exclude(['refused']), next: NextStepOut }));
export const RecoveryRefused = out(z.looseObject({ id: z.string(), status: z.literal('refused'), route: z.string(), reasons: z.array(ReasonOut) }));
const RecoveryFields = z.looseObject({
  id: z.string(),
  tenantId: z.string(),
  accountId: z.string(),
  kind: z.enum(RECOVERY_KINDS),
  state: RecoveryStateOut,
  reasons: z.array(ReasonOut),
  createdAt: Iso,
});
export const RecoveryOut = out(RecoveryFields);
/** One recovery as GET /v1/recoveries/:id answers it: with the caller's next step (null once it has ended). */
export const RecoveryDetailOut = out(RecoveryFields.extend({ next: NextStepOut }));
export const RecoveryList = out(z.looseObject({ items: z.array(RecoveryOut), nextBefore: z.string().nullable() }));
export const VerificationOut = out(z.looseObject({ tier: z.number(), passed: z.boolean(), evidence: z.array(z.string()), state: z.string() }));
export const StateOut = out(z.looseObject({ id: z.string(), state: z.string() }));
export const DecisionOut = out(z.looseObject({ id: z.string(), counted: z.boolean(), state: z.string() }));
export const LinkOut = out(z.looseObject({ valid: z.literal(true), purpose: z.string(), expiresAt: Iso, requires: z.array(z.string()) }));
export const LinkUsedOut = out(z.looseObject({ status: z.string(), message: z.string() }));
export const InvitationOut = out(
  z.looseObject({
    id: z.string(),
    tenantId: z.string(),
    accountId: z.string(),
    state: z.string(),
    factorConfirmed: z.boolean(),
    createdAt: Iso,
    expiresAt: Iso.nullable(),
    endedAt: Iso.nullable(),
  }),
);
/** What the engine did on its own about an event (README, risk responses), and the responses to follow. */
const EventActions = {
  actions: z.array(z.enum(['session_revoked', 'enrolment_held', 'password_change_forced', 'escalated'])),
  responseIds: z.array(z.string()),
};
export const RecordedOut = out(z.looseObject({ recorded: z.boolean(), ...EventActions }));

export const RiskAssessOut = out(
  z.object({
    score: z.number().int(),
    tier: z.enum(['low', 'medium', 'high']),
    response: z.enum(['challenge', 'approval_and_wait', 'refuse']),
    signals: z.array(z.object({ code: z.string(), weight: z.number().int(), evidence: z.string() })),
  }),
);
export const AuditOut = {
  description: 'Events in chain order: a JSON page by default; JSON lines (format=jsonl or ocsf) or CSV streamed',
  content: {
    'application/json': {
      schema: out(
        z.looseObject({
          tenantId: z.string(),
          events: z.array(z.looseObject({ seq: z.number(), hash: z.string() })),
          /** Pass as `cursor` for the next page; null on the last page. */
          nextCursor: z.number().nullable(),
        }),
      ),
    },
    'application/x-ndjson': { schema: z.string() },
    'text/csv': { schema: z.string() },
  },
};
export const EvidenceOut = {
  description: "The case's evidence bundle as JSON, or with format=html a printable page",
  content: {
    'application/json': {
      schema: out(
        z.looseObject({
          case: z.looseObject({ id: z.string(), finalState: z.string() }),
          request: z.looseObject({}),
          approvals: z.array(z.looseObject({})),
          audit: z.looseObject({ events: z.array(z.looseObject({})), proof: z.looseObject({ chainValid: z.boolean() }) }),
        }),
      ),
    },
    'text/html': { schema: z.string() },
  },
};
const RiskResponseFields = z.looseObject({
  id: z.string(),
  tenantId: z.string(),
  accountId: z.string(),
  action: z.enum(['revoke_sessions', 'hold_enrolment', 'force_password_change', 'escalate']),
  signal: z.string().describe('Why: session_hijack, session_client_change (another browser family alone), recent_factor_enrolment or compromised_password'),
  eventId: z.string().nullable(),
  evidence: z.array(z.string()),
  state: z.string(),
  outcome: z.looseObject({}).nullable(),
  decision: z.looseObject({ by: z.string(), at: z.string(), reason: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const RiskResponseOut = out(RiskResponseFields);
export const RiskResponseList = out(z.looseObject({ items: z.array(RiskResponseFields), nextBefore: z.string().nullable() }));
export const ScimTokenOut = out(z.looseObject({ tenantId: z.string(), token: z.string(), endpoint: z.string() }));
export const EventBatchOut = out(
  z.looseObject({
    accepted: z.number(),
    duplicates: z.number(),
    rejected: z.number(),
    results: z.array(
      z.looseObject({
        index: z.number(),
        eventId: z.string().nullable(),
        status: z.enum(['accepted', 'duplicate', 'rejected']),
        error: z.looseObject({ code: z.string(), message: z.string(), status: z.number(), details: z.unknown() }).optional(),
        /** Accepted and duplicate events: what was done (a duplicate is answered with its first answer's responses). */
        actions: EventActions.actions.optional(),
        responseIds: EventActions.responseIds.optional(),
      }),
    ),
  }),
);

export const ChainOut = out(
  z.looseObject({
    tenantId: z.string(),
    valid: z.boolean(),
    events: z.number(),
    headHash: z.string(),
    firstBrokenSeq: z.number().nullable(),
    problem: z.string().nullable(),
    /** Events from before the chain was keyed (AUDIT_HMAC_KEYS): a prefix, anchored by an exported head. */
    unkeyedEvents: z.number(),
    /** The latest signed head exported outside the database that the chain was checked against. */
    exportedHead: z.looseObject({ seq: z.number(), at: Iso }).nullable(),
  }),
);
export const HealthOut = out(z.looseObject({ status: z.string() }));
export const ReadyOut = out(z.looseObject({ status: z.string(), checks: z.record(z.string(), z.string()) }));
/** Not ready: the readiness report, or (while the API drains) the one error shape. */
export const NotReadyOut = out(z.union([ReadyOut, ErrorBody]).describe('Not ready: the readiness report, or the error shape while the API drains'));
export const GrantAccepted = out(z.looseObject({ id: z.string(), kind: z.string(), accountId: z.string(), state: z.string() }));
export const GrantOut = out(z.looseObject({ id: z.string(), kind: z.string(), tenantId: z.string(), accountId: z.string(), state: z.string() }));
export const CredentialOut = out(z.looseObject({ id: z.string(), credential: z.string(), expiresAt: Iso }));
export const SessionOut = out(z.looseObject({ sessionId: z.string(), grantId: z.string() }));
export const PasswordSessionOut = out(z.looseObject({ sessionId: z.string(), expiresAt: Iso }));
export const CodecOut = out(z.looseObject({ payloads: z.array(z.looseObject({})) }));

/** A directory's base URL: http(s), no credentials in it (webhook calls are signed, Keycloak uses a client secret). */
const DirectoryUrl = AnyText()
  .max(2000)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'an http(s) URL without credentials');
const Ident = (max: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_.-]{1,${max}}$`), `letters, digits, _ . - (at most ${max})`);
const DirectorySecret = AnyText().min(16).max(512);

export const TenantDirectoryIn = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('builtin') }).strict(),
  z.object({ kind: z.literal('webhook'), baseUrl: DirectoryUrl, keyId: Ident(64), secret: DirectorySecret }).strict(),
  z.object({ kind: z.literal('keycloak'), baseUrl: DirectoryUrl, realm: Ident(100), clientId: Ident(255), clientSecret: AnyText().min(1).max(512) }).strict(),
]);
export const TenantDirectoryOut = out(
  z.looseObject({
    tenantId: z.string(),
    kind: z.enum(['builtin', 'webhook', 'keycloak']),
    settings: z.looseObject({}),
    /** Whether a secret is stored; the secret itself is never returned. */
    secretSet: z.boolean(),
    /** The id of the server key that sealed it. */
    sealedWith: z.string().nullable(),
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
  }),
);

export const DirectoryHealthOut = out(
  z.looseObject({
    tenantId: z.string(),
    kind: z.enum(['builtin', 'webhook', 'keycloak']),
    /** False is still a 200: ops read the problem. */
    healthy: z.boolean(),
    checkedAt: z.string(),
    latencyMs: z.number(),
    /** What failed: `directory_auth_failed`, `directory_wrong_realm`, `directory_unreachable`, `directory_secret_unreadable`, ... */
    problem: z.object({ code: z.string(), field: z.string().optional(), message: z.string() }).nullable(),
  }),
);

export const DirectoryResealOut = out(
  z.looseObject({
    sealedWith: z.string(),
    resealed: z.array(z.string()),
    unreadable: z.array(z.object({ tenantId: z.string(), keyId: z.string().nullable() })),
  }),
);

// The scheduled access review: its Schedule (admin) and its reports (auditor, admin).
export const ScheduleNoteBody = z.object({ note: Text(500) }).strict();
export const AccessReviewReportId = z.string().regex(/^arv_[0-9a-f]{32}$/, 'an access review id (arv_...)');
export const AccessReviewReportParams = z.object({ id: AccessReviewReportId }).strict();
export const ListAccessReviewsQuery = z.object({ tenantId: TenantId, limit: QueryInt(1, 200, 50) }).strict();
export const ReviewScheduleOut = out(
  z.looseObject({
    scheduleId: z.string(),
    tenantId: z.string(),
    /** False: no schedule yet (PUT creates it); the cadence and action shown are those it would get. */
    configured: z.boolean(),
    cadenceSeconds: z.number(),
    action: z.enum(['report', 'suspend']),
    paused: z.boolean(),
    note: z.string().nullable(),
    nextRunAt: z.string().nullable(),
    recentRuns: z.array(z.looseObject({ scheduledAt: z.string(), workflowId: z.string() })),
  }),
);
export const ReviewTriggerOut = out(z.looseObject({ scheduleId: z.string(), triggered: z.boolean() }));
const AccessReviewFindingOut = z.looseObject({
  n: z.number(),
  kind: z.string(),
  target: z.string(),
  reason: z.string(),
  evidence: z.looseObject({}),
  outcome: z.looseObject({ status: z.string() }),
});
export const AccessReviewOut = {
  description: 'One access review report as JSON, or with format=html a printable page',
  content: {
    'application/json': {
      schema: out(
        z.looseObject({
          id: z.string(),
          tenantId: z.string(),
          state: z.enum(['open', 'completed']),
          asOf: z.string(),
          action: z.enum(['report', 'suspend']),
          counts: z.looseObject({}),
          findings: z.array(AccessReviewFindingOut),
        }),
      ),
    },
    'text/html': { schema: z.string() },
  },
};
export const AccessReviewList = out(
  z.looseObject({
    items: z.array(z.looseObject({ id: z.string(), tenantId: z.string(), state: z.string(), asOf: z.string(), findings: z.number() })),
  }),
);
