// The reference receiver of the signed webhook contract: a real HTTP server on 127.0.0.1 that
// verifies signatures, refuses replays, answers a repeated idempotency key with its first answer,
// keeps accounts in memory, and can be told to fail per operation (status, hang, slow answer).
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ZodType } from 'zod';
import type { AccountAuthMethod, AccountRole } from '../domain/types';
import { WEBHOOK_OPERATIONS, type WebhookOperationName } from '../infra/webhook-contract';
import { verifyRequest } from '../infra/webhook-signing';

export interface ReceiverAccount {
  role: AccountRole;
  authMethod: AccountAuthMethod;
  addresses: string[];
  active: boolean;
  /** SHA-256 of the password: enough for tests to check which password was applied. */
  passwordHash?: string;
  mfaFactors: { id: string; enrolledBy?: string }[];
  enrolmentRequired: boolean;
  sessions: { id: string; grantId?: string }[];
  credentialVersion: number;
  /** Emergency credentials honoured until they expire or end. */
  accessGrants: { grantId: string; credentialHash: string; expiresAt: Date }[];
}

/** `hang` never answers (the client's timeout fires); `slow` answers normally after `ms`. */
export type Failure = { kind: 'status'; status: number; code?: string } | { kind: 'hang' } | { kind: 'slow'; ms: number };

type Answer = { status: number; body: unknown };

export interface WebhookReceiver {
  url: string;
  accounts: Map<string, ReceiverAccount>;
  /** Every change actually applied (not answered from the idempotency store). */
  applied: { op: WebhookOperationName; accountId: string; idempotencyKey: string }[];
  /** Every request refused before any operation ran, with the reason. */
  refused: { reason: string; path: string }[];
  addAccount(id: string, a?: Partial<ReceiverAccount>): ReceiverAccount;
  /** The receiver's own sign-in, as the product would run it: a session, or null when refused. */
  signIn(id: string, password: string): string | null;
  /** The next `times` calls of `op` fail as told (they are not stored as idempotent answers). */
  failNext(op: WebhookOperationName, failure: Failure, times?: number): void;
  close(): Promise<void>;
}

export const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const err = (status: number, code: string, message?: string): Answer => ({ status, body: { error: { code, ...(message ? { message } : {}) } } });

function route(method: string, path: string): { op: WebhookOperationName; accountId: string } | null {
  for (const [name, op] of Object.entries(WEBHOOK_OPERATIONS)) {
    const re = new RegExp(`^${op.path.replace('{id}', '([^/?]+)')}$`);
    const m = re.exec(path);
    if (m && op.method === method) return { op: name as WebhookOperationName, accountId: decodeURIComponent(m[1]) };
  }
  return null;
}

/** Runs one operation on the in-memory store; the body has already been checked against the contract. */
function apply(op: WebhookOperationName, a: ReceiverAccount, body: Record<string, string | undefined>): Answer {
  switch (op) {
    case 'lookup':
      return {
        status: 200,
        body: { exists: true, role: a.role, authMethod: a.authMethod, addresses: a.addresses, active: a.active, knowledgeFactors: 'none' },
      };
    case 'setPassword':
      if (a.authMethod === 'sso') return err(409, 'sso_managed', 'the identity provider owns this credential');
      a.passwordHash = sha256(body.password!);
      return { status: 200, body: { applied: true } };
    case 'resetMfa': {
      const before = a.mfaFactors.length;
      a.mfaFactors = a.mfaFactors.filter((f) => body.keepEnrolledBy !== undefined && f.enrolledBy === body.keepEnrolledBy);
      a.enrolmentRequired = true;
      return { status: 200, body: { removed: before - a.mfaFactors.length, enrolmentRequired: true } };
    }
    case 'revokeSessions': {
      const before = a.sessions.length;
      a.sessions = a.sessions.filter((s) => body.grantId !== undefined && s.grantId !== body.grantId);
      return { status: 200, body: { revoked: before - a.sessions.length } };
    }
    case 'disable':
    case 'enable':
      a.active = op === 'enable';
      return { status: 200, body: { active: a.active } };
    case 'grantAccess':
      a.accessGrants = a.accessGrants.filter((g) => g.grantId !== body.grantId);
      a.accessGrants.push({ grantId: body.grantId!, credentialHash: sha256(body.credential!), expiresAt: new Date(body.expiresAt!) });
      return { status: 200, body: { applied: true } };
    case 'endAccess': {
      a.accessGrants = a.accessGrants.filter((g) => g.grantId !== body.grantId);
      const before = a.sessions.length;
      a.sessions = a.sessions.filter((s) => s.grantId !== body.grantId);
      return { status: 200, body: { revoked: before - a.sessions.length } };
    }
    case 'rotateCredential':
      if (a.authMethod === 'sso') return { status: 200, body: { rotated: false, note: 'SSO-managed: no local credential' } };
      a.passwordHash = sha256(crypto.randomBytes(32).toString('hex'));
      a.credentialVersion += 1;
      return { status: 200, body: { rotated: true, note: `credential version ${a.credentialVersion}` } };
  }
}

