// The live check a directory configuration must pass before it is saved: a signed lookup of an
// account that does not exist (webhook) or a token and a user search (Keycloak). A configuration
// problem is a 400 naming the field and what failed; an unreachable or failing server is a 502.
// The health endpoint and the periodic check (directory-status.ts) run the same checks on saved
// settings and read the error's code instead.
// Errors carry the failure's kind and code only, never the secret or the server's free text.
import crypto from 'node:crypto';
import { KeycloakAdminClient, KeycloakError, type KeycloakErrorKind } from '../infra/keycloak';
import { webhookDirectoryClient, WebhookDirectoryError, type WebhookErrorKind } from '../infra/webhook-directory';
import { ApiError } from './errors';

/** Short: an admin waits for it; a directory slower than this would fail recoveries too. */
const CHECK_TIMEOUT_MS = 5_000;

const bad = (code: string, field: string, what: string) => new ApiError(400, code, `${field}: ${what}`, { field });
const unreachable = (what: string) => new ApiError(502, 'directory_unreachable', what, { field: 'baseUrl' });

/** A user name no directory holds, so the check reads nothing real and changes nothing. */
const probeId = () => `recovery-engine-health-${crypto.randomBytes(6).toString('hex')}`;

const WEBHOOK_CONFIG: Partial<Record<WebhookErrorKind, [code: string, field: string, what: string]>> = {
  unauthorized: ['directory_auth_failed', 'secret', 'the receiver refused the signature (wrong secret or key id)'],
  forbidden: ['directory_forbidden', 'keyId', 'the receiver refused this key (403)'],
  bad_request: ['directory_wrong_url', 'baseUrl', 'the URL does not answer as the webhook contract says'],
  bad_response: ['directory_wrong_url', 'baseUrl', 'the answer does not match the webhook contract'],
  refused: ['directory_wrong_url', 'baseUrl', 'the URL does not answer as the webhook contract says'],
};

export async function checkWebhook(c: { baseUrl: string; keyId: string; secret: string }, production: boolean, timeoutMs = CHECK_TIMEOUT_MS): Promise<void> {
  let client;
  try {
    client = webhookDirectoryClient({ baseUrl: c.baseUrl, key: { id: c.keyId, secret: c.secret }, production, timeoutMs });
  } catch (err) {
    throw bad('directory_bad_url', 'baseUrl', (err as Error).message);
  }
  try {
    await client.lookup(probeId());
  } catch (err) {
    if (!(err instanceof WebhookDirectoryError)) throw err;
    const config = WEBHOOK_CONFIG[err.kind];
    if (config) throw bad(config[0], config[1], `${config[2]} (${err.reason})`);
    throw unreachable(`baseUrl: the directory webhook did not answer the health check: ${err.kind} (${err.reason})`);
  }
}

const KEYCLOAK_CONFIG: Partial<Record<KeycloakErrorKind, [code: string, field: string, what: string]>> = {
  auth_failed: ['directory_auth_failed', 'clientSecret', 'Keycloak refused the client id or secret'],
  wrong_realm: ['directory_wrong_realm', 'realm', 'no such realm on that server'],
  wrong_url: ['directory_wrong_url', 'baseUrl', 'the URL does not answer as a Keycloak root does (no /realms/... nor /auth)'],
  forbidden: ['directory_forbidden', 'clientId', 'the client lacks the realm-management roles (view-users, manage-users)'],
  tls: ['directory_tls', 'baseUrl', 'the TLS handshake failed'],
  rejected: ['directory_auth_failed', 'clientId', 'Keycloak refused the client credentials grant for this client'],
};

export async function checkKeycloak(
  c: { baseUrl: string; realm: string; clientId: string; clientSecret: string },
  production: boolean,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<void> {
  // The client secret and, later, new passwords travel on this connection.
  if (production && new URL(c.baseUrl).protocol !== 'https:') throw bad('directory_bad_url', 'baseUrl', 'Keycloak must be reached over https in production');
  const client = new KeycloakAdminClient({ ...c, timeoutMs });
  try {
    await client.accessToken();
    // Needs view-users: proves the client may do what recoveries need, not just sign in.
    await client.findUserByUsername(probeId());
  } catch (err) {
    if (!(err instanceof KeycloakError)) throw err;
    const config = KEYCLOAK_CONFIG[err.kind];
    const detail = err.code ? `${err.kind}, ${err.code}` : err.kind;
    if (config) throw bad(config[0], config[1], `${config[2]} (${detail})`);
    throw unreachable(`baseUrl: Keycloak did not answer the health check: ${detail}${err.status ? ` (HTTP ${err.status})` : ''}`);
  }
}
