// Configuration: production refuses missing or weak secrets by name; development fills in defaults.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../infra/config';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-config-test-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const b64 = (n: number) => crypto.randomBytes(n).toString('base64');

function prodEnv(dataDir: string): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    TOKEN_HMAC_KEYS: `k2:${b64(32)},k1:${b64(32)}`,
    KNOWLEDGE_HMAC_KEY: b64(32),
    PAYLOAD_CODEC_KEYS: `p1:${b64(32)}`,
    AUDIT_HMAC_KEYS: `a1:${b64(32)}`,
    AUDIT_HEAD_EXPORT_FILE: path.join(dataDir, 'audit-heads.jsonl'),
    DATABASE_URL: 'postgres://recovery:secret@db.internal:5432/recovery',
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    TEMPORAL_TLS: 'true',
    SMTP_URL: 'smtps://mail.internal:465',
    PUBLIC_BASE_URL: 'https://recovery.example.com',
  };
}

function throwsConfigError(fn: () => unknown, variable: string, extra?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.ok(err.message.includes(variable), `message does not name ${variable}: ${err.message}`);
    if (extra) assert.match(err.message, extra);
    return true;
  });
}

describe('Production mode: a valid environment loads', () => {
  it('loads, is frozen, and parses keys in order (first is active)', () => {
    const dir = tmpDir();
    const c = loadConfig(prodEnv(dir));
    assert.equal(c.production, true);
    assert.equal(c.policyMode, 'production');
    assert.deepEqual(
      c.tokenKeys.map((k) => k.id),
      ['k2', 'k1'],
    );
    assert.ok(c.tokenKeys.every((k) => k.key.length === 32));
    assert.equal(c.knowledgeKey.length, 32);
    assert.equal(c.temporal.address, 'temporal.internal:7233');
    assert.ok(Object.isFrozen(c));
  });

  it('never writes dev secrets in production', () => {
    const dir = tmpDir();
    loadConfig(prodEnv(dir));
    assert.equal(fs.existsSync(path.join(dir, 'dev-secrets.json')), false);
  });
});

describe('Production mode: a missing required variable throws a ConfigError naming it', () => {
  for (const variable of [
    'TOKEN_HMAC_KEYS',
    'KNOWLEDGE_HMAC_KEY',
    'PAYLOAD_CODEC_KEYS',
    'AUDIT_HMAC_KEYS',
    'AUDIT_HEAD_EXPORT_FILE',
    'DATABASE_URL',
    'TEMPORAL_ADDRESS',
    'SMTP_URL',
    'PUBLIC_BASE_URL',
  ]) {
    it(`missing ${variable} throws a ConfigError naming ${variable}`, () => {
      const env = prodEnv(tmpDir());
      delete env[variable];
      throwsConfigError(() => loadConfig(env), variable, /required/);
    });
  }

  it('an empty TOKEN_HMAC_KEYS counts as missing', () => {
    const env = { ...prodEnv(tmpDir()), TOKEN_HMAC_KEYS: '' };
    throwsConfigError(() => loadConfig(env), 'TOKEN_HMAC_KEYS');
  });

  it('a malformed URL names its variable', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), DATABASE_URL: 'not a url' }), 'DATABASE_URL');
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), PUBLIC_BASE_URL: 'recovery.example.com' }), 'PUBLIC_BASE_URL');
  });
});

