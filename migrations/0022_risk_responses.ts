// Risk responses (issue: risk engine): what the engine did on its own about a behaviour event (a
// session revoked, an enrolment held, a password change forced, a human asked), with its evidence
// and whether an admin reversed or acknowledged it. One row per response; the dedupe key makes a
// replayed event, or a second use of one hijacked session, answer the response already made.
import { Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table risk_responses (
    id text primary key,
    tenant_id text not null references tenants (id),
    account_id text not null,
    account_uuid uuid not null references accounts (id),
    action text not null check (action in ('revoke_sessions', 'hold_enrolment', 'force_password_change', 'escalate')),
    signal text not null,
    dedupe_key text not null,
    event_id text,
    evidence jsonb not null,
    state text not null,
    outcome jsonb,
    workflow_id text not null,
    decided_by text,
    decided_at timestamptz,
    decision_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, dedupe_key)
  )`.execute(db);
  await sql`create index risk_responses_tenant_account on risk_responses (tenant_id, account_id, created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table risk_responses`.execute(db);
}
