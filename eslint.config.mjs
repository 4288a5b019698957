// ESLint: typescript-eslint's type-checked recommended rules on every TypeScript file, Prettier owns layout, and workflows/ + contracts/ may not import Node or I/O.
import { builtinModules } from 'node:module';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier/flat';
import tseslint from 'typescript-eslint';

// Workflow code is replayed and must be deterministic; contracts/ is what workflows import.
// Both may use @temporalio/workflow, @temporalio/common, domain/ and each other, nothing with I/O.
const IO_PACKAGES = [
  'pg',
  'kysely',
  'nodemailer',
  'fastify',
  'pino',
  'prom-client',
  'smtp-server',
  'mailparser',
  '@node-rs/argon2',
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/testing',
];
const BUILTINS = builtinModules.filter((m) => !m.startsWith('_') && !m.startsWith('node:'));
const why = 'workflows/ and contracts/ must stay deterministic: no Node built-ins, no I/O libraries, no imports from the layers that do I/O';

export default defineConfig([
  globalIgnores(['node_modules/', 'test/fixtures/', 'data/', '.data/', 'scratch/', 'coverage/', '**/*.binpb', 'package-lock.json']),
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A parameter a signature requires but the body does not use says so with a leading underscore.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // async without await is deliberate where an interface asks for a Promise (payload codec,
      // migration provider, Fastify hooks) and in Temporal update handlers, whose scheduling must
      // not change under recorded histories.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests, drills and benchmarks read JSON answers, rows and histories they did not type, and
    // assert on them: the assertion is the check, so the no-unsafe-* family would only add casts.
    // node:test's describe/it return promises the runner awaits itself.
    files: ['test/**/*.ts', 'testkit/**/*.ts', 'bench/**/*.ts', 'chaos/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach', 'suite'] },
          ],
        },
      ],
    },
  },
  {
    // Migrations are frozen in time: they take Kysely<any>, as Kysely's own guide does, and never
    // the application's table types, which move on.
    files: ['migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['workflows/**/*.ts', 'contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...BUILTINS, ...IO_PACKAGES].map((name) => ({ name, message: why })),
          patterns: [
            { group: ['node:*', '@fastify/*', '@electric-sql/*', ...IO_PACKAGES.map((p) => `${p}/*`)], message: why },
            { regex: '^(\\.\\./)+(infra|store|api|activities|boot|dev|testkit)(/.*)?$', message: why },
          ],
        },
      ],
    },
  },
  prettier,
]);
