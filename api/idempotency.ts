// Idempotency-Key on POSTs: the first response is stored and replayed for a retry with the same
// key and body; the same key with another body is refused. Keys are scoped per principal, or for
// anonymous callers per link or account acted on. Responses that carry a secret shown once (a
// new API key) are never stored, so their replay is refused instead.
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../store/db';
import { canonicalJson } from '../store/audit';
import { claimKey, deleteExpiredKeys, getKey, releaseKey, settleKey, takeOverKey } from '../store/idempotency';
import { ApiError } from './errors';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /** The response shows a secret once: never store it for replay. */
    secretResponse?: boolean;
  }
}

const KEY = /^[A-Za-z0-9_.:-]{8,128}$/;
/**
 * A key whose first request is still "in progress" after this long belongs to a process that
 * died mid-request (every Temporal call has a deadline, so a live request ends well before): a
 * retry with the same request takes it over instead of getting 409 forever.
 */
export const IDEMPOTENCY_STALE_SECONDS = 60;
/** Answers are replayed for this long; then the key is free again and its row is deleted. */
export const IDEMPOTENCY_REPLAY_HOURS = 24;

export function registerIdempotency(app: FastifyInstance, db: Db, hashKey: Buffer) {
  app.decorateRequest('idempotency', null);

  // Expired keys are deleted at most once a minute per process, off the request path.
  let lastSweep = 0;
  const sweep = () => {
    if (Date.now() - lastSweep < 60_000) return;
    lastSweep = Date.now();
    void deleteExpiredKeys(db, IDEMPOTENCY_REPLAY_HOURS).catch((err) => app.log.warn({ err: (err as Error).message }, 'idempotency sweep failed'));
  };

  app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method !== 'POST') return;
    const raw = req.headers['idempotency-key'];
    if (raw === undefined) return;
    if (typeof raw !== 'string' || !KEY.test(raw)) {
      throw new ApiError(400, 'invalid_field', 'idempotency-key: 8-128 characters of A-Z a-z 0-9 _ . : -', { field: 'idempotency-key' });
    }
    // Keyed hash: public bodies can hold a new password, which must not be guessable from here.
    const requestHash = crypto
      .createHmac('sha256', hashKey)
      .update(`${req.method} ${req.routeOptions.url} ${JSON.stringify(req.params)} ${canonicalJson(req.body ?? null)}`)
      .digest('hex');
    const scope = req.principal ? `principal:${req.principal.id}` : publicScope(req, hashKey, requestHash);
    const inserted = await claimKey(db, { scope, key: raw }, requestHash);
    if (inserted) {
      req.idempotency = { scope, key: raw };
      sweep();
      return;
    }
    const takenOver = await takeOverKey(db, { scope, key: raw }, requestHash, IDEMPOTENCY_STALE_SECONDS, IDEMPOTENCY_REPLAY_HOURS);
    if (takenOver) {
      req.log.warn({ idempotencyScope: scope }, 'idempotency key taken over (its first request was abandoned or its replay window is over)');
      req.idempotency = { scope, key: raw };
      return;
    }
    const prior = await getKey(db, { scope, key: raw });
    if (prior.request_hash !== requestHash) {
      throw new ApiError(422, 'idempotency_key_reused', 'idempotency-key: already used with a different request', { field: 'idempotency-key' });
    }
    if (prior.status_code === null) {
      throw new ApiError(
        409,
        'idempotency_in_progress',
        'idempotency-key: the first request with this key is still running',
        { field: 'idempotency-key' },
        { 'retry-after': '1' },
      );
    }
    if (prior.status_code === 0) {
      throw new ApiError(409, 'idempotency_replay_unavailable', 'idempotency-key: the first response held a secret shown once and is not replayed', {
        field: 'idempotency-key',
      });
    }
    return reply.code(prior.status_code).header('idempotent-replayed', 'true').send(prior.response);
  });

  app.addHook('onSend', async (req, reply, payload) => settleAnswer(db, req, reply, payload));
}

/**
 * An anonymous caller's scope: what the request acts on (the link token, or the tenant and
 * account it signs in to), so one owner's key never collides with another's. A keyed hash, so
 * the token itself is never stored; a request naming none of these is a scope of its own.
 */
function publicScope(req: FastifyRequest, hashKey: Buffer, requestHash: string): string {
  const body = (req.body !== null && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
  const params = req.params as Record<string, unknown>;
  const subject = { token: body.token ?? params.token, tenantId: body.tenantId, accountId: body.accountId };
  const named = Object.values(subject).some((v) => v !== undefined);
  const what = named ? canonicalJson(subject) : `request ${requestHash}`;
  return `public:${crypto.createHmac('sha256', hashKey).update(`idempotency scope ${what}`).digest('hex')}`;
}

/** Stores the answer for replay (or frees the key when the answer is not final), then lets it go out. */
async function settleAnswer(db: Db, req: FastifyRequest, reply: FastifyReply, payload: unknown) {
  const idem = req.idempotency;
  if (!idem) return payload;
  req.idempotency = null;
  let write: () => Promise<unknown>;
  if (reply.statusCode >= 500 || reply.statusCode === 429 || reply.statusCode === 409) {
    // Not a final answer: let a retry with the same key run again.
    write = () => releaseKey(db, idem);
  } else if (req.routeOptions.config?.secretResponse && reply.statusCode < 300) {
    write = () => settleKey(db, idem, 0, null);
  } else {
    let body: unknown = null;
    try {
      body = typeof payload === 'string' ? JSON.parse(payload) : null;
    } catch {
      body = null;
    }
    const response = JSON.stringify(body);
    write = () => settleKey(db, idem, reply.statusCode, response);
  }
  // The answer goes out whatever happens here. If Postgres is down (the usual reason for a 503),
  // the key is settled in the background once it is back, so retries are not told
  // "in progress" until the stale limit.
  await write().catch(() => settleLater(write, req.log));
  return payload;
}

function settleLater(write: () => Promise<unknown>, log: FastifyRequest['log'], attempt = 1): void {
  if (attempt > 12) {
    log.warn('idempotency key not settled after 12 attempts; it goes stale after IDEMPOTENCY_STALE_SECONDS');
    return;
  }
  setTimeout(() => void write().catch(() => settleLater(write, log, attempt + 1)), Math.min(1000 * attempt, 5000)).unref();
}
