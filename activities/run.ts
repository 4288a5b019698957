// Which workflow run an activity works for.
import { Context } from '@temporalio/activity';
import { sql } from 'kysely';

/**
 * The read model's `run_id`, set by the run's first recorded transition (the API does not write
 * it after the start: one round trip and one commit fewer per request). Until then the row's
 * workflow id alone finds the run, as no other run of that id can be active meanwhile.
 */
export function runIdOnce() {
  let runId: string | null = null;
  try {
    runId = Context.current().info.workflowExecution?.runId ?? null;
  } catch {
    // Called outside an activity (a direct call in a test): nothing to record.
  }
  return sql<string | null>`coalesce(run_id, ${runId})`;
}
