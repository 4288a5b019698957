// The built-in directory behind the Directory port (domain/directory.ts): every method is a call
// to store/directory.ts, which owns the tables. Remote directories (webhook, Keycloak) implement
// the same port in infra/.
import crypto from 'node:crypto';
import { DirectoryRefusedError, type AccountRef, type Directory } from '../domain/directory';
import { hashPassword } from '../infra/secrets';
import type { Db } from './db';
import { accountUuid, checkKnowledge, findAccount, passwordChangedBy, registeredAddresses, setAccountActive, setPasswordHash } from './directory';
import { removeFactorsRequireEnrolment } from './mfa-factors';
import { revokeAllSessions } from './sessions';

async function requireUuid(db: Db, ref: AccountRef): Promise<string> {
  const id = await accountUuid(db, ref);
  if (!id) throw new DirectoryRefusedError('account_not_found', 'no such account in the built-in directory');
  return id;
}

/** The built-in directory behind the port. */
export function createBuiltinDirectory(db: Db, knowledgeKey: Buffer): Directory {
  return {
    kind: 'builtin',
    passwordForm: 'argon2id',
    knowledgeFactors: true,
    enrolment: 'link',

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

    async setPassword(ref, password, change) {
      if (!('argon2id' in password)) throw new DirectoryRefusedError('password_form', 'the built-in directory takes an argon2id hash');
      const id = await requireUuid(db, ref);
      await setPasswordHash(db, id, password.argon2id, change.by);
    },

    async removeMfaFactors(ref, change) {
      return { removed: await removeFactorsRequireEnrolment(db, await requireUuid(db, ref), change.by) };
    },

    async revokeSessions(ref, change) {
      return { revoked: await revokeAllSessions(db, await requireUuid(db, ref), change.reason) };
    },

    async setActive(ref, active) {
      return { active: await setAccountActive(db, await requireUuid(db, ref), active) };
    },

    // The engine's own sign-in checks emergency credentials; their sessions are the engine's too,
    // and the activity that ends a grant revokes them for every kind of directory.
    grantAccess: () => Promise.resolve(),
    endAccess: () => Promise.resolve({ revoked: 0 }),

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
