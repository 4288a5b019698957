// A small Keycloak Admin REST client for the recovery engine: a confidential client's token
// (client credentials, cached until shortly before expiry), user lookup, SSO links, password and
// MFA resets, logout of every session, disable/enable. Every call has a timeout; failures are
// KeycloakError (infra/keycloak-errors.ts). Nothing here logs; no secret enters an error.
import { KeycloakError, statusError, transportError } from './keycloak-errors';

export { KeycloakError, type KeycloakErrorKind } from './keycloak-errors';

export interface KeycloakConfig {
  /** The server's root, e.g. https://sso.example.com (no /realms/...). */
  baseUrl: string;
  realm: string;
  clientId: string;
  clientSecret: string;
  /** Per HTTP call; 10 s if not given. */
  timeoutMs?: number;
}

export interface KeycloakUser {
  id: string;
  username: string;
  enabled: boolean;
  /** Set when the user comes from a user federation provider (LDAP, Kerberos...). */
  federationLink: string | null;
  requiredActions: string[];
  email: string | null;
  emailVerified: boolean;
  /** User attributes (absent in brief representations). */
  attributes: Record<string, string[]>;
}

export interface SsoLinks {
  /** Aliases of the identity providers the user is linked to. */
  identityProviders: string[];
  federationLink: string | null;
  /** IdP-linked or federated: its password and MFA belong to the customer's IT, not to us. */
  ssoManaged: boolean;
}

export interface KeycloakCredential {
  id: string;
  type: string;
  userLabel: string | null;
}

/** Credential types that are a second factor: OTP and both WebAuthn kinds. */
export const MFA_CREDENTIAL_TYPES: readonly string[] = ['otp', 'webauthn', 'webauthn-passwordless'];

/** The token is renewed this long before Keycloak says it expires. */
const TOKEN_MARGIN_MS = 30_000;

type Json = Record<string, unknown>;

export class KeycloakAdminClient {
  private token: { value: string; until: number } | null = null;
  private readonly root: string;
  private readonly timeoutMs: number;

  constructor(private readonly cfg: KeycloakConfig) {
    this.root = cfg.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = cfg.timeoutMs ?? 10_000;
  }

