// When a reported behaviour event may have happened: late delivery and replays are fine, but
// nothing from the future (beyond the reporter's clock skew) and nothing older than the history
// anything here reads (Tier 2 and risk call an account inactive after 90 days; 400 days is a
// year and a season).

export const EVENT_CLOCK_SKEW_MS = 60_000;
export const EVENT_HISTORY_WINDOW_DAYS = 400;

/** Why an event time is refused, or null. */
export function eventTimeProblem(at: Date, now: number): string | null {
  if (at.getTime() > now + EVENT_CLOCK_SKEW_MS) return `at: in the future (more than ${EVENT_CLOCK_SKEW_MS / 1000} s ahead of the server clock)`;
  if (at.getTime() < now - EVENT_HISTORY_WINDOW_DAYS * 86_400_000) return `at: older than the login-history window (${EVENT_HISTORY_WINDOW_DAYS} days)`;
  return null;
}