export async function startWebhookReceiver(keys: Record<string, string>): Promise<WebhookReceiver> {
  const accounts = new Map<string, ReceiverAccount>();
  const failures = new Map<WebhookOperationName, { failure: Failure; left: number }>();
  const remembered = new Map<string, { fingerprint: string; answer: Answer }>();
  const applied: WebhookReceiver['applied'] = [];
  const refused: WebhookReceiver['refused'] = [];

  async function handle(method: string, path: string, raw: string, headers: http.IncomingHttpHeaders): Promise<Answer | 'hang'> {
    const v = verifyRequest({ method, path, body: raw, headers, keys });
    if (!v.ok) {
      refused.push({ reason: v.reason, path });
      return err(401, v.reason);
    }
    const r = route(method, path);
    if (!r) return err(404, 'no_such_operation');
    const injected = failures.get(r.op);
    if (injected && injected.left > 0) {
      injected.left -= 1;
      if (injected.failure.kind === 'hang') return 'hang';
      if (injected.failure.kind === 'status') return err(injected.failure.status, injected.failure.code ?? `injected_${injected.failure.status}`);
      await new Promise((resolve) => setTimeout(resolve, (injected.failure as { ms: number }).ms));
    }
    // One idempotency key names one request: the same request again gets the first answer, and
    // anything else under that key is a replay or a bug, refused.
    const fingerprint = sha256(`${method}\n${path}\n${raw}`);
    const seen = remembered.get(v.idempotencyKey);
    if (seen) return seen.fingerprint === fingerprint ? seen.answer : err(409, 'idempotency_key_reused');
    const schema = 'body' in WEBHOOK_OPERATIONS[r.op] ? (WEBHOOK_OPERATIONS[r.op] as { body: ZodType }).body : undefined;
    let body: Record<string, string | undefined> = {};
    if (schema) {
      const parsed = schema.safeParse(parseJson(raw));
      if (!parsed.success) return err(400, 'invalid_body');
      body = parsed.data as typeof body;
    }
    const account = accounts.get(r.accountId);
    const answer = account ? apply(r.op, account, body) : err(404, 'account_not_found');
    if (method === 'POST') {
      remembered.set(v.idempotencyKey, { fingerprint, answer });
      if (answer.status === 200) applied.push({ op: r.op, accountId: r.accountId, idempotencyKey: v.idempotencyKey });
    }
    return answer;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req.method ?? 'GET', req.url ?? '/', Buffer.concat(chunks).toString('utf8'), req.headers).then(
        (answer) => {
          if (answer === 'hang') return;
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
        },
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    accounts,
    applied,
    refused,
    addAccount(id, a = {}) {
      const account = newAccount(id, a);
      accounts.set(id, account);
      return account;
    },
    signIn(id, password) {
      const a = accounts.get(id);
      if (!a?.active) return null;
      const hash = sha256(password);
      const grant = a.accessGrants.find((g) => g.credentialHash === hash && g.expiresAt.getTime() > Date.now());
      if (!grant && (a.authMethod !== 'local' || a.passwordHash !== hash)) return null;
      const session = { id: crypto.randomUUID(), ...(grant ? { grantId: grant.grantId } : {}) };
      a.sessions.push(session);
      return session.id;
    },
    failNext(op, failure, times = 1) {
      failures.set(op, { failure, left: times });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function newAccount(id: string, a: Partial<ReceiverAccount>): ReceiverAccount {
  const defaults: ReceiverAccount = {
    role: 'standard',
    authMethod: 'local',
    addresses: [`${id}@example.com`],
    active: true,
    mfaFactors: [],
    enrolmentRequired: false,
    sessions: [],
    credentialVersion: 1,
    accessGrants: [],
  };
  return { ...defaults, ...a };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
