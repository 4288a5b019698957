// What deprovisioning an account does, at once and each step audited: the account is deactivated
// (or, deleted, deprovisioned for good), every session and refresh token ends, and every recovery
// and emergency-access grant still running for it is cancelled or revoked through its workflow,
// which records and notifies as for any cancel or revocation. Idempotent: a repeat finds nothing
// left to end. A step that fails (Temporal or the directory down) fails the call, so the identity
// provider retries it, as SCIM clients do on 5xx; the status change is already recorded by then.
import { cancelUpdate } from '../contracts/recovery';
import { accessRevokeUpdate } from '../contracts/access';
import { appendAudit } from '../store/audit';
import { setAccountLifecycle } from '../store/directory';
import { openGrantsOf } from '../store/grants';
import { openRecoveriesOf } from '../store/recoveries';
import { attest } from './attest';
import { withTemporalDeadline } from './deadlines';
import type { AppDeps } from './deps';
import { toApiError } from './errors';

export interface Deprovisioning {
  tenantId: string;
  /** The account's external id (SCIM's `id`). */
  accountId: string;
  accountUuid: string;
  /** suspended: SCIM active=false (reversible); deprovisioned: SCIM DELETE (final). */
  status: 'suspended' | 'deprovisioned';
  /** The request, so a retried call records its own events once each. */
  requestId: string;
}

export interface Deprovisioned {
  status: string | null;
  sessionsRevoked: number;
  recoveriesCancelled: string[];
  grantsRevoked: string[];
  /** Cases already past the point of no return (e.g. a reset being applied): they end by themselves. */
  notStopped: { id: string; code: string }[];
}

const REASON = 'the account was deprovisioned by the identity provider (SCIM)';

export async function deprovision(deps: AppDeps, d: Deprovisioning): Promise<Deprovisioned> {
  const { db, temporal } = deps;
  const actor = `scim:${d.tenantId}`;
  const target = `account:${d.accountId}`;
  const status = await setAccountLifecycle(db, d.accountUuid, d.status);
  await appendAudit(db, {
    tenantId: d.tenantId,
    eventKey: `${target}:scim-${d.status}:${d.requestId}`,
    actor,
    action: d.status === 'deprovisioned' ? 'account.deprovisioned' : 'account.deactivated',
    target,
    details: { via: 'scim', status, reason: REASON },
  });

  const directory = await deps.directoryFor(d.tenantId);
  const ref = { tenantId: d.tenantId, accountId: d.accountId };
  const { revoked } = await directory.revokeSessions(ref, { idempotencyKey: `scim:${d.requestId}:sessions`, by: actor, reason: REASON });
  await appendAudit(db, {
    tenantId: d.tenantId,
    eventKey: `${target}:scim-sessions:${d.requestId}`,
    actor,
    action: 'account.sessions_revoked',
    target,
    details: { revoked, reason: REASON },
  });

  const out: Deprovisioned = { status, sessionsRevoked: revoked, recoveriesCancelled: [], grantsRevoked: [], notStopped: [] };
  for (const r of await openRecoveriesOf(db, d.tenantId, d.accountId)) {
    const message = { actor, via: 'deprovision' as const, reason: REASON };
    const attested = await attest(deps, { kind: 'recovery.cancel', tenantId: r.tenant_id, caseId: r.id, workflowId: r.workflow_id, principal: null, message });
    const handle = temporal.workflow.getHandle(r.workflow_id, r.run_id ?? undefined);
    const done = await stopped(() => withTemporalDeadline(temporal, 'update', () => handle.executeUpdate(cancelUpdate, { args: [attested] })));
    if (done === true) out.recoveriesCancelled.push(r.id);
    else out.notStopped.push({ id: r.id, code: done });
  }
  for (const g of await openGrantsOf(db, d.tenantId, d.accountId)) {
    const message = { actor, reason: REASON };
    const attested = await attest(deps, { kind: 'access.revoke', tenantId: g.tenant_id, caseId: g.id, workflowId: g.workflow_id, principal: null, message });
    const handle = temporal.workflow.getHandle(g.workflow_id, g.run_id ?? undefined);
    const done = await stopped(() => withTemporalDeadline(temporal, 'update', () => handle.executeUpdate(accessRevokeUpdate, { args: [attested] })));
    if (done === true) out.grantsRevoked.push(g.id);
    else out.notStopped.push({ id: g.id, code: done });
  }
  return out;
}

/** true once the workflow took the cancel or revocation; its refusal code when the case cannot be stopped any more; any other failure throws. */
async function stopped(send: () => Promise<unknown>): Promise<true | string> {
  try {
    await send();
    return true;
  } catch (err) {
    const e = toApiError(err);
    if (e.status >= 400 && e.status < 500) return e.code;
    throw e;
  }
}
