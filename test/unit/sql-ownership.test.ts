// One owner per table: SQL (Kysely's query builder, its `sql` template, raw driver queries) lives
// in store/ and migrations/ only, plus testkit/, where tests, drills and benchmarks read, seed and
// corrupt Postgres directly. Everything else reaches Postgres through store/ or testkit/ functions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** The folders that may hold SQL. */
const OWNERS = new Set(['store', 'migrations', 'testkit']);
/** Not code of this project: installed packages, and the gitignored scratch space. */
const NOT_OURS = new Set(['node_modules', 'scratch']);
/** Folders that must be checked whatever the listing finds (a rename must not drop them silently). */
const MUST_CHECK = ['api', 'activities', 'boot', 'contracts', 'dev', 'domain', 'infra', 'workflows', 'worker', 'scripts', 'test', 'bench', 'chaos'];
/** This file: its probe below writes SQL-looking strings on purpose. */
const SELF = path.relative(ROOT, __filename);
const SQL_USE = [
  /\.\s*(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto|selectNoFrom)\s*\(/,
  /\bsql\s*(<[^>]*>)?\s*`/,
  /\bsql\s*\.\s*(raw|ref|lit|id|join|table)\s*\(/,
  /\.\s*query\s*\(\s*[`'"]\s*(select|insert|update|delete|with|create|drop|alter)\b/i,
  // A statement in a string handed to anything else (an admin connection, a psql or pgbench script).
  /[`'"]\s*(select\s.*\sfrom\s|insert\s+into\s|update\s+\w+\s+set\s|delete\s+from\s|(create|drop|alter)\s+(table|database|trigger|function|index|role)\b)/i,
];

/** Every top-level folder except the SQL owners, dot-folders and what is not ours. */
function checkedFolders(): string[] {
  return fs
    .readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !OWNERS.has(e.name) && !NOT_OURS.has(e.name))
    .map((e) => e.name)
    .sort();
}

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    // Dot-folders are tool output (e.g. test/fixtures/.mutant-*, copies of the product).
    if (e.isDirectory()) return e.name === 'node_modules' || e.name.startsWith('.') ? [] : tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

export function sqlOutsideStore(folders: string[]): string[] {
  const found: string[] = [];
  const exempt = (f: string) => f === SELF;
  for (const f of folders.flatMap((d) => tsFiles(path.join(ROOT, d))).filter((f) => !exempt(path.relative(ROOT, f)))) {
    fs.readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (SQL_USE.some((re) => re.test(line))) found.push(`${path.relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
      });
  }
  return found;
}

describe('every table has one owner: store/', () => {
  it('no folder outside store/, migrations/ and testkit/ holds SQL', () => {
    const folders = checkedFolders();
    for (const d of MUST_CHECK) assert.ok(folders.includes(d), `${d}/ is checked`);
    assert.deepEqual(sqlOutsideStore(folders), []);
  });

  it('the check sees query-builder calls, sql templates and statements in strings (it would catch a stray query)', () => {
    const stray = path.join(ROOT, 'api', '__stray_sql_probe.ts');
    fs.writeFileSync(
      stray,
      "db.selectFrom('tenants');\nawait sql`select 1`.execute(db);\nawait client.query('select 1');\nawait adminQuery(url, `drop database ${name}`);\n",
    );
    try {
      assert.equal(sqlOutsideStore(['api']).filter((l) => l.startsWith('api/__stray_sql_probe.ts')).length, 4);
    } finally {
      fs.rmSync(stray);
    }
  });
});
