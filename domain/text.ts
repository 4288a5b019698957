// Characters free text may not carry into emails, exports or the UI: the API refuses them, and the
// templates neutralise them in data stored before that rule.

/**
 * C0 and C1 controls (CR, LF and TAB included), DEL, the Unicode line and paragraph separators,
 * bidi embeddings, overrides, isolates and marks, and the zero-width characters that make
 * look-alikes. One character class, used with and without the `g` flag below.
 */
const UNSAFE_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff';

/** Any character a single-line field may not hold. */
export const UNSAFE_SINGLE_LINE = new RegExp(`[${UNSAFE_CLASS}]`);
/** Any character a multi-line field may not hold: the same, but LF is allowed. */
export const UNSAFE_MULTI_LINE = new RegExp(`(?!\\n)[${UNSAFE_CLASS}]`);

const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g;
const BREAKING = new RegExp(`[${UNSAFE_CLASS}]+`, 'g');

/**
 * Stored text made safe for one line of an email: bidi and zero-width characters dropped (they
 * only reorder or hide text), any run of controls and line breaks turned into one space.
 */
export function oneLine(s: string): string {
  return s.replace(INVISIBLE, '').replace(BREAKING, ' ');
}

/** What String.prototype.trim removes, spelled out (JavaScript's and Python's `\s` differ). */
const TRIMMED = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** The white space of TRIMMED that text may also hold inside it (none of it is in UNSAFE_CLASS). */
const INNER_SPACE = ' \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000';

/**
 * A surrogate pair. Under JavaScript's `u` flag and in Python a pair is one character that the
 * classes below already take, and this never matches; without `u` it takes the pair's two halves.
 * Either way a lone surrogate matches nothing.
 */
const PAIR = '[\\ud800-\\udbff][\\udc00-\\udfff]';
/** Any one character but NUL and a lone surrogate (the two alternatives start on disjoint characters). */
const WELL_FORMED_CHAR = `(?:[^\\u0000\\ud800-\\udfff]|${PAIR})`;

/**
 * Strings any field may hold: no NUL (Postgres refuses it) and no unpaired surrogate (mangled on
 * the way to UTF-8). The request walk refuses both before any schema runs; fields without a
 * narrower pattern carry this one, so the API document says it.
 */
export const WELL_FORMED = new RegExp(`^${WELL_FORMED_CHAR}*$`);

/**
 * The same rule as a JSON-schema pattern, for the API document: no unsafe character and no lone
 * surrogate. `trimmed`: the field is trimmed before it is checked, so white space around the text
 * passes, but there must be text (a character that is neither white space nor unsafe).
 *
 * Every choice point is between disjoint character sets (white space around the text, text, white
 * space inside it), so no input makes the pattern backtrack more than linearly, in JavaScript or
 * in Python's `re`.
 */
export function safeTextPattern(o: { multiLine: boolean; trimmed: boolean }): string {
  const lf = o.multiLine ? '\\n' : '';
  if (!o.trimmed) return `^(?:[^${UNSAFE_CLASS}\\ud800-\\udfff]${o.multiLine ? '|\\n' : ''}|${PAIR})*$`;
  const visible = `(?:[^${UNSAFE_CLASS}${TRIMMED}\\ud800-\\udfff]|${PAIR})`;
  return `^[${TRIMMED}]*${visible}(?:[${INNER_SPACE}${lf}]*${visible})*[${TRIMMED}]*$`;
}
