// One recovery and break-glass suite, run against every kind of identity system a tenant can
// choose: the built-in directory, the signed webhook (the reference receiver of the test kit) and
// a real Keycloak (started by the test runner). Each effect is checked in the directory itself,
// through its own sign-in: the new password works and the old one does not, the MFA factor is gone
// and enrolment required, every session has ended, the emergency credential works only for the
// grant's life. No secret of any kind reaches a workflow history. A directory that refuses a change
// for good ends the recovery as failed, with its code, and the owner is told nothing misleading.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { KeycloakAdminClient, MFA_CREDENTIAL_TYPES } from '../../infra/keycloak';
import { findAccount } from '../../store/directory';
import { activeFactorsOf, grantRow, recoveryRow, sessionsOf, tokensOf } from '../../testkit/inspect';
import { auditEvents } from '../../testkit/inspect-audit';
import { KNOWLEDGE, OLD_PASSWORD, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, setPolicy, uniq } from '../../testkit/seed';
import { startHarness, type Harness } from '../../testkit/engine';
import { tokenFrom } from '../../testkit/mail';
import { until } from '../../testkit/wait';
import { historyText } from '../../testkit/history';
import { startWebhookReceiver, type WebhookReceiver } from '../../testkit/webhook-receiver';

const KC_URL = process.env.KEYCLOAK_URL ?? '';
const KC_REALM = 'recovery-test';
const KC_SECRET = 'test-only-recovery-engine-secret';
const WEBHOOK_SECRET = `test-only-webhook-${crypto.randomBytes(16).toString('hex')}`;
const NEW_PASSWORD = 'harbour-finch-sketches-71-tides';

type Kind = 'builtin' | 'webhook' | 'keycloak';
interface Account {
  accountId: string;
  address: string;
  password: string | null;
}
type Role = 'standard' | 'admin';

/** What the suite needs from a directory, each answered by the directory itself. */
interface Backend {
  kind: Kind;
  tenantId: string;
  knowledgeFactors: boolean;
  /** Secrets that must never appear in a history, besides the ones a test makes. */
  secrets: string[];
  account(o: { role: Role; mfa?: boolean; sso?: boolean; suite: 'reset' | 'mfa' | 'bg' | 'sso' | 'gone' }): Promise<Account>;
  /** The directory's own sign-in: a session, or null when refused. */
  signIn(accountId: string, password: string): Promise<string | null>;
  liveSessions(accountId: string): Promise<number>;
  mfa(accountId: string): Promise<{ factors: number; enrolmentRequired: boolean }>;
  /** The account disappears from the directory (deleted by its owner's IT). */
  remove(accountId: string): Promise<void>;
}

let h: Harness;
let receiver: WebhookReceiver;
const kc = new KeycloakAdminClient({ baseUrl: KC_URL, realm: KC_REALM, clientId: 'recovery-engine', clientSecret: KC_SECRET });

before(async () => {
  h = await startHarness();
  receiver = await startWebhookReceiver({ 'suite-key': WEBHOOK_SECRET });
});
after(async () => {
  await receiver?.close();
  await h?.close();
});

