// TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, what authenticator apps expect) through the
// otpauth library. Secrets are sealed at rest under the knowledge key; a code is checked against
// the current step and one either side (clock drift), and the step it matched is returned so the
// caller can refuse a code that was already used (store/mfa-factors.ts acceptTotpStep).
import { Secret, TOTP } from 'otpauth';
import { openSecret, sealSecret } from './secrets';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps either side of now a code may come from. */
export const TOTP_WINDOW = 1;

const SEAL_PURPOSE = 'mfa-factor';

const totpOf = (secret: string, issuer?: string, label?: string) =>
  new TOTP({ issuer, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secret) });

/** A new shared secret: 160 random bits (RFC 4226's recommendation), base32 as apps expect. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app scans; shown once, with the secret, never stored. */
export function otpauthUri(secret: string, issuer: string, label: string): string {
  return totpOf(secret, issuer, label).toString();
}

/** The time step a code belongs to, if it is valid within the window around `nowMs`; else null. */
export function matchingStep(secret: string, code: string, nowMs: number): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const delta = totpOf(secret).validate({ token: code, timestamp: nowMs, window: TOTP_WINDOW });
  if (delta === null) return null;
  return TOTP.counter({ period: TOTP_PERIOD_SECONDS, timestamp: nowMs }) + delta;
}

/** The code of the step holding `ms` (tests and the dev tools; the engine itself only checks codes). */
export function totpCodeAt(secret: string, ms: number): string {
  return totpOf(secret).generate({ timestamp: ms });
}

export const sealTotpSecret = (key: Buffer, secret: string) => sealSecret(key, SEAL_PURPOSE, secret);
export const openTotpSecret = (key: Buffer, sealed: string) => openSecret(key, SEAL_PURPOSE, sealed);
