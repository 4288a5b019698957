// Test data through the real admin API, as an operator would create it.
import assert from 'node:assert/strict';
import { decodePayloadsInPlace, EncryptionCodec } from '../../infra/codec';
import type { Harness } from './harness';
import { uniq } from './harness';

export const OLD_PASSWORD = 'previous-passphrase-77';
export const KNOWLEDGE = { card_last4: '4242', postcode: 'SW1A 1AA' };

export async function seedTenant(h: Harness, authMode: 'local' | 'mixed' | 'sso_enforced', id = uniq('t')) {
  const r = await h.api('POST', '/v1/admin/tenants', { body: { id, name: `Tenant ${id}`, authMode, securityContacts: [`security@${id}.test`] } });
  assert.equal(r.status, 201, r.text);
  return id;
}

export async function seedAccount(
  h: Harness,
  tenantId: string,
  o: { externalId?: string; role?: string; authMethod?: 'local' | 'sso'; emails?: string[]; mfa?: boolean; password?: string | null } = {},
) {
  const externalId = o.externalId ?? uniq('u');
  const r = await h.api('POST', `/v1/admin/tenants/${tenantId}/accounts`, {
    body: {
      accounts: [
        {
          externalId,
          role: o.role ?? 'standard',
          authMethod: o.authMethod ?? 'local',
          emails: o.emails ?? [`${externalId}@${tenantId}.test`, `${externalId}.home@example.test`],
          knowledge: KNOWLEDGE,
          ...(o.password === null ? {} : { password: o.password ?? OLD_PASSWORD }),
          ...(o.mfa ? { mfaFactors: [{ type: 'totp', label: 'old phone' }] } : {}),
        },
      ],
    },
  });
  assert.equal(r.status, 200, r.text);
  return externalId;
}

export async function seedPrincipal(h: Harness, roles: string[], tenantScope: string[], account?: { tenantId: string; accountId: string }) {
  const name = uniq('p');
  const email = `${name}@staff.test`;
  const r = await h.api('POST', '/v1/admin/principals', { body: { name, roles, tenantScope, email, ...(account ? { account } : {}) } });
  assert.equal(r.status, 201, r.text);
  return { id: r.body.id as string, key: r.body.apiKey as string, email };
}

/** A local tenant, a standard account with a login history, and an agent scoped to the tenant. */
export async function seedLocalAccount(h: Harness) {
  const tenantId = await seedTenant(h, 'local');
  const accountId = await seedAccount(h, tenantId);
  const agent = await seedPrincipal(h, ['agent'], [tenantId]);
  await seedLogin(h, agent.key, tenantId, accountId);
  return { tenantId, accountId, agent };
}

export async function setPolicy(h: Harness, tenantId: string, override: Record<string, unknown>) {
  const r = await h.api('PUT', `/v1/admin/tenants/${tenantId}/policy`, { body: override });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

export const CONTEXT = { ip: '203.0.113.7', deviceId: 'laptop-1', geo: { country: 'GB', asn: 64500 } };

export async function seedLogin(h: Harness, agentKey: string, tenantId: string, accountId: string) {
  const r = await h.api('POST', '/v1/events/login', { key: agentKey, body: { tenantId, accountId, ...CONTEXT, success: true } });
  assert.equal(r.status, 202, r.text);
}

let ipSeq = 0;
/** A distinct client IP per request (benchmark range 198.18.0.0/15), so the per-IP limit only bites where a test means it to. */
export function nextIp(): string {
  ipSeq++;
  return `198.18.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
}

export function recoveryBody(tenantId: string, accountId: string, over: Record<string, unknown> = {}) {
  return { tenantId, accountId, kind: 'password_reset', reason: 'cannot sign in', ticketRef: 'T-1', context: { ...CONTEXT, ip: nextIp() }, ...over };
}

/**
 * The whole event history of a workflow as one string to search for secrets, with every payload
 * decrypted first: searching ciphertext would make a leak invisible, not absent.
 */
export async function historyText(h: Harness, workflowId: string, runId?: string): Promise<string> {
  const history = await h.client.workflow.getHandle(workflowId, runId).fetchHistory();
  await decodePayloadsInPlace(history, new EncryptionCodec(h.config.payloadKeys));
  return flatten(history);
}

/**
 * Every string and every byte field (as UTF-8 and as base64) in a history, walked by hand:
 * JSON.stringify would call the protobuf messages' toJSON and hide payload bytes as base64.
 */
export function flatten(node: unknown, out: string[] = []): string {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('utf8'), Buffer.from(node).toString('base64'));
  else if (typeof node === 'string') out.push(node);
  else if (node && typeof node === 'object') for (const v of Object.values(node)) flatten(v, out);
  return out.join('\n');
}

/** Raw history as the Temporal server stores it (payloads still encrypted). */
export async function rawHistoryText(h: Harness, workflowId: string): Promise<string> {
  return flatten(await h.client.workflow.getHandle(workflowId).fetchHistory());
}

