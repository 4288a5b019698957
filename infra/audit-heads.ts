// The audit chains' heads, kept outside the database: an append-only JSONL file with one line per
// changed head, each signed with the audit key, so whoever can write to the database can neither
// cut a chain's tail nor forge a line here. Ship the file (or the log line each export writes) to
// write-once storage; verification checks a chain against its latest valid line.
import fs from 'node:fs';
import path from 'node:path';
import type { HmacKey } from './config';
import { constantTimeEqualHex, hmacHex } from './secrets';

export interface ChainHead {
  tenantId: string;
  seq: number;
  hash: string;
}

export interface HeadLine extends ChainHead {
  /** When it was exported. */
  at: string;
  /** The audit key that signed it, and its HMAC. */
  kid: string;
  mac: string;
}

const macOf = (key: HmacKey, h: ChainHead & { at: string }) => hmacHex(key.key, JSON.stringify(['audit-head', h.tenantId, h.seq, h.hash, h.at, key.id]));

/** A head's line, signed with the first (active) key. */
export function signHead(keys: readonly HmacKey[], head: ChainHead, at = new Date()): HeadLine {
  const key = keys[0];
  const line = { tenantId: head.tenantId, seq: head.seq, hash: head.hash, at: at.toISOString() };
  return { ...line, kid: key.id, mac: macOf(key, line) };
}

/** Appends the lines (one write: lines never interleave with another writer's). */
export async function appendHeadLines(file: string, lines: readonly HeadLine[]): Promise<void> {
  if (!lines.length) return;
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await fs.promises.appendFile(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n', { mode: 0o600, flag: 'a' });
}

function validLine(raw: string, keys: readonly HmacKey[]): HeadLine | null {
  let l: HeadLine;
  try {
    l = JSON.parse(raw) as HeadLine;
  } catch {
    return null; // a line cut short by a crash
  }
  const key = keys.find((k) => k.id === l?.kid);
  if (!key || typeof l.tenantId !== 'string' || !Number.isInteger(l.seq) || typeof l.hash !== 'string' || typeof l.at !== 'string') return null;
  return constantTimeEqualHex(macOf(key, l), String(l.mac)) ? l : null;
}

/** The latest validly signed head of each chain (the highest seq); a missing file has none. */
export async function exportedHeads(file: string, keys: readonly HmacKey[]): Promise<Map<string, HeadLine>> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const latest = new Map<string, HeadLine>();
  for (const raw of text.split('\n')) {
    const l = raw.trim() ? validLine(raw, keys) : null;
    if (l && (latest.get(l.tenantId)?.seq ?? -1) < l.seq) latest.set(l.tenantId, l);
  }
  return latest;
}
