// Separation of duties between people, not keys: the one check every decision and review route
// makes before its Update. The workflow's validators keep their own checks (role, scope, the
// requester's key, one decision per key); this adds what only Postgres knows: who the person
// behind each key is, who created whom, and which persons already decided the case.
import type { FastifyRequest } from 'fastify';
import { coversTenant } from '../domain/scope';
import { normaliseEmail } from '../domain/person';
import type { PrincipalRole } from '../domain/types';
import { appendAudit } from '../store/audit';
import { claimDecision, decisionClaims } from '../store/persons';
import { principalWithPerson } from '../store/principals';
import type { AppDeps } from './deps';
import { ApiError } from './errors';

/** The case being decided or reviewed, as the route loaded it. */
export interface SeparationCase {
  /** A recovery's approval, a grant's approval, or a grant's post-action review. */
  act: 'recovery_approval' | 'grant_approval' | 'grant_review';
  id: string;
  tenantId: string;
  accountId: string;
  /** The requesting principal's id. */
  requestedBy: string;
}

const ROLE: Record<SeparationCase['act'], PrincipalRole> = { recovery_approval: 'approver', grant_approval: 'break_glass_approver', grant_review: 'reviewer' };

type Facts = NonNullable<Awaited<ReturnType<typeof principalWithPerson>>>;

/** Whether either principal created the other, directly or through a key of the other's person. */
async function creatorConflict(deps: AppDeps, me: Facts, requester: Facts): Promise<boolean> {
  if (me.created_by === requester.id || requester.created_by === me.id) return true;
  const personOf = async (id: string | null) => (id ? ((await principalWithPerson(deps.db, id))?.person_id ?? null) : null);
  const [myCreator, theirCreator] = await Promise.all([personOf(me.created_by), personOf(requester.created_by)]);
  return (!!myCreator && myCreator === requester.person_id) || (!!theirCreator && theirCreator === me.person_id);
}

/** The refusal, if any, of this principal deciding or reviewing this case. */
async function refusal(deps: AppDeps, req: FastifyRequest, c: SeparationCase): Promise<ApiError | null> {
  const p = req.principal!;
  const me = await principalWithPerson(deps.db, p.id);
  if (!me?.person_id || !me.person_confirmed_at || !me.person_email)
    return new ApiError(403, 'person_unverified', 'this key is not bound to a verified person: its holder must confirm the emailed link first');
  const requester = await principalWithPerson(deps.db, c.requestedBy);
  if (requester?.person_id && requester.person_id === me.person_id)
    return new ApiError(403, 'same_person', 'the requester never decides or reviews their own request, whatever key they use');
  if (requester && (await creatorConflict(deps, me, requester)))
    return new ApiError(403, 'creator_conflict', 'a principal never decides or reviews a request made by its creator or by a principal it created');
  if (c.act === 'grant_review') {
    // An approver's own key is the validator's to refuse (reviewer_not_independent); their other keys are ours.
    const claims = await decisionClaims(deps.db, c.id);
    if (claims.some((d) => d.personId === me.person_id && d.principalId !== p.id))
      return new ApiError(403, 'same_person', 'an approver of this grant never reviews it, whatever key they use');
    return null;
  }
  // The owner check of an unbound key: the person's own address is one of the account's.
  const addresses = await (await deps.directoryFor(c.tenantId)).addresses({ tenantId: c.tenantId, accountId: c.accountId });
  if (addresses.map(normaliseEmail).includes(normaliseEmail(me.person_email)))
    return new ApiError(403, 'owner_cannot_approve', 'the account owner never approves their own recovery');
  // Last, so a refused request holds no claim: the first key of a person to decide holds the case.
  const holder = await claimDecision(deps.db, { caseId: c.id, personId: me.person_id, principalId: p.id });
  if (holder !== p.id) return new ApiError(403, 'same_person', 'this person has already decided with another key: a person counts once');
  return null;
}

/**
 * Throws 403 (`person_unverified`, `same_person`, `creator_conflict`, `owner_cannot_approve`)
 * when the caller may not decide or review the case, and audits the refusal. Keys without the
 * act's role, outside the case's tenant, or the requester's own key are left to the workflow's
 * validator, which refuses them with its own codes.
 */
export async function assertSeparation(deps: AppDeps, req: FastifyRequest, c: SeparationCase): Promise<void> {
  const p = req.principal!;
  if (!p.roles.includes(ROLE[c.act]) || !coversTenant(p.tenantScope, c.tenantId) || p.id === c.requestedBy) return;
  const refused = await refusal(deps, req, c);
  if (!refused) return;
  await appendAudit(deps.db, {
    tenantId: c.tenantId,
    eventKey: `${c.id}:separation-refused:${req.id}:${Date.now()}`,
    actor: `principal:${p.id}`,
    action: 'separation.refused',
    target: `account:${c.accountId}`,
    recoveryId: c.id,
    details: { act: c.act, code: refused.code, personId: p.personId },
  });
  throw refused;
}
