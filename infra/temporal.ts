// Temporal connections from config, and registration of the custom search attributes.
import { Client, Connection } from '@temporalio/client';
import type { Config } from './config';
import { dataConverterFor } from './codec';
import { SEARCH_ATTRIBUTES } from '../contracts/search-attributes';

export function connectionOptions(t: Config['temporal']) {
  return {
    address: t.address,
    tls: t.tls || Boolean(t.apiKey) ? {} : undefined,
    apiKey: t.apiKey,
  };
}

export async function connectClient(t: Config['temporal'], payloadKeys: Config['payloadKeys']): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(t));
  return new Client({ connection, namespace: t.namespace, dataConverter: dataConverterFor(payloadKeys) });
}

/**
 * Makes sure the search attributes ops filter by exist. Returns false (and the workflows then
 * skip them) where the server does not allow registering them, e.g. a restricted cloud key.
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<boolean> {
  try {
    const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
    const have = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((k) => !have.has(k));
    if (missing.length) {
      await client.connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((k) => [k, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
      });
    }
    return true;
  } catch {
    return false;
  }
}
