// A workflow's event history as the tests and drills inspect it: decoded with the engine's payload
// keys (searching ciphertext for a leak would make it invisible, not absent), or raw as stored.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { Config } from '../infra/config';
import { decodePayloadsInPlace, EncryptionCodec } from '../infra/codec';

type History = temporal.api.history.v1.IHistory;

/** The history with every payload decrypted. */
export async function decodedHistory(client: Client, payloadKeys: Config['payloadKeys'], workflowId: string, runId?: string): Promise<History> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  await decodePayloadsInPlace(history, new EncryptionCodec(payloadKeys));
  return history;
}

/** The whole decoded history as one string to search for secrets. */
export async function historyText(h: { client: Client; config: Pick<Config, 'payloadKeys'> }, workflowId: string, runId?: string): Promise<string> {
  return flatten(await decodedHistory(h.client, h.config.payloadKeys, workflowId, runId));
}

/** Raw history as the Temporal server stores it (payloads still encrypted). */
export async function rawHistoryText(h: { client: Client }, workflowId: string): Promise<string> {
  return flatten(await h.client.workflow.getHandle(workflowId).fetchHistory());
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
