// The client of the signed webhook contract: one signed HTTP call per operation of a customer's
// user store, with a per-call timeout, the caller's idempotency key, and typed errors that say
// whether a retry can help. Neither the secret nor a password is ever put in an error or a log.
import crypto from 'node:crypto';
import type { z } from 'zod';
import { WEBHOOK_OPERATIONS, WebhookError, type WebhookOperationName } from './webhook-contract';
import { signRequest } from './webhook-signing';

export type WebhookErrorKind = 'not_found' | 'forbidden' | 'refused' | 'unauthorized' | 'bad_request' | 'bad_response' | 'unavailable' | 'timeout';
const RETRYABLE: ReadonlySet<WebhookErrorKind> = new Set(['unavailable', 'timeout']);

/** A failed call. `retryable` says whether the same call (same idempotency key) may succeed later. */
export class WebhookDirectoryError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly kind: WebhookErrorKind,
    readonly operation: WebhookOperationName,
    /** The receiver's `error.code`, or what went wrong on the wire. */
    readonly reason: string,
    readonly status?: number,
  ) {
    super(`directory webhook ${operation}: ${kind} (${reason}${status ? `, HTTP ${status}` : ''})`);
    this.name = 'WebhookDirectoryError';
    this.retryable = RETRYABLE.has(kind);
  }
}

export interface WebhookDirectoryOptions {
  /** Where the contract's paths live, e.g. `https://users.example.com/recovery`. */
  baseUrl: string;
  key: { id: string; secret: string | Buffer };
  /** In production only https base URLs are accepted: the calls carry new passwords. */
  production: boolean;
  /** Default per-call timeout. */
  timeoutMs?: number;
  now?: () => number;
}

/** Every call that changes something names its idempotency key (later: workflow id + step). */
export interface CallOptions {
  idempotencyKey: string;
  timeoutMs?: number;
}

function checkedBase(baseUrl: string, production: boolean): URL {
  const url = new URL(baseUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('directory webhook URL must be http(s)');
  if (production && url.protocol !== 'https:') throw new Error('directory webhook URL must be https in production (the calls carry new passwords)');
  if (url.username || url.password) throw new Error('directory webhook URL must not carry credentials (requests are signed)');
  return url;
}

function kindOf(status: number): WebhookErrorKind {
  if (status === 404) return 'not_found';
  if (status === 403) return 'forbidden';
  if (status === 401) return 'unauthorized';
  if (status === 409 || status === 422) return 'refused';
  if (status === 408 || status === 429 || status >= 500) return 'unavailable';
  return 'bad_request';
}

export function webhookDirectoryClient(opts: WebhookDirectoryOptions) {
  const base = checkedBase(opts.baseUrl, opts.production);
  const basePath = base.pathname.replace(/\/+$/, '');
  const defaultTimeout = opts.timeoutMs ?? 10_000;
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));

  async function call<N extends WebhookOperationName>(
    name: N,
    accountId: string,
    body: unknown,
    opt: CallOptions,
  ): Promise<z.output<(typeof WEBHOOK_OPERATIONS)[N]['answer']>> {
    const op = WEBHOOK_OPERATIONS[name];
    const target = basePath + op.path.replace('{id}', encodeURIComponent(accountId));
    const payload = body === undefined ? '' : JSON.stringify(body);
    const headers = signRequest(opts.key, { method: op.method, path: target, timestamp: now(), idempotencyKey: opt.idempotencyKey, body: payload });
    if (payload) headers['content-type'] = 'application/json';
    const timeoutMs = opt.timeoutMs ?? defaultTimeout;
    let res: Response;
    let text: string;
    try {
      // The signal bounds the whole exchange, the answer's body included.
      res = await fetch(new URL(target, base.origin), {
        method: op.method,
        headers,
        body: payload || undefined,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError') throw new WebhookDirectoryError('timeout', name, `no answer within ${timeoutMs} ms`);
      throw new WebhookDirectoryError('unavailable', name, `network: ${(e.cause as { code?: string } | undefined)?.code ?? e.name}`);
    }
    if (!res.ok) {
      const parsed = WebhookError.safeParse(safeJson(text));
      throw new WebhookDirectoryError(kindOf(res.status), name, parsed.success ? parsed.data.error.code : `http_${res.status}`, res.status);
    }
    const parsed = op.answer.safeParse(safeJson(text));
    if (!parsed.success) throw new WebhookDirectoryError('bad_response', name, 'answer does not match the contract', res.status);
    return parsed.data as z.output<(typeof WEBHOOK_OPERATIONS)[N]['answer']>;
  }

  /** Reads change nothing: a fresh key each, so the receiver's idempotency store never answers a stale read. */
  const readKey = (timeoutMs?: number): CallOptions => ({ idempotencyKey: `read:${crypto.randomUUID()}`, timeoutMs });

  /** The account, or null when it does not exist (a 404 or `exists: false`). */
  async function lookup(accountId: string, timeoutMs?: number) {
    try {
      const a = await call('lookup', accountId, undefined, readKey(timeoutMs));
      return a.exists ? a : null;
    } catch (err) {
      if (err instanceof WebhookDirectoryError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  return {
    lookup,
    addresses: async (accountId: string, timeoutMs?: number): Promise<string[]> => (await lookup(accountId, timeoutMs))?.addresses ?? [],
    setPassword: async (accountId: string, password: string, by: string, c: CallOptions) => {
      await call('setPassword', accountId, { password, by }, c);
    },
    resetMfa: (accountId: string, change: { by: string; keepEnrolledBy?: string }, c: CallOptions) => call('resetMfa', accountId, change, c),
    revokeSessions: (accountId: string, r: { reason: string; grantId?: string }, c: CallOptions) => call('revokeSessions', accountId, r, c),
    disable: (accountId: string, change: { reason: string; by: string }, c: CallOptions) => call('disable', accountId, change, c),
    enable: (accountId: string, change: { reason: string; by: string }, c: CallOptions) => call('enable', accountId, change, c),
    grantAccess: (accountId: string, g: { grantId: string; credential: string; expiresAt: string; by: string }, c: CallOptions) =>
      call('grantAccess', accountId, g, c),
    endAccess: (accountId: string, e: { grantId: string; reason: string; by: string }, c: CallOptions) => call('endAccess', accountId, e, c),
    rotateCredential: (accountId: string, by: string, c: CallOptions) => call('rotateCredential', accountId, { by }, c),
  };
}

export type WebhookDirectoryClient = ReturnType<typeof webhookDirectoryClient>;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
