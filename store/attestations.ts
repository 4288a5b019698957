// Attestations: the API's record of each message it sends a workflow on a principal's behalf,
// MACed under a server key over every field, and used once. The only owner of `attestations`.
import type { AttestationKind, AttestedFacts, Confirmation } from '../contracts/attestations';
import type { HmacKey } from '../infra/config';
import { constantTimeEqualHex, hmacHex, newOpaqueId } from '../infra/secrets';
import { canonicalJson } from './audit';
import { json, type Db } from './db';

export interface NewAttestation<K extends AttestationKind> {
  kind: K;
  tenantId: string;
  /** The recovery or grant. */
  caseId: string;
  workflowId: string;
  facts: AttestedFacts<K>;
}

interface Signed {
  id: string;
  kind: string;
  tenantId: string;
  caseId: string;
  workflowId: string;
  principalId: string | null;
  personId: string | null;
  facts: unknown;
  createdAt: string;
}

/** What the MAC covers: every field but the use, in one canonical form (jsonb reorders keys). */
const macOf = (key: Buffer, s: Signed) => hmacHex(key, canonicalJson({ v: 1, ...s }));

/** Records an attestation under the active key; returns its id (what the message carries). */
export async function createAttestation<K extends AttestationKind>(db: Db, keys: readonly HmacKey[], a: NewAttestation<K>): Promise<string> {
  const key = keys[0];
  const createdAt = new Date();
  const signed: Signed = {
    id: newOpaqueId('att'),
    kind: a.kind,
    tenantId: a.tenantId,
    caseId: a.caseId,
    workflowId: a.workflowId,
    principalId: a.facts.principal?.principalId ?? null,
    personId: a.facts.principal?.personId ?? null,
    facts: a.facts,
    createdAt: createdAt.toISOString(),
  };
  await db
    .insertInto('attestations')
    .values({
      id: signed.id,
      kind: signed.kind,
      tenant_id: signed.tenantId,
      case_id: signed.caseId,
      workflow_id: signed.workflowId,
      principal_id: signed.principalId,
      person_id: signed.personId,
      facts: json(signed.facts),
      key_id: key.id,
      mac: macOf(key.key, signed),
      created_at: createdAt,
    })
    .execute();
  return signed.id;
}

export interface UseRequest<K extends AttestationKind> {
  id: string;
  kind: K;
  caseId: string;
  workflowId: string;
  /** Who uses it (a workflow run's activity): its retries get the same answer, anyone else `reused`. */
  consumer: string;
}

/**
 * Checks an attestation (its MAC in constant time, then its kind, case and workflow) and uses it:
 * one atomic UPDATE ... WHERE used_at IS NULL, so it counts once whatever the concurrency.
 */
export async function useAttestation<K extends AttestationKind>(db: Db, keys: readonly HmacKey[], u: UseRequest<K>): Promise<Confirmation<K>> {
  const row = await db.selectFrom('attestations').selectAll().where('id', '=', u.id).executeTakeFirst();
  if (!row) return { valid: false, reason: 'unattested' };
  const key = keys.find((k) => k.id === row.key_id);
  const signed: Signed = {
    id: row.id,
    kind: row.kind,
    tenantId: row.tenant_id,
    caseId: row.case_id,
    workflowId: row.workflow_id,
    principalId: row.principal_id,
    personId: row.person_id,
    facts: row.facts,
    createdAt: new Date(row.created_at).toISOString(),
  };
  if (!key || !constantTimeEqualHex(row.mac, macOf(key.key, signed))) return { valid: false, reason: 'mac_mismatch' };
  if (row.kind !== u.kind || row.case_id !== u.caseId || row.workflow_id !== u.workflowId) return { valid: false, reason: 'wrong_case' };
  const used = await db
    .updateTable('attestations')
    .set({ used_at: new Date(), used_by: u.consumer })
    .where('id', '=', u.id)
    .where((eb) => eb.or([eb('used_at', 'is', null), eb('used_by', '=', u.consumer)]))
    .returning('id')
    .executeTakeFirst();
  if (!used) return { valid: false, reason: 'reused' };
  return { valid: true, facts: row.facts as unknown as AttestedFacts<K> };
}
