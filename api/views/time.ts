// How times appear in every JSON answer: ISO strings, and the seconds left until a deadline.
export const iso = (d: Date | string) => new Date(d).toISOString();
export const isoOrNull = (d: Date | string | null) => (d ? iso(d) : null);

/** Whole seconds until an ISO deadline, never negative; null without one. */
export const remainingSeconds = (deadline: string | null | undefined) =>
  deadline ? Math.max(0, Math.round((Date.parse(deadline) - Date.now()) / 1000)) : null;
