// The API's half of attested messages: before it sends a workflow a message on a principal's
// behalf, and after its own checks, it records what it knows (the principal as loaded from
// Postgres, the decision or outcome) under a MAC, and the message carries only the record's id.
import type { FastifyRequest } from 'fastify';
import type { AttestationKind, AttestedMessages, AttestedPrincipal } from '../contracts/attestations';
import { personOf } from '../domain/person';
import type { HmacKey } from '../infra/config';
import { attestationKeys } from '../infra/secrets';
import { createAttestation } from '../store/attestations';
import type { AppDeps } from './deps';

const derived = new WeakMap<readonly HmacKey[], HmacKey[]>();
function keysOf(tokenKeys: readonly HmacKey[]): HmacKey[] {
  let keys = derived.get(tokenKeys);
  if (!keys) derived.set(tokenKeys, (keys = attestationKeys(tokenKeys)));
  return keys;
}

/** The signed-in principal, as authenticate loaded it from Postgres for this request. */
export function principalFacts(req: FastifyRequest): AttestedPrincipal {
  const p = req.principal!;
  return { principalId: p.id, personId: personOf(p), roles: p.roles, tenantScope: p.tenantScope, account: p.account };
}

export interface Attestation<K extends AttestationKind> {
  kind: K;
  tenantId: string;
  caseId: string;
  workflowId: string;
  /** Null when nobody is signed in (the owner's cancel link). */
  principal: AttestedPrincipal | null;
  message: AttestedMessages[K];
}

/** Records the attestation; returns what the message carries. */
export async function attest<K extends AttestationKind>({ db, config }: Pick<AppDeps, 'db' | 'config'>, a: Attestation<K>): Promise<{ attestationId: string }> {
  const attestationId = await createAttestation(db, keysOf(config.tokenKeys), {
    kind: a.kind,
    tenantId: a.tenantId,
    caseId: a.caseId,
    workflowId: a.workflowId,
    facts: { principal: a.principal, message: a.message },
  });
  return { attestationId };
}
