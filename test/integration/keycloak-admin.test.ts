// The Keycloak Admin REST client (infra/keycloak.ts) against a real Keycloak started by the test
// runner with deploy/keycloak/recovery-test-realm.json: user lookup, password and MFA resets,
// logout of every session, disable/enable, SSO-managed users, and the typed errors of bad config.
// Each effect is checked in Keycloak itself, mostly through logins at its token endpoint.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { freePort } from '../../boot/ports';
import { KeycloakAdminClient, KeycloakError, type KeycloakConfig, type KeycloakErrorKind } from '../../infra/keycloak';

const REALM = 'recovery-test';
const ENGINE_SECRET = 'test-only-recovery-engine-secret';
const url = process.env.KEYCLOAK_URL ?? '';
const cfg = (o: Partial<KeycloakConfig> = {}): KeycloakConfig => ({
  baseUrl: url,
  realm: REALM,
  clientId: 'recovery-engine',
  clientSecret: ENGINE_SECRET,
  ...o,
});
const kc = new KeycloakAdminClient(cfg());

/** A direct-grant login through the test client: the token endpoint's status and tokens. */
async function login(username: string, password: string, scope = 'openid'): Promise<{ status: number; error?: string; refresh?: string }> {
  const res = await fetch(`${url}/realms/${REALM}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'recovery-test-login', username, password, scope }),
  });
  const body = (await res.json()) as { error?: string; refresh_token?: string };
  return { status: res.status, error: body.error, refresh: body.refresh_token };
}

async function refresh(token: string): Promise<number> {
  const res = await fetch(`${url}/realms/${REALM}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'recovery-test-login', refresh_token: token }),
  });
  await res.body?.cancel();
  return res.status;
}

async function userId(username: string): Promise<string> {
  const u = await kc.findUserByUsername(username);
  assert.ok(u, `${username} is in the test realm`);
  return u.id;
}

