// A workflow's event history as the tests and drills inspect it: decoded with the engine's payload
// keys (searching ciphertext for a leak would make it invisible, not absent), or raw as stored.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal as temporalProto, type temporal } from '@temporalio/proto';
import type { Config } from '../infra/config';
import { decodePayloadsInPlace, EncryptionCodec } from '../infra/codec';

type History = temporal.api.history.v1.IHistory;

/** The history with every payload decrypted. */
export async function decodedHistory(client: Client, payloadKeys: Config['payloadKeys'], workflowId: string, runId?: string): Promise<History> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  await decodePayloadsInPlace(history, new EncryptionCodec(payloadKeys));
  return history;
}

/** The whole decoded history as one string to search for secrets. */
export async function historyText(h: { client: Client; config: Pick<Config, 'payloadKeys'> }, workflowId: string, runId?: string): Promise<string> {
  return flatten(await decodedHistory(h.client, h.config.payloadKeys, workflowId, runId));
}

/** Raw history as the Temporal server stores it (payloads still encrypted). */
export async function rawHistoryText(h: { client: Client }, workflowId: string): Promise<string> {
  return flatten(await h.client.workflow.getHandle(workflowId).fetchHistory());
}

/**
 * Every string and every byte field (as UTF-8 and as base64) in a history, walked by hand:
 * JSON.stringify would call the protobuf messages' toJSON and hide payload bytes as base64.
 */
export function flatten(node: unknown, out: string[] = []): string {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('utf8'), Buffer.from(node).toString('base64'));
  else if (typeof node === 'string') out.push(node);
  else if (node && typeof node === 'object') for (const v of Object.values(node)) flatten(v, out);
  return out.join('\n');
}

/** What a workflow did, one entry per step, read from its (decoded) history. */
export type HistoryStep =
  | { kind: 'activity'; name: string; local: boolean; input: unknown; result: unknown; failure: { type: string; message: string } | null }
  | { kind: 'update'; name: string; input: unknown; result: unknown; rejected: boolean }
  | { kind: 'signal'; name: string; input: unknown }
  | { kind: 'search_attribute'; key: string; value: unknown }
  | { kind: 'marker'; name: string }
  | { kind: 'closed'; status: string; result: unknown }
  /** An event of a type none of the above reads (a child workflow, an external signal...). */
  | { kind: 'event'; type: string };

const E = temporalProto.api.enums.v1.EventType;
/** Events that only move the run along: the steps they serve are read from the events above. */
const PLUMBING = new Set<number>([
  E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
  E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
  E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
  E.EVENT_TYPE_TIMER_STARTED,
  E.EVENT_TYPE_TIMER_FIRED,
  E.EVENT_TYPE_TIMER_CANCELED,
]);

const fromPayloads = (p: { payloads?: temporal.api.common.v1.IPayload[] | null } | null | undefined): unknown =>
  p?.payloads?.length ? defaultPayloadConverter.fromPayload(p.payloads[0]) : undefined;
const failureOf = (f: temporal.api.failure.v1.IFailure | null | undefined) =>
  f ? { type: f.cause?.applicationFailureInfo?.type ?? f.applicationFailureInfo?.type ?? '', message: f.cause?.message ?? f.message ?? '' } : null;

/**
 * Every step of a run in history order: activities (scheduled ones with their outcome, local ones
 * from their markers), accepted updates with their outcome, signals, search attribute upserts,
 * other markers, the close, and any other event by its type.
 */
export function historySteps(history: History): HistoryStep[] {
  const steps: HistoryStep[] = [];
  const activities = new Map<string, Extract<HistoryStep, { kind: 'activity' }>>();
  const updates = new Map<string, Extract<HistoryStep, { kind: 'update' }>>();
  for (const e of history.events ?? []) {
    const type = e.eventType ?? 0;
    if (PLUMBING.has(type)) continue;
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const step = {
        kind: 'activity' as const,
        name: a.activityType?.name ?? '',
        local: false,
        input: fromPayloads(a.input),
        result: undefined,
        failure: null,
      };
      activities.set(id, step);
      steps.push(step);
    } else if (e.activityTaskCompletedEventAttributes) {
      activities.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId))!.result = fromPayloads(e.activityTaskCompletedEventAttributes.result);
    } else if (e.activityTaskFailedEventAttributes) {
      activities.get(String(e.activityTaskFailedEventAttributes.scheduledEventId))!.failure = failureOf(e.activityTaskFailedEventAttributes.failure);
    } else if (e.markerRecordedEventAttributes) {
      const m = e.markerRecordedEventAttributes;
      if (m.markerName === 'core_local_activity') {
        const data = fromPayloads(m.details?.data) as { activity_type?: string } | undefined;
        steps.push({
          kind: 'activity',
          name: data?.activity_type ?? '',
          local: true,
          input: undefined,
          result: fromPayloads(m.details?.result),
          failure: failureOf(m.failure),
        });
      } else steps.push({ kind: 'marker', name: m.markerName ?? '' });
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      const a = e.workflowExecutionUpdateAcceptedEventAttributes;
      const step = {
        kind: 'update' as const,
        name: a.acceptedRequest?.input?.name ?? '',
        input: fromPayloads(a.acceptedRequest?.input?.args),
        result: undefined,
        rejected: false,
      };
      updates.set(a.acceptedRequest?.meta?.updateId ?? '', step);
      steps.push(step);
    } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
      const a = e.workflowExecutionUpdateCompletedEventAttributes;
      const step = updates.get(a.meta?.updateId ?? '')!;
      step.result = fromPayloads(a.outcome?.success);
      step.rejected = !!a.outcome?.failure;
    } else if (e.workflowExecutionSignaledEventAttributes) {
      const s = e.workflowExecutionSignaledEventAttributes;
      steps.push({ kind: 'signal', name: s.signalName ?? '', input: fromPayloads(s.input) });
    } else if (e.upsertWorkflowSearchAttributesEventAttributes) {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
      for (const [key, v] of Object.entries(fields)) steps.push({ kind: 'search_attribute', key, value: defaultPayloadConverter.fromPayload(v) });
    } else if (e.workflowExecutionCompletedEventAttributes) {
      steps.push({ kind: 'closed', status: 'completed', result: fromPayloads(e.workflowExecutionCompletedEventAttributes.result) });
    } else steps.push({ kind: 'event', type: E[type] ?? String(type) });
  }
  return steps;
}
