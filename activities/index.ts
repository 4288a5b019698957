// Every side effect of the workflows, built by one factory from its dependencies. Each concern
// has its own file; all are idempotent by a key derived from the workflow's case id + step, and
// none returns a secret: tokens and password hashes stay in Postgres and these functions.
import type { WorkflowActivities } from '../contracts/activities';
import { createAccessActivities } from './access';
import { createAccountChangeActivities } from './account-change';
import { createAccountActivities } from './account';
import { createAttestationActivities } from './attestations';
import { withDefaults, type ActivityDeps } from './deps';
import { createLinkActivities } from './links';
import { createNoticeActivities } from './notify';
import { createRecoveryActivities } from './recovery';
import { createRiskResponseActivities } from './risk-response';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  // One directory resolver for every concern.
  const all = withDefaults(deps);
  return {
    ...createRecoveryActivities(all),
    ...createLinkActivities(all),
    ...createNoticeActivities(all),
    ...createAccountActivities(all),
    ...createAccessActivities(all),
    ...createAccountChangeActivities(all),
    ...createAttestationActivities(all),
    ...createRiskResponseActivities(all),
  } satisfies WorkflowActivities;
}

export type Activities = ReturnType<typeof createActivities>;
