// What the Temporal Web UI shows of a case without the codec: its one-line summary (user metadata)
// and its current details (what it waits for, until when). Both are built here from a fixed
// grammar (a kind, an opaque case id, a state, a fixed phrase, a timestamp), so they can carry no
// personal data, and the payload codec leaves exactly the strings of this grammar unencrypted:
// a person without decode rights still sees where a case stands.
import { ACCESS_KINDS } from './access';
import { RESPONSE_ACTIONS, RISK_WAITING, responseKind } from './risk-response';
import { RECOVERY_KINDS } from './types';

const KIND = `(?:${[...RECOVERY_KINDS, ...ACCESS_KINDS, ...RESPONSE_ACTIONS.map(responseKind)].join('|')})`;
const CASE_ID = '(?:rec|bg|rr)_[A-Za-z0-9_-]{8,40}';
const STATE = '[a-z_]{1,40}';
/**
 * The phrases the workflows wait with, one by one (a phrase outside this list leaves the details
 * encrypted, never readable: a new phrase is added here on purpose).
 */
const WAITING_PHRASES = [
  'triage',
  'identity verification',
  '\\d{1,2} approval\\(s\\)',
  '\\d{1,2} approvals from break-glass approvers',
  'the waiting period to end \\(the owner can cancel\\)',
  'the account owner to use the emailed link',
  'the account owner to enrol a new factor',
  'the directory update',
  "the tenant's security contact to confirm",
  'the credential',
  'the credential to expire or be revoked',
  'the rotation of the account credential',
  'a post-action review by an independent reviewer',
  RISK_WAITING,
];
const WAITING = `(?:${WAITING_PHRASES.join('|')})`;
const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{3})?Z';

const SUMMARY = new RegExp(`^${KIND} ${CASE_ID}$`);
const DETAILS = new RegExp(`^\\*\\*${KIND}\\*\\*: ${STATE}(?:, waiting for ${WAITING})?(?: \\(deadline ${ISO}\\))?$`);

/** The start's one-line summary: kind and case id (the tenant and account are search attributes). */
export const caseSummary = (kind: string, caseId: string) => `${kind} ${caseId}`;

/** The workflow's current details (Markdown in the UI). */
export function caseDetails(s: { kind: string; state: string; waitingFor: string | null; deadline: string | null }): string {
  return `**${s.kind}**: ${s.state}` + (s.waitingFor ? `, waiting for ${s.waitingFor}` : '') + (s.deadline ? ` (deadline ${s.deadline})` : '');
}

export function isPublicSummary(s: string): boolean {
  return SUMMARY.test(s) || DETAILS.test(s);
}

const NAME = /^[A-Za-z0-9_ .,:;'()/-]{0,200}$/;
const names = (v: unknown) =>
  Array.isArray(v) &&
  v.every(
    (d: unknown) =>
      !!d &&
      typeof d === 'object' &&
      Object.keys(d).every((k) => k === 'name' || k === 'description') &&
      Object.values(d).every((x) => x === undefined || (typeof x === 'string' && NAME.test(x))),
  );

/**
 * The answer of the SDK's built-in `__temporal_workflow_metadata` query, where the UI reads the
 * current details: the handler names of the code and the details. Public when every part is.
 */
export function isPublicMetadata(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const { definition, currentDetails, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length) return false;
  if (typeof currentDetails !== 'string' || (currentDetails !== '' && !DETAILS.test(currentDetails))) return false;
  if (!definition || typeof definition !== 'object') return false;
  const { type, queryDefinitions, signalDefinitions, updateDefinitions, ...other } = definition as Record<string, unknown>;
  return (
    !Object.keys(other).length &&
    typeof type === 'string' &&
    NAME.test(type) &&
    names(queryDefinitions ?? []) &&
    names(signalDefinitions ?? []) &&
    names(updateDefinitions ?? [])
  );
}
