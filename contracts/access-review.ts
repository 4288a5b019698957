// What crosses Temporal for the scheduled access review: the Schedule's workflow input, its
// outcome, and the activities it calls. Ids and counts only; findings stay in Postgres.
import type { AccessReviewFindingKind } from '../domain/access-review';

/** What the tenant's Schedule starts the workflow with: the tenant only; the policy is read at run time. */
export interface AccessReviewInput {
  tenantId: string;
}

export interface AccessReviewOutcome {
  reviewId: string;
  findings: number;
  suspended: number;
  recipients: number;
}

export type AccessReviewWorkflow = (input: AccessReviewInput) => Promise<AccessReviewOutcome>;

/** Actor of every event the review records: the tenant's Schedule (SPEC.md 3.3). */
export const accessReviewActor = (tenantId: string) => `schedule:access-review:${tenantId}`;

export interface AccessReviewActivities {
  /** Reads the facts, computes the findings, stores the report and audits each finding; once per review id. */
  openAccessReview: (i: { reviewId: string; tenantId: string; workflowId: string; asOf: string }) => Promise<{
    findings: number;
    byKind: Record<AccessReviewFindingKind, number>;
    action: 'report' | 'suspend';
    /** The numbers of the findings the action suspends (none when the policy only reports). */
    toSuspend: number[];
  }>;
  /** Applies the policy's action to finding `n` (suspend through the directory, notice to the account). */
  applyAccessReviewFinding: (i: { reviewId: string; n: number }) => Promise<{ suspended: boolean }>;
  /** Emails the report to the tenant's security contacts and completes it. */
  sendAccessReviewReport: (i: { reviewId: string }) => Promise<{ recipients: number }>;
}
