// The internal security webhook: one signed POST per event, signed the way the engine signs its
// calls to a signed-webhook directory (infra/webhook-signing.ts), so one verifier serves both.
import type { SecurityWebhook } from './config';
import { signRequest } from './webhook-signing';

/** The receiver did not take the event (a non-2xx answer or no answer): the activity retries. */
export class SecurityWebhookError extends Error {
  constructor(readonly status: number | null) {
    super(status === null ? 'security webhook unreachable' : `security webhook answered ${status}`);
    this.name = 'SecurityWebhookError';
  }
}

export async function postSecurityEvent(
  hook: SecurityWebhook,
  event: { idempotencyKey: string; body: Record<string, unknown> },
  timeoutMs = 10_000,
): Promise<{ status: number }> {
  const url = new URL(hook.url);
  const body = JSON.stringify(event.body);
  const headers = signRequest(
    { id: hook.keyId, secret: hook.secret },
    { method: 'POST', path: url.pathname + url.search, timestamp: Math.floor(Date.now() / 1000), idempotencyKey: event.idempotencyKey, body },
  );
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    // The error's text may carry the URL; the status says enough.
    throw new SecurityWebhookError(null);
  }
  await res.body?.cancel();
  if (!res.ok) throw new SecurityWebhookError(res.status);
  return { status: res.status };
}
