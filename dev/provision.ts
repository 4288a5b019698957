// Where the dev and test tooling finds what scripts/provision/ builds once and caches outside the
// repo: the Temporal CLI, the time-skipping test server, Postgres.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..');

/**
 * Path of the Temporal CLI: TEMPORAL_CLI_PATH, or the project's cached source build with a server
 * outside the range of CVE-2025-14986. Always through the script, which refuses a preset binary
 * whose embedded server is older than the fixed one (issue 11 item 16).
 */
export function temporalCliPath(): string {
  return provision('temporal-cli.sh');
}

/** Runs one of scripts/provision/*.sh and returns the line it prints (a path or URL). */
export function provision(script: string): string {
  const out = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'provision', script)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const line = out.trim().split('\n').pop();
  if (!line) throw new Error(`${script} printed nothing`);
  return line;
}
