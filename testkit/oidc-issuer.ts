// A local OIDC issuer for tests: a real HTTP server serving its JWKS, and a signer that mints
// access tokens, good ones and each kind of bad one (another issuer, audience or key, expired).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface TokenOptions {
  claims?: Record<string, unknown>;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative: already expired. */
  expiresIn?: number;
  /** Sign with a key the JWKS does not hold (under the served key's id). */
  foreignKey?: boolean;
}

export interface LocalIssuer {
  issuer: string;
  jwksUrl: string;
  mint(o?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

export async function startLocalIssuer(audience: string): Promise<LocalIssuer> {
  const kid = 'test-key-1';
  const served = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(served.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    async mint(o: TokenOptions = {}) {
      const key: CryptoKey = o.foreignKey ? foreign.privateKey : served.privateKey;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(o.claims ?? {})
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(o.issuer ?? issuer)
        .setAudience(o.audience ?? audience)
        .setIssuedAt(now - 60)
        .setExpirationTime(now + (o.expiresIn ?? 300))
        .sign(key);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
