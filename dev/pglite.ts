// Zero-setup database: PGlite in a folder, served over the Postgres wire protocol so the app
// uses the same `pg` driver as in production. One connection: callers use a pool of size 1.
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dir: string, port = 0): Promise<EmbeddedPostgres> {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port });
  await server.start();
  const addr = (server as unknown as { server: { address(): { port: number } } }).server.address();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${addr.port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
