// The activity proxies both workflows use, and how their failures read.
import * as wf from '@temporalio/workflow';
import type { WorkflowActivities as Activities } from '../contracts/activities';

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;

/** Side effects (mail, directory changes, tokens) and everything an update or signal handler calls. */
export const acts = wf.proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry });

/** The access review's steps read or change a whole tenant (a remote directory asked per account): minutes, not seconds. */
export const reviewActs = wf.proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', retry });

/** Short Postgres transactions run in the worker that runs the workflow task (see `bookkeeping`). */
export const localActs = wf.proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds', retry });

/**
 * The proxy for bookkeeping on a workflow's main path (triage facts, recording a transition): a
 * short Postgres transaction, run as a local activity in the worker that runs the workflow task,
 * with no task-queue round trip and two history events fewer per step. Update and signal handlers
 * keep `acts`: a handler's local activity finishing in the same task as the main path's replays in
 * another order (a history recorded that way failed our replay test). Histories from before patch
 * `local-bookkeeping` used `acts` everywhere. Call once, at the top of the workflow.
 */
export const bookkeeping = () => (wf.patched('local-bookkeeping') ? localActs : acts);

export type Books = ReturnType<typeof bookkeeping>;

/** The SMTP server refused a link for good (5xx): the activity has recorded it and invalidated the token. */
export const isDeliveryRefused = (err: unknown) =>
  err instanceof wf.ActivityFailure && err.cause instanceof wf.ApplicationFailure && err.cause.type === 'email_rejected';

/**
 * The directory refused a change for good (no such account, no permission, SSO-managed): the code
 * it gave, or null for any other failure. Histories from before patch `directory-refusals` failed
 * the workflow there: they still do on replay.
 */
export function directoryRefusal(err: unknown): string | null {
  if (!(err instanceof wf.ActivityFailure) || !(err.cause instanceof wf.ApplicationFailure) || err.cause.type !== 'directory_refused') return null;
  if (!wf.patched('directory-refusals')) return null;
  const details = err.cause.details?.[0] as { code?: unknown } | undefined;
  return typeof details?.code === 'string' ? details.code : 'directory_refused';
}
