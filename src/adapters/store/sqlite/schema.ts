/**
 * The SQLite schema, applied in numbered steps so an older file upgrades in place.
 * A request row keeps its record as JSON plus the columns queries filter on;
 * reviews are keyed by (request, reviewer), and their identity keys by
 * (request, key) (review-keys.ts), so the file itself refuses a second vote
 * by the same person under any id.
 */
import type Database from 'better-sqlite3';
import { backfillTerms, SEARCH_SCHEMA, TERMS_SCHEMA } from './search.ts';
import { OUTBOX_SCHEMA } from './outbox.ts';
import { SESSIONS_SCHEMA } from './sessions.ts';
import { PASSKEYS_SCHEMA } from './passkeys.ts';
import { GRANTS_SCHEMA } from './grants.ts';
import { backfillTree, TREE_SCHEMA } from './tree.ts';
import { termSetsFromRequestTerms } from './term-sets.ts';
import { STATE_COLUMN } from './request-rows.ts';
import { reviewKeysSchema } from './review-keys.ts';
import { escalationDueAt } from '../../../core/escalation.ts';
import type { RequestRecord } from '../../../core/request.ts';

/** A step is SQL, or code for what SQL cannot do (hashing the existing log). Steps never change once shipped. */
export const MIGRATIONS: readonly (string | ((db: Database.Database) => void))[] = [
  `CREATE TABLE requests (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     principal_id TEXT NOT NULL,
     acts_for TEXT,
     connection TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     expires_at TEXT,
     version INTEGER NOT NULL,
     record TEXT NOT NULL
   ) STRICT;
   CREATE INDEX requests_status_expires ON requests (status, expires_at);
   CREATE INDEX requests_created ON requests (created_at);
   CREATE INDEX requests_principal ON requests (principal_id);
   CREATE TABLE reviews (
     request_id TEXT NOT NULL REFERENCES requests (id),
     reviewer TEXT NOT NULL,
     verdict TEXT NOT NULL,
     created_at TEXT NOT NULL,
     record TEXT NOT NULL,
     PRIMARY KEY (request_id, reviewer)
   ) STRICT;
   CREATE TABLE audit_events (
     seq INTEGER PRIMARY KEY,
     time TEXT NOT NULL,
     type TEXT NOT NULL,
     request_id TEXT,
     actor TEXT,
     body TEXT NOT NULL,
     hash TEXT NOT NULL
   ) STRICT;
   CREATE INDEX audit_request ON audit_events (request_id);`,
  // Insertion order (rowid) is creation order: one index fewer to update on every new request.
  `DROP INDEX requests_created;`,
  TREE_SCHEMA,
  backfillTree,
  `CREATE TABLE checkpoints (
     size INTEGER PRIMARY KEY,
     root TEXT NOT NULL,
     key_id TEXT NOT NULL,
     note TEXT NOT NULL,
     created_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;`,
  SEARCH_SCHEMA,
  TERMS_SCHEMA,
  backfillTerms,
  SESSIONS_SCHEMA,
  // An agent's retry of a held MCP call finds its request by digest; the pair also serves lookups by principal.
  `ALTER TABLE requests ADD COLUMN digest TEXT;
   UPDATE requests SET digest = json_extract(record, '$.digest');
   CREATE INDEX requests_principal_digest ON requests (principal_id, digest);
   DROP INDEX requests_principal;`,
  // The accepted definition of each upstream MCP tool, and a change seen since (JSON), until a human accepts it.
  `CREATE TABLE tool_pins (
     connection TEXT NOT NULL,
     tool TEXT NOT NULL,
     hash TEXT NOT NULL,
     definition TEXT NOT NULL,
     pinned_at TEXT NOT NULL,
     pinned_by TEXT NOT NULL,
     changed TEXT,
     PRIMARY KEY (connection, tool)
   ) STRICT;`,
  OUTBOX_SCHEMA,
  // Humans remembered at sign-in before provider groups needed a mapping (and before one human had one id) kept raw
  // provider groups, which chat reviews would still grant: forget them; each is remembered again at their next sign-in.
  `DELETE FROM known_humans;`,
  // Background jobs (sweeps, checkpoints) run in one process at a time: the holder renews its row before it expires.
  `CREATE TABLE leases (
     job TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   ) STRICT;`,
  // Term sets: a request refers to its set of terms (one integer) instead of writing a row per term.
  termSetsFromRequestTerms,
  // Idempotency keys: one request per (principal, key), enforced here so that of two racing submissions one inserts.
  `ALTER TABLE requests ADD COLUMN idempotency_key TEXT;
   CREATE UNIQUE INDEX requests_idempotency ON requests (principal_id, idempotency_key) WHERE idempotency_key IS NOT NULL;`,
  // Passkeys of humans and the open step-up challenges (rules with `stepUp: webauthn`).
  PASSKEYS_SCHEMA,
  // Scoped grants: a use is a guarded UPDATE of its row in the transaction that records the request it approves.
  GRANTS_SCHEMA,
  // When the escalation sweep must look at a pending request next: it reads those, not every pending request.
  (db) => {
    db.exec(`ALTER TABLE requests ADD COLUMN escalate_at TEXT;
             CREATE INDEX requests_escalate_at ON requests (escalate_at) WHERE escalate_at IS NOT NULL;`);
    const set = db.prepare('UPDATE requests SET escalate_at = ? WHERE id = ?');
    for (const row of db.prepare(`SELECT id, record FROM requests WHERE status = 'pending'`).all() as { id: string; record: string }[]) {
      const at = escalationDueAt({ ...(JSON.parse(row.record) as Omit<RequestRecord, 'reviews'>), reviews: [] });
      if (at !== null) set.run(at, row.id);
    }
  },
  // What a transition changes of a record (request-rows.ts), so that an outcome does not write the whole record again.
  STATE_COLUMN,
  // One review per person and request in the file itself, whatever id each review names them by (review-keys.ts).
  reviewKeysSchema,
  // The pending cap counts a principal's pending requests at each held submission (service/pending-cap.ts): without
  // this index it read every request the principal ever made. Only pending rows have an entry, so an allowed action
  // (inserted executing) writes none.
  `CREATE INDEX requests_pending_principal ON requests (principal_id) WHERE status = 'pending';`,
  // Resume keys (core/resume-key.ts): one live request per key, so that of two submissions resuming one action by its
  // digest in two worker processes, each finding none, one inserts and the other fails on the index and resumes it.
  `ALTER TABLE requests ADD COLUMN resume_key TEXT;
   CREATE UNIQUE INDEX requests_resume ON requests (principal_id, resume_key)
     WHERE resume_key IS NOT NULL AND status IN ('pending', 'approved', 'executing');`,
];

/**
 * Applies the steps this file has not had yet, each in its own transaction.
 * Several processes may start on one file at once (`server.workers`): each
 * step is checked again under the write lock, so only one of them applies it.
 */
export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT');
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  MIGRATIONS.forEach((step, i) => {
    if (done.has(i + 1)) return;
    db.transaction(() => {
      if (applied.get(i + 1)) return; // another process applied it since the read above
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, new Date().toISOString());
    }).immediate();
  });
}
