// Work a route owes but must not make its answer wait for. An audit event that only some
// failures write would show in how long the answer takes (a live token presented in the wrong
// tenant answered ~3 ms slower than an unknown one), so it is written once the answer is out.
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Runs `task` once the response is finished, or at once if the client has already gone: the
 * response's `close` comes after a finished answer and after an aborted one alike, so a client
 * that hangs up early cannot skip the work. A failure is logged (the answer is already out).
 */
export function afterResponse(req: FastifyRequest, reply: FastifyReply, what: string, task: () => Promise<unknown>): void {
  const run = () => {
    task().catch((err: unknown) => req.log.error({ err: { message: (err as Error)?.message } }, `${what} after the answer failed`));
  };
  if (reply.raw.closed || reply.raw.destroyed) run();
  else reply.raw.once('close', run);
}