async function rejectsWith(p: Promise<unknown>, kind: KeycloakErrorKind): Promise<KeycloakError> {
  const err = await p.then(
    () => assert.fail(`expected a ${kind} KeycloakError`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof KeycloakError, String(err));
  assert.equal(err.kind, kind, err.message);
  return err;
}

const newPassword = () => `test-only-${crypto.randomBytes(12).toString('base64url')}`;

before(() => {
  assert.ok(url, 'KEYCLOAK_URL is set by scripts/test.ts for files named *keycloak*; run this file through npm test');
});

describe('Keycloak Admin REST client against a real Keycloak', () => {
  it('finds a user by username and by id, and says what is missing', async () => {
    const alice = await kc.findUserByUsername('kc-alice');
    assert.ok(alice);
    assert.equal(alice.username, 'kc-alice');
    assert.equal(alice.enabled, true);
    assert.deepEqual(await kc.getUser(alice.id), alice);
    assert.equal(await kc.findUserByUsername('kc-nobody'), null);
    // exact=true: a prefix of a username is not a match.
    assert.equal(await kc.findUserByUsername('kc-ali'), null);
    await rejectsWith(kc.getUser(crypto.randomUUID()), 'not_found');
  });

  it('caches the client-credentials token until shortly before it expires', async () => {
    assert.equal(await kc.accessToken(), await kc.accessToken());
  });

  it('resets a password: the new one logs in, the old one no longer does', async () => {
    const id = await userId('kc-alice');
    assert.equal((await login('kc-alice', 'test-only-kc-alice-pw1')).status, 200);
    const next = newPassword();
    await kc.resetPassword(id, next);
    assert.equal((await login('kc-alice', next)).status, 200, 'the new password works (not temporary: no required action)');
    const old = await login('kc-alice', 'test-only-kc-alice-pw1');
    assert.equal(old.status, 401);
    assert.equal(old.error, 'invalid_grant');
  });

  it('resets MFA: OTP and WebAuthn credentials are gone and CONFIGURE_TOTP is required', async () => {
    const id = await userId('kc-otto');
    assert.deepEqual((await kc.credentials(id)).map((c) => c.type).sort(), ['otp', 'password', 'webauthn']);
    assert.deepEqual((await kc.resetMfa(id)).sort(), ['otp', 'webauthn']);
    assert.deepEqual(
      (await kc.credentials(id)).map((c) => c.type),
      ['password'],
    );
    assert.deepEqual((await kc.getUser(id)).requiredActions, ['CONFIGURE_TOTP']);
    // Again: nothing left to delete, and the required action is not added twice.
    assert.deepEqual(await kc.resetMfa(id), []);
    assert.deepEqual((await kc.getUser(id)).requiredActions, ['CONFIGURE_TOTP']);
  });

  it('logs out every session: none is listed and no refresh token still works', async () => {
    const id = await userId('kc-sara');
    const a = await login('kc-sara', 'test-only-kc-sara-pw1');
    const b = await login('kc-sara', 'test-only-kc-sara-pw1');
    // An offline token outlives the login's session unless it is revoked too.
    const offline = await login('kc-sara', 'test-only-kc-sara-pw1', 'openid offline_access');
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(offline.status, 200, offline.error);
    assert.deepEqual(await kc.sessions(id), { online: 2, offlineClients: ['recovery-test-login'] });
    await kc.logoutAll(id);
    assert.deepEqual(await kc.sessions(id), { online: 0, offlineClients: [] });
    assert.equal(await refresh(a.refresh!), 400);
    assert.equal(await refresh(b.refresh!), 400);
    assert.equal(await refresh(offline.refresh!), 400, 'the offline token is revoked too');
  });

  it('disables a user (logins fail) and enables it again (logins work), keeping the profile', async () => {
    const id = await userId('kc-dana');
    await kc.setEnabled(id, false);
    assert.equal((await kc.getUser(id)).enabled, false);
    const refused = await login('kc-dana', 'test-only-kc-dana-pw1');
    assert.equal(refused.status, 400);
    assert.equal(refused.error, 'invalid_grant');
    await kc.setEnabled(id, true);
    assert.equal((await login('kc-dana', 'test-only-kc-dana-pw1')).status, 200);
    // The read-change-write update kept the rest of the user as it was.
    const raw = (await (
      await fetch(`${url}/admin/realms/${REALM}/users/${id}`, { headers: { authorization: `Bearer ${await kc.accessToken()}` } })
    ).json()) as Record<string, unknown>;
    assert.equal(raw.email, 'kc-dana@example.test');
    assert.equal(raw.firstName, 'Dana');
  });

  it('reports an identity-provider-linked or federated user as SSO-managed, a local one as not', async () => {
    assert.deepEqual(await kc.ssoLinks(await userId('kc-sso')), { identityProviders: ['corp-oidc'], federationLink: null, ssoManaged: true });
    assert.deepEqual(await kc.ssoLinks(await userId('kc-fed')), {
      identityProviders: [],
      federationLink: '5d1c7e0a-7b7e-4c1e-9d7e-0f0e0c0a0001',
      ssoManaged: true,
    });
    assert.deepEqual(await kc.ssoLinks(await userId('kc-dana')), { identityProviders: [], federationLink: null, ssoManaged: false });
  });
});

describe('Keycloak Admin REST client: bad configuration gives typed errors', () => {
  it('a wrong client secret is auth_failed, a config problem, not retryable, and the secret is not in the error', async () => {
    const secret = 'test-only-wrong-secret-value';
    const err = await rejectsWith(new KeycloakAdminClient(cfg({ clientSecret: secret })).findUserByUsername('kc-alice'), 'auth_failed');
    assert.equal(err.configProblem, true);
    assert.equal(err.retryable, false);
    assert.equal(err.code, 'unauthorized_client');
    assert.ok(!JSON.stringify({ m: err.message, e: err }).includes(secret));
  });

  it('a realm that does not exist is wrong_realm', async () => {
    const err = await rejectsWith(new KeycloakAdminClient(cfg({ realm: 'no-such-realm' })).accessToken(), 'wrong_realm');
    assert.equal(err.status, 404);
    assert.equal(err.configProblem, true);
  });

  it('a base URL that is not the Keycloak root is wrong_url', async () => {
    const err = await rejectsWith(new KeycloakAdminClient(cfg({ baseUrl: `${url}/auth` })).accessToken(), 'wrong_url');
    assert.equal(err.status, 404);
    assert.equal(err.configProblem, true);
  });

  it('a service account without realm-management roles is forbidden', async () => {
    const bare = new KeycloakAdminClient(cfg({ clientId: 'recovery-engine-no-roles', clientSecret: 'test-only-no-roles-secret' }));
    const err = await rejectsWith(bare.findUserByUsername('kc-alice'), 'forbidden');
    assert.equal(err.status, 403);
  });

  it('a closed port is network and retryable; TLS to a plain-HTTP port is tls', async () => {
    const closed = await rejectsWith(new KeycloakAdminClient(cfg({ baseUrl: `http://127.0.0.1:${await freePort()}` })).accessToken(), 'network');
    assert.equal(closed.code, 'ECONNREFUSED');
    assert.equal(closed.retryable, true);
    const tls = await rejectsWith(new KeycloakAdminClient(cfg({ baseUrl: url.replace('http://', 'https://') })).accessToken(), 'tls');
    assert.equal(tls.retryable, false);
  });

  it('a server that never answers is timeout, after the configured time', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const t0 = Date.now();
      const err = await rejectsWith(new KeycloakAdminClient(cfg({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 300 })).accessToken(), 'timeout');
      assert.ok(Date.now() - t0 < 5000);
      assert.equal(err.retryable, true);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