  /** A bearer token for the Admin API, from the cache while it has more than the margin left. */
  async accessToken(): Promise<string> {
    if (this.token && Date.now() < this.token.until) return this.token.value;
    const url = `${this.root}/realms/${encodeURIComponent(this.cfg.realm)}/protocol/openid-connect/token`;
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.cfg.clientId, client_secret: this.cfg.clientSecret });
    const res = await this.send('get token', url, { method: 'POST', body });
    const json = await readJson(res, 'get token');
    if (!res.ok) throw statusError(res.status, json, 'get token', { tokenEndpoint: true });
    const value = json?.access_token;
    const expiresIn = Number(json?.expires_in);
    if (typeof value !== 'string' || !Number.isFinite(expiresIn)) throw new KeycloakError('server_error', 'get token', res.status);
    this.token = { value, until: Date.now() + Math.max(0, expiresIn * 1000 - TOKEN_MARGIN_MS) };
    return value;
  }

  async findUserByUsername(username: string): Promise<KeycloakUser | null> {
    const q = new URLSearchParams({ username, exact: 'true', briefRepresentation: 'true' });
    const list = await this.admin<Json[]>('find user', 'GET', `/users?${q.toString()}`);
    const hit = Array.isArray(list) ? list.find((u) => typeof u.username === 'string' && u.username.toLowerCase() === username.toLowerCase()) : undefined;
    return hit ? toUser(hit) : null;
  }

  async getUser(id: string): Promise<KeycloakUser> {
    return toUser(await this.admin<Json>('get user', 'GET', userPath(id)));
  }

  async ssoLinks(id: string): Promise<SsoLinks> {
    const user = await this.getUser(id);
    const links = await this.admin<Json[]>('read identity-provider links', 'GET', `${userPath(id)}/federated-identity`);
    const identityProviders = (Array.isArray(links) ? links : []).map((l) => String(l.identityProvider));
    return { identityProviders, federationLink: user.federationLink, ssoManaged: identityProviders.length > 0 || user.federationLink !== null };
  }

  /** Sets a permanent password (the user is not asked to change it at next login). */
  async resetPassword(id: string, password: string): Promise<void> {
    await this.admin('reset password', 'PUT', `${userPath(id)}/reset-password`, { type: 'password', value: password, temporary: false });
  }

  async credentials(id: string): Promise<KeycloakCredential[]> {
    const list = await this.admin<Json[]>('list credentials', 'GET', `${userPath(id)}/credentials`);
    return (Array.isArray(list) ? list : []).map((c) => ({
      id: String(c.id),
      type: String(c.type),
      userLabel: typeof c.userLabel === 'string' ? c.userLabel : null,
    }));
  }

  /**
   * Deletes every OTP and WebAuthn credential and adds CONFIGURE_TOTP, so the next login enrols a
   * new authenticator. Returns the types removed (one entry per credential).
   */
  async resetMfa(id: string): Promise<string[]> {
    const removed: string[] = [];
    for (const c of await this.credentials(id)) {
      if (!MFA_CREDENTIAL_TYPES.includes(c.type)) continue;
      await this.admin('delete credential', 'DELETE', `${userPath(id)}/credentials/${encodeURIComponent(c.id)}`);
      removed.push(c.type);
    }
    await this.updateUser(id, 'add required action', (u) => {
      const actions = Array.isArray(u.requiredActions) ? (u.requiredActions as string[]) : [];
      return { requiredActions: actions.includes('CONFIGURE_TOTP') ? actions : [...actions, 'CONFIGURE_TOTP'] };
    });
    return removed;
  }

  /**
   * The user's sessions: online ones, and the clients holding an offline token (Keycloak lists
   * those with the consents, as an "Offline Token" grant; an offline token outlives logins).
   */
  async sessions(id: string): Promise<{ online: number; offlineClients: string[] }> {
    const list = await this.admin<Json[]>('list sessions', 'GET', `${userPath(id)}/sessions`);
    const consents = await this.admin<Json[]>('list offline tokens', 'GET', `${userPath(id)}/consents`);
    const offlineClients = (Array.isArray(consents) ? consents : [])
      .filter((c) => Array.isArray(c.additionalGrants) && c.additionalGrants.length > 0)
      .map((c) => String(c.clientId));
    return { online: Array.isArray(list) ? list.length : 0, offlineClients };
  }

  /** Ends every session of the user and revokes offline tokens, then checks none is left. */
  async logoutAll(id: string): Promise<void> {
    await this.admin('log out sessions', 'POST', `${userPath(id)}/logout`);
    for (const client of (await this.sessions(id)).offlineClients) {
      await this.admin('revoke offline token', 'DELETE', `${userPath(id)}/consents/${encodeURIComponent(client)}`);
    }
    const left = await this.sessions(id);
    if (left.online > 0 || left.offlineClients.length > 0) throw new KeycloakError('sessions_remain', 'log out sessions');
  }

  /** Deletes every password credential: an SSO-managed user is left with no local password. */
  async removePasswords(id: string): Promise<number> {
    let n = 0;
    for (const c of await this.credentials(id)) {
      if (c.type !== 'password') continue;
      await this.admin('delete credential', 'DELETE', `${userPath(id)}/credentials/${encodeURIComponent(c.id)}`);
      n++;
    }
    return n;
  }

  async setEnabled(id: string, enabled: boolean): Promise<void> {
    await this.updateUser(id, enabled ? 'enable user' : 'disable user', () => ({ enabled }));
  }

  /** Read, change, write back: a partial PUT could reset attributes the user profile keeps. */
  private async updateUser(id: string, operation: string, change: (u: Json) => Json): Promise<void> {
    const current = await this.admin<Json>(operation, 'GET', userPath(id));
    await this.admin(operation, 'PUT', userPath(id), { ...current, ...change(current) });
  }

  /** One Admin API call; on a 401 the cached token is dropped and the call made once more. */
  private async admin<T = unknown>(operation: string, method: string, p: string, body?: unknown): Promise<T> {
    const url = `${this.root}/admin/realms/${encodeURIComponent(this.cfg.realm)}${p}`;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { authorization: `Bearer ${await this.accessToken()}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await this.send(operation, url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = await readJson(res, operation);
      if (res.ok) return json as T;
      if (res.status === 401 && attempt === 0) {
        this.token = null;
        continue;
      }
      throw statusError(res.status, json, operation);
    }
  }

  private async send(operation: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw transportError(err, operation);
    }
  }
}

const userPath = (id: string) => `/users/${encodeURIComponent(id)}`;

/** The body as JSON, null when empty; a success that is not JSON is a server error. */
async function readJson(res: Response, operation: string): Promise<Json | null> {
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw transportError(err, operation);
  }
  if (!text) return null;
  try {
    return JSON.parse(text) as Json;
  } catch {
    if (res.ok) throw new KeycloakError('server_error', operation, res.status);
    return null;
  }
}

function toUser(u: Json): KeycloakUser {
  if (typeof u?.id !== 'string' || typeof u.username !== 'string') throw new KeycloakError('server_error', 'read user');
  return {
    id: u.id,
    username: u.username,
    enabled: u.enabled === true,
    federationLink: typeof u.federationLink === 'string' && u.federationLink ? u.federationLink : null,
    requiredActions: Array.isArray(u.requiredActions) ? u.requiredActions.map(String) : [],
    email: typeof u.email === 'string' && u.email ? u.email : null,
    emailVerified: u.emailVerified === true,
    attributes: attributesOf(u.attributes),
  };
}

function attributesOf(a: unknown): Record<string, string[]> {
  if (!a || typeof a !== 'object' || Array.isArray(a)) return {};
  return Object.fromEntries(Object.entries(a as Json).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : [String(v)]]));
}
