/**
 * A replica of the PostgreSQL store as its own process, for tests that freeze
 * one (SIGSTOP) in the middle of a write, as a stalled VM or a network
 * partition would. Started as
 * `node bin/run-ts.js test/support/postgres-store-child.ts '<PostgresStoreOptions as JSON>'`;
 * prints `ready` once open, then for each line `<request id>` on stdin writes
 * one audit event about that request under its row lock, printing `done` or
 * the error's code. Exits when stdin closes (its parent went away).
 */
import { createInterface } from 'node:readline';
import { createPostgresStore, type PostgresStoreOptions } from '../../src/adapters/store/postgres/index.ts';
import { auditDraft } from './fixtures.ts';

const store = await createPostgresStore(JSON.parse(process.argv[2] ?? '{}') as PostgresStoreOptions);
process.stdout.write('ready\n');

const lines = createInterface({ input: process.stdin });
lines.on('line', (id) => {
  store.mutateRequest(id, (current) => ({ result: null, audit: [auditDraft('child.write', current.id)] })).then(
    () => process.stdout.write('done\n'),
    (e: unknown) => process.stdout.write(`${(e as { code?: string }).code ?? String(e)}\n`),
  );
});
lines.on('close', () => process.exit(0));
