// Item 2b's server: the Temporal server (go.temporal.io/server, built with `go install` by
// scripts/provision/temporal-server.sh) on the local Postgres, in two fresh databases created and
// schema'd by that script and dropped at the end. One process runs all four services (frontend,
// history, matching, worker) on free ports of 127.0.0.1; namespace `default` and the engine's
// search attributes are registered once it answers.
import crypto from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import net from 'node:net';
import { SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { stopProcess } from '../../dev/temporal-dev-server';
import { dropDatabase } from '../../testkit/db';
import { onCleanup, ROOT } from '../../testkit/procs';
import { until } from '../../testkit/wait';
import { getShared } from './engine';
import { envInt, type BenchContext } from './util';

export interface TemporalServer {
  address: string;
  version: string;
  pid: number;
  /** Its two databases (history and visibility). */
  databases: string[];
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(args[0] ?? cmd)} failed: ${err.message}\n${stderr.slice(-4000)}`));
      else resolve(stdout);
    });
  });
}

export async function startTemporalOnPostgres(ctx: BenchContext): Promise<TemporalServer> {
  const s = await getShared();
  const version = process.env.TEMPORAL_SERVER_VERSION ?? '1.29.2';
  const db = `bench_tsrv_${crypto.randomBytes(3).toString('hex')}`;
  const vdb = `${db}_vis`;
  for (const name of [db, vdb]) {
    onCleanup(`drop ${name}`, () => dropDatabase(s.adminUrl, name));
  }
  ctx.log(`starts-pg: provisioning Temporal server ${version} (go install on first use; cached) and its databases ${db}, ${vdb}`);
  const out = await run(
    'bash',
    [path.join(ROOT, 'scripts', 'provision', 'temporal-server.sh')],
    {
      TEMPORAL_SERVER_VERSION: version,
      TEMPORAL_SQL_DATABASE: db,
      TEMPORAL_SQL_VISIBILITY_DATABASE: vdb,
      TEST_DATABASE_URL: s.adminUrl,
    },
    3600_000,
  );
  const binDir = out.trim().split('\n').pop()!;

  const pg = new URL(s.adminUrl);
  const root = fs.mkdtempSync(path.join(s.workDir, 'temporal-server-'));
  fs.mkdirSync(path.join(root, 'config', 'dynamicconfig'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'deploy', 'temporal', 'dynamicconfig', 'development-sql.yaml'), path.join(root, 'config', 'dynamicconfig', 'bench.yaml'));
  // The server stores membership ports in a smallint column: stay below 32768.
  const ports = { frontend: await lowPort(), frontendHttp: await lowPort(), history: await lowPort(), matching: await lowPort(), worker: await lowPort() };
  const members = { frontend: await lowPort(), history: await lowPort(), matching: await lowPort(), worker: await lowPort() };
  const shards = envInt('BENCH_TEMPORAL_SHARDS', 4);
  const store = (name: string, conns: number) => `
      sql:
        pluginName: "postgres12"
        databaseName: "${name}"
        connectAddr: "${pg.hostname}:${pg.port || 5432}"
        connectProtocol: "tcp"
        user: ${JSON.stringify(decodeURIComponent(pg.username))}
        password: ${JSON.stringify(decodeURIComponent(pg.password))}
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: "1h"`;
  const svc = (grpc: number, member: number, extra = '') => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${member}
      bindOnIP: "127.0.0.1"${extra}`;
  fs.writeFileSync(
    path.join(root, 'config', 'bench.yaml'),
    `# Written by bench/lib/temporal-server.ts: a single-process server on Postgres, 127.0.0.1 only.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: pg-default
  visibilityStore: pg-visibility
  numHistoryShards: ${shards}
  datastores:
    pg-default:${store(db, 20)}
    pg-visibility:${store(vdb, 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
  frontend:${svc(ports.frontend, members.frontend, `\n      httpPort: ${ports.frontendHttp}`)}
  history:${svc(ports.history, members.history)}
  matching:${svc(ports.matching, members.matching)}
  worker:${svc(ports.worker, members.worker)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${ports.frontend}"
dcRedirectionPolicy:
  policy: "noop"
archival:
  history:
    state: "disabled"
  visibility:
    state: "disabled"
namespaceDefaults:
  archival:
    history:
      state: "disabled"
    visibility:
      state: "disabled"
dynamicConfigClient:
  filepath: "${path.join(root, 'config', 'dynamicconfig', 'bench.yaml')}"
  pollInterval: "10s"
`,
  );

  const logFile = path.join(root, 'temporal-server.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(path.join(binDir, 'temporal-server'), ['--root', root, '--config', 'config', '--env', 'bench', '--allow-no-auth', 'start'], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = () => stopProcess(child, 10_000);
  const cleanup = onCleanup(`stop temporal-server (pid ${child.pid})`, stop);
  const address = `127.0.0.1:${ports.frontend}`;
  const tail = () => {
    const text = fs.readFileSync(logFile, 'utf8');
    const fatal = [...text.matchAll(/"level":"fatal"[^\n]*?"msg":"([^"]*)"(?:,"error":"([^"]*)")?/g)].pop();
    return (fatal ? `${fatal[1]}${fatal[2] ? `: ${fatal[2]}` : ''}\n` : '') + text.slice(-3000);
  };

  const connection = await until(
    'the Temporal server frontend',
    async () => {
      if (exited) throw new Error(`temporal-server exited at start:\n${tail()}`);
      try {
        const c = await Connection.connect({ address, connectTimeout: 1000 });
        await c.workflowService.getSystemInfo({});
        return c;
      } catch {
        return null;
      }
    },
    120_000,
    500,
  );
  try {
    await until(
      'namespace default',
      async () => {
        try {
          await connection.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('1 day') });
          return true;
        } catch (err) {
          if (/already exists|AlreadyExists/i.test((err as Error).message)) return true;
          return false;
        }
      },
      60_000,
      500,
    );
    await until(
      'search attributes',
      async () => {
        try {
          const have = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
          const missing = Object.keys(SEARCH_ATTRIBUTES).filter((k) => !(k in (have.customAttributes ?? {})));
          if (!missing.length) return true;
          await connection.operatorService.addSearchAttributes({
            namespace: 'default',
            searchAttributes: Object.fromEntries(missing.map((k) => [k, 2 /* KEYWORD */])),
          });
          return false;
        } catch {
          return false;
        }
      },
      60_000,
      500,
    );
  } finally {
    await connection.close();
  }
  ctx.log(`starts-pg: temporal-server ${version} up on ${address} (${shards} history shards; log ${logFile})`);
  return {
    address,
    version,
    pid: child.pid!,
    databases: [db, vdb],
    stop: () => cleanup.run(),
  };
}

const taken = new Set<number>();

/** A free TCP port on 127.0.0.1 in [20000, 32768), not handed out before in this run. */
async function lowPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    if (taken.has(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port below 32768 on 127.0.0.1');
}
