// What a SCIM 2.0 (RFC 7644) request says about an account's `active` flag, as the identity
// providers really send it: Okta's PATCH replaces `{"active": false}` with no path; Entra's names
// the path and sends the value as the string "False" (which some SCIM libraries refuse, and some
// store as a truthy string). Strings "True"/"False" (any case) are booleans here. Pure.

export const SCIM_PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export class ScimInputError extends Error {
  constructor(
    readonly scimType: 'invalidSyntax' | 'invalidValue' | 'invalidPath',
    message: string,
  ) {
    super(message);
  }
}

/** A SCIM boolean: true/false, or the strings "True"/"False" in any case. */
export function scimBoolean(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw new ScimInputError('invalidValue', `${where}: a boolean (true or false) was expected`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `active` as a PatchOp sets it (the last operation that touches it wins), or null if none does. */
export function activeFromPatch(body: unknown): boolean | null {
  if (!isObject(body) || !Array.isArray(body.Operations))
    throw new ScimInputError('invalidSyntax', 'Operations: a PatchOp with an Operations array was expected');
  let active: boolean | null = null;
  body.Operations.forEach((op: unknown, i) => {
    const where = `Operations[${i}]`;
    if (!isObject(op) || typeof op.op !== 'string') throw new ScimInputError('invalidSyntax', `${where}.op: add, replace or remove`);
    const kind = op.op.toLowerCase();
    if (kind !== 'add' && kind !== 'replace' && kind !== 'remove') throw new ScimInputError('invalidSyntax', `${where}.op: add, replace or remove`);
    const path = typeof op.path === 'string' ? op.path.trim() : undefined;
    if (path !== undefined && path.toLowerCase() === 'active') {
      if (kind === 'remove') throw new ScimInputError('invalidPath', `${where}: active cannot be removed`);
      active = scimBoolean(op.value, `${where}.value`);
    } else if (path === undefined && kind !== 'remove') {
      if (!isObject(op.value)) throw new ScimInputError('invalidSyntax', `${where}.value: an object of attributes was expected without a path`);
      const key = Object.keys(op.value).find((k) => k.toLowerCase() === 'active');
      if (key !== undefined) active = scimBoolean(op.value[key], `${where}.value.active`);
    }
    // Other attributes (names, emails) live in the identity system, not here: nothing to do.
  });
  return active;
}

/** `active` as a PUT of the whole User sets it; a User without it stays as it is (null). */
export function activeFromPut(body: unknown): boolean | null {
  if (!isObject(body)) throw new ScimInputError('invalidSyntax', 'a User resource was expected');
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'active');
  return key === undefined ? null : scimBoolean(body[key], 'active');
}
