// A real Keycloak for the test suite: the distribution scripts/provision/keycloak.sh caches, in
// dev mode on a free loopback port, with the test realm from deploy/keycloak imported at start.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../boot/ports';
import { PROJECT_ROOT } from '../dev/provision';
import { stopProcess } from '../dev/temporal-dev-server';

export const KEYCLOAK_REALM_FILE = path.join(PROJECT_ROOT, 'deploy', 'keycloak', 'recovery-test-realm.json');

export interface RunningKeycloak {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  startupMs: number;
  stop(): Promise<void>;
}

/** kc.sh and the JAVA_HOME (21+) to run it with, from the environment or the provisioning script. */
export function keycloakInstall(): { kc: string; javaHome: string } {
  if (process.env.KEYCLOAK_KC_PATH && process.env.KEYCLOAK_JAVA_HOME) return { kc: process.env.KEYCLOAK_KC_PATH, javaHome: process.env.KEYCLOAK_JAVA_HOME };
  const out = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'provision', 'keycloak.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const [kc, javaHome] = out.trim().split('\n').slice(-2);
  if (!kc || !javaHome) throw new Error('keycloak.sh did not print the kc.sh path and JAVA_HOME');
  return { kc, javaHome };
}

/**
 * A home folder of this run's own: Keycloak writes its dev database and a rebuilt lib/quarkus
 * under its home, so two runs at once (or two checkouts) must not share the cached one. The big
 * read-only parts (jars, themes) are symlinks; kc.sh resolves its own path, so bin is a copy.
 */
function runHome(dist: string, dir: string): string {
  const home = path.join(dir, 'keycloak-home');
  fs.mkdirSync(path.join(home, 'lib'), { recursive: true });
  fs.cpSync(path.join(dist, 'bin'), path.join(home, 'bin'), { recursive: true });
  fs.cpSync(path.join(dist, 'conf'), path.join(home, 'conf'), { recursive: true });
  fs.cpSync(path.join(dist, 'lib', 'quarkus'), path.join(home, 'lib', 'quarkus'), { recursive: true });
  fs.copyFileSync(path.join(dist, 'lib', 'quarkus-run.jar'), path.join(home, 'lib', 'quarkus-run.jar'));
  for (const p of ['lib/lib', 'lib/app', 'themes', 'providers']) fs.symlinkSync(path.join(dist, p), path.join(home, p));
  fs.mkdirSync(path.join(home, 'data', 'import'), { recursive: true });
  fs.copyFileSync(KEYCLOAK_REALM_FILE, path.join(home, 'data', 'import', path.basename(KEYCLOAK_REALM_FILE)));
  return home;
}

/** Starts Keycloak and resolves once its health endpoint says UP (the realm is imported by then). */
export async function startKeycloak(o: { logDir: string; timeoutMs?: number }): Promise<RunningKeycloak> {
  const { kc, javaHome } = keycloakInstall();
  const home = runHome(path.resolve(path.dirname(kc), '..'), o.logDir);
  const [port, mgmtPort] = [await freePort(), await freePort()];
  const logFile = path.join(o.logDir, 'keycloak.log');
  const log = fs.openSync(logFile, 'a');
  const started = Date.now();
  const args = ['start-dev', `--http-port=${port}`, '--http-host=127.0.0.1', `--http-management-port=${mgmtPort}`, '--health-enabled=true', '--import-realm'];
  const child = spawn(path.join(home, 'bin', 'kc.sh'), args, {
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      JAVA_HOME: javaHome,
      // A throwaway admin per run: nothing in the suite uses it, but Keycloak wants one.
      KC_BOOTSTRAP_ADMIN_USERNAME: `admin-${crypto.randomBytes(4).toString('hex')}`,
      KC_BOOTSTRAP_ADMIN_PASSWORD: crypto.randomBytes(24).toString('base64url'),
      // Java 24+ closes java.lang to Keycloak's thread-local reset unless opened (its own hint).
      JAVA_OPTS_APPEND: '--add-opens=java.base/java.lang=ALL-UNNAMED',
    },
  });
  fs.closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  // If the runner dies before stop(), Keycloak (kc.sh forwards SIGTERM to its JVM) goes with it.
  const orphanGuard = () => child.kill('SIGTERM');
  process.once('exit', orphanGuard);
  const stop = async (graceMs: number) => {
    process.off('exit', orphanGuard);
    await stopProcess(child, graceMs);
    fs.rmSync(home, { recursive: true, force: true });
  };
  const deadline = started + (o.timeoutMs ?? 180_000);
  for (;;) {
    if (exited) {
      await stop(0);
      throw new Error(`Keycloak exited at start; see ${logFile}:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    }
    const up = await fetch(`http://127.0.0.1:${mgmtPort}/health/ready`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (up) break;
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`Keycloak did not become ready within ${(o.timeoutMs ?? 180_000) / 1000} s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { url: `http://127.0.0.1:${port}`, startupMs: Date.now() - started, stop: () => stop(10_000) };
}
