/**
 * Reads a gateway's SQLite file from the outside, read-only, so end-to-end
 * tests assert the rows and audit events that really landed. SQLite-only:
 * store-view.ts reads the same through the Store port, on either store.
 */
import Database from 'better-sqlite3';
import { sqliteOnly } from './test-store.ts';

export interface AuditRow {
  seq: number;
  time: string;
  type: string;
  requestId: string | null;
  actor: string | null;
  data: Record<string, any>;
}

/** Runs `fn` on a read-only connection to the file and closes it. */
export function readDb<T>(dbPath: string, fn: (db: Database.Database) => T): T {
  sqliteOnly(`reads ${dbPath} itself; read through the Store port (store-view.ts) to run on PostgreSQL`);
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** How many requests, reviews and audit events the file holds. */
export function counts(dbPath: string): { requests: number; reviews: number; audit: number } {
  return readDb(dbPath, (db) => {
    const n = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { requests: n('requests'), reviews: n('reviews'), audit: n('audit_events') };
  });
}

/** The stored status of one request, or undefined when there is no row. */
export function requestStatus(dbPath: string, id: string): string | undefined {
  return readDb(dbPath, (db) => (db.prepare('SELECT status FROM requests WHERE id = ?').get(id) as { status: string } | undefined)?.status);
}

/** The reviewers recorded for one request. */
export function reviewers(dbPath: string, id: string): { reviewer: string; verdict: string }[] {
  return readDb(dbPath, (db) => db.prepare('SELECT reviewer, verdict FROM reviews WHERE request_id = ? ORDER BY rowid').all(id) as { reviewer: string; verdict: string }[]);
}

/** The audit events (of one request, or all), in order. */
export function auditEvents(dbPath: string, requestId?: string): AuditRow[] {
  return readDb(dbPath, (db) => {
    const rows = (
      requestId === undefined
        ? db.prepare('SELECT body FROM audit_events ORDER BY seq').all()
        : db.prepare('SELECT body FROM audit_events WHERE request_id = ? ORDER BY seq').all(requestId)
    ) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as AuditRow);
  });
}

