/**
 * Console sessions in SQLite: one row per signed-in browser, keyed by the
 * SHA-256 of its cookie token, with the expiry indexed for the sweep.
 */
import type Database from 'better-sqlite3';
import type { Session } from '../../../core/session.ts';

export const SESSIONS_SCHEMA = `
  CREATE TABLE sessions (
    key TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX sessions_expires ON sessions (expires_at);`;

/** Statements over the sessions table; writes are plain functions the store runs in its transactions. */
export function createSessionTable(db: Database.Database) {
  const insert = db.prepare('INSERT INTO sessions (key, principal_id, created_at, expires_at, record) VALUES (?, ?, ?, ?, ?)');
  const get = db.prepare('SELECT record FROM sessions WHERE key = ?').pluck();
  const remove = db.prepare('DELETE FROM sessions WHERE key = ?');
  const expired = db.prepare('SELECT key FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?').pluck();
  return {
    insert(s: Session): void {
      insert.run(s.key, s.principal.id, s.createdAt, s.expiresAt, JSON.stringify(s));
    },
    get(key: string): Session | undefined {
      const record = get.get(key) as string | undefined;
      return record === undefined ? undefined : (JSON.parse(record) as Session);
    },
    /** True when a row was deleted. */
    remove(key: string): boolean {
      return remove.run(key).changes === 1;
    },
    expired(now: Date, limit: number): string[] {
      return expired.all(now.toISOString(), Math.max(1, limit)) as string[];
    },
  };
}
