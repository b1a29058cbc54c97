import { defineConfig } from 'vitest/config';

/**
 * The end-to-end files that exercise the store (requests, reviews, the audit
 * log and its CLI, outbox, waiting) and read it only through the Store port,
 * run a second time on PostgreSQL: each gateway (or group of gateways sharing
 * a store) gets a throwaway database (test/support/test-store.ts). Files that
 * only parse, decide policy or render, and files that read or tamper with the
 * SQLite file itself (better-sqlite3, test/support/sqlite.ts), run on SQLite only.
 */
export const POSTGRES_FILES = [
  'test/e2e/readiness.test.ts',
  'test/e2e/http-flow.test.ts',
  'test/e2e/http-paths.test.ts',
  'test/e2e/deep-json.test.ts',
  'test/e2e/policy-bounds.test.ts',
  'test/e2e/waiting.test.ts',
  'test/e2e/outbox.test.ts',
  'test/e2e/mcp-pinning.test.ts',
  'test/e2e/audit-proofs.test.ts',
  'test/e2e/audit-proof-cli.test.ts',
  'test/e2e/audit-rotation.test.ts',
  'test/e2e/evidence.test.ts',
];

/**
 * Store-dependent files that run on SQLite only for now, and why: each reads
 * or changes the SQLite file under the Store port. The ones marked "port"
 * only read rows and could move to test/support/store-view.ts (then to
 * POSTGRES_FILES); the others need the file itself.
 */
export const SQLITE_ONLY: Readonly<Record<string, string>> = {
  'test/e2e/fail-closed.test.ts': 'makes audit writes fail with a trigger on the SQLite table',
  'test/e2e/audit-bundle.test.ts': 'tampers with a copy of the SQLite file',
  'test/e2e/audit-trust.test.ts': 'tampers with a copy of the SQLite file',
  'test/e2e/crash.test.ts': 'the `countersign crash` CLI with its own SQLite config',
  'test/e2e/store-owner.test.ts': 'the demo and first-config file layout on disk (SQLite by design)',
  'test/e2e/recheck.test.ts': 'changes rows in the SQLite file between gateways',
  'test/e2e/concurrency.test.ts': 'port: counts rows in the SQLite file',
  'test/e2e/bad-input.test.ts': 'port: counts rows in the SQLite file',
  'test/e2e/review-rules.test.ts': 'port: reads requests, reviews and audit rows from the SQLite file',
  'test/e2e/review-digest.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/review-eligibility.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/console-http.test.ts': 'port: reads session and audit rows from the SQLite file',
  'test/e2e/console-review.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/console-browser.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/identity-canonical.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/identity-login.test.ts': 'port: reads session and audit rows from the SQLite file',
  'test/e2e/identity-tokens.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/slack.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/teams.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/http-echo-secrets.test.ts': 'port: dumps every SQLite table to look for secrets',
  'test/e2e/mcp-echo-secrets.test.ts': 'port: dumps every SQLite table to look for secrets',
  'test/e2e/mcp-http.test.ts': 'port: reads rows from the SQLite file (mcp-scenarios.ts)',
  'test/e2e/mcp-local-cli.test.ts': 'port: reads rows from the SQLite file; writes CLI configs itself',
  'test/e2e/audit-sensitive.test.ts': 'port: reads audit rows from the SQLite file; writes a CLI config itself',
  'test/e2e/exec-and-postgres.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/cli.test.ts': 'port: reads rows from the SQLite file',
};

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
      { extends: true, test: { name: 'postgres', include: POSTGRES_FILES, env: { COUNTERSIGN_TEST_STORE: 'postgres' } } },
    ],
  },
});
