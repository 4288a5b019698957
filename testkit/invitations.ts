// Onboarding through the API as an admin and an invitee do it: the invitation, its mailed link,
// the authenticator enrolled and confirmed, the password set. Codes come from the secret the
// engine showed, as an authenticator app computes them.
import assert from 'node:assert/strict';
import { totpCodeAt, TOTP_PERIOD_SECONDS } from '../infra/totp';
import type { Harness } from './engine';
import { tokenFrom } from './mail';
import { until } from './wait';

/** The code an app shows `steps` time steps from now. */
export const codeIn = (secret: string, steps = 0) => totpCodeAt(secret, Date.now() + steps * TOTP_PERIOD_SECONDS * 1000);

export const isInvitationTo = (address: string) => (m: { subject: string; to: string[] }) => m.subject.startsWith('You are invited') && m.to.includes(address);

/** POST /v1/invitations as the admin, and the link mailed to the account's primary address. */
export async function invite(h: Harness, tenantId: string, accountId: string, key = h.adminKey) {
  const r = await h.api('POST', '/v1/invitations', { key, body: { tenantId, accountId } });
  assert.equal(r.status, 202, r.text);
  const mail = await h.sink.waitFor(isInvitationTo(`${accountId}@${tenantId}.test`));
  return { id: r.body.id as string, token: tokenFrom(mail), mail };
}

/** The invitee's authenticator: enrolled through the link, its secret as shown once. */
export async function enrol(h: Harness, tenantId: string, token: string): Promise<string> {
  const r = await h.api('POST', '/v1/links/factor', { key: null, body: { token, tenantId, factor: { type: 'totp', label: 'phone' } } });
  assert.equal(r.status, 200, r.text);
  return r.body.totp.secret as string;
}

export const invitationState = async (h: Harness, id: string) => (await h.api('GET', `/v1/invitations/${id}`)).body.state as string;

/** A whole registration: invited, authenticator enrolled and confirmed, password set and applied. */
export async function register(h: Harness, tenantId: string, accountId: string, password: string) {
  const inv = await invite(h, tenantId, accountId);
  const secret = await enrol(h, tenantId, inv.token);
  const confirmed = await h.api('POST', '/v1/links/factor/confirm', { key: null, body: { token: inv.token, tenantId, code: codeIn(secret) } });
  assert.equal(confirmed.status, 200, confirmed.text);
  const set = await h.api('POST', '/v1/links/redeem', { key: null, body: { token: inv.token, tenantId, newPassword: password } });
  assert.equal(set.status, 200, set.text);
  await until('registered', async () => (await invitationState(h, inv.id)) === 'registered', 30_000);
  return { ...inv, secret };
}
