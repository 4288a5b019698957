// Databases of a run on a Postgres cluster: a template migrated once per run, and a clone of it
// per test file, benchmark or drill (CREATE DATABASE ... TEMPLATE takes a moment, migrating takes
// seconds). Everything here is cluster administration; the tables' data goes through the API.
// The admin URL's role owns the databases and migrates them; the engines under test connect as
// the runtime role (migrations/0008), as in production.
import crypto from 'node:crypto';
import pg from 'pg';
import { provision } from '../dev/provision';
import { createDb } from '../store/db';
import { migrateToLatest } from '../migrations';
import { onCleanup } from './procs';
import { sleep } from './wait';

/** The superuser URL of the local Postgres: TEST_DATABASE_URL, or what scripts/provision/postgres.sh prints. */
export function adminUrlFromEnv(): string {
  return process.env.TEST_DATABASE_URL ?? provision('postgres.sh');
}

/** The runtime role's name and password that scripts/provision/postgres.sh creates. */
const RUNTIME_ROLE = 'recovery_runtime';

/**
 * The engine's URL of a database: the same server as the admin URL, as the runtime role
 * (TEST_RUNTIME_DATABASE_URL's user and password when set, else recovery_runtime's).
 */
export function runtimeUrlOf(adminUrl: string, name: string): string {
  const u = new URL(withDb(adminUrl, name));
  const given = process.env.TEST_RUNTIME_DATABASE_URL ? new URL(process.env.TEST_RUNTIME_DATABASE_URL) : null;
  u.username = given?.username ?? RUNTIME_ROLE;
  u.password = given?.password ?? RUNTIME_ROLE;
  return u.toString();
}

/** On a fresh cluster (the chaos drills' own), the runtime role the engines connect as, made once. */
export async function createRuntimeRole(adminUrl: string): Promise<void> {
  await adminQuery(adminUrl, `create role ${RUNTIME_ROLE} login password '${RUNTIME_ROLE}'`);
}

/** The same server and credentials, another database. */
export function withDb(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** One statement on a connection of its own; a server that goes away never crashes this process. */
export async function adminQuery(adminUrl: string, sqlText: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return await c.query(sqlText);
  } finally {
    await c.end();
  }
}

/** The server processes (backends) connected to these databases now, from pg_stat_activity. */
export async function postgresBackendPids(adminUrl: string, databases: readonly string[]): Promise<number[]> {
  const list = databases.map((d) => `'${d.replace(/'/g, '')}'`).join(',');
  const r = await adminQuery(adminUrl, `select pid from pg_stat_activity where datname = any(array[${list}])`);
  return r.rows.map((x: { pid: number }) => x.pid);
}

/** DROP DATABASE ... WITH (FORCE), retried a few times (a client may reconnect in between). */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(1000);
    }
  }
}

/** Creates `<prefix>_<random>` and migrates it to the latest schema; returns its name. */
export async function createTemplate(adminUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const db = createDb(withDb(adminUrl, name), 1);
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  return name;
}

export interface ClonedDatabase {
  name: string;
  /** As the owner (the admin URL's role): migrations, and what tests tamper with. */
  url: string;
  /** As the runtime role: what the engine connects with. */
  runtimeUrl: string;
  /** Drops it (and its registered cleanup). */
  drop(): Promise<void>;
}

/**
 * A fresh database `<prefix>_<random>` cloned from `template`, registered for cleanup. `dropWhen`
 * guards the drop (the chaos drills skip it while their cluster is stopped).
 */
export async function cloneDatabase(adminUrl: string, template: string, prefix: string, o: { dropWhen?: () => boolean } = {}): Promise<ClonedDatabase> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '')}_${crypto.randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name} template ${template}`);
  const cleanup = onCleanup(`drop database ${name}`, async () => {
    if (!o.dropWhen || o.dropWhen()) await dropDatabase(adminUrl, name);
  });
  return { name, url: withDb(adminUrl, name), runtimeUrl: runtimeUrlOf(adminUrl, name), drop: () => cleanup.run() };
}
