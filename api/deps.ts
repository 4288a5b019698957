// What the routes are built with: buildApp's options plus what it derives from them. A module of
// its own so that routes import it without importing the app that imports them.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import type { IpDatabase } from '../infra/ip-database';
import type { Mailer } from '../infra/mailer';
import type { Db } from '../store/db';
import type { DirectoryFor } from '../domain/directory';
import type { Auth } from './auth';
import type { DirectoryHealthBoard } from './directory-status';

export interface AppOptions {
  db: Db;
  temporal: Client;
  config: Config;
  taskQueue: string;
  /** Whether the Temporal server has the custom search attributes registered. */
  searchAttributes: boolean;
  logger: Logger | false;
  /** Mail the API sends itself: principals' verification links and approver-change notices. */
  mailer: Mailer;
  /** Dev outbox folder served at /dev/outbox (npm start without SMTP_URL). */
  outboxDir?: string;
  /** The identity system of each tenant; the built-in directory by default. */
  directoryFor?: DirectoryFor;
  /** Each tenant's latest directory health, shared with the periodic check (boot/); a fresh one by default. */
  directoryHealth?: DirectoryHealthBoard;
  /** The offline IP database; by default the configured files (config.ipDatabases), opened once per process. */
  ipDatabase?: IpDatabase;
}

export interface AppDeps extends AppOptions {
  auth: Auth;
  log: Logger | Console;
  directoryFor: DirectoryFor;
  directoryHealth: DirectoryHealthBoard;
  ipDatabase: IpDatabase;
}

/** The app as routes register on it: request and response types come from the zod schemas. */
export const typed = (app: FastifyInstance) => app.withTypeProvider<ZodTypeProvider>();
export type Router = ReturnType<typeof typed>;
