// The remote directories behind the Directory port (domain/directory.ts): a customer's user store
// reached through the signed webhook contract, and Keycloak through its Admin REST API. A refusal
// that no retry can change becomes DirectoryRefusedError with a code; anything else is thrown as
// is and retried with the same idempotency key. Neither holds knowledge factors, and both enrol a
// new factor at the directory's own next sign-in.
import crypto from 'node:crypto';
import { DirectoryRefusedError, type AccountRef, type Directory, type DirectoryAccount } from '../domain/directory';
import { ACCOUNT_ROLES, type AccountRole } from '../domain/types';
import { KeycloakAdminClient, KeycloakError, type KeycloakConfig } from './keycloak';
import { WebhookDirectoryError, type WebhookDirectoryClient } from './webhook-directory';

/** Called with every account a remote lookup finds (the engine mirrors it for its own records). */
export type OnLookup = (ref: AccountRef, account: DirectoryAccount) => Promise<void>;

const NO_KNOWLEDGE = { passed: false, factorsChecked: 0, missing: ['knowledge factors (this directory holds none)'] };

/** A password nobody knows: what a rotation leaves behind. */
const unknowable = () => crypto.randomBytes(32).toString('base64url');

function plaintextOf(password: Parameters<Directory['setPassword']>[1]): string {
  if (!('plaintext' in password)) throw new DirectoryRefusedError('password_form', 'a remote directory takes the password itself, not a hash');
  return password.plaintext;
}

const WEBHOOK_REFUSALS: Record<string, string> = {
  not_found: 'account_not_found',
  forbidden: 'directory_forbidden',
  unauthorized: 'directory_auth_failed',
  bad_request: 'directory_bad_request',
  bad_response: 'directory_bad_response',
};

async function webhookCall<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof WebhookDirectoryError && !err.retryable) {
      throw new DirectoryRefusedError(err.kind === 'refused' ? err.reason : (WEBHOOK_REFUSALS[err.kind] ?? `directory_${err.kind}`), err.message);
    }
    throw err;
  }
}

/** A customer's user store behind the signed webhook contract (infra/webhook-contract.ts). */
export function webhookDirectory(client: WebhookDirectoryClient, onLookup: OnLookup): Directory {
  const key = (idempotencyKey: string) => ({ idempotencyKey });
  return {
    kind: 'webhook',
    passwordForm: 'plaintext',
    knowledgeFactors: false,
    enrolment: 'directory',
    async lookup(ref) {
      const a = await webhookCall(client.lookup(ref.accountId));
      if (!a) return null;
      const account = { role: a.role, authMethod: a.authMethod, active: a.active };
      await onLookup(ref, account);
      return account;
    },
    addresses: (ref) => webhookCall(client.addresses(ref.accountId)),
    checkKnowledge: () => Promise.resolve({ ...NO_KNOWLEDGE }),
    setPassword: (ref, password, c) => webhookCall(client.setPassword(ref.accountId, plaintextOf(password), c.by, key(c.idempotencyKey))),
    removeMfaFactors: async (ref, c) => ({ removed: (await webhookCall(client.resetMfa(ref.accountId, { by: c.by }, key(c.idempotencyKey)))).removed }),
    revokeSessions: (ref, c) => webhookCall(client.revokeSessions(ref.accountId, { reason: c.reason }, key(c.idempotencyKey))),
    setActive: (ref, active, c) => webhookCall((active ? client.enable : client.disable)(ref.accountId, { reason: c.reason, by: c.by }, key(c.idempotencyKey))),
    async grantAccess(ref, g, c) {
      const body = { grantId: g.grantId, credential: g.credential, expiresAt: g.expiresAt.toISOString(), by: c.by };
      await webhookCall(client.grantAccess(ref.accountId, body, key(c.idempotencyKey)));
    },
    endAccess: (ref, grantId, c) => webhookCall(client.endAccess(ref.accountId, { grantId, reason: c.reason, by: c.by }, key(c.idempotencyKey))),
    rotateCredential: (ref, c) => webhookCall(client.rotateCredential(ref.accountId, c.by, key(c.idempotencyKey))),
  };
}

const KEYCLOAK_REFUSALS: Partial<Record<KeycloakError['kind'], string>> = {
  not_found: 'account_not_found',
  forbidden: 'directory_forbidden',
  auth_failed: 'directory_auth_failed',
  wrong_realm: 'directory_wrong_realm',
  wrong_url: 'directory_wrong_url',
  tls: 'directory_tls',
  rejected: 'directory_rejected',
};

