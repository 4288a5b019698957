// The environment every engine under test gets, in this process or as processes: fresh secrets,
// second-scale policies allowed, emailed links to a host that resolves nowhere, a known admin key.
import crypto from 'node:crypto';

export const newAdminKey = () => `rk_${crypto.randomBytes(32).toString('base64url')}`;

/** The environment of an engine under test: fresh secrets, second-scale policies allowed, links to a host that resolves nowhere. */
export function testEngineEnv(o: { dataDir: string; adminKey: string }): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    DATA_DIR: o.dataDir,
    // Key id t1: the tests' made-up tokens (`t1.AAAA...`) name it, so they reach the hash check.
    TOKEN_HMAC_KEYS: `t1:${crypto.randomBytes(32).toString('base64')}`,
    KNOWLEDGE_HMAC_KEY: crypto.randomBytes(32).toString('base64'),
    PAYLOAD_CODEC_KEYS: `p1:${crypto.randomBytes(32).toString('base64')}`,
    AUDIT_HMAC_KEYS: `a1:${crypto.randomBytes(32).toString('base64')}`,
    PUBLIC_BASE_URL: 'http://recovery.test',
    POLICY_MODE: 'dev',
    BOOTSTRAP_ADMIN_KEY: o.adminKey,
    // Off: a background probe would take a test's one-shot receiver failure; tests that want it start it.
    DIRECTORY_HEALTH_CHECK_SECONDS: '0',
  };
}