/** The current code of the suite MFA user's authenticator (RFC 6238: HMAC-SHA1, 6 digits, 30 s; the realm's test seed). */
function totpNow(seed = 'test-only-otp-seed-0001'): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = crypto.createHmac('sha1', Buffer.from(seed, 'utf8')).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function kcLogin(username: string, password: string): Promise<string | null> {
  const form: Record<string, string> = { grant_type: 'password', client_id: 'recovery-test-login', username, password, scope: 'openid' };
  if (username === 'kc-suite-mfa') form.totp = totpNow();
  const res = await fetch(`${KC_URL}/realms/${KC_REALM}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams(form) });
  const body = (await res.json()) as { session_state?: string; access_token?: string };
  return res.status === 200 ? (body.session_state ?? 'session') : null;
}
async function kcId(username: string): Promise<string> {
  const u = await kc.findUserByUsername(username);
  assert.ok(u, `${username} is in the test realm`);
  return u.id;
}

/** A tenant (mixed: SSO accounts go to customer IT) with its directory set over the API, and a designated break-glass account. */
async function tenantFor(kind: Kind, breakGlassAccount: string): Promise<string> {
  const tenantId = uniq(`t-${kind}`);
  const body = { id: tenantId, name: `Tenant ${tenantId}`, authMode: 'mixed', securityContacts: [`security@${tenantId}.test`], breakGlassAccount };
  assert.equal((await h.api('POST', '/v1/admin/tenants', { body })).status, 201);
  const directory =
    kind === 'webhook'
      ? { kind, baseUrl: receiver.url, keyId: 'suite-key', secret: WEBHOOK_SECRET }
      : kind === 'keycloak'
        ? { kind, baseUrl: KC_URL, realm: KC_REALM, clientId: 'recovery-engine', clientSecret: KC_SECRET }
        : { kind };
  const put = await h.api('PUT', `/v1/admin/tenants/${tenantId}/directory`, { body: directory });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.kind, kind);
  await setPolicy(h, tenantId, { approvalDeadlineSeconds: 60, rules: { mfa_reset: { standard: { waitSeconds: 2 } } } });
  return tenantId;
}

async function builtin(): Promise<Backend> {
  const bg = uniq('bg');
  const tenantId = await tenantFor('builtin', bg);
  const uuid = async (id: string) => (await findAccount(h.db, tenantId, id))!.id;
  return {
    kind: 'builtin',
    tenantId,
    knowledgeFactors: true,
    secrets: [OLD_PASSWORD],
    async account(o) {
      const externalId = o.suite === 'bg' ? bg : uniq(o.suite);
      await seedAccount(h, tenantId, { externalId, role: o.role, mfa: o.mfa, authMethod: o.sso ? 'sso' : 'local' });
      return { accountId: externalId, address: `${externalId}@${tenantId}.test`, password: o.sso ? null : OLD_PASSWORD };
    },
    async signIn(accountId, password) {
      const r = await h.api('POST', '/v1/directory/password-sessions', { key: null, body: { tenantId, accountId, password } });
      if (r.status !== 201) {
        const viaCredential = password.startsWith('bgc_')
          ? await h.api('POST', '/v1/directory/sessions', { key: null, body: { tenantId, accountId, credential: password } })
          : r;
        return viaCredential.status === 201 ? viaCredential.body.sessionId : null;
      }
      return r.body.sessionId as string;
    },
    liveSessions: async (accountId) => (await sessionsOf(h.db, await uuid(accountId))).filter((s) => s.revoked_at === null).length,
    async mfa(accountId) {
      const a = (await findAccount(h.db, tenantId, accountId))!;
      return { factors: (await activeFactorsOf(h.db, a.id)).length, enrolmentRequired: a.mfa_enrolment_required };
    },
    async remove(accountId) {
      await h.ownerDb
        .updateTable('accounts')
        .set({ external_id: `${accountId}-removed` })
        .where('tenant_id', '=', tenantId)
        .where('external_id', '=', accountId)
        .execute();
    },
  };
}

async function webhook(): Promise<Backend> {
  const bg = uniq('bg');
  const tenantId = await tenantFor('webhook', bg);
  const acct = (id: string) => receiver.accounts.get(id)!;
  return {
    kind: 'webhook',
    tenantId,
    knowledgeFactors: false,
    secrets: [OLD_PASSWORD, WEBHOOK_SECRET],
    async account(o) {
      const id = o.suite === 'bg' ? bg : uniq(o.suite);
      const address = `${id}@${tenantId}.test`;
      receiver.addAccount(id, {
        role: o.role,
        authMethod: o.sso ? 'sso' : 'local',
        addresses: [address],
        ...(o.sso ? {} : { passwordHash: crypto.createHash('sha256').update(OLD_PASSWORD).digest('hex') }),
        mfaFactors: o.mfa ? [{ id: 'totp-1' }] : [],
      });
      return { accountId: id, address, password: o.sso ? null : OLD_PASSWORD };
    },
    signIn: (id, password) => Promise.resolve(receiver.signIn(id, password)),
    liveSessions: (id) => Promise.resolve(acct(id).sessions.length),
    mfa: (id) => Promise.resolve({ factors: acct(id).mfaFactors.length, enrolmentRequired: acct(id).enrolmentRequired }),
    async remove(id) {
      receiver.accounts.delete(id);
    },
  };
}

/** Keycloak's suite users are in the test realm (deploy/keycloak): one per flow, each used once per run. */
async function keycloak(): Promise<Backend> {
  const tenantId = await tenantFor('keycloak', 'kc-suite-bg');
  return {
    kind: 'keycloak',
    tenantId,
    knowledgeFactors: false,
    secrets: [KC_SECRET, 'test-only-kc-suite-reset-pw1', 'test-only-kc-suite-mfa-pw1', 'test-only-kc-suite-bg-pw1'],
    async account(o) {
      const name = o.suite === 'sso' ? 'kc-suite-sso' : o.suite === 'gone' ? 'kc-suite-gone' : `kc-suite-${o.suite}`;
      return { accountId: name, address: `${name}@example.test`, password: o.sso ? null : `test-only-${name}-pw1` };
    },
    signIn: (id, password) => kcLogin(id, password),
    async liveSessions(id) {
      const s = await kc.sessions(await kcId(id));
      return s.online + s.offlineClients.length;
    },
    async mfa(id) {
      const uid = await kcId(id);
      const creds = await kc.credentials(uid);
      const user = await kc.getUser(uid);
      return { factors: creds.filter((c) => MFA_CREDENTIAL_TYPES.includes(c.type)).length, enrolmentRequired: user.requiredActions.includes('CONFIGURE_TOTP') };
    },
    async remove(id) {
      const token = await kc.accessToken();
      const res = await fetch(`${KC_URL}/admin/realms/${KC_REALM}/users/${await kcId(id)}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 204);
    },
  };
}

