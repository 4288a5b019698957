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
const TRIMMED = '[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]';

/**
 * The same rule as a JSON-schema pattern, for the API document. `trimmed`: the field is trimmed
 * before it is checked, so surrounding white space passes.
 */
export function safeTextPattern(o: { multiLine: boolean; trimmed: boolean }): string {
  const safe = o.multiLine ? `(?:\\n|[^${UNSAFE_CLASS}])*` : `[^${UNSAFE_CLASS}]*`;
  return o.trimmed ? `^${TRIMMED}*${safe}${TRIMMED}*$` : `^${safe}$`;
}
