// Who is behind a principal: a person, known by one normalised email address. Separation of duties
// counts people, not keys. Pure: no I/O.

/** Roles whose holders decide or review, and so must be verified persons, told to the tenant when granted. */
export const DECIDING_ROLES = ['approver', 'break_glass_approver', 'reviewer'] as const;

/** One spelling per address (the same normalisation as migration 0006's backfill). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Whether a set of roles includes one that decides or reviews. */
export function holdsDecidingRole(roles: readonly string[]): boolean {
  return roles.some((r) => (DECIDING_ROLES as readonly string[]).includes(r));
}

/** The person of a principal; a principal without one (the bootstrap admin) is its own. */
export const personOf = (p: { id: string; personId?: string | null }): string => p.personId ?? p.id;
