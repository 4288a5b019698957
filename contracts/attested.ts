// What every message the API sends a workflow on a principal's behalf carries, and the stand-in
// for a payload that cannot be decoded. Imports nothing, so every message contract can use it.

/**
 * The key of the value the worker's codec puts in place of a payload it cannot decode (unknown
 * key id, ciphertext that does not authenticate, unknown encoding, JSON that does not parse):
 * handlers drop it instead of failing the workflow task for ever.
 */
export const UNDECODABLE = '$undecodable';

/** What every attested message carries (besides fields kept for runs started before attestations). */
export interface Attested {
  attestationId?: string;
}
