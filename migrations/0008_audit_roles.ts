// The audit log out of the runtime role's reach. Migrations run as the schema's owner; the API and
// the worker connect as `recovery_runtime`, which may read and write the product's tables but only
// INSERT and SELECT audit events and only SELECT chain heads. A head moves in a SECURITY DEFINER
// trigger (owned by the owner) that accepts only an event extending it; TRUNCATE is refused by
// statement triggers (row triggers never see it). Events gain the id of the HMAC key that signs them.
import { Kysely, sql } from 'kysely';

/** The runtime role's name; deployments create it as a LOGIN role (README: database roles). */
const RUNTIME = 'recovery_runtime';

export async function up(db: Kysely<any>): Promise<void> {
  // Roles are cluster-wide: created here only where the owner may (a superuser, as in the embedded
  // dev database); elsewhere the deployment creates it first and this says so.
  await sql
    .raw(
      `do $$ begin
        if not exists (select 1 from pg_roles where rolname = '${RUNTIME}') then
          begin
            create role ${RUNTIME} nologin;
          exception when insufficient_privilege then
            raise exception 'role ${RUNTIME} does not exist and % may not create it: create it (LOGIN) before migrating', current_user;
          end;
        end if;
      end $$`,
    )
    .execute(db);

  await sql`alter table audit_events add column key_id text`.execute(db);
  // Events already there stay unkeyed; every new one names its key, so nobody without the key
  // (the runtime role included) can extend a chain with unkeyed events.
  await sql`alter table audit_events add constraint audit_events_keyed check (key_id is not null) not valid`.execute(db);

  await sql.raw(`grant usage on schema public to ${RUNTIME}`).execute(db);
  await sql.raw(`grant select, insert, update, delete on all tables in schema public to ${RUNTIME}`).execute(db);
  await sql.raw(`grant usage, select on all sequences in schema public to ${RUNTIME}`).execute(db);
  // Tables of later migrations (run by the same owner) get the same grants.
  await sql.raw(`alter default privileges in schema public grant select, insert, update, delete on tables to ${RUNTIME}`).execute(db);
  await sql.raw(`alter default privileges in schema public grant usage, select on sequences to ${RUNTIME}`).execute(db);
  await sql.raw(`revoke all on audit_events, audit_heads, kysely_migration, kysely_migration_lock from ${RUNTIME}`).execute(db);
  await sql.raw(`grant select, insert on audit_events to ${RUNTIME}`).execute(db);
  await sql.raw(`grant select on audit_heads to ${RUNTIME}`).execute(db);

  // The tenant's head, created at genesis when missing, locked for the caller's transaction.
  await sql`create function audit_head_for_append(p_tenant text) returns table (head_seq bigint, head_hash text)
    language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
    begin
      insert into public.audit_heads (tenant_id, seq, hash) values (p_tenant, 0, repeat('0', 64))
        on conflict (tenant_id) do nothing;
      return query select h.seq, h.hash from public.audit_heads h where h.tenant_id = p_tenant for update;
    end $$`.execute(db);
  await sql`create function audit_events_move_head() returns trigger
    language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
    begin
      update public.audit_heads set seq = new.seq, hash = new.hash
       where tenant_id = new.tenant_id and seq = new.seq - 1 and hash = new.prev_hash;
      if not found then
        raise exception 'audit event % of % does not extend its chain''s head', new.seq, new.tenant_id;
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger audit_events_move_head after insert on audit_events
    for each row execute function audit_events_move_head()`.execute(db);
  for (const fn of ['audit_head_for_append(text)', 'audit_events_move_head()']) {
    await sql.raw(`revoke all on function ${fn} from public`).execute(db);
  }
  await sql.raw(`grant execute on function audit_head_for_append(text) to ${RUNTIME}`).execute(db);

  await sql`create function audit_log_no_truncate() returns trigger language plpgsql as $$
    begin raise exception '% is append-only', tg_table_name; end $$`.execute(db);
  for (const t of ['audit_events', 'audit_heads']) {
    await sql.raw(`create trigger ${t}_no_truncate before truncate on ${t} for each statement execute function audit_log_no_truncate()`).execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['audit_events', 'audit_heads']) await sql.raw(`drop trigger if exists ${t}_no_truncate on ${t}`).execute(db);
  await sql`drop trigger if exists audit_events_move_head on audit_events`.execute(db);
  await sql`drop function if exists audit_log_no_truncate()`.execute(db);
  await sql`drop function if exists audit_events_move_head()`.execute(db);
  await sql`drop function if exists audit_head_for_append(text)`.execute(db);
  await sql.raw(`alter default privileges in schema public revoke all on tables from ${RUNTIME}`).execute(db);
  await sql.raw(`alter default privileges in schema public revoke all on sequences from ${RUNTIME}`).execute(db);
  await sql.raw(`revoke all on all tables in schema public from ${RUNTIME}`).execute(db);
  await sql.raw(`revoke all on all sequences in schema public from ${RUNTIME}`).execute(db);
  await sql.raw(`revoke usage on schema public from ${RUNTIME}`).execute(db);
  await sql`alter table audit_events drop constraint if exists audit_events_keyed`.execute(db);
  await sql`alter table audit_events drop column key_id`.execute(db);
}
