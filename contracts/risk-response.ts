// Messages of the risk-response workflow: what the engine did on its own about a behaviour event
// and an admin's reversal or acknowledgement of it. Ids, states and reason codes only.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ResponseAction } from '../domain/risk-response';
import type { Attested } from './attested';

export interface RiskResponseInput {
  responseId: string;
  tenantId: string;
  accountId: string;
  action: ResponseAction;
  /** How long an admin may reverse or acknowledge the response; then it stands and the run ends. */
  reviewSeconds: number;
  searchAttributes: boolean;
}

export interface RiskResponseStatus {
  responseId: string;
  tenantId: string;
  accountId: string;
  kind: string;
  action: ResponseAction;
  state: string;
  waitingFor: string | null;
  decision: { decision: 'reverse' | 'acknowledge'; principalId: string; at: string } | null;
}

export type RiskResponseWorkflow = (input: RiskResponseInput) => Promise<{ responseId: string; state: string }>;

/** An admin's decision as the message carries it; the workflow believes only its attestation. */
export interface RiskDecisionMessage extends Attested {
  decision: 'reverse' | 'acknowledge';
  reason: string;
}

export const riskStatusQuery = defineQuery<RiskResponseStatus>('status');
export const riskDecideUpdate = defineUpdate<RiskResponseStatus, [RiskDecisionMessage]>('decide');
