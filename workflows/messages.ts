// Messages sent on a principal's behalf count only once the API's record of them (an attestation)
// is confirmed by an activity; what a message claims about its sender is never believed.
import * as wf from '@temporalio/workflow';
import type { AttestationKind, AttestedFacts, AttestedPrincipal } from '../contracts/attestations';
import { UNDECODABLE } from '../contracts/attested';
import { acts } from './proxies';
import { reject } from './stage';

/**
 * Whether this run confirms attestations. Runs started before the patch believed the payload and
 * replay as recorded. Call once, at the top of the workflow.
 */
export const attestsMessages = () => wf.patched('attested-messages');

/** A message with a shape: a plain object, not the codec's stand-in for an undecodable payload. */
export function isMessage(m: unknown): m is Record<string, unknown> {
  return typeof m === 'object' && m !== null && !Array.isArray(m) && !(UNDECODABLE in m);
}

/** For validators: a message with no shape is refused before it enters history. */
export function requireMessage(m: unknown): void {
  if (!isMessage(m)) throw reject('malformed_message', 'the message has no readable payload');
}

/**
 * The facts the API recorded for this message, once an activity has confirmed its attestation
 * (and used it). A message without a valid one is audited by the activity and refused here.
 */
export async function confirmed<K extends AttestationKind>(kind: K, caseId: string, msg: unknown): Promise<AttestedFacts<K>> {
  const attestationId = isMessage(msg) && typeof msg.attestationId === 'string' ? msg.attestationId : null;
  const c = await acts.confirmAttestation({ attestationId, kind, caseId, workflowId: wf.workflowInfo().workflowId });
  if (!c.valid) throw reject('unattested', `the message was not sent through the API (${c.reason})`);
  return c.facts;
}

/** The principal of confirmed facts; every kind but the owner's cancel has one. */
export function principalOf(facts: AttestedFacts): AttestedPrincipal {
  if (!facts.principal) throw reject('unattested', 'the attestation names no principal');
  return facts.principal;
}
