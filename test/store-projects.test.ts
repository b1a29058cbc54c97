/**
 * The `postgres` project runs the files of POSTGRES_FILES again on
 * PostgreSQL; a file that reads the SQLite file itself cannot, and must say
 * so (SQLITE_ONLY, with its reason) rather than fail there or test nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POSTGRES_FILES, SLOW_FIRST, SQLITE_ONLY } from '../vitest.config.ts';

const E2E = 'test/e2e';
const READS_SQLITE = /better-sqlite3|support\/sqlite\.ts|createSqliteStore/;
/** A test of a PostgreSQL-run file skipped there, with its reason in a comment. */
const MARKED = /\/\/ SQLite-only: .+\n\s*it\.skipIf\(testStoreKind\(\) !== 'sqlite'\)/;

describe('the store projects', () => {
  it('name files that exist, each in one list', () => {
    for (const f of [...POSTGRES_FILES, ...Object.keys(SQLITE_ONLY)]) expect(existsSync(f), f).toBe(true);
    expect(POSTGRES_FILES.filter((f) => f in SQLITE_ONLY)).toEqual([]);
  });

  it('start first only files that exist, in a project that runs them (a name that went stale orders nothing)', () => {
    for (const entry of SLOW_FIRST) {
      const [project, file] = entry.split(':') as [string, string];
      expect(existsSync(file), entry).toBe(true);
      const runs = { unit: file.startsWith('src/'), sqlite: file.startsWith('test/'), postgres: POSTGRES_FILES.includes(file) }[project];
      expect(runs, entry).toBe(true);
    }
    expect(new Set(SLOW_FIRST).size).toBe(SLOW_FIRST.length);
  });

  it('mark every end-to-end file (or test) that reads the SQLite file itself as SQLite-only, with a reason', () => {
    const reading = readdirSync(E2E)
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => join(E2E, f))
      .filter((f) => READS_SQLITE.test(readFileSync(f, 'utf8')));
    for (const f of reading) {
      if (POSTGRES_FILES.includes(f)) expect(readFileSync(f, 'utf8'), `${f} reads the SQLite file: skip those tests on PostgreSQL, saying why`).toMatch(MARKED);
      else expect(SQLITE_ONLY[f], `${f} reads the SQLite file: list it in SQLITE_ONLY with a reason`).toMatch(/\w/);
    }
  });
});
