// The error statuses of /openapi.json come from one table (api/openapi-errors.ts): a documented
// route missing from it fails the document build, and a route demanding a bearer key must list
// 401 and 403. Checked on a bare Fastify with @fastify/swagger, no servers (the whole document is
// checked by test/integration/openapi.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { authHook } from '../../api/auth';
import { documentedResponses, errorStatuses, ROUTE_ERRORS } from '../../api/openapi-errors';
import { openApiDecorations } from '../../api/openapi-links';
import { CancelBody, IdParams, StateOut } from '../../api/schemas';

/** A bare app documenting the recovery cancel route, built and asked for its document. */
async function cancelDocument() {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const { transform } = openApiDecorations(app);
  await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 't', version: '1' } }, transform });
  app.post('/v1/recoveries/:id/cancel', { schema: { params: IdParams, body: CancelBody, response: { 200: StateOut } } }, async () => ({ id: 'x', state: 'y' }));
  await app.ready();
  try {
    return app.swagger() as unknown as { paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>> };
  } finally {
    await app.close();
  }
}

describe('documented error statuses', () => {
  it('are listed per status in the shared error shape, none as a range', async () => {
    const responses = (await cancelDocument()).paths['/v1/recoveries/{id}/cancel'].post.responses;
    assert.deepEqual(Object.keys(responses).sort(), ['200', ...errorStatuses('POST', '/v1/recoveries/:id/cancel').map(String)].sort());
    for (const s of ['4XX', '5XX']) assert.equal(responses[s], undefined, s);
    assert.match(JSON.stringify(responses['404'].content), /"error"/);
  });

  it('refuse to build the document for a route the table does not list', async () => {
    const entry = ROUTE_ERRORS['POST /v1/recoveries/:id/cancel'];
    delete ROUTE_ERRORS['POST /v1/recoveries/:id/cancel'];
    try {
      await assert.rejects(cancelDocument(), /POST \/v1\/recoveries\/:id\/cancel: no error statuses in api\/openapi-errors\.ts/);
    } finally {
      ROUTE_ERRORS['POST /v1/recoveries/:id/cancel'] = entry;
    }
  });

  it('refuse a route that demands a key without listing 401 and 403', () => {
    const keyed = authHook(async () => undefined);
    assert.throws(() => documentedResponses('GET', { url: '/healthz', onRequest: keyed }, {}), /GET \/healthz: demands a bearer key/);
    assert.doesNotThrow(() => documentedResponses('GET', { url: '/v1/recoveries', onRequest: keyed }, {}));
  });

  it('add the statuses of the method and path: a body (413, 415), an Idempotency-Key (409, 422), a path parameter (414)', () => {
    assert.deepEqual(errorStatuses('GET', '/healthz'), [400, 408, 431, 503]);
    assert.deepEqual(errorStatuses('POST', '/v1/recoveries/:id/cancel'), [400, 401, 403, 404, 408, 409, 413, 414, 415, 422, 431, 503]);
  });
});
