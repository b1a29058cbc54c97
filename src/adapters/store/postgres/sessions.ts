/**
 * Console sessions in PostgreSQL: one row per signed-in browser, keyed by
 * the SHA-256 of its cookie token, with the expiry indexed for the sweep.
 */
import type { Session } from '../../../core/session.ts';
import type { Run } from './pool.ts';

const INSERT = { name: 'cs_session_insert', text: 'INSERT INTO sessions (key, principal_id, created_at, expires_at, record) VALUES ($1, $2, $3, $4, $5)' };
const GET = { name: 'cs_session_get', text: 'SELECT record FROM sessions WHERE key = $1' };
const REMOVE = { name: 'cs_session_remove', text: 'DELETE FROM sessions WHERE key = $1' };
const EXPIRED = { name: 'cs_session_expired', text: 'SELECT key FROM sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2' };

export const sessions = {
  async insert(run: Run, s: Session): Promise<void> {
    await run(INSERT, [s.key, s.principal.id, s.createdAt, s.expiresAt, JSON.stringify(s)]);
  },
  async get(run: Run, key: string): Promise<Session | undefined> {
    const row = (await run<{ record: string }>(GET, [key])).rows[0];
    return row ? (JSON.parse(row.record) as Session) : undefined;
  },
  /** True when a row was deleted (a concurrent delete of the same key waits for this one, then deletes nothing). */
  async remove(run: Run, key: string): Promise<boolean> {
    return (await run(REMOVE, [key])).rowCount === 1;
  },
  async expired(run: Run, now: Date, limit: number): Promise<string[]> {
    return (await run<{ key: string }>(EXPIRED, [now.toISOString(), Math.max(1, limit)])).rows.map((r) => r.key);
  },
};
