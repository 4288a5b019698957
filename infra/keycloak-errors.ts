// How a failed Keycloak call is classified: a typed error whose kind a health check or activity
// maps to 400/502 and retryable or not. Messages carry no secret, password or response body.

export type KeycloakErrorKind =
  /** The user (or another object) does not exist. */
  | 'not_found'
  /** The engine's client authenticated but lacks a realm-management role. */
  | 'forbidden'
  /** The client id or secret was refused, or the token was rejected. */
  | 'auth_failed'
  /** The realm does not exist on that server. */
  | 'wrong_realm'
  /** The base URL answers, but not as Keycloak does: a 404 of another server, or a redirect. */
  | 'wrong_url'
  /** DNS, connection refused or reset: the server could not be reached. */
  | 'network'
  /** The TLS handshake failed (untrusted or expired certificate, wrong host name). */
  | 'tls'
  | 'timeout'
  /** Keycloak refused the request as invalid (e.g. the password policy) or a conflict. */
  | 'rejected'
  /** 5xx, 429, or an answer that is not what the Admin API returns. */
  | 'server_error'
  /** Sessions were still listed after a logout of all of them. */
  | 'sessions_remain';

const RETRYABLE: ReadonlySet<KeycloakErrorKind> = new Set(['network', 'timeout', 'server_error', 'sessions_remain']);
/** Kinds that mean the connector's configuration is wrong (a 400 to whoever configured it). */
const CONFIG: ReadonlySet<KeycloakErrorKind> = new Set(['forbidden', 'auth_failed', 'wrong_realm', 'wrong_url', 'tls']);

export class KeycloakError extends Error {
  readonly retryable: boolean;
  readonly configProblem: boolean;
  constructor(
    readonly kind: KeycloakErrorKind,
    /** What was being done, e.g. 'reset password'; never a value the caller passed. */
    readonly operation: string,
    readonly status: number | null = null,
    /** Keycloak's OAuth or Admin error code (e.g. invalid_client), when it gave one. */
    readonly code: string | null = null,
  ) {
    super(`keycloak ${operation}: ${kind}${status ? ` (HTTP ${status}${code ? `, ${code}` : ''})` : code ? ` (${code})` : ''}`);
    this.name = 'KeycloakError';
    this.retryable = RETRYABLE.has(kind);
    this.configProblem = CONFIG.has(kind);
  }
}

const TLS_CODE = /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME)/;

/** A thrown fetch failure (no HTTP answer) as a KeycloakError. */
export function transportError(err: unknown, operation: string): KeycloakError {
  if (err instanceof KeycloakError) return err;
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string; cause?: { code?: string } } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || e?.cause?.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new KeycloakError('timeout', operation);
  }
  const code = e?.cause?.code ?? e?.cause?.cause?.code ?? e?.code ?? null;
  if (code && TLS_CODE.test(code)) return new KeycloakError('tls', operation, null, code);
  return new KeycloakError('network', operation, null, code);
}

/** Keycloak's error code from an error body ({error} on OAuth endpoints, {errorMessage} on admin). */
export function errorCode(body: unknown): string | null {
  const b = body as { error?: unknown; errorMessage?: unknown } | null;
  const c = typeof b?.error === 'string' ? b.error : typeof b?.errorMessage === 'string' ? b.errorMessage : null;
  // Only short identifiers: a free-text message could echo what the caller sent.
  return c && /^[A-Za-z0-9_. -]{1,60}$/.test(c) ? c : null;
}

/** An HTTP answer that is not a success, as a KeycloakError. */
export function statusError(status: number, body: unknown, operation: string, o: { tokenEndpoint?: boolean } = {}): KeycloakError {
  const code = errorCode(body);
  if (status >= 300 && status < 400) return new KeycloakError('wrong_url', operation, status, code);
  if (o.tokenEndpoint) {
    // Keycloak answers an unknown realm with 404 {"error":"Realm does not exist"}; any other 404
    // there means the URL is not a Keycloak root (e.g. a missing or extra /auth).
    if (status === 404) return new KeycloakError(code === 'Realm does not exist' ? 'wrong_realm' : 'wrong_url', operation, status, code);
    if (status === 400 || status === 401) {
      const auth = code === 'invalid_client' || code === 'unauthorized_client' || status === 401;
      return new KeycloakError(auth ? 'auth_failed' : 'rejected', operation, status, code);
    }
  }
  if (status === 401) return new KeycloakError('auth_failed', operation, status, code);
  if (status === 403) return new KeycloakError('forbidden', operation, status, code);
  if (status === 404) return new KeycloakError(code === 'Realm not found.' ? 'wrong_realm' : 'not_found', operation, status, code);
  if (status === 429 || status >= 500) return new KeycloakError('server_error', operation, status, code);
  return new KeycloakError('rejected', operation, status, code);
}
