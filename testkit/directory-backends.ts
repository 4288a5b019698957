// The identity systems a tenant can choose, as the directory suites see them: each answers, through
// the directory's own sign-in and state, whether a recovery or grant really took effect. The
// built-in directory, the reference webhook receiver and the run's Keycloak (KEYCLOAK_URL, the
// test realm of deploy/keycloak/) all implement one Backend; the suites run the same flows on each.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { KeycloakAdminClient, MFA_CREDENTIAL_TYPES } from '../infra/keycloak';
import { findAccount } from '../store/directory';
import type { Harness } from './engine';
import { activeFactorsOf, sessionsOf, tokensOf } from './inspect';
import { historyText } from './history';
import { KNOWLEDGE, OLD_PASSWORD, recoveryBody, seedAccount, seedIngestion, seedLogin, seedPrincipal, setPolicy, uniq } from './seed';
import type { WebhookReceiver } from './webhook-receiver';

export const KC_URL = process.env.KEYCLOAK_URL ?? '';
export const KC_REALM = 'recovery-test';
export const KC_SECRET = 'test-only-recovery-engine-secret';
export const WEBHOOK_SECRET = `test-only-webhook-${crypto.randomBytes(16).toString('hex')}`;
export const NEW_PASSWORD = 'harbour-finch-sketches-71-tides';

export type Kind = 'builtin' | 'webhook' | 'keycloak';
export interface Account {
  accountId: string;
  address: string;
  password: string | null;
}
type Role = 'standard' | 'admin';

/** What the suite needs from a directory, each answered by the directory itself. */
export interface Backend {
  kind: Kind;
  tenantId: string;
  knowledgeFactors: boolean;
  /** Secrets that must never appear in a history, besides the ones a test makes. */
  secrets: string[];
  account(o: { role: Role; mfa?: boolean; sso?: boolean; suite: 'reset' | 'mfa' | 'bg' | 'sso' | 'gone' | 'life' }): Promise<Account>;
  /** The directory's own sign-in: a session, or null when refused. */
  signIn(accountId: string, password: string): Promise<string | null>;
  liveSessions(accountId: string): Promise<number>;
  mfa(accountId: string): Promise<{ factors: number; enrolmentRequired: boolean }>;
  /** The account disappears from the directory (deleted by its owner's IT). */
  remove(accountId: string): Promise<void>;
}

export const kc = new KeycloakAdminClient({ baseUrl: KC_URL, realm: KC_REALM, clientId: 'recovery-engine', clientSecret: KC_SECRET });

/** The current code of the suite MFA user's authenticator (RFC 6238: HMAC-SHA1, 6 digits, 30 s; the realm's test seed). */
function totpNow(seed = 'test-only-otp-seed-0001'): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = crypto.createHmac('sha1', Buffer.from(seed, 'utf8')).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

export async function kcLogin(username: string, password: string): Promise<string | null> {
  const form: Record<string, string> = { grant_type: 'password', client_id: 'recovery-test-login', username, password, scope: 'openid' };
  if (username === 'kc-suite-mfa') form.totp = totpNow();
  const res = await fetch(`${KC_URL}/realms/${KC_REALM}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams(form) });
  const body = (await res.json()) as { session_state?: string; access_token?: string };
  return res.status === 200 ? (body.session_state ?? 'session') : null;
}
/** The backends and the flow helpers, bound to one engine and one reference receiver. */
export function directoryBackends(h: Harness, receiver: WebhookReceiver) {
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
        const name = `kc-suite-${o.suite}`;
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
        return {
          factors: creds.filter((c) => MFA_CREDENTIAL_TYPES.includes(c.type)).length,
          enrolmentRequired: user.requiredActions.includes('CONFIGURE_TOTP'),
        };
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

  return { builtin, webhook, keycloak, state, started, stagedLeft, noSecretIn };
}
