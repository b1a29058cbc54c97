/**
 * Opens (creating and migrating) the SQLite store at argv[2] and closes it:
 * one of several processes starting on the same new file at once. Waits for
 * a line on stdin first, so every process is loaded before any opens.
 */
import { createInterface } from 'node:readline';
import { createSqliteStore } from '../../src/adapters/store/sqlite/store.ts';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: open-sqlite-store <file>\n');
  process.exit(2);
}
process.stdout.write('ready\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
const store = createSqliteStore({ path });
await store.close();
process.stdout.write('opened\n');
