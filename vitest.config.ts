import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The end-to-end files run a second time on PostgreSQL: one or two per thing
 * the store keeps, chosen for what they make the store do (transactions under
 * racing reviews, the audit chain and its proofs, sessions, the outbox, tool
 * pins, known humans, readiness, the pending requests metrics read). Each
 * gateway (or group of gateways sharing a store) gets a throwaway database:
 * test/support/test-store.ts. Files that
 * only parse, evaluate policy or render (http-paths, deep-json, bad-input,
 * policy-bounds, the console's pages) stay on SQLite alone: on PostgreSQL they
 * would repeat the same few writes and cost CI time. So do two slow ones whose
 * store work others here repeat: identity-login (sessions: console-http;
 * known humans: identity-canonical), audit-proof-cli (proofs: audit-proofs) and
 * audit-exports, whose exports read the store through the same two services
 * the CLI runs: the bundle (planBundle: audit-rotation and policy-replay export
 * and verify one from a PostgreSQL store, audit-rotation with a period by time)
 * and the evidence report (evidence.test.ts builds it from either store); the
 * store methods under them (readAudit, readAuditRaw, treeEdge, checkpoints,
 * firstSeqAtOrAfter) are in the contract suites run on both adapters. And
 * the step-up files (step-up-approvals, step-up-break-glass, step-up-passkeys),
 * the slowest of them on PostgreSQL (21 cases in Chromium with a virtual
 * authenticator): what they keep of their own, passkeys and their
 * challenges, is in the passkeys contract suite run on both adapters (stored
 * once, removed once by its owner, the counter moved only from the value
 * seen, a challenge taken once however many race for it); the rest is
 * reviews, sessions, grants and break-glass rows that console-http,
 * review-rules, scoped-grants and break-glass write here too.
 */
export const POSTGRES_FILES = [
  'test/e2e/readiness.test.ts',
  'test/e2e/http-flow.test.ts',
  'test/e2e/review-rules.test.ts',
  'test/e2e/concurrency.test.ts',
  'test/e2e/waiting.test.ts',
  'test/e2e/pending-cap.test.ts',
  'test/e2e/console-http.test.ts',
  'test/e2e/identity-canonical.test.ts',
  'test/e2e/outbox.test.ts',
  'test/e2e/slack.test.ts',
  'test/e2e/mcp-pinning.test.ts',
  'test/e2e/audit-proofs.test.ts',
  'test/e2e/audit-rotation.test.ts',
  'test/e2e/evidence.test.ts',
  'test/e2e/metrics.test.ts',
  'test/e2e/idempotency.test.ts',
  'test/e2e/policy-shadow.test.ts',
  'test/e2e/policy-replay.test.ts',
  // Who sees which request: lists read on past rows one may not see, by the store's cursor.
  'test/e2e/roles.test.ts',
  // A preview is written to a held request after submit answered: a change of its own, with its audit event.
  'test/e2e/impact-preview.test.ts',
  // Safety nets: the escalation sweep under its lease, break-glass claims, on either store.
  'test/e2e/escalation.test.ts',
  'test/e2e/break-glass.test.ts',
  'test/e2e/undo.test.ts',
  // Scoped grants: a use is one guarded UPDATE across replicas sharing the database.
  'test/e2e/scoped-grants.test.ts',
  // Withdrawing a request while it is decided: one guarded change wins on either store.
  'test/e2e/decision-races.test.ts',
  // A run that ends after another replica settled its request: the settlement stands, the outcome is logged beside it.
  'test/e2e/late-outcome.test.ts',
  // Groups remembered at a console sign-in (known humans) count for chat approvals only while recent.
  'test/e2e/identity-stale-groups.test.ts',
  // A CLI sign-in's one-time code is taken once from the store, whichever replica redeems it.
  'test/e2e/identity-cli-login.test.ts',
  // A single sign-on's flow is spent by its first callback on any replica: one guarded DELETE on either store.
  'test/e2e/identity-login-flow-once.test.ts',
  // A sign-out on one replica ends the session on the others; a planted session ends at sign-in.
  'test/e2e/console-session-replicas.test.ts',
  // A run's claim holds only under the config in force, read in the claim's own transaction (FOR SHARE on PostgreSQL).
  'test/e2e/config-change-claim.test.ts',
  // One chat account clicking on two replicas at once, each reading another email for it: one review key wins.
  'test/e2e/review-chat-account.test.ts',
];

/**
 * Store-dependent files that run on SQLite only, and why: each reads or
 * changes the SQLite file under the Store port, or writes a SQLite config of
 * its own. Those marked "port" only read rows and could move to
 * test/support/store-view.ts (and then to POSTGRES_FILES).
 */
export const SQLITE_ONLY: Readonly<Record<string, string>> = {
  'test/e2e/exec-gateway-secrets.test.ts': 'reads the stored request and audit rows of a child gateway in its SQLite file',
  'test/e2e/exec-gateway-stop.test.ts': 'reads the stored request of a child gateway in its SQLite file',
  'test/e2e/mcp-stdio-gateway-secrets.test.ts': 'reads the stored request and audit rows of a child gateway in its SQLite file',
  'test/e2e/sql-long-mask.test.ts': 'reads the audit rows in the SQLite file',
  'test/e2e/fail-closed.test.ts': 'makes audit writes fail with a trigger on the SQLite table',
  'test/e2e/audit-bundle.test.ts': 'tampers with a copy of the SQLite file',
  'test/e2e/audit-trust.test.ts': 'tampers with a copy of the SQLite file',
  'test/e2e/audit-tamper.test.ts': 'tampers with a copy of the SQLite file',
  'test/e2e/audit-tamper-time.test.ts': 'tampers with a copy of the SQLite file',
  'test/e2e/audit-tamper-index.test.ts': 'tampers with a copy of the SQLite file',
  'test/e2e/recheck.test.ts': 'changes rows in the SQLite file between gateways',
  'test/e2e/digest-stored-action.test.ts': 'changes a row in the SQLite file under a running gateway',
  'test/e2e/review-digest.test.ts': 'changes a row in the SQLite file under a running gateway',
  'test/e2e/review-eligibility.test.ts': 'changes a row in the SQLite file under a running gateway',
  'test/e2e/crash.test.ts': 'the `countersign crash` CLI with its own SQLite config',
  'test/e2e/store-owner.test.ts': 'the demo and first-config file layout on disk (SQLite by design)',
  'test/e2e/cli.test.ts': 'port: exports and tampers with the SQLite file through the CLI',
  'test/e2e/http-echo-secrets.test.ts': 'port: dumps every SQLite table to look for secrets',
  'test/e2e/mcp-echo-secrets.test.ts': 'port: dumps every SQLite table to look for secrets',
  'test/e2e/target-secrets.test.ts': 'port: dumps the SQLite request and audit rows to look for secrets',
  'test/e2e/canary-sweep.test.ts': 'port: dumps every SQLite table to look for canaries',
  'test/e2e/canary-sweep-failures.test.ts': 'port: dumps every SQLite table of a child gateway to look for canaries (its second gateway has a PostgreSQL store of its own)',
  'test/e2e/mcp-http.test.ts': 'port: reads rows from the SQLite file (mcp-scenarios.ts)',
  'test/e2e/mcp-local-cli.test.ts': 'port: reads rows from the SQLite file; writes CLI configs itself',
  'test/e2e/audit-sensitive.test.ts': 'port: reads audit rows from the SQLite file; writes a CLI config itself',
  'test/e2e/exec-and-postgres.test.ts': 'port: reads rows from the SQLite file',
  'test/e2e/background-once.test.ts': 'two gateways on one SQLite file share its sweeps by a lease row; on PostgreSQL the leases contract suite and replicas.test.ts cover it',
  'test/e2e/workers.test.ts': 'server.workers on SQLite, whose wake-ups cross the cluster primary; on PostgreSQL each worker is a replica (replicas.test.ts)',
  'test/e2e/omit-dev.test.ts': 'installs the package with npm ci --omit=dev and copies in the compiled SQLite driver; the store is beside the point',
  'test/e2e/console-browser.test.ts': 'port: reads rows from the SQLite file (left as it is: needs Chromium to check a change)',
};

/**
 * The files that take longest (project:file, slowest first, as measured on the 2-core machine), started before
 * all others: one of them started last would end the run alone while the other workers idle. The rest follow in
 * vitest's own order (its cache of durations, else the largest file first). A file missing here only runs in
 * that order; order is all this changes.
 */
export const SLOW_FIRST = [
  // Files that mostly wait on other processes (replicas, the outbox's retries, the Claude CLI, CLI runs): longest
  // in a full run of 2026-12-06 20:26 UTC under load; first, so their waits overlap the other workers' files.
  'sqlite:test/e2e/adapter-claude-agent-sdk.test.ts',
  'sqlite:test/e2e/replicas-config-drift-claim.test.ts',
  'sqlite:test/e2e/audit-tamper.test.ts',
  'sqlite:test/e2e/cli-run-impostor.test.ts',
  'sqlite:test/e2e/replicas-config-drift-outbox.test.ts',
  'sqlite:test/e2e/replicas-audit-origin.test.ts',
  'sqlite:test/e2e/identity-cli-login.test.ts',
  'sqlite:test/e2e/console-a11y.test.ts',
  'sqlite:test/e2e/store-owner.test.ts',
  'sqlite:test/e2e/python-client.test.ts',
  'sqlite:test/e2e/audit-bundle.test.ts',
  'sqlite:test/e2e/mcp-local-cli.test.ts',
  'sqlite:test/e2e/cli-run.test.ts',
  'sqlite:test/e2e/cli-run-restart.test.ts',
  'sqlite:test/e2e/policy-replay.test.ts',
  'sqlite:test/e2e/audit-exports.test.ts',
  'sqlite:test/e2e/workers.test.ts',
  'unit:src/adapters/store/postgres/store.test.ts',
  'sqlite:test/e2e/coverage.test.ts',
  'sqlite:test/e2e/client-package.test.ts',
  'sqlite:test/e2e/audit-trust.test.ts',
  'sqlite:test/e2e/tracing.test.ts',
  'postgres:test/e2e/scoped-grants.test.ts',
  'sqlite:test/e2e/cli.test.ts',
  'postgres:test/e2e/roles.test.ts',
  'postgres:test/e2e/policy-replay.test.ts',
  'sqlite:test/e2e/replicas.test.ts',
  'sqlite:test/e2e/replicas-restart.test.ts',
  'sqlite:test/e2e/sql-parse-stall.test.ts',
  'sqlite:test/e2e/replicas-races.test.ts',
  'sqlite:test/e2e/console-browser.test.ts',
  'sqlite:test/e2e/cli-run-sql.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = SLOW_FIRST.indexOf(`${f.project.name}:${relative(f.project.config.root, f.moduleId)}`);
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i, r: rank(f) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.f);
  }
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Three files at a time even on two cores: most end-to-end time is spent waiting on other processes
    // (gateways, PostgreSQL, the CLI, Chromium); one at a time took the suite past ten minutes, and so did two
    // once the governance and safety-net files came (11 min of tests on 2,365 cases). Four was slower: on a quiet
    // machine, 345 files took vitest 597 s with three and 629 s with four (imports 117 s → 191 s, contending).
    maxWorkers: 3,
    sequence: { sequencer: SlowFirst },
    // Tests that spawn the CLI run dist/: build it from the current sources first.
    // Throwaway databases a file made and did not drop (its tests filtered out by -t, its worker gone) go at the end.
    globalSetup: ['test/support/build-dist.ts', 'test/support/drop-databases.ts'],
    projects: [
      // Every project shares a worker's modules from file to file (isolate: false): a fresh process per file loaded
      // the gateway's sources again each time (3 to 5 s of import per end-to-end file here), more CPU than many
      // files' tests. Shared, `npm test` took 511 s of CPU instead of 922 s, all passing (BENCHMARKS.md, "Test
      // suite"). So a test file mocks no module, leaves no stubbed global or environment variable behind, and
      // stops what it started (gateways, servers, child processes, clients) in its own afterAll: an error something
      // of it raised after the file ended would land in the worker's next file. Every end-to-end file was run shared
      // with a probe that logged each unhandled error in the workers and what each file left behind: none, and no
      // server, socket, timer or child process. (A full shared run that once ended with exit code 1 and no failed
      // test matches a beforeAll that timed out on a loaded machine: its file fails with its tests skipped, not
      // failed, in either mode.) Per-file clean-up goes in a setup file (a support module's top-level hook would run
      // for a worker's first file only): release-stores.ts drops the throwaway databases of a file's gateways after it.
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], isolate: false, setupFiles: ['test/support/release-stores.ts'] } },
      { extends: true, test: { name: 'postgres', include: POSTGRES_FILES, isolate: false, setupFiles: ['test/support/release-stores.ts'], env: { COUNTERSIGN_TEST_STORE: 'postgres' } } },
    ],
  },
});
