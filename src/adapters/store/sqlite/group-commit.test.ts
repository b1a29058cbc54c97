/**
 * How the group commit fails a write alone without savepoints, and how it takes the write lock when BEGIN IMMEDIATE
 * is refused. SQLite reports "wait and try again" with
 * every extended code of SQLITE_BUSY (a plain lock, or another process recovering the WAL after a crash), and its
 * busy handler waits through all of them; failing the batch on one of them would, for an action that already ran,
 * lose its outcome. A refusal SQLite cannot outwait fails the batch, with the busy timeout restored.
 */
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BUSY_WAIT_MS, createGroupCommit } from './group-commit.ts';

let dir: string;
let db: Database.Database;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'countersign-group-commit-'));
  db = new Database(join(dir, 'g.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${BUSY_WAIT_MS}`);
  db.exec('CREATE TABLE t (v TEXT NOT NULL)');
});

afterEach(async () => {
  vi.useRealTimers();
  db.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The real connection, except that its BEGIN IMMEDIATE first fails with each of `codes` in turn, as SQLite reports
 * them (better-sqlite3 throws a SqliteError carrying the extended result code).
 */
function refusingBegin(real: Database.Database, codes: string[]): Database.Database {
  const left = [...codes];
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'prepare') {
        return (sql: string) => {
          const stmt = target.prepare(sql);
          if (sql !== 'BEGIN IMMEDIATE') return stmt;
          return {
            run() {
              const code = left.shift();
              if (code) throw new Database.SqliteError('database is locked', code);
              return stmt.run();
            },
          };
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const rows = () => (db.prepare('SELECT v FROM t').pluck().all() as string[]);

describe('group commit: taking the write lock', () => {
  it('waits through every kind of SQLITE_BUSY, WAL recovery in another process included, then commits', async () => {
    const write = createGroupCommit(refusingBegin(db, ['SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_RECOVERY']), (e) => new Error(String(e)));
    await expect(write(() => db.prepare("INSERT INTO t VALUES ('outcome')").run().changes)).resolves.toBe(1);
    expect(rows()).toEqual(['outcome']);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(BUSY_WAIT_MS);
  });

  it('fails the batch on a refusal that is not SQLITE_BUSY, writes nothing, and leaves the busy timeout as it was', async () => {
    const write = createGroupCommit(refusingBegin(db, ['SQLITE_IOERR_LOCK']), (e) => new Error(String(e)));
    await expect(write(() => db.prepare("INSERT INTO t VALUES ('x')").run())).rejects.toMatchObject({ code: 'SQLITE_IOERR_LOCK' });
    expect(rows()).toEqual([]);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(BUSY_WAIT_MS);
    // The store is not broken by it: the next batch commits.
    await write(() => db.prepare("INSERT INTO t VALUES ('next')").run());
    expect(rows()).toEqual(['next']);
  });

  it('gives a later batch the whole busy wait, also when the one before failed on another error while it waited', async () => {
    // Only the clock is faked: the retries still run on real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    const write = createGroupCommit(refusingBegin(db, ['SQLITE_BUSY', 'SQLITE_IOERR_LOCK', 'SQLITE_BUSY']), (e) => new Error(String(e)));
    await expect(write(() => db.prepare("INSERT INTO t VALUES ('x')").run())).rejects.toMatchObject({ code: 'SQLITE_IOERR_LOCK' });
    vi.setSystemTime(Date.now() + BUSY_WAIT_MS + 1000);
    // Busy once, then free: this batch has waited a millisecond, not the time since the batch before began waiting.
    await expect(write(() => db.prepare("INSERT INTO t VALUES ('later')").run().changes)).resolves.toBe(1);
    expect(rows()).toEqual(['later']);
  });
});

describe('group commit: a failing write fails alone', () => {
  const insert = (v: string) => () => db.prepare('INSERT INTO t VALUES (?)').run(v).changes;

  it('commits the other writes of its batch and keeps nothing of the failing one, also what it wrote before it threw', async () => {
    const write = createGroupCommit(db, (e) => new Error(String(e)));
    const settled = await Promise.allSettled([
      write(insert('a')),
      write(() => {
        insert('half')();
        throw new Error('refused after writing');
      }),
      write(insert('b')),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'refused after writing' });
    expect(rows().sort()).toEqual(['a', 'b']);
  });

  it('fails the second of two writes of one batch that conflict, and commits the first', async () => {
    db.exec('CREATE UNIQUE INDEX t_v ON t (v)');
    const write = createGroupCommit(db, (e) => new Error(String(e)));
    const settled = await Promise.allSettled([write(insert('same')), write(insert('same')), write(insert('other'))]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(rows().sort()).toEqual(['other', 'same']);
  });

  it('runs the writes of a failed batch again in at most three transactions, not one each: a refused write costs the others little', async () => {
    const write = createGroupCommit(db, (e) => new Error(String(e)));
    const other = new Database(join(dir, 'g.db'), { readonly: true });
    // What another connection has seen committed as each write runs: writes sharing a transaction do not see each other there.
    const seenBy: Record<string, string[]> = {};
    const op = (v: string) => () => {
      seenBy[v] = (other.prepare('SELECT v FROM t').pluck().all() as string[]).sort();
      return insert(v)();
    };
    try {
      const settled = await Promise.allSettled([
        write(op('a1')),
        write(op('a2')),
        write(op('a3')),
        write(() => {
          throw new Error('refused');
        }),
        write(op('c1')),
        write(op('c2')),
        write(op('c3')),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(rows().sort()).toEqual(['a1', 'a2', 'a3', 'c1', 'c2', 'c3']);
      // The writes before the refused one ran again together, and those after it together.
      expect(seenBy['a3']).toEqual([]);
      expect(seenBy['c3']).toEqual(['a1', 'a2', 'a3']);
    } finally {
      other.close();
    }
  });

  it('settles each write of a failed batch only once its own transaction has committed', async () => {
    const write = createGroupCommit(db, (e) => new Error(String(e)));
    const other = new Database(join(dir, 'g.db'), { readonly: true });
    const committed = () => (other.prepare('SELECT v FROM t').pluck().all() as string[]).sort();
    try {
      // What another connection reads as each promise settles: the batch's first run was rolled back, so only the
      // write's own later transaction can have put its row there.
      const seen = await Promise.all([
        write(insert('a')).then(committed),
        write(() => {
          throw new Error('no');
        }).catch(committed),
        write(insert('b')).then(committed),
      ]);
      expect(seen).toEqual([['a'], ['a'], ['a', 'b']]);
    } finally {
      other.close();
    }
  });
});