describe('Production mode: a weak key is rejected, naming the variable', () => {
  it('a 16-byte token HMAC key is rejected as weak naming TOKEN_HMAC_KEYS', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), TOKEN_HMAC_KEYS: `k1:${b64(16)}` }), 'TOKEN_HMAC_KEYS', /weak/);
  });

  it('a weak second (rotated) token key is rejected too', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), TOKEN_HMAC_KEYS: `k2:${b64(32)},k1:${b64(16)}` }), 'TOKEN_HMAC_KEYS', /weak/);
  });

  it('a 16-byte knowledge key is rejected as weak naming KNOWLEDGE_HMAC_KEY', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), KNOWLEDGE_HMAC_KEY: b64(16) }), 'KNOWLEDGE_HMAC_KEY', /weak/);
  });

  it('a key list without a key id, or with duplicate ids, is rejected naming TOKEN_HMAC_KEYS', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), TOKEN_HMAC_KEYS: b64(32) }), 'TOKEN_HMAC_KEYS');
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), TOKEN_HMAC_KEYS: `k1:${b64(32)},k1:${b64(32)}` }), 'TOKEN_HMAC_KEYS', /duplicate/);
  });

  it('OIDC at the codec needs issuer and audience together, and an https JWKS in production', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), CODEC_OIDC_ISSUER: 'https://idp.example.com' }), 'CODEC_OIDC_ISSUER');
    const oidc = { CODEC_OIDC_ISSUER: 'https://idp.example.com/', CODEC_OIDC_AUDIENCE: 'temporal-ui' };
    assert.deepEqual(loadConfig({ ...prodEnv(tmpDir()), ...oidc }).codecOidc, {
      issuer: 'https://idp.example.com/',
      audience: 'temporal-ui',
      jwksUrl: 'https://idp.example.com/.well-known/jwks.json',
      principalClaim: 'sub',
    });
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), ...oidc, CODEC_OIDC_JWKS_URL: 'http://idp.example.com/jwks' }), 'CODEC_OIDC_JWKS_URL');
  });

  it('the security webhook needs URL and a strong secret together, and https in production', () => {
    const secret = 'x'.repeat(32);
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), SECURITY_WEBHOOK_URL: 'https://sec.example.com/hook' }), 'SECURITY_WEBHOOK_SECRET');
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), SECURITY_WEBHOOK_SECRET: secret }), 'SECURITY_WEBHOOK_URL');
    throwsConfigError(
      () => loadConfig({ ...prodEnv(tmpDir()), SECURITY_WEBHOOK_URL: 'https://sec.example.com/hook', SECURITY_WEBHOOK_SECRET: 'short' }),
      'SECURITY_WEBHOOK_SECRET',
    );
    throwsConfigError(
      () => loadConfig({ ...prodEnv(tmpDir()), SECURITY_WEBHOOK_URL: 'http://sec.example.com/hook', SECURITY_WEBHOOK_SECRET: secret }),
      'SECURITY_WEBHOOK_URL',
    );
    assert.deepEqual(
      loadConfig({ ...prodEnv(tmpDir()), SECURITY_WEBHOOK_URL: 'https://sec.example.com/hook', SECURITY_WEBHOOK_SECRET: secret }).securityWebhook,
      {
        url: 'https://sec.example.com/hook',
        keyId: 'security',
        secret,
      },
    );
    assert.equal(loadConfig(prodEnv(tmpDir())).securityWebhook, null);
  });

  it('a weak BOOTSTRAP_ADMIN_KEY is rejected naming it', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), BOOTSTRAP_ADMIN_KEY: 'rk_short' }), 'BOOTSTRAP_ADMIN_KEY', /weak/);
  });
});

describe('Production mode: POLICY_MODE=dev is rejected', () => {
  it('POLICY_MODE=dev throws a ConfigError naming POLICY_MODE', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), POLICY_MODE: 'dev' }), 'POLICY_MODE');
  });

  it('POLICY_MODE=production is accepted', () => {
    assert.equal(loadConfig({ ...prodEnv(tmpDir()), POLICY_MODE: 'production' }).policyMode, 'production');
  });
});

