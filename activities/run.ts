// Which workflow run an activity works for.
import { Context } from '@temporalio/activity';

/**
 * The run this activity works for, or null outside an activity. The read model's `run_id` is set
 * by the run's first recorded transition (the API does not write it after the start: one round
 * trip and one commit fewer per request).
 */
export function currentRunId(): string | null {
  let runId: string | null = null;
  try {
    runId = Context.current().info.workflowExecution?.runId ?? null;
  } catch {
    // Called outside an activity (a direct call in a test): nothing to record.
  }
  return runId;
}
