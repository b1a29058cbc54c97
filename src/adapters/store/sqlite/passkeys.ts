/**
 * Passkeys and step-up challenges in SQLite: a passkey row per credential id
 * (public key, counter, owner), a challenge row per open challenge, deleted
 * when it is taken, so it answers once.
 */
import type Database from 'better-sqlite3';
import type { AuditDraft } from '../../../core/audit.ts';
import type { PasskeyStore } from '../../../core/store-ports.ts';
import type { Passkey, StepUpChallenge } from '../../../core/step-up.ts';

export const PASSKEYS_SCHEMA = `
  CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    human TEXT NOT NULL,
    counter INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX passkeys_human ON passkeys (human);
  CREATE TABLE step_up_challenges (
    challenge TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX step_up_challenges_expires ON step_up_challenges (expires_at);`;

type Row = { record: string; counter: number };
const passkeyOf = (r: Row): Passkey => ({ ...(JSON.parse(r.record) as Passkey), counter: r.counter });

/** The passkey port over `db`; `write` runs a function in the store's write transaction, `append` writes audit events in it. */
export function createPasskeyPort(
  db: Database.Database,
  write: <T>(fn: () => T) => Promise<T>,
  append: (audit: readonly AuditDraft[]) => void,
): PasskeyStore {
  const q = {
    insert: db.prepare('INSERT INTO passkeys (id, human, counter, created_at, record) VALUES (?, ?, ?, ?, ?)'),
    get: db.prepare('SELECT record, counter FROM passkeys WHERE id = ?'),
    of: db.prepare('SELECT record, counter FROM passkeys WHERE human = ? ORDER BY created_at, rowid'),
    remove: db.prepare('DELETE FROM passkeys WHERE human = ? AND id = ?'),
    advance: db.prepare('UPDATE passkeys SET counter = ? WHERE id = ? AND counter = ?'),
    dropExpired: db.prepare('DELETE FROM step_up_challenges WHERE expires_at <= ?'),
    insertChallenge: db.prepare('INSERT INTO step_up_challenges (challenge, expires_at, record) VALUES (?, ?, ?)'),
    take: db.prepare('DELETE FROM step_up_challenges WHERE challenge = ? RETURNING record').pluck(),
    insertOnce: db.prepare('INSERT INTO step_up_challenges (challenge, expires_at, record) VALUES (?, ?, ?) ON CONFLICT (challenge) DO NOTHING'),
  };
  return {
    insertPasskey: (p, audit) =>
      write(() => {
        q.insert.run(p.id, p.human, p.counter, p.createdAt, JSON.stringify(p));
        append(audit);
      }),
    getPasskey: async (id) => {
      const row = q.get.get(id) as Row | undefined;
      return row ? passkeyOf(row) : undefined;
    },
    passkeysOf: async (human) => (q.of.all(human) as Row[]).map(passkeyOf),
    deletePasskey: (human, id, audit) =>
      write(() => {
        if (q.remove.run(human, id).changes !== 1) return false;
        append(audit);
        return true;
      }),
    advancePasskeyCounter: (id, previous, next) => write(() => q.advance.run(next, id, previous).changes === 1),
    insertChallenge: (c: StepUpChallenge, now) =>
      write(() => {
        q.dropExpired.run(now.toISOString());
        q.insertChallenge.run(c.challenge, c.expiresAt, JSON.stringify(c));
      }),
    insertChallengeOnce: (c: StepUpChallenge, now) =>
      write(() => {
        q.dropExpired.run(now.toISOString());
        return q.insertOnce.run(c.challenge, c.expiresAt, JSON.stringify(c)).changes === 1;
      }),
    takeChallenge: (challenge) =>
      write(() => {
        const record = q.take.get(challenge) as string | undefined;
        return record === undefined ? undefined : (JSON.parse(record) as StepUpChallenge);
      }),
  };
}