const state = async (key: string, id: string) => (await h.api('GET', `/v1/recoveries/${id}`, { key })).body;

/** An agent's recovery up to the verifications its directory allows: Tier 1 only where the directory holds knowledge factors. */
async function started(b: Backend, a: Account, kind: 'password_reset' | 'mfa_reset') {
  const agent = await seedPrincipal(h, ['agent'], [b.tenantId]);
  await seedLogin(h, (await seedIngestion(h, [b.tenantId])).key, b.tenantId, a.accountId);
  const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(b.tenantId, a.accountId, { kind }) });
  assert.equal(created.status, 202, created.text);
  const id = created.body.id as string;
  if (b.knowledgeFactors && kind === 'mfa_reset') {
    assert.equal((await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } })).body.passed, true);
  }
  const reasons = (await state(agent.key, id)).reasons as { code: string }[];
  assert.equal(
    reasons.some((r) => r.code === 'no_knowledge_factors'),
    !b.knowledgeFactors,
    JSON.stringify(reasons),
  );
  if (!b.knowledgeFactors) {
    const t1 = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 1, answers: KNOWLEDGE } });
    assert.equal(t1.status, 409, t1.text);
    assert.equal(t1.body.error.code, 'tier_not_available');
  }
  const t2 = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 2 } });
  assert.equal(t2.status, 200, t2.text);
  assert.equal(t2.body.passed, true, t2.text);
  return { agent, id };
}

/** What is left of the passwords staged for a recovery, in either form. */
async function stagedLeft(recoveryId: string) {
  const tokens = (await tokensOf(h.db, recoveryId, 'password_reset')).map((t) => t.id);
  assert.ok(tokens.length > 0);
  const rows = await h.ownerDb.selectFrom('staged_credentials').selectAll().where('token_id', 'in', tokens).execute();
  return rows.filter((r) => r.password_sealed !== null || r.password_key_id !== null || r.password_hash !== '');
}

async function noSecretIn(workflowId: string, secrets: string[]) {
  const text = await historyText(h, workflowId);
  for (const s of secrets) assert.ok(!text.includes(s), `a secret (${s.slice(0, 6)}...) is in the history of ${workflowId}`);
}

