// What both workflows do the same way at every stage: enter a state (recorded, then published),
// keep the current deadline, number audit steps, count decisions, reject an update, remind once.
import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Rejection } from '../contracts/rejections';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, RiskTierKey, TenantIdKey } from '../contracts/search-attributes';
import { caseDetails } from '../domain/public-summary';
import { bookkeeping, type Books } from './proxies';

/** A validator's refusal: a stable type the API maps to an HTTP status (contracts/rejections.ts). */
export const reject = (type: Rejection, message: string) => wf.ApplicationFailure.create({ type, message, nonRetryable: true });

export interface Decision {
  principalId: string;
  /** Set by runs that confirm attestations: one person counts once, whatever keys they hold. */
  personId?: string;
  decision: 'approve' | 'deny';
  comment: string;
  at: string;
}

/** The part of a workflow's status (its query answer) that the stage helpers keep. */
export interface StageStatus {
  tenantId: string;
  accountId: string;
  kind: string;
  state: string;
  waitingFor: string | null;
  approvals: { required: number; received: Decision[] };
  deadlines: Partial<Record<string, string>>;
  currentDeadline: string | null;
}

/** One recorded transition, as the workflow's own recording activity takes it. */
export interface Transition<State> {
  step: string;
  state: State;
  action: string;
  actor: string;
  details: Record<string, unknown>;
}

export interface StageOptions<S extends StageStatus> {
  status: S;
  /** Whether the server has the custom search attributes registered. */
  searchAttributes: boolean;
  /** The RiskTier search attribute, if there is one yet. */
  riskTier: () => string | null;
  /** Whether the one-line summary in the Temporal UI names the current deadline. */
  summaryShowsDeadline: boolean;
  /** Records a transition and its audit event (`books` is the main path's proxy). */
  record: (books: Books, t: Transition<S['state']>) => Promise<unknown>;
}

/** Call once, at the top of the workflow and before any handler: it decides two patches. */
export function createStage<S extends StageStatus>({ status, searchAttributes, riskTier, summaryShowsDeadline, record }: StageOptions<S>) {
  // Histories from before the patch published a state before recording it, so a query could be a
  // moment ahead of the audit log; now nothing is shown that is not recorded. The same patch gates
  // the redemption check of the link signals.
  const recordFirst = wf.patched('record-transition-before-publishing');
  const books = bookkeeping();
  let currentDeadline: number | null = null;
  let eventSeq = 0;
  const iso = (ms: number) => new Date(ms).toISOString();

  /** A unique audit step: the same name may be recorded more than once in one run. */
  const step = (name: string) => `${name}:${++eventSeq}`;

  const snapshot = (): S => ({ ...status, currentDeadline: currentDeadline === null ? null : iso(currentDeadline) });

  const show = () => {
    if (searchAttributes) {
      const pairs: SearchAttributeUpdatePair[] = [
        { key: TenantIdKey, value: status.tenantId },
        { key: AccountIdKey, value: status.accountId },
        { key: RecoveryKindKey, value: status.kind },
        { key: RecoveryStatusKey, value: status.state },
      ];
      const tier = riskTier();
      if (tier) pairs.push({ key: RiskTierKey, value: tier });
      wf.upsertSearchAttributes(pairs);
    }
    // No tenant or account here (an account id may be an address): those are search attributes.
    wf.setCurrentDetails(
      caseDetails({
        kind: status.kind,
        state: status.state,
        waitingFor: status.waitingFor,
        deadline: summaryShowsDeadline && currentDeadline ? iso(currentDeadline) : null,
      }),
    );
  };

  /** Starts the current stage's deadline; a named one is also kept in `status.deadlines`. */
  const setDeadline = (key: (keyof S['deadlines'] & string) | null, seconds: number) => {
    currentDeadline = Date.now() + seconds * 1000;
    if (key) (status.deadlines as Record<string, string>)[key] = iso(currentDeadline);
  };

  /** Records the new state, then shows it to queries and search. */
  const enter = async (state: S['state'], waitingFor: string | null, action: string, details: Record<string, unknown> = {}, actor = 'system') => {
    const publish = () => {
      status.state = state;
      status.waitingFor = waitingFor;
      show();
    };
    if (!recordFirst) publish();
    // The workflow's clock: on a time-skipping server it differs from the audit's wall clock.
    await record(books, { step: step(action), state, action, actor, details: { ...details, workflowTime: new Date().toISOString() } });
    if (recordFirst) publish();
  };

  const received = () => status.approvals.received;

  return {
    recordFirst,
    books,
    step,
    snapshot,
    show,
    setDeadline,
    clearDeadline: () => {
      currentDeadline = null;
    },
    /** The current deadline (epoch ms), or null between stages. */
    deadline: () => currentDeadline,
    deadlinePassed: () => currentDeadline !== null && Date.now() >= currentDeadline,
    enter,
    addDecision: (d: Omit<Decision, 'at'>) =>
      received().push({
        principalId: d.principalId,
        ...(d.personId ? { personId: d.personId } : {}),
        decision: d.decision,
        comment: d.comment,
        at: new Date().toISOString(),
      }),
    approvals: () => received().filter((a) => a.decision === 'approve').length,
    denied: () => received().some((a) => a.decision === 'deny'),
    deniedBy: () => received().find((a) => a.decision === 'deny'),
    /** Whether this principal, or (given) this person under any key, has decided. */
    hasDecided: (principalId: string, personId?: string) =>
      received().some((a) => a.principalId === principalId || (personId !== undefined && (a.personId ?? a.principalId) === personId)),
  };
}

export type Stage<S extends StageStatus> = ReturnType<typeof createStage<S>>;

/** Reminders of a deadline go out when this share of it has passed. */
export const REMINDER_AT = 0.75;

/** When a stage of `seconds` sends its one reminder, and how long it waits after that. */
export function reminderAt(seconds: number): { remindAfterMs: number; restMs: number } {
  const remindAfterMs = Math.floor(seconds * REMINDER_AT * 1000);
  return { remindAfterMs, restMs: seconds * 1000 - remindAfterMs };
}

/**
 * Waits for `done` until the deadline, calling `remind` once when `remindAfterMs` has passed
 * (it may decide to send nothing). True when `done` came in time.
 */
export async function awaitWithReminder(
  done: () => boolean,
  wait: { remindAfterMs: number; restMs: number },
  remind: () => Promise<unknown> | undefined,
): Promise<boolean> {
  if (await wf.condition(done, wait.remindAfterMs)) return true;
  const reminding = remind();
  if (reminding) await reminding;
  return wf.condition(done, wait.restMs);
}