describe('Dev mode: missing keys are generated into DATA_DIR and reused', () => {
  it('generates keys into DATA_DIR/dev-secrets.json on first load and reuses them on the second', () => {
    const dir = path.join(tmpDir(), 'nested', 'data');
    const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
    const file = path.join(dir, 'dev-secrets.json');
    assert.ok(fs.existsSync(file), 'dev-secrets.json written');
    assert.equal(fs.statSync(file).mode & 0o077, 0, 'dev-secrets.json is readable by the owner only');
    assert.equal(first.tokenKeys.length, 1);
    assert.ok(first.tokenKeys[0].key.length >= 32);
    assert.ok(first.knowledgeKey.length >= 32);
    assert.equal(first.production, false);
    assert.equal(first.policyMode, 'dev');
    assert.equal(first.dataDir, path.resolve(dir));

    const second = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
    assert.equal(second.tokenKeys[0].id, first.tokenKeys[0].id);
    assert.ok(second.tokenKeys[0].key.equals(first.tokenKeys[0].key));
    assert.ok(second.knowledgeKey.equals(first.knowledgeKey));
  });

  it('two data dirs get different keys', () => {
    const a = loadConfig({ NODE_ENV: 'test', DATA_DIR: tmpDir() });
    const b = loadConfig({ NODE_ENV: 'test', DATA_DIR: tmpDir() });
    assert.ok(!a.knowledgeKey.equals(b.knowledgeKey));
    assert.ok(!a.tokenKeys[0].key.equals(b.tokenKeys[0].key));
  });

  it('keys given in the environment win over generated ones and nothing is written', () => {
    const dir = tmpDir();
    const kk = b64(32);
    const c = loadConfig({
      NODE_ENV: 'development',
      DATA_DIR: dir,
      TOKEN_HMAC_KEYS: `mine:${b64(32)}`,
      KNOWLEDGE_HMAC_KEY: kk,
      PAYLOAD_CODEC_KEYS: `mine:${b64(32)}`,
      AUDIT_HMAC_KEYS: `mine:${b64(32)}`,
    });
    assert.equal(c.tokenKeys[0].id, 'mine');
    assert.equal(c.auditKeys[0].id, 'mine');
    assert.ok(c.knowledgeKey.equals(Buffer.from(kk, 'base64')));
    assert.equal(fs.existsSync(path.join(dir, 'dev-secrets.json')), false);
  });

  it('a data dir from before the keyed audit chain keeps its keys and gains an audit key', () => {
    const dir = tmpDir();
    const old = { tokenKeys: `dev1:${b64(32)}`, knowledgeKey: b64(32), payloadKeys: `dev1:${b64(32)}` };
    fs.writeFileSync(path.join(dir, 'dev-secrets.json'), JSON.stringify(old));
    const c = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
    assert.ok(c.tokenKeys[0].key.equals(Buffer.from(old.tokenKeys.slice(5), 'base64')));
    assert.equal(c.auditKeys.length, 1);
    assert.ok(loadConfig({ NODE_ENV: 'development', DATA_DIR: dir }).auditKeys[0].key.equals(c.auditKeys[0].key));
  });

  it('migrations default to DATABASE_URL outside production only', () => {
    const url = 'postgres://recovery_runtime:x@db.internal:5432/recovery';
    assert.equal(loadConfig({ NODE_ENV: 'development', DATA_DIR: tmpDir(), DATABASE_URL: url }).migrationDatabaseUrl, url);
    assert.equal(loadConfig({ ...prodEnv(tmpDir()), DATABASE_URL: url }).migrationDatabaseUrl, undefined);
  });

  it('dev mode needs no DATABASE_URL, TEMPORAL_ADDRESS, SMTP_URL or PUBLIC_BASE_URL', () => {
    const c = loadConfig({ NODE_ENV: 'development', DATA_DIR: tmpDir(), PORT: '4000' });
    assert.equal(c.publicBaseUrl, 'http://localhost:4000');
    assert.equal(c.temporal.address, '127.0.0.1:7233');
  });
});

describe('PUBLIC_BASE_URL: a trailing slash is trimmed', () => {
  it('trims one trailing slash', () => {
    assert.equal(loadConfig({ ...prodEnv(tmpDir()), PUBLIC_BASE_URL: 'https://recovery.example.com/' }).publicBaseUrl, 'https://recovery.example.com');
  });

  it('trims several trailing slashes and keeps a path', () => {
    assert.equal(loadConfig({ ...prodEnv(tmpDir()), PUBLIC_BASE_URL: 'https://example.com/recovery//' }).publicBaseUrl, 'https://example.com/recovery');
  });

  it('leaves a URL without a trailing slash unchanged', () => {
    assert.equal(loadConfig({ ...prodEnv(tmpDir()), PUBLIC_BASE_URL: 'https://recovery.example.com' }).publicBaseUrl, 'https://recovery.example.com');
  });
});

describe('HTTP read bounds', () => {
  it('default to 10 s for the headers, 60 s for the whole request, 120 s of silence', () => {
    assert.deepEqual(loadConfig(prodEnv(tmpDir())).http, { headersTimeoutSeconds: 10, requestTimeoutSeconds: 60, idleTimeoutSeconds: 120 });
  });

  it('are read from the environment', () => {
    const env = { ...prodEnv(tmpDir()), HTTP_HEADERS_TIMEOUT_SECONDS: '2', HTTP_REQUEST_TIMEOUT_SECONDS: '5', HTTP_IDLE_TIMEOUT_SECONDS: '30' };
    assert.deepEqual(loadConfig(env).http, { headersTimeoutSeconds: 2, requestTimeoutSeconds: 5, idleTimeoutSeconds: 30 });
  });

  it('refuse 0 (no bound) and a headers bound longer than the request bound, naming the variable', () => {
    throwsConfigError(() => loadConfig({ ...prodEnv(tmpDir()), HTTP_REQUEST_TIMEOUT_SECONDS: '0' }), 'HTTP_REQUEST_TIMEOUT_SECONDS');
    throwsConfigError(
      () => loadConfig({ ...prodEnv(tmpDir()), HTTP_HEADERS_TIMEOUT_SECONDS: '30', HTTP_REQUEST_TIMEOUT_SECONDS: '20' }),
      'HTTP_HEADERS_TIMEOUT_SECONDS',
    );
  });
});
