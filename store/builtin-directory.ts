// The built-in directory behind the Directory port (domain/directory.ts): every method is a call
// to store/directory.ts, which owns the tables. Remote directories (webhook, Keycloak) implement
// the same port elsewhere.
import crypto from 'node:crypto';
import type { AccountRef, Change, Directory, DirectoryFor, NewPassword } from '../domain/directory';
import { hashPassword } from '../infra/secrets';
import type { Db } from './db';
import { accountUuid, checkKnowledge, findAccount, passwordChangedBy, registeredAddresses, removeFactorsRequireEnrolment, setPasswordHash } from './directory';
import { revokeAccessSessions, revokeAllSessions } from './sessions';

async function requireUuid(db: Db, ref: AccountRef): Promise<string> {
  const id = await accountUuid(db, ref);
  if (!id) throw new AccountNotFoundError();
  return id;
}

/** The account is not (or no longer) in the directory: a refusal, not worth a retry. */
export class AccountNotFoundError extends Error {
  constructor() {
    super('account not found');
    this.name = 'AccountNotFoundError';
  }
}

/** Every tenant on the built-in directory (until tenants can choose another). */
export function builtinDirectories(db: Db, knowledgeKey: Buffer): DirectoryFor {
  const builtin = createBuiltinDirectory(db, knowledgeKey);
  return () => Promise.resolve(builtin);
}

/** The built-in directory behind the port. */
export function createBuiltinDirectory(db: Db, knowledgeKey: Buffer): Directory {
  return {
    async lookup(ref) {
      const a = await findAccount(db, ref.tenantId, ref.accountId);
      if (!a) return null;
      return {
        role: a.role,
        authMethod: a.auth_method,
        active: a.status === 'active',
      };
    },

    async addresses(ref) {
      const id = await accountUuid(db, ref);
      return id ? (await registeredAddresses(db, id)).map((a) => a.email) : [];
    },

    checkKnowledge: (ref, answers, required) => checkKnowledge(db, knowledgeKey, ref, answers, required),

    async setPassword(ref, password: NewPassword, change: Change) {
      const id = await requireUuid(db, ref);
      await setPasswordHash(db, id, password.argon2id, change.by);
    },

    async removeMfaFactors(ref, change) {
      return { removed: await removeFactorsRequireEnrolment(db, await requireUuid(db, ref), change.by) };
    },

    async revokeSessions(ref, reason) {
      return { revoked: await revokeAllSessions(db, await requireUuid(db, ref), reason) };
    },

    async revokeGrantSessions(_ref, grantId, reason) {
      return { revoked: await revokeAccessSessions(db, grantId, reason) };
    },

    async rotateCredential(ref, change) {
      const id = await requireUuid(db, ref);
      const changedBy = await passwordChangedBy(db, id);
      if (changedBy === null) return { rotated: false, note: 'no local credential to rotate; none was created' };
      if (changedBy === change.by) return { rotated: true, note: 'already rotated' };
      await setPasswordHash(db, id, await hashPassword(crypto.randomBytes(32).toString('base64url')), change.by);
      return { rotated: true, note: 'the local credential was replaced by a random one' };
    },
  };
}
