// The one parser of request bodies: application/json in UTF-8 and nothing else (415), parsed as
// Fastify parses JSON (prototype poisoning refused), and no object may name a key twice (400).
import type { FastifyInstance } from 'fastify';
import { createScanner } from 'jsonc-parser';
import { ApiError } from './errors';

const unsupported = () =>
  new ApiError(415, 'unsupported_media_type', 'content-type: send application/json (UTF-8, the only charset accepted)', { field: 'content-type' });

/** `application/json` (or, on the SCIM routes, `application/scim+json`), with no parameter but `charset=utf-8` (any case, quoted or not). */
export function isJsonUtf8(header: string | undefined, o: { scim?: boolean } = {}): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(';');
  const t = type.trim().toLowerCase();
  if (t !== 'application/json' && !(o.scim && t === 'application/scim+json')) return false;
  return params.every((p) => p.trim() === '' || /^\s*charset\s*=\s*("?)utf-8\1\s*$/i.test(p));
}

/** SCIM clients (Entra among them) send application/scim+json: accepted on the SCIM routes only. */
export const SCIM_PREFIX = '/v1/scim/';

// Token kinds of jsonc-parser's SyntaxKind (a const enum, which isolated modules cannot import).
const OPEN_BRACE = 1;
const CLOSE_BRACE = 2;
const OPEN_BRACKET = 3;
const CLOSE_BRACKET = 4;
const COMMA = 5;
const STRING = 10;
const EOF = 17;

interface Frame {
  /** The key or index naming this object or array in its parent ('' at the top). */
  name: string;
  /** Keys seen so far (objects); null for arrays. */
  keys: Set<string> | null;
  /** Objects: the next string is a key. Arrays: the index of the current element. */
  expectKey: boolean;
  index: number;
  lastKey: string;
}

/**
 * The path (`a.0.b`, as validation errors name fields) of the first key that an object of this
 * valid JSON text names twice, or null. Keys are compared unescaped, so `"a"` and `"\u0061"` clash.
 * It walks jsonc-parser's token stream with its own stack, not recursion: any depth is safe here.
 */
export function duplicateKey(text: string): string | null {
  const scanner = createScanner(text, true);
  const stack: Frame[] = [];
  const childName = (parent: Frame | undefined) => (!parent ? '' : parent.keys ? parent.lastKey : String(parent.index));
  // Plain numbers: the kinds are compared with the local constants above.
  for (let kind: number = scanner.scan(); kind !== EOF; kind = scanner.scan()) {
    const top = stack[stack.length - 1] as Frame | undefined;
    if (kind === OPEN_BRACE || kind === OPEN_BRACKET) {
      stack.push({ name: childName(top), keys: kind === OPEN_BRACE ? new Set() : null, expectKey: true, index: 0, lastKey: '' });
    } else if (kind === CLOSE_BRACE || kind === CLOSE_BRACKET) {
      stack.pop();
    } else if (kind === COMMA && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    } else if (kind === STRING && top?.keys && top.expectKey) {
      const key = scanner.getTokenValue();
      if (top.keys.has(key)) return [...stack.slice(1).map((f) => f.name), key].join('.');
      top.keys.add(key);
      top.lastKey = key;
      top.expectKey = false;
    }
  }
  return null;
}

/** Replaces Fastify's parsers (JSON in any charset, text/plain) with the one strict parser. */
export function registerJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, (req, body, done) => {
    if (!isJsonUtf8(req.headers['content-type'], { scim: req.url.startsWith(SCIM_PREFIX) })) return done(unsupported(), undefined);
    const text = body.toString();
    void parseJson(req, text, (err, value) => {
      if (err) return done(err, undefined);
      const dup = duplicateKey(text);
      if (dup !== null) return done(new ApiError(400, 'duplicate_key', `${dup}: named twice in one object`, { field: dup }), undefined);
      done(null, value);
    });
  });
  app.addContentTypeParser('*', (_req, _payload, done) => done(unsupported(), undefined));
}
