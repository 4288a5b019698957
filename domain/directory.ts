// The identity-system port: everything the engine reads from or changes in the system that holds
// a tenant's accounts. The built-in Postgres directory (store/directory.ts) is one implementation;
// remote ones (signed webhook, Keycloak) make HTTP calls that can fail and be retried, so every
// change carries an idempotency key (workflow id + step) and every method may throw.
import type { AccountAuthMethod, AccountRole } from './types';

/** An account as the engine names it: the tenant and the account's external id there. */
export interface AccountRef {
  tenantId: string;
  accountId: string;
}

export interface DirectoryAccount {
  role: AccountRole;
  authMethod: AccountAuthMethod;
  active: boolean;
}

/** A new password as the directory takes it: the built-in one stores an argon2id hash. */
export type NewPassword = { argon2id: string };

/** What makes a directory change safe to retry: the same key never applies twice. */
export interface Change {
  idempotencyKey: string;
  /** Who or what made the change (audit and the directory's own records). */
  by: string;
}

/** Tier 1's outcome; `missing` names required factors left unanswered (then nothing was compared). */
export interface KnowledgeCheck {
  passed: boolean;
  factorsChecked: number;
  missing: string[];
}

export interface Directory {
  /** Existence, role, auth method; null when the account does not exist. */
  lookup(ref: AccountRef): Promise<DirectoryAccount | null>;
  /** Registered, verified addresses, primary first. Links go only here. */
  addresses(ref: AccountRef): Promise<string[]>;
  /**
   * Tier 1: every required factor (null: every enrolled one) must be answered, and every answer
   * must be of an enrolled factor and match. Answers are compared only when none is missing.
   */
  checkKnowledge(ref: AccountRef, answers: Record<string, string>, required: readonly string[] | null): Promise<KnowledgeCheck>;
  setPassword(ref: AccountRef, password: NewPassword, change: Change): Promise<void>;
  /** Removes every active MFA factor except those enrolled by `change.by`, and requires enrolment. */
  removeMfaFactors(ref: AccountRef, change: Change): Promise<{ removed: number }>;
  /** Revokes every session (and refresh token) of the account. */
  revokeSessions(ref: AccountRef, reason: string): Promise<{ revoked: number }>;
  /** Revokes the sessions opened with one emergency credential. */
  revokeGrantSessions(ref: AccountRef, grantId: string, reason: string): Promise<{ revoked: number }>;
  /**
   * Replaces the account's own credential with one nobody knows (after break-glass). An account
   * with no local credential (SSO-managed) gets none.
   */
  rotateCredential(ref: AccountRef, change: Change): Promise<{ rotated: boolean; note: string }>;
}

/** The identity system that holds a tenant's accounts (a per-tenant choice). */
export type DirectoryFor = (tenantId: string) => Promise<Directory>;

/** The session source recorded for sessions opened with an emergency credential. */
export const accessSessionSource = (grantId: string) => `access:${grantId}`;
