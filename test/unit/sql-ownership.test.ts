// One owner per table: SQL (Kysely's query builder, its `sql` template, raw driver queries) lives
// in store/ and migrations/ only. Everything else reaches Postgres through store/ functions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** Folders of the product that must hold no SQL. */
const PRODUCT = ['api', 'activities', 'boot', 'contracts', 'domain', 'infra', 'workflows', 'worker', 'scripts'];
/** Test tooling kept in scripts/: the test runner creates and drops its template database. */
const TOOLING = new Set(['scripts/test.ts']);
const SQL_USE = [
  /\.\s*(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto|selectNoFrom)\s*\(/,
  /\bsql\s*(<[^>]*>)?\s*`/,
  /\bsql\s*\.\s*(raw|ref|lit|id|join|table)\s*\(/,
  /\.\s*query\s*\(\s*[`'"]\s*(select|insert|update|delete|with|create|drop|alter)\b/i,
];

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

export function sqlOutsideStore(folders: string[]): string[] {
  const found: string[] = [];
  for (const f of folders.flatMap((d) => tsFiles(path.join(ROOT, d))).filter((f) => !TOOLING.has(path.relative(ROOT, f)))) {
    fs.readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (SQL_USE.some((re) => re.test(line))) found.push(`${path.relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
      });
  }
  return found;
}

describe('every table has one owner: store/', () => {
  it('no product folder outside store/ and migrations/ holds SQL', () => {
    assert.deepEqual(sqlOutsideStore(PRODUCT), []);
  });

  it('the check sees query-builder calls and sql templates (it would catch a stray query)', () => {
    const stray = path.join(ROOT, 'api', '__stray_sql_probe.ts');
    fs.writeFileSync(stray, "db.selectFrom('tenants');\nawait sql`select 1`.execute(db);\nawait client.query('select 1');\n");
    try {
      assert.equal(sqlOutsideStore(['api']).filter((l) => l.startsWith('api/__stray_sql_probe.ts')).length, 3);
    } finally {
      fs.rmSync(stray);
    }
  });
});
