// The scheduled access review of one tenant (SPEC.md 3.3), started by the tenant's Temporal
// Schedule: findings computed and stored once, the policy's action applied finding by finding,
// then the report mailed to the security contacts. The moment reviewed is the workflow's own
// clock, so a run replays the same and a time-skipping test moves it.
import * as wf from '@temporalio/workflow';
import type { AccessReviewInput, AccessReviewOutcome } from '../contracts/access-review';
import { reviewActs as acts } from './proxies';

export async function accessReviewWorkflow(i: AccessReviewInput): Promise<AccessReviewOutcome> {
  const reviewId = `arv_${wf.uuid4().replace(/-/g, '')}`;
  const asOf = new Date().toISOString();
  const opened = await acts.openAccessReview({ reviewId, tenantId: i.tenantId, workflowId: wf.workflowInfo().workflowId, asOf });
  let suspended = 0;
  for (const n of opened.toSuspend) {
    if ((await acts.applyAccessReviewFinding({ reviewId, n })).suspended) suspended++;
  }
  const { recipients } = await acts.sendAccessReviewReport({ reviewId });
  return { reviewId, findings: opened.findings, suspended, recipients };
}
