// Each tenant's access review runs from a Temporal Schedule (`access-review:<tenantId>`): created or
// updated from the tenant's policy (its cadence), paused and unpaused with a note, triggered now,
// and read back. The memo and the TenantId search attribute make it readable in the Temporal UI.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { accessReviewScheduleId } from '../domain/access-review';
import type { Policy } from '../domain/policy';
import { TenantIdKey } from '../contracts/search-attributes';
import type { AccessReviewWorkflow } from '../contracts/access-review';
import { withTemporalDeadline } from './deadlines';
import type { AppDeps } from './deps';
import { ApiError } from './errors';

export interface ScheduleState {
  scheduleId: string;
  tenantId: string;
  /** False: the tenant has no schedule yet (PUT creates it); the cadence and action are those it would get. */
  configured: boolean;
  cadenceSeconds: number;
  action: 'report' | 'suspend';
  paused: boolean;
  note: string | null;
  nextRunAt: string | null;
  recentRuns: { scheduledAt: string; workflowId: string }[];
}

/**
 * Pausing, unpausing or triggering a schedule the tenant does not have yet: the tenant exists, its
 * state does not allow the action (a 404 would say the tenant is missing).
 */
const notConfigured = (tenantId: string) =>
  new ApiError(409, 'schedule_not_configured', `tenantId: ${tenantId} has no access-review schedule; PUT it first`, { field: 'tenantId' });

const spec = (cadenceSeconds: number) => ({ intervals: [{ every: cadenceSeconds * 1000 }] });
/** What the Temporal UI shows beside the schedule and each run; the action is read from the policy at run time. */
const memo = (tenantId: string) => ({ tenantId, purpose: 'access review (SPEC.md 3.3)' });

function options(deps: AppDeps, tenantId: string, p: Policy['accessReview']): ScheduleOptions {
  const scheduleId = accessReviewScheduleId(tenantId);
  const typedSearchAttributes = deps.searchAttributes ? [{ key: TenantIdKey, value: tenantId }] : undefined;
  return {
    scheduleId,
    spec: spec(p.cadenceSeconds),
    action: {
      type: 'startWorkflow',
      workflowType: 'accessReviewWorkflow',
      args: [{ tenantId } satisfies Parameters<AccessReviewWorkflow>[0]],
      taskQueue: deps.taskQueue,
      // The Schedule appends each run's time: one id per run, all of them this tenant's.
      workflowId: scheduleId,
      memo: memo(tenantId),
      staticSummary: `Access review of tenant ${tenantId}`,
      ...(typedSearchAttributes ? { typedSearchAttributes } : {}),
    },
    // A slow review is never run twice at once; a missed run (server down) is caught up within a day.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    memo: memo(tenantId),
    ...(typedSearchAttributes ? { typedSearchAttributes } : {}),
  };
}

function stateOf(tenantId: string, p: Policy['accessReview'], d: ScheduleDescription): ScheduleState {
  const every = d.spec.intervals?.[0]?.every;
  return {
    scheduleId: d.scheduleId,
    tenantId,
    configured: true,
    cadenceSeconds: typeof every === 'number' ? Math.round(every / 1000) : 0,
    action: p.action,
    paused: d.state.paused,
    note: d.state.note ?? null,
    nextRunAt: d.info.nextActionTimes[0]?.toISOString() ?? null,
    recentRuns: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
    })),
  };
}

const handleOf = (deps: AppDeps, tenantId: string) => deps.temporal.schedule.getHandle(accessReviewScheduleId(tenantId));

async function orNotConfigured<T>(tenantId: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notConfigured(tenantId);
    throw err;
  }
}

/** What a tenant without a schedule shows: the cadence and action a PUT would give it, nothing planned. */
const unconfigured = (tenantId: string, p: Policy['accessReview']): ScheduleState => ({
  scheduleId: accessReviewScheduleId(tenantId),
  tenantId,
  configured: false,
  cadenceSeconds: p.cadenceSeconds,
  action: p.action,
  paused: false,
  note: null,
  nextRunAt: null,
  recentRuns: [],
});

/** The tenant's schedule as it stands, or what it would be (`configured: false`) when it has none. */
export async function describeSchedule(deps: AppDeps, tenantId: string, p: Policy['accessReview']): Promise<ScheduleState> {
  try {
    return stateOf(tenantId, p, await withTemporalDeadline(deps.temporal, 'schedule', () => handleOf(deps, tenantId).describe()));
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return unconfigured(tenantId, p);
    throw err;
  }
}

/** Brings an existing schedule in line with the policy's cadence; false when there is none. */
export async function updateSchedule(deps: AppDeps, tenantId: string, p: Policy['accessReview']): Promise<boolean> {
  const o = options(deps, tenantId, p);
  try {
    await withTemporalDeadline(deps.temporal, 'start', () => handleOf(deps, tenantId).update((prev) => ({ ...prev, spec: o.spec })));
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError || withoutSchedules(err)) return false;
    throw err;
  }
}

/** A server with no Schedules at all (the time-skipping test server) holds none to update. */
const withoutSchedules = (err: unknown) => (err as { cause?: { code?: unknown } })?.cause?.code === 12;

/** Creates the tenant's schedule from its policy, or updates the one there is. */
export async function putSchedule(deps: AppDeps, tenantId: string, p: Policy['accessReview']): Promise<{ created: boolean; state: ScheduleState }> {
  let created = false;
  if (!(await updateSchedule(deps, tenantId, p))) {
    await withTemporalDeadline(deps.temporal, 'start', () => deps.temporal.schedule.create(options(deps, tenantId, p)));
    created = true;
  }
  return { created, state: await describeSchedule(deps, tenantId, p) };
}

export async function setSchedulePaused(deps: AppDeps, tenantId: string, p: Policy['accessReview'], paused: boolean, note: string): Promise<ScheduleState> {
  await orNotConfigured(tenantId, () =>
    withTemporalDeadline(deps.temporal, 'signal', () => (paused ? handleOf(deps, tenantId).pause(note) : handleOf(deps, tenantId).unpause(note))),
  );
  return describeSchedule(deps, tenantId, p);
}

/** Runs the review now, as the schedule would (even while paused). */
export async function triggerSchedule(deps: AppDeps, tenantId: string): Promise<void> {
  await orNotConfigured(tenantId, () => withTemporalDeadline(deps.temporal, 'signal', () => handleOf(deps, tenantId).trigger(ScheduleOverlapPolicy.ALLOW_ALL)));
}