async function passwordReset(b: Backend) {
  const a = await b.account({ role: 'standard', suite: 'reset' });
  const before = await b.signIn(a.accountId, a.password!);
  assert.ok(before, 'the old password works before the reset');
  const { agent, id } = await started(b, a, 'password_reset');
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(a.address));
  assert.deepEqual(mail.to, [a.address], 'the link goes to the address the directory holds');
  const redeem = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(mail), tenantId: b.tenantId, newPassword: NEW_PASSWORD } });
  assert.equal(redeem.status, 200, redeem.text);
  await until('completed', async () => (await state(agent.key, id)).state === 'completed', 30_000);
  assert.equal(await b.liveSessions(a.accountId), 0, 'the session of before has ended');
  assert.ok(await b.signIn(a.accountId, NEW_PASSWORD), 'the new password works in the directory');
  assert.equal(await b.signIn(a.accountId, a.password!), null, 'the old one does not');
  await h.sink.waitFor((m) => m.subject.includes('password was changed') && m.to.includes(a.address));
  const row = await recoveryRow(h.db, id);
  await noSecretIn(row.workflow_id, [NEW_PASSWORD, ...b.secrets]);
  assert.deepEqual(await stagedLeft(id), [], 'no staged password is left once applied');
}

async function mfaReset(b: Backend) {
  const a = await b.account({ role: 'standard', mfa: true, suite: 'mfa' });
  assert.ok((await b.mfa(a.accountId)).factors >= 1);
  assert.ok(await b.signIn(a.accountId, a.password!), 'a session to end');
  assert.ok((await b.liveSessions(a.accountId)) >= 1);
  const { agent, id } = await started(b, a, 'mfa_reset');
  const t3 = await h.api('POST', `/v1/recoveries/${id}/verifications`, { key: agent.key, body: { tier: 3, channel: 'email' } });
  assert.equal(t3.status, 200, t3.text);
  const confirm = await h.sink.waitFor((m) => m.subject.startsWith('Confirm your') && m.to[0] === a.address);
  assert.equal((await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(confirm), tenantId: b.tenantId } })).status, 200);
  await until('awaiting approval', async () => (await state(agent.key, id)).state === 'awaiting_approval');
  const approver = await seedPrincipal(h, ['approver'], [b.tenantId]);
  const d = await h.api('POST', `/v1/recoveries/${id}/approvals`, { key: approver.key, body: { decision: 'approve', comment: 'called the owner back' } });
  assert.equal(d.status, 200, d.text);
  // The built-in directory waits for the enrolment link; a remote one enrols at its own next sign-in.
  await until('factors removed', async () => ['awaiting_completion', 'completed'].includes((await state(agent.key, id)).state), 30_000);
  const after = await b.mfa(a.accountId);
  assert.equal(after.factors, 0, 'every MFA factor is gone');
  assert.equal(after.enrolmentRequired, true, 'enrolment is required at the next sign-in');
  assert.equal(await b.liveSessions(a.accountId), 0, 'every session has ended');
  if (b.kind !== 'builtin') assert.equal((await state(agent.key, id)).state, 'completed');
  await noSecretIn((await recoveryRow(h.db, id)).workflow_id, b.secrets);
}

