// Onboarding without SSO, the admin's side: invite an account the engine already holds (its link
// goes to the address registered for it, never one from the request), and read where the
// invitation stands (never its link). The invitee's side is beside the other public link routes.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invitationEnrolment, type InvitationWorkflow } from '../../contracts/invitation';
import { AccountIdKey, RecoveryKindKey, RecoveryStatusKey, TenantIdKey } from '../../contracts/search-attributes';
import { resolvePolicy, type PolicyOverride } from '../../domain/policy';
import { caseSummary } from '../../domain/public-summary';
import { newId } from '../../infra/secrets';
import { appendAuditTx } from '../../store/audit';
import { accountUuid, passwordChangedBy } from '../../store/directory';
import { getInvitation, insertInvitation, moveInvitation, openInvitationOf, type InvitationRow } from '../../store/invitations';
import { factorEnrolledVia, liveTotpFactors } from '../../store/mfa-factors';
import { getTenant } from '../../store/tenants';
import { withTemporalDeadline } from '../deadlines';
import { typed, type AppDeps, type Router } from '../deps';
import { ApiError } from '../errors';
import { CreateInvitation, InvitationIdParams, InvitationOut } from '../schemas';

const conflict = (code: string, field: string, message: string) => new ApiError(409, code, `${field}: ${message}`, { field });

/** Whom an invitation may go to: a local account of a tenant that allows local sign-in, never registered yet. */
async function invitable(deps: AppDeps, tenantId: string, accountId: string) {
  const tenant = await getTenant(deps.db, tenantId);
  if (!tenant) throw new ApiError(404, 'tenant_not_found', 'tenantId: no such tenant', { field: 'tenantId' });
  // Invariant 5: no local password for an SSO tenant or an SSO-managed account.
  if (tenant.auth_mode === 'sso_enforced')
    throw conflict('sso_enforced', 'tenantId', "this tenant enforces SSO: its people sign in through the customer's identity provider");
  const ref = { tenantId, accountId };
  const directory = await deps.directoryFor(tenantId);
  const acct = await directory.lookup(ref);
  if (!acct) throw new ApiError(404, 'account_not_found', 'accountId: no such account in the tenant (import it first)', { field: 'accountId' });
  if (acct.authMethod !== 'local')
    throw conflict('sso_managed', 'accountId', "this account is SSO-managed: it signs in through the customer's identity provider");
  if (!acct.active) throw conflict('account_inactive', 'accountId', 'this account is suspended or deprovisioned');
  const uuid = await accountUuid(deps.db, ref);
  if (!uuid) throw conflict('account_not_in_engine', 'accountId', 'the engine holds no record of this account');
  // An invitation sets a first password: an account that has one (or an authenticator) recovers instead.
  if ((await passwordChangedBy(deps.db, uuid)) !== null || (await liveTotpFactors(deps.db, uuid)).length)
    throw conflict('already_registered', 'accountId', 'this account already has a password or an authenticator: use a recovery');
  if (!(await directory.addresses(ref)).length)
    throw conflict('no_registered_address', 'accountId', 'the account has no registered address to send the link to');
  return resolvePolicy(tenant.policy_override as PolicyOverride | null);
}

/** Starts the recorded invitation's workflow; if Temporal refuses, the row ends `not_started`, audited. */
async function startInvitation(deps: AppDeps, i: { id: string; tenantId: string; accountId: string; workflowId: string; ttlSeconds: number }) {
  const { db, temporal } = deps;
  try {
    await withTemporalDeadline(temporal, 'start', () =>
      temporal.workflow.start<InvitationWorkflow>('invitationWorkflow', {
        taskQueue: deps.taskQueue,
        workflowId: i.workflowId,
        workflowIdConflictPolicy: 'FAIL',
        args: [{ invitationId: i.id, tenantId: i.tenantId, accountId: i.accountId, ttlSeconds: i.ttlSeconds, searchAttributes: deps.searchAttributes }],
        ...(deps.searchAttributes
          ? {
              typedSearchAttributes: [
                { key: TenantIdKey, value: i.tenantId },
                { key: AccountIdKey, value: i.accountId },
                { key: RecoveryKindKey, value: 'invitation' },
                { key: RecoveryStatusKey, value: 'issuing' },
              ],
            }
          : {}),
        staticSummary: caseSummary('invitation', i.id),
      }),
    );
  } catch (err) {
    await db.transaction().execute(async (trx) => {
      await moveInvitation(trx, { id: i.id, state: 'not_started', terminal: true, runId: null });
      await appendAuditTx(trx, {
        tenantId: i.tenantId,
        eventKey: `${i.id}:not_started`,
        actor: 'system',
        action: 'invitation.not_started',
        target: `account:${i.accountId}`,
        recoveryId: i.id,
        details: { error: (err as Error).name },
      });
    });
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw conflict('invitation_open', 'accountId', 'this account has an open invitation');
    throw err;
  }
}

