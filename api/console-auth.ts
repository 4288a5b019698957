// Who calls the codec endpoint: an API key (the CLI's --codec-auth), the session cookie /signin
// sets (the Temporal Web UI with "Include cross-origin credentials"), or an OIDC access token (the
// UI's "Pass the user access token"), verified against the configured issuer's JWKS with jose.
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../infra/config';
import { apiKeyHash } from '../infra/secrets';
import { liveSessionByHash } from '../store/console-sessions';
import { principalById } from '../store/principals';
import type { PrincipalRole } from '../domain/types';
import type { Db } from '../store/db';
import { principalOf, type Auth, type Principal } from './auth';
import { ApiError } from './errors';

/** The session cookie's name: with the __Host- prefix (Secure, whole host, no Domain) where the engine is served over https. */
export const sessionCookieName = (config: Pick<Config, 'publicBaseUrl'>) =>
  config.publicBaseUrl.startsWith('https:') ? '__Host-recovery_session' : 'recovery_session';

/** A new cookie value (256 random bits) and the SHA-256 the database keeps. */
export function newSessionToken(): { value: string; hash: string } {
  const value = `cs_${crypto.randomBytes(32).toString('base64url')}`;
  return { value, hash: apiKeyHash(value) };
}

export function readCookie(req: FastifyRequest, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      const v = part.slice(i + 1).trim();
      return /^cs_[A-Za-z0-9_-]{43}$/.test(v) ? v : null;
    }
  }
  return null;
}

/** HttpOnly, SameSite=Lax, Secure where the engine is https, bounded by Max-Age (0: clears it). */
export function setSessionCookie(reply: FastifyReply, config: Pick<Config, 'publicBaseUrl'>, value: string, maxAgeSeconds: number): void {
  const secure = config.publicBaseUrl.startsWith('https:') ? '; Secure' : '';
  void reply.header('set-cookie', `${sessionCookieName(config)}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure}`);
}

/** The principal of a live session cookie, with the session's id and end; null without one. */
export async function sessionOf(db: Db, config: Pick<Config, 'publicBaseUrl'>, req: FastifyRequest) {
  const value = readCookie(req, sessionCookieName(config));
  if (!value) return null;
  const row = await liveSessionByHash(db, apiKeyHash(value));
  return row ? { sessionId: row.session_id, expiresAt: row.expires_at, principal: principalOf(row) } : null;
}

const JWT = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

/** Verifies OIDC access tokens: signature (the issuer's JWKS), issuer, audience, expiry; then the principal claim. */
function oidcVerifier(db: Db, oidc: NonNullable<Config['codecOidc']>) {
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(oidc.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  return async (token: string): Promise<Principal> => {
    const refused = (why: string) =>
      new ApiError(
        401,
        'unauthenticated',
        `authorization: the access token is not accepted (${why})`,
        { field: 'authorization' },
        { 'www-authenticate': 'Bearer' },
      );
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, { issuer: oidc.issuer, audience: oidc.audience, requiredClaims: ['exp'], clockTolerance: 30 }));
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
      throw refused(code.replace(/^ERR_/, '').toLowerCase());
    }
    const id = claims[oidc.principalClaim];
    if (typeof id !== 'string') throw refused(`no ${oidc.principalClaim} claim`);
    const row = await principalById(db, id);
    if (!row || row.disabled_at) throw refused(`no enabled principal ${oidc.principalClaim}`);
    return principalOf(row);
  };
}

const DECODERS: readonly PrincipalRole[] = ['auditor', 'admin'];
export const mayDecode = (p: Pick<Principal, 'roles'>) => p.roles.some((r) => DECODERS.includes(r));

/**
 * Authenticates a codec request: a bearer JWT (when OIDC is configured) or API key, else the
 * session cookie. A cookie request from a browser must come from a configured UI origin or the
 * engine's own: the cookie is SameSite=Lax, so another site's page cannot send it, but another
 * origin of this site could.
 */
export function codecAuthenticator(db: Db, config: Config, auth: Auth) {
  const verifyJwt = config.codecOidc ? oidcVerifier(db, config.codecOidc) : null;
  const allowedOrigins = new Set([...config.codecCorsOrigins, new URL(config.publicBaseUrl).origin]);
  return async (req: FastifyRequest): Promise<{ principal: Principal; via: 'api_key' | 'oidc' | 'cookie' }> => {
    const header = req.headers.authorization;
    if (header) {
      const jwt = verifyJwt && JWT.exec(header);
      if (jwt && verifyJwt) {
        req.principal = await verifyJwt(jwt[1]);
        return { principal: req.principal, via: 'oidc' };
      }
      return { principal: await auth.authenticate(req), via: 'api_key' };
    }
    const session = await sessionOf(db, config, req);
    if (!session)
      throw new ApiError(
        401,
        'unauthenticated',
        'authorization: send "Bearer <api key>" or an OIDC access token, or sign in at /signin for a session cookie',
        { field: 'authorization' },
        { 'www-authenticate': 'Bearer' },
      );
    const origin = req.headers.origin;
    if (origin && !allowedOrigins.has(origin)) throw new ApiError(403, 'origin_not_allowed', 'origin: this origin may not use the session cookie here');
    req.principal = session.principal;
    return { principal: session.principal, via: 'cookie' };
  };
}
