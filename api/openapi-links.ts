// What the zod schemas cannot say in /openapi.json: each operation's stable operationId, its error
// statuses (api/openapi-errors.ts), request examples (checked against the route's own schemas as
// the document is built, so a wrong example fails loudly instead of misleading a client), and
// OpenAPI links that walk the recovery and break-glass flows, so generated clients and stateful
// testing follow the real sequences.
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { documentedResponses } from './openapi-errors';
import { OPERATIONS } from './openapi-operations';

interface Link {
  operationId: string;
  parameters: Record<string, string>;
  description: string;
}
/** The next operation on the same recovery or grant, its id read from the answer (or the request). */
const next = (operationId: string, description: string, from: 'body' | 'path' = 'body'): Link => ({
  operationId,
  parameters: { id: from === 'body' ? '$response.body#/id' : '$request.path.id' },
  description,
});
const recoveryNext = {
  getRecovery: next('getRecovery', 'Poll the recovery: its state and the next step'),
  submitVerification: next('submitVerification', 'Submit the verification evidence the next step asks for'),
  decideRecovery: next('decideRecovery', 'Approve or deny it (an approver other than the requester)'),
  cancelRecovery: next('cancelRecovery', 'Cancel it'),
};
const grantNext = {
  getGrant: next('getGrant', 'Poll the grant: its state and deadlines'),
  decideGrant: next('decideGrant', 'Approve or deny it (a break-glass approver other than the requester)'),
  pickUpCredential: next('pickUpCredential', 'Once approved: the requester picks the credential up, once'),
  revokeGrant: next('revokeGrant', 'Revoke it early'),
  reviewGrant: next('reviewGrant', 'Record the post-action review'),
};

/** source operationId -> status -> link name -> link. */
export const LINKS: Record<string, Record<string, Record<string, Link>>> = {
  startRecovery: { '202': recoveryNext, '200': { getRecovery: recoveryNext.getRecovery } },
  getRecovery: {
    '200': { submitVerification: recoveryNext.submitVerification, decideRecovery: recoveryNext.decideRecovery, cancelRecovery: recoveryNext.cancelRecovery },
  },
  submitVerification: {
    '200': {
      getRecovery: next('getRecovery', 'Read where the recovery stands now', 'path'),
      decideRecovery: next('decideRecovery', 'Verified: the approvals follow', 'path'),
    },
  },
  requestBreakGlass: { '202': grantNext },
  getGrant: { '200': { decideGrant: grantNext.decideGrant, pickUpCredential: grantNext.pickUpCredential, revokeGrant: grantNext.revokeGrant } },
  decideGrant: { '200': { getGrant: grantNext.getGrant, pickUpCredential: grantNext.pickUpCredential } },
  pickUpCredential: { '200': { revokeGrant: grantNext.revokeGrant, reviewGrant: grantNext.reviewGrant } },
  revokeGrant: { '200': { reviewGrant: grantNext.reviewGrant } },
};

type Json = Record<string, unknown> & { properties?: Record<string, Record<string, unknown>> };
type Inputs = Partial<Record<'body' | 'params' | 'querystring', z.ZodType>>;

/** Throws unless every example parses with the route's own schema for that input. */
function checked(key: string, part: keyof Inputs, schema: z.ZodType | undefined, examples: unknown[]) {
  if (!schema) throw new Error(`${key}: an example for ${part}, which the route has no schema for`);
  examples.forEach((example, i) => {
    const r = schema.safeParse(example);
    if (!r.success) throw new Error(`${key}: ${part} example ${i + 1} is refused by the route's schema: ${r.error.issues[0]?.message}`);
  });
}

/** jsonSchemaTransform, then the operationId and examples of the route. */
const transform: SwaggerTransform = (input) => {
  const method = [input.route.method].flat()[0];
  if (!input.schema || (input.schema as { hide?: boolean }).hide || method === 'HEAD') return jsonSchemaTransform(input);
  const key = `${method} ${input.url}`;
  const op = OPERATIONS[key];
  if (!op) throw new Error(`${key}: no operationId in api/openapi-operations.ts`);
  // The route's own answers and, in the shared shape, the error statuses it can give.
  const out = jsonSchemaTransform({ ...input, schema: { ...input.schema, response: documentedResponses(method, input.route, input.schema.response) } });
  const doc = out.schema as Json;
  doc.operationId = op.id;
  const inputs = input.schema as Inputs;
  if (op.body) {
    checked(key, 'body', inputs.body, op.body);
    (doc.body as Json).examples = op.body;
  }
  for (const part of ['params', 'querystring'] as const) {
    const example = op[part];
    if (!example) continue;
    checked(key, part, inputs[part], [example]);
    const props = (doc[part] as Json).properties ?? {};
    for (const [name, value] of Object.entries(example)) if (props[name]) props[name].examples = [value];
  }
  return out;
};

type Operation = { operationId?: string; responses?: Record<string, { links?: Record<string, Link> }> };

/** Adds the links to the built document; a link to a missing operation or answer fails the build. */
const transformObject: SwaggerTransformObject = (document) => {
  if (!('openapiObject' in document)) throw new Error('links: an OpenAPI 3 document was expected');
  const { openapiObject } = document;
  const ops = new Map<string, Operation>();
  for (const methods of Object.values((openapiObject.paths ?? {}) as Record<string, Record<string, Operation>>))
    for (const op of Object.values(methods)) if (op.operationId) ops.set(op.operationId, op);
  for (const [source, byStatus] of Object.entries(LINKS)) {
    for (const [status, links] of Object.entries(byStatus)) {
      const response = ops.get(source)?.responses?.[status];
      if (!response) throw new Error(`links: ${source} has no documented ${status} answer`);
      for (const link of Object.values(links)) if (!ops.has(link.operationId)) throw new Error(`links: no operation ${link.operationId}`);
      response.links = links;
    }
  }
  return openapiObject;
};

const documented = new WeakMap<FastifyInstance, Map<string, FastifySchema>>();

/** The schemas each documented route validates with, by `METHOD /url` (as Fastify spells it). */
export function documentedSchemas(app: FastifyInstance): Map<string, FastifySchema> {
  return documented.get(app) ?? new Map<string, FastifySchema>();
}

/** Call before routes are added: records their schemas and returns the swagger hooks. */
export function openApiDecorations(app: FastifyInstance) {
  const seen = new Map<string, FastifySchema>();
  documented.set(app, seen);
  app.addHook('onRoute', (route) => {
    const schema = route.schema;
    if (!schema || schema.hide) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') seen.set(`${method} ${route.url}`, schema);
  });
  return { transform, transformObject };
}