function createRoute(r: Router, deps: AppDeps) {
  const { db, auth } = deps;
  r.post(
    '/v1/invitations',
    {
      onRequest: auth.requireRole('admin'),
      schema: {
        summary: 'Invite an account to register without SSO (the link goes to its registered address only)',
        tags: ['invitations'],
        body: CreateInvitation,
        response: { 202: InvitationOut },
      },
    },
    async (req, reply) => {
      const { tenantId, accountId } = req.body;
      await auth.requireTenant(req, tenantId, 'invitation.create');
      const policy = await invitable(deps, tenantId, accountId);
      const id = newId('inv');
      const workflowId = `invitation:${tenantId}:${accountId}`;
      const ttlSeconds = policy.invitationTtlSeconds;
      const actor = `principal:${req.principal!.id}`;
      const created = await db.transaction().execute(async (trx) => {
        if (!(await insertInvitation(trx, { id, tenantId, accountId, workflowId, invitedBy: actor, ttlSeconds }))) return false;
        await appendAuditTx(trx, {
          tenantId,
          eventKey: `${id}:created`,
          actor,
          action: 'invitation.created',
          target: `account:${accountId}`,
          recoveryId: id,
          details: { reason: 'an admin invited the account to register without SSO', ttlSeconds, to: 'the primary registered address' },
        });
        return true;
      });
      if (!created) {
        const open = await openInvitationOf(db, tenantId, accountId);
        throw new ApiError(409, 'invitation_open', 'accountId: this account has an open invitation', { field: 'accountId', id: open?.id ?? null });
      }
      await startInvitation(deps, { id, tenantId, accountId, workflowId, ttlSeconds });
      return reply.code(202).send(await view(deps, (await getInvitation(db, id))!));
    },
  );
}

/** An invitation as the API shows it: its state and times, never its link or factor secret. */
async function view({ db }: AppDeps, row: InvitationRow) {
  const factor = await factorEnrolledVia(db, invitationEnrolment(row.id));
  const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
  return {
    id: row.id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    state: row.state,
    invitedBy: row.invited_by,
    ttlSeconds: row.ttl_seconds,
    factorConfirmed: !!factor?.confirmed_at,
    createdAt: iso(row.created_at)!,
    expiresAt: iso(row.expires_at),
    endedAt: iso(row.ended_at),
  };
}

async function loadInScope({ db, auth }: AppDeps, req: FastifyRequest, id: string) {
  const notFound = () => new ApiError(404, 'not_found', 'id: no such invitation', { field: 'id' });
  const row = await getInvitation(db, id);
  if (!row) throw notFound();
  // Another tenant's invitation answers like a missing one (and is audited).
  await auth.requireTenant(req, row.tenant_id, 'invitation.get', { target: `invitation:${row.id}`, recoveryId: row.id, notFound: notFound() });
  return row;
}

function readRoute(r: Router, deps: AppDeps) {
  r.get(
    '/v1/invitations/:id',
    {
      onRequest: deps.auth.requireRole('admin', 'auditor'),
      schema: { summary: 'Get an invitation (its state, never its link)', tags: ['invitations'], params: InvitationIdParams, response: { 200: InvitationOut } },
    },
    async (req) => view(deps, await loadInScope(deps, req, req.params.id)),
  );
}

export function invitationRoutes(app: FastifyInstance, deps: AppDeps) {
  const r = typed(app);
  createRoute(r, deps);
  readRoute(r, deps);
}
