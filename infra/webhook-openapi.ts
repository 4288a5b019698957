// The OpenAPI document of the signed webhook contract (served at /docs/directory-webhook), built
// from the same zod schemas the client parses answers with, so it cannot drift from the code.
import { z } from 'zod';
import { STATUS_SEMANTICS, WEBHOOK_OPERATIONS, WebhookError } from './webhook-contract';
import { IDEMPOTENCY_HEADER, KEY_ID_HEADER, MAX_SKEW_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-signing';

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output' }) } });

const SIGNED_HEADERS = [
  { name: SIGNATURE_HEADER, description: '`v1=<hex HMAC-SHA256>` of the canonical string (see the description).' },
  { name: KEY_ID_HEADER, description: 'Which shared secret signed the request (several may be valid during a rotation).' },
  { name: TIMESTAMP_HEADER, description: `Unix seconds. Refuse requests more than ${MAX_SKEW_SECONDS} s old or ahead.` },
  { name: IDEMPOTENCY_HEADER, description: 'The same key on a retry must give the first answer and must not apply the change twice.' },
].map((h) => ({ in: 'header', required: true, name: h.name, description: h.description, schema: { type: 'string' } }));

const DESCRIPTION = [
  'The calls the recovery engine makes to your user store when a tenant chooses the `webhook` directory.',
  'Every request is signed. The canonical string is six lines joined by `\\n`: `v1`, the method in upper case,',
  'the request target as sent (path and query, percent-encoded), the timestamp, the idempotency key, and the',
  'lower-case hex SHA-256 of the exact body bytes (of the empty string for a GET).',
  'Compute HMAC-SHA256 over it with the secret the key id names, compare in constant time, and refuse',
  `timestamps more than ${MAX_SKEW_SECONDS} seconds away from your clock. The engine calls https URLs only in production.`,
  '',
  'Statuses: ' + STATUS_SEMANTICS.map((s) => `**${s.status}** ${s.meaning}${s.retried ? ' (retried)' : ' (not retried)'}`).join(' '),
].join(' ');

let cached: Record<string, unknown> | undefined;

export function webhookOpenApi(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, op] of Object.entries(WEBHOOK_OPERATIONS)) {
    const errors = Object.fromEntries(['401', '403', '404', '409', '422', '5XX'].map((s) => [s, { description: 'Error', content: json(WebhookError) }]));
    paths[op.path] ??= {};
    paths[op.path][op.method.toLowerCase()] = {
      operationId: name,
      summary: op.summary,
      parameters: [{ in: 'path', name: 'id', required: true, schema: { type: 'string' } }, ...SIGNED_HEADERS],
      ...('body' in op ? { requestBody: { required: true, content: json(op.body) } } : {}),
      responses: { '200': { description: 'Done', content: json(op.answer) }, ...errors },
    };
  }
  cached = { openapi: '3.0.3', info: { title: 'Directory webhook contract', version: '1', description: DESCRIPTION }, paths };
  return cached;
}
