// The walk over every request's query, params and body before any schema runs: iterative, with a
// depth cap, so no body (however deeply nested) can overflow the stack of this or a later walk.

/**
 * No schema of the API nests deeper than 5 levels; 32 leaves room for growth. Bodies deeper than
 * this are refused before validation, the idempotency hash or anything else walks them
 * recursively (thousands of levels overflow those).
 */
export const MAX_INPUT_DEPTH = 32;

/** NUL and unpaired UTF-16 surrogates: Postgres rejects the first and silently mangles the second. */
const BAD_CHARS = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export type InputProblem = { kind: 'too_deep' } | { kind: 'bad_string'; field: string };

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/**
 * The first problem of `value`: nesting deeper than MAX_INPUT_DEPTH, or a string or key holding a
 * character no field may hold (named by its path under `root`); null when there is none.
 */
export function inputProblem(value: unknown, root: string): InputProblem | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (BAD_CHARS.test(v)) return { kind: 'bad_string', field: path };
      continue;
    }
    if (!v || typeof v !== 'object') continue;
    if (depth >= MAX_INPUT_DEPTH) return { kind: 'too_deep' };
    const entries = Object.entries(v);
    const badKey = entries.find(([k]) => BAD_CHARS.test(k));
    if (badKey) return { kind: 'bad_string', field: join(path, badKey[0]) };
    // Pushed in reverse so entries are visited in order, as a recursive walk would.
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i][1], path: join(path, entries[i][0]), depth: depth + 1 });
  }
  return null;
}
