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

/**
 * A new password as the directory takes it: the built-in one stores an argon2id hash; a remote one
 * hashes it itself, so it gets the password (held sealed until then, never in history or logs).
 */
export type NewPassword = { argon2id: string } | { plaintext: string };

export type DirectoryKind = 'builtin' | 'webhook' | 'keycloak';

/** What makes a directory change safe to retry: the same key never applies twice. */
export interface Change {
  idempotencyKey: string;
  /** Who or what made the change (audit and the directory's own records). */
  by: string;
}

/** A change applied with an idempotency key and a reason (revocations, lifecycle). */
export interface ReasonedChange extends Change {
  reason: string;
}

/** An emergency credential the directory honours until `expiresAt` (break-glass, SSO bypass). */
export interface AccessGrant {
  grantId: string;
  credential: string;
  expiresAt: Date;
}

/**
 * The directory refused a change for good (no such account, no permission, SSO-managed): retrying
 * cannot help. `code` is machine-readable and is recorded as the reason. Any other error is
 * temporary and retried with backoff.
 */
export class DirectoryRefusedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryRefusedError';
  }
}

/**
 * An account id that differs from one the tenant holds (or one earlier in the same import) only in
 * case, in a tenant whose ids are case-insensitive: refused, naming the field that carries it.
 */
export class AccountIdCaseClashError extends Error {
  constructor(
    readonly field: string,
    readonly externalId: string,
    readonly existing: string | null,
  ) {
    super(
      `${field}: ${externalId} differs from the existing account id ${existing ?? '(another)'} only in case; account ids are case-insensitive in this tenant`,
    );
    this.name = 'AccountIdCaseClashError';
  }
}

/** Tier 1's outcome; `missing` names required factors left unanswered (then nothing was compared). */
export interface KnowledgeCheck {
  passed: boolean;
  factorsChecked: number;
  missing: string[];
}

export interface Directory {
  readonly kind: DirectoryKind;
  /** The form `setPassword` takes: staged as an argon2id hash, or sealed until applied. */
  readonly passwordForm: 'argon2id' | 'plaintext';
  /** False for remote directories: they hold no knowledge factors, so policy needs Tier 2 + Tier 3. */
  readonly knowledgeFactors: boolean;
  /** How a new factor is enrolled after an MFA reset: our enrolment link, or the directory's own sign-in. */
  readonly enrolment: 'link' | 'directory';
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
  revokeSessions(ref: AccountRef, change: ReasonedChange): Promise<{ revoked: number }>;
  /** Disables or enables the account (lifecycle); returns whether it is active now. */
  setActive(ref: AccountRef, active: boolean, change: ReasonedChange): Promise<{ active: boolean }>;
  /**
   * Makes the directory honour an emergency credential until it expires. The built-in directory
   * needs nothing: the engine's own sign-in checks the credential.
   */
  grantAccess(ref: AccountRef, grant: AccessGrant, change: Change): Promise<void>;
  /** The emergency credential stops working and the sessions opened with it end. */
  endAccess(ref: AccountRef, grantId: string, change: ReasonedChange): Promise<{ revoked: number }>;
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
