// The OpenAPI decorations fail the document build loudly: a route without an operationId, an
// example its own schema refuses, or a link to an operation that is not there. Checked on a bare
// Fastify with @fastify/swagger, no servers (the whole document, built right, is checked by
// test/integration/openapi.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { z } from 'zod';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { LINKS, openApiDecorations } from '../../api/openapi-links';
import { OPERATIONS } from '../../api/openapi-operations';
import { CancelBody, IdParams, StateOut } from '../../api/schemas';

/** A bare app documenting the given routes, built and asked for its document. */
async function documentOf(routes: { url: string; body?: z.ZodType }[]) {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const { transform, transformObject } = openApiDecorations(app);
  await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 't', version: '1' } }, transform, transformObject });
  for (const r of routes)
    app.post(r.url, { schema: { params: IdParams, ...(r.body ? { body: r.body } : {}), response: { 200: StateOut } } }, async () => ({ id: 'x', state: 'y' }));
  await app.ready();
  try {
    return app.swagger();
  } finally {
    await app.close();
  }
}

describe('OpenAPI decorations', () => {
  it("refuse to build with an example the route's schema refuses", async () => {
    const stricter = z.object({ reason: z.string().min(500) }).strict();
    await assert.rejects(documentOf([{ url: '/v1/recoveries/:id/cancel', body: stricter }]), /POST \/v1\/recoveries\/:id\/cancel: body example 1 is refused/);
  });

  it('refuse to build with a route that has no operationId', async () => {
    await assert.rejects(documentOf([{ url: '/v1/undocumented/:id' }]), /POST \/v1\/undocumented\/:id: no operationId/);
  });

  it('refuse to build when a linked operation is missing', async () => {
    // Every route here is documented correctly; the operations the links start from are absent.
    await assert.rejects(documentOf([{ url: '/v1/recoveries/:id/cancel', body: CancelBody }]), /links: startRecovery has no documented \d+ answer/);
  });

  it('name only operations that exist, once each', () => {
    const ids = Object.values(OPERATIONS).map((o) => o.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const [source, byStatus] of Object.entries(LINKS)) {
      assert.ok(ids.includes(source), source);
      for (const links of Object.values(byStatus)) for (const l of Object.values(links)) assert.ok(ids.includes(l.operationId), l.operationId);
    }
  });
});
