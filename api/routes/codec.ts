// The codec endpoint the Temporal Web UI and CLI call to show encrypted payloads to `*`-scoped
// auditors and admins. Callers authenticate with an API key (the CLI's --codec-auth), the session
// cookie of /signin (the UI with "Include cross-origin credentials") or an OIDC access token (the
// UI with "Pass the user access token"). Every decoded payload is counted by principal, and each
// principal's decoding is bounded per minute.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Counter, type Registry } from 'prom-client';
import type { Payload } from '@temporalio/common';
import { EncryptionCodec } from '../../infra/codec';
import { coversAllTenants } from '../../domain/scope';
import type { AppDeps, Router } from '../deps';
import { ApiError } from '../errors';
import { authHook } from '../auth';
import { codecAuthenticator, mayDecode } from '../console-auth';
import { AnyText, CodecOut } from '../schemas';

const B64 = z
  .string()
  .max(4 * 1024 * 1024)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
// The remote codec protocol: a Payloads message as JSON. Go's CLI leaves out empty fields, so an
// empty list arrives as `{}` and a payload may come without `data`.
const CodecBody = z
  .object({
    payloads: z
      .array(z.object({ metadata: z.record(AnyText(), B64).optional(), data: B64.optional() }).strict())
      .max(1000)
      .default([]),
  })
  .strict();
/**
 * The CLI and the Web UI name the namespace whose payloads they send; this engine serves its own
 * only (the route refuses any other), and the document names it.
 */
const codecHeaders = (namespace: string) => z.looseObject({ 'x-namespace': AnyText().max(1000).meta({ const: namespace }).optional() });

const toPayload = (p: z.infer<typeof CodecBody>['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const fromPayload = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/**
 * Payloads each principal decoded in the last minute, per API process: a UI page decodes a few
 * hundred, a script walking every history decodes without end and is stopped here.
 */
class DecodeBudget {
  readonly #spent = new Map<string, { at: number; n: number }[]>();
  constructor(private readonly perMinute: number) {}

  /** Takes `n` payloads of the principal's minute; the seconds to wait when there is no room. */
  take(principalId: string, n: number, now = Date.now()): number {
    const recent = (this.#spent.get(principalId) ?? []).filter((e) => e.at > now - 60_000);
    const used = recent.reduce((sum, e) => sum + e.n, 0);
    if (used + n > this.perMinute) {
      this.#spent.set(principalId, recent);
      return Math.max(1, Math.ceil((recent[0].at + 60_000 - now) / 1000));
    }
    recent.push({ at: now, n });
    this.#spent.set(principalId, recent);
    return 0;
  }
}

export function codecRoutes(r: Router, { auth, config, db }: AppDeps, registry: Registry) {
  const codec = new EncryptionCodec(config.payloadKeys);
  const allowed = new Set(config.codecCorsOrigins);
  const CodecHeaders = codecHeaders(config.temporal.namespace);
  const authenticate = codecAuthenticator(db, config, auth);
  const budget = new DecodeBudget(config.codecDecodePerMinute);
  const decoded = new Counter({
    name: 'recovery_codec_decoded_payloads_total',
    help: 'Payloads decoded through the codec endpoint, by principal and how it authenticated',
    labelNames: ['principal', 'via'],
    registers: [registry],
  });
  const cors = (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      void reply
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-credentials', 'true')
        .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-max-age', '600')
        .header('vary', 'origin');
    }
  };
  const via = new WeakMap<FastifyRequest, string>();
  // Only auditors and admins with `*` scope: payload keys are not per tenant, so a decode may show any tenant's data.
  const mayUseCodec = authHook(async (req: FastifyRequest) => {
    const who = await authenticate(req);
    via.set(req, who.via);
    if (!mayDecode(who.principal)) throw new ApiError(403, 'forbidden', 'this action needs one of the roles: auditor, admin');
    if (!coversAllTenants(who.principal.tenantScope))
      throw new ApiError(403, 'scope_too_narrow', 'this endpoint serves every tenant: it needs one of the roles auditor, admin with tenant scope "*"');
  });
  for (const op of ['encode', 'decode'] as const) {
    r.options(`/codec/${op}`, { schema: { hide: true } }, async (req, reply) => {
      cors(req, reply);
      return reply.code(204).send();
    });
    r.post(
      `/codec/${op}`,
      {
        onRequest: [async (req, reply) => cors(req, reply), mayUseCodec],
        bodyLimit: 8 * 1024 * 1024,
        schema: {
          summary: `${op} Temporal payloads (the remote codec protocol of the Temporal CLI and Web UI)`,
          description:
            'Authenticate with an API key, an OIDC access token of the configured issuer, or the session cookie /signin sets. ' +
            'Only auditors and admins with tenant scope "*" may call it; decoding is limited per principal per minute (429 `codec_rate_limited`).',
          tags: ['ops'],
          headers: CodecHeaders,
          body: CodecBody,
          response: { 200: CodecOut },
        },
      },
      async (req) => {
        const ns = req.headers['x-namespace'];
        if (ns !== undefined && ns !== config.temporal.namespace)
          throw new ApiError(400, 'invalid_field', `x-namespace: this codec serves the namespace ${config.temporal.namespace} only`, { field: 'x-namespace' });
        const principal = req.principal!;
        if (op === 'decode') {
          const wait = budget.take(principal.id, req.body.payloads.length);
          if (wait)
            throw new ApiError(
              429,
              'codec_rate_limited',
              `payloads: more than ${config.codecDecodePerMinute} payloads decoded in a minute; retry in ${wait} s`,
              { field: 'payloads' },
              { 'retry-after': String(wait) },
            );
        }
        try {
          const out = op === 'encode' ? await codec.encode(req.body.payloads.map(toPayload)) : await codec.decode(req.body.payloads.map(toPayload));
          if (op === 'decode') decoded.inc({ principal: principal.id, via: via.get(req) ?? 'api_key' }, out.length);
          return { payloads: out.map(fromPayload) };
        } catch {
          throw new ApiError(400, 'invalid_field', 'payloads: a payload could not be decrypted (unknown key or tampered data)', { field: 'payloads' });
        }
      },
    );
  }
}