async function breakGlass(b: Backend) {
  const a = await b.account({ role: 'admin', suite: 'bg' });
  const requester = await seedPrincipal(h, ['agent'], [b.tenantId]);
  const approvers = [await seedPrincipal(h, ['break_glass_approver'], [b.tenantId]), await seedPrincipal(h, ['break_glass_approver'], [b.tenantId])];
  const reviewer = await seedPrincipal(h, ['reviewer'], [b.tenantId]);
  const body = {
    tenantId: b.tenantId,
    target: { designated: true },
    justification: 'prod locked after a failed migration',
    ticketRef: 'INC-7',
    durationSeconds: 8,
  };
  const r = await h.api('POST', '/v1/break-glass', { key: requester.key, body });
  assert.equal(r.status, 202, r.text);
  const id = r.body.id as string;
  const grant = async () => (await h.api('GET', `/v1/break-glass/${id}`, { key: requester.key })).body;
  await until('awaiting approval', async () => (await grant()).state === 'awaiting_approval');
  for (const p of approvers) {
    const d = await h.api('POST', `/v1/break-glass/${id}/approvals`, { key: p.key, body: { decision: 'approve', comment: 'incident on the bridge' } });
    assert.equal(d.status, 200, d.text);
  }
  await until('active', async () => (await grant()).state === 'active', 20_000);
  const fetched = await h.api('POST', `/v1/break-glass/${id}/credential`, { key: requester.key });
  assert.equal(fetched.status, 200, fetched.text);
  const credential = fetched.body.credential as string;
  assert.ok(await b.signIn(a.accountId, credential), 'the emergency credential signs in to the directory');
  await until('review', async () => (await grant()).state === 'awaiting_review', 30_000);
  assert.equal(await b.signIn(a.accountId, credential), null, 'the credential stops when the grant ends');
  assert.equal(await b.signIn(a.accountId, a.password!), null, "the account's own credential was rotated");
  assert.equal(await b.liveSessions(a.accountId), 0, 'every session opened with it has ended');
  assert.equal((await grant()).rotated, true);
  const review = await h.api('POST', `/v1/break-glass/${id}/review`, {
    key: reviewer.key,
    body: { outcome: 'appropriate', notes: 'matches the incident timeline' },
  });
  assert.equal(review.status, 200, review.text);
  await until('completed', async () => (await grant()).state === 'completed');
  await noSecretIn((await grantRow(h.db, id)).workflow_id, [credential, credential.split('.')[1], ...b.secrets]);
}

async function ssoRefused(b: Backend) {
  const a = await b.account({ role: 'standard', sso: true, suite: 'sso' });
  const agent = await seedPrincipal(h, ['agent'], [b.tenantId]);
  const created = await h.api('POST', '/v1/recoveries', { key: agent.key, body: recoveryBody(b.tenantId, a.accountId, {}) });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.body.status, 'refused');
  assert.equal(created.body.route, 'customer_it');
  assert.ok(
    created.body.reasons.some((r: { code: string }) => r.code === 'account_sso_managed'),
    JSON.stringify(created.body.reasons),
  );
}

/** The account is deleted between the link and its use: the recovery fails with the code, and no "changed" notice goes out. */
async function goneBeforeApply(b: Backend) {
  const a = await b.account({ role: 'standard', suite: 'gone' });
  const { agent, id } = await started(b, a, 'password_reset');
  const mail = await h.sink.waitFor((m) => m.subject.includes('Reset your') && m.to.includes(a.address));
  await b.remove(a.accountId);
  await h.api('POST', '/v1/links/redeem', { key: null, body: { token: tokenFrom(mail), tenantId: b.tenantId, newPassword: NEW_PASSWORD } });
  await until('failed', async () => (await state(agent.key, id)).state === 'failed', 30_000);
  const s = await state(agent.key, id);
  assert.ok(
    s.reasons.some((r: { code: string; detail: string }) => r.code === 'directory_refused' && r.detail.includes('account_not_found')),
    JSON.stringify(s.reasons),
  );
  assert.equal((await auditEvents(h.db, { caseId: id, action: 'recovery.directory_refused' })).length, 1);
  assert.deepEqual(await stagedLeft(id), [], 'a refused password is destroyed too');
  assert.ok(
    !h.sink.list().some((m) => m.subject.includes('password was changed') && m.to.includes(a.address)),
    'the owner is not told of a change that did not happen',
  );
}

for (const [kind, make] of [
  ['builtin', builtin],
  ['webhook', webhook],
  ['keycloak', keycloak],
] as const) {
  describe(`the ${kind} directory`, () => {
    let b: Backend;
    before(async () => {
      b = await make();
    });
    it('a password reset: the new password signs in to the directory, the old one does not, sessions end, no secret in history', () => passwordReset(b));
    it('an MFA reset: factors gone, enrolment required, every session ended', () => mfaReset(b));
    it('break-glass: the credential works for the grant only, then rotation and an independent review', () => breakGlass(b));
    it('an SSO-managed account is refused and routed to customer IT', () => ssoRefused(b));
    it('an account deleted before the change ends the recovery as failed with the reason, and nothing misleading is sent', () => goneBeforeApply(b));
  });
}