async function keycloakCall<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof KeycloakError && !err.retryable) throw new DirectoryRefusedError(KEYCLOAK_REFUSALS[err.kind] ?? `directory_${err.kind}`, err.message);
    throw err;
  }
}

/** The user attribute that names an account's role for policy; missing or unknown reads as `admin` (the stricter row). */
export const KEYCLOAK_ROLE_ATTRIBUTE = 'recovery_role';

function roleOf(attributes: Record<string, string[]>): AccountRole {
  const v = attributes[KEYCLOAK_ROLE_ATTRIBUTE]?.[0];
  return (ACCOUNT_ROLES as readonly string[]).includes(v ?? '') ? (v as AccountRole) : 'admin';
}

/**
 * A Keycloak realm: the engine's account id is the Keycloak username. An IdP-linked or federated
 * user is SSO-managed: triage routes it to customer IT, and no password is ever set on it except
 * an emergency credential for the life of an SSO-bypass grant.
 */
export function keycloakDirectory(cfg: KeycloakConfig, onLookup: OnLookup): Directory {
  const kc = new KeycloakAdminClient(cfg);
  async function userId(ref: AccountRef): Promise<string> {
    const u = await kc.findUserByUsername(ref.accountId);
    if (!u) throw new DirectoryRefusedError('account_not_found', 'no such user in the Keycloak realm');
    return u.id;
  }
  async function local(id: string): Promise<string> {
    if ((await kc.ssoLinks(id)).ssoManaged) throw new DirectoryRefusedError('sso_managed', 'the user signs in through an identity provider or a federation');
    return id;
  }
  async function loggedOut(id: string): Promise<number> {
    const { online, offlineClients } = await kc.sessions(id);
    await kc.logoutAll(id);
    return online + offlineClients.length;
  }
  return {
    kind: 'keycloak',
    passwordForm: 'plaintext',
    knowledgeFactors: false,
    enrolment: 'directory',
    lookup: (ref) =>
      keycloakCall(
        (async () => {
          const found = await kc.findUserByUsername(ref.accountId);
          if (!found) return null;
          const u = await kc.getUser(found.id);
          const sso = (await kc.ssoLinks(u.id)).ssoManaged;
          const account: DirectoryAccount = { role: roleOf(u.attributes), authMethod: sso ? 'sso' : 'local', active: u.enabled };
          await onLookup(ref, account);
          return account;
        })(),
      ),
    addresses: (ref) =>
      keycloakCall(
        (async () => {
          const found = await kc.findUserByUsername(ref.accountId);
          if (!found) return [];
          const u = await kc.getUser(found.id);
          return u.email && u.emailVerified ? [u.email] : [];
        })(),
      ),
    checkKnowledge: () => Promise.resolve({ ...NO_KNOWLEDGE }),
    setPassword: (ref, password, _c) =>
      keycloakCall(
        userId(ref)
          .then(local)
          .then((id) => kc.resetPassword(id, plaintextOf(password))),
      ),
    removeMfaFactors: (ref) => keycloakCall(userId(ref).then(async (id) => ({ removed: (await kc.resetMfa(id)).length }))),
    revokeSessions: (ref) => keycloakCall(userId(ref).then(async (id) => ({ revoked: await loggedOut(id) }))),
    setActive: (ref, active) =>
      keycloakCall(
        userId(ref).then(async (id) => {
          await kc.setEnabled(id, active);
          if (!active) await kc.logoutAll(id);
          return { active };
        }),
      ),
    // Keycloak has no expiring password: the engine sets the credential now and takes it away when
    // the grant ends (at TTL, by a durable timer), whatever happens to the requester.
    grantAccess: (ref, g) => keycloakCall(userId(ref).then((id) => kc.resetPassword(id, g.credential))),
    endAccess: (ref) =>
      keycloakCall(
        userId(ref).then(async (id) => {
          if ((await kc.ssoLinks(id)).ssoManaged) await kc.removePasswords(id);
          else await kc.resetPassword(id, unknowable());
          return { revoked: await loggedOut(id) };
        }),
      ),
    rotateCredential: (ref) =>
      keycloakCall(
        userId(ref).then(async (id) => {
          if ((await kc.ssoLinks(id)).ssoManaged) {
            const removed = await kc.removePasswords(id);
            return {
              rotated: false,
              note: removed ? 'SSO-managed: the emergency password was removed; none was created' : 'SSO-managed: no local credential; none was created',
            };
          }
          await kc.resetPassword(id, unknowable());
          return { rotated: true, note: 'the Keycloak password was replaced by a random one' };
        }),
      ),
  };
}
