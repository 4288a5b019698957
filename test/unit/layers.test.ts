// Imports flow one way: entry points -> boot -> api/activities -> store/infra -> domain/contracts,
// and workflows -> contracts/domain only. A cycle between files or an import against that flow
// fails here, so the structure is checked by the suite and not by a reviewer's memory.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** What each folder may import from the project (besides itself). Packages are not listed here. */
const MAY_IMPORT: Record<string, string[]> = {
  domain: [],
  contracts: ['domain'],
  workflows: ['contracts', 'domain'],
  infra: ['domain', 'contracts'],
  store: ['infra', 'domain', 'contracts'],
  activities: ['store', 'infra', 'domain', 'contracts'],
  api: ['store', 'infra', 'domain', 'contracts'],
  migrations: [],
  boot: ['api', 'activities', 'store', 'infra', 'domain', 'contracts', 'migrations', 'workflows'],
  worker: ['boot', 'store', 'infra'],
  dev: ['infra', 'domain', 'contracts'],
  scripts: ['boot', 'dev', 'infra', 'store', 'migrations', 'testkit', 'domain'],
  testkit: ['boot', 'dev', 'api', 'activities', 'store', 'infra', 'domain', 'contracts', 'migrations', 'workflows'],
};
/** Entry points: the files a process starts from may compose the process. */
const ENTRY_POINTS: Record<string, string[]> = { 'api/server.ts': ['boot', 'store', 'infra'] };
/** Packages a workflow may import: the bundle must stay deterministic (no Node built-ins, no I/O). */
const WORKFLOW_PACKAGES = [/^@temporalio\/(workflow|common)$/];

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8');
  return [...src.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]);
}

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return null;
}

const rel = (f: string) => path.relative(ROOT, f).split(path.sep).join('/');
const folderOf = (f: string) => rel(f).split('/')[0];

export function layerViolations(): string[] {
  const out: string[] = [];
  for (const folder of Object.keys(MAY_IMPORT)) {
    for (const file of tsFiles(path.join(ROOT, folder))) {
      const allowed = ENTRY_POINTS[rel(file)] ?? MAY_IMPORT[folder];
      for (const spec of importsOf(file)) {
        const target = resolveLocal(file, spec);
        if (target) {
          const to = folderOf(target);
          if (to !== folder && !allowed.includes(to)) out.push(`${rel(file)} imports ${rel(target)} (${folder} -> ${to})`);
        } else if (folder === 'workflows' && !spec.startsWith('.') && !WORKFLOW_PACKAGES.some((re) => re.test(spec))) {
          out.push(`${rel(file)} imports ${spec}: a workflow imports only @temporalio/workflow, @temporalio/common, contracts/ and domain/`);
        }
      }
    }
  }
  return out;
}

export function importCycles(): string[][] {
  const files = Object.keys(MAY_IMPORT).flatMap((d) => tsFiles(path.join(ROOT, d)));
  const edges = new Map(
    files.map((f) => [
      f,
      importsOf(f)
        .map((s) => resolveLocal(f, s))
        .filter((t): t is string => !!t),
    ]),
  );
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of edges.get(f) ?? []) {
      if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t].map(rel));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}

describe('imports flow one way', () => {
  it('no folder imports against the flow, and workflows import no Node built-in or I/O library', () => {
    assert.deepEqual(layerViolations(), []);
  });

  it('no two files import each other, directly or around a loop', () => {
    assert.deepEqual(importCycles(), []);
  });
});
