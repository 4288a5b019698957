// The audited admin change of an existing account (addresses, knowledge answers, role, display
// name): recorded with its audit event, then applied and notified by its own workflow, so it never
// takes effect without every old and new address being told. Never a password, factor or
// sign-in method: those change through a recovery. Import (admin.ts) only creates accounts.
import { appendAuditTx } from '../../store/audit';
import { insertAccountChange, markChangeEnded } from '../../store/account-changes';
import { findAccount, knowledgeHashes, type AccountChangeSet } from '../../store/directory';
import { getTenant } from '../../store/tenants';
import { newId } from '../../infra/secrets';
import type { AppDeps, Router } from '../deps';
import { builtinDirectoryOnly } from '../remote-directory';
import { ApiError } from '../errors';
import { withTemporalDeadline } from '../deadlines';
import { AccountChange, AccountChangeOut, AccountParams } from '../schemas';

/** Applying and notifying normally takes well under a second; past this the answer is 202. */
const APPLY_WAIT_MS = 10_000;

/** Starts the change's workflow; if Temporal refuses, the change ends unapplied, audited. */
async function startChange(deps: AppDeps, c: { id: string; tenantId: string; accountId: string; workflowId: string }) {
  try {
    return await withTemporalDeadline(deps.temporal, 'start', () =>
      deps.temporal.workflow.start('accountChangeWorkflow', {
        taskQueue: deps.taskQueue,
        workflowId: c.workflowId,
        workflowIdConflictPolicy: 'FAIL',
        args: [{ changeId: c.id }],
        staticSummary: `account change ${c.id} in ${c.tenantId}`,
      }),
    );
  } catch (err) {
    await deps.db.transaction().execute(async (trx) => {
      await markChangeEnded(trx, c.id, 'not_started');
      await appendAuditTx(trx, {
        tenantId: c.tenantId,
        eventKey: `${c.id}:not_started`,
        actor: 'system',
        action: 'account.change_not_started',
        target: `account:${c.accountId}`,
        recoveryId: c.id,
        details: { error: (err as Error).name },
      });
    });
    throw err;
  }
}

export function accountChangeRoute(r: Router, deps: AppDeps) {
  const { db, auth, config } = deps;
  r.patch(
    '/v1/admin/tenants/:tenantId/accounts/:accountId',
    {
      onRequest: auth.requireRole('admin'),
      schema: {
        summary: "Change an account's addresses, knowledge answers, role or display name (audited; every old and new address is told)",
        tags: ['admin'],
        params: AccountParams,
        body: AccountChange,
        response: { 200: AccountChangeOut, 202: AccountChangeOut },
      },
    },
    async (req, reply) => {
      const { tenantId, accountId } = req.params;
      await auth.requireTenant(req, tenantId, 'account.change');
      if (!(await getTenant(db, tenantId))) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
      await builtinDirectoryOnly(deps, tenantId);
      if (!(await findAccount(db, tenantId, accountId)))
        throw new ApiError(404, 'account_not_found', 'accountId: no such account in the tenant', { field: 'accountId' });
      const b = req.body;
      const change: AccountChangeSet = {
        ...(b.emails ? { emails: b.emails } : {}),
        ...(b.knowledge ? { knowledgeHashes: knowledgeHashes(config.knowledgeKey, { tenantId, accountId }, b.knowledge) } : {}),
        ...(b.role ? { role: b.role } : {}),
        ...(b.displayName !== undefined ? { displayName: b.displayName } : {}),
      };
      const id = newId('chg');
      const workflowId = `account-change:${id}`;
      await db.transaction().execute(async (trx) => {
        await insertAccountChange(trx, { id, tenantId, accountId, requestedBy: req.principal!.id, reason: b.reason, change, workflowId });
        await appendAuditTx(trx, {
          tenantId,
          eventKey: `${id}:requested`,
          actor: `principal:${req.principal!.id}`,
          action: 'account.change_requested',
          target: `account:${accountId}`,
          recoveryId: id,
          details: { fields: Object.keys(b).filter((k) => k !== 'reason'), reason: b.reason },
        });
      });
      const handle = await startChange(deps, { id, tenantId, accountId, workflowId });
      const view = { id, tenantId, accountId };
      const waited = AbortSignal.timeout(APPLY_WAIT_MS);
      let out: { applied: boolean; recipients: number };
      try {
        out = await deps.temporal.withAbortSignal(waited, () => handle.result() as Promise<typeof out>);
      } catch (err) {
        // Still running (a worker or SMTP is slow): it applies and notifies when it can.
        if (waited.aborted) return reply.code(202).send({ ...view, state: 'pending' });
        throw err;
      }
      if (!out.applied) throw new ApiError(404, 'account_not_found', 'accountId: the account no longer exists; nothing changed', { field: 'accountId' });
      return reply.code(200).send({ ...view, state: 'applied', notified: out.recipients });
    },
  );
}
