/**
 * Review keys in SQLite (../review-keys.ts): `(request_id, key)` is the primary key, so the file refuses a second
 * review of one request by one person under another id; the caller answers ALREADY_REVIEWED.
 */
import type Database from 'better-sqlite3';
import type { Review } from '../../../core/review.ts';
import { reviewKeyRows } from '../review-keys.ts';

/** The migration step: the table, and the keys of the reviews already stored (a person reviewing twice before it kept one). */
export function reviewKeysSchema(db: Database.Database): void {
  db.exec(`CREATE TABLE review_keys (
    request_id TEXT NOT NULL REFERENCES requests (id),
    key TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    PRIMARY KEY (request_id, key)
  ) STRICT`);
  const keep = db.prepare('INSERT OR IGNORE INTO review_keys (request_id, key, reviewer) VALUES (?, ?, ?)');
  for (const row of db.prepare('SELECT request_id, record FROM reviews ORDER BY rowid').all() as { request_id: string; record: string }[]) {
    for (const k of reviewKeyRows(row.request_id, [JSON.parse(row.record) as Review])) keep.run(k.requestId, k.key, k.reviewer);
  }
}

/** Inserts the keys of `reviews` of request `id` (inside the caller's transaction); a key taken throws SQLITE_CONSTRAINT_PRIMARYKEY. */
export function reviewKeysWriter(db: Database.Database): (id: string, reviews: readonly Review[]) => void {
  const insert = db.prepare('INSERT INTO review_keys (request_id, key, reviewer) VALUES (?, ?, ?)');
  return (id, reviews) => {
    for (const k of reviewKeyRows(id, reviews)) insert.run(k.requestId, k.key, k.reviewer);
  };
}
