/**
 * A request as a row of the SQLite `requests` table: the record as JSON and,
 * beside it, the columns queries filter on, each derived from the record on
 * every write (so a column never disagrees with the record it sits beside).
 * `record` is the whole record as it was inserted; a transition that keeps
 * what never changes (who asked for what, where, with which facts: most of a
 * record's bytes) writes only its `state` fields, in `state`, which then say
 * what the record is now (../record-parts.ts, shared with PostgreSQL).
 * Parameters are positional: better-sqlite3 binds an array faster than it
 * looks up each named parameter on an object (about 1.5 µs per row here).
 */
import { escalationDueAt } from '../../../core/escalation.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { recordJson } from '../rows.ts';
import { stateJson } from '../record-parts.ts';

export { recordOf, sameFixed } from '../record-parts.ts';

export const INSERT_REQUEST = `INSERT INTO requests (id, status, principal_id, acts_for, connection, created_at, updated_at, expires_at, escalate_at, version, digest, term_set, idempotency_key, record)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Over a row whose fixed fields stay as they are. */
export const UPDATE_STATE = `UPDATE requests SET status = ?, updated_at = ?, expires_at = ?, escalate_at = ?, version = ?, state = ?
  WHERE id = ? AND version = ?`;

/** Over any row: the whole record again, and no state over it. */
export const UPDATE_REQUEST = `UPDATE requests SET status = ?, updated_at = ?, expires_at = ?, escalate_at = ?, version = ?, record = ?, state = NULL
  WHERE id = ? AND version = ?`;

/** INSERT_REQUEST's parameters: the request's row, with the id of its term set. */
export function insertParams(r: RequestRecord, termSet: number): unknown[] {
  return [
    r.id,
    r.status,
    r.principal.id,
    r.principal.actsFor,
    r.action.connection,
    r.createdAt,
    r.updatedAt,
    r.expiresAt,
    escalationDueAt(r),
    r.version,
    r.digest,
    termSet,
    r.idempotencyKey ?? null,
    recordJson(r),
  ];
}

/** UPDATE_STATE's parameters: `r`'s state written over the stored row if that is still at `previousVersion`. */
export function updateStateParams(r: RequestRecord, previousVersion: number): unknown[] {
  return [r.status, r.updatedAt, r.expiresAt, escalationDueAt(r), r.version, stateJson(r), r.id, previousVersion];
}

/** UPDATE_REQUEST's parameters: all of `r` written over the stored row if that is still at `previousVersion`. */
export function updateParams(r: RequestRecord, previousVersion: number): unknown[] {
  return [r.status, r.updatedAt, r.expiresAt, escalationDueAt(r), r.version, recordJson(r), r.id, previousVersion];
}

/** Migration: the `state` column. A row without one has its record as inserted, which holds as it is. */
export const STATE_COLUMN = 'ALTER TABLE requests ADD COLUMN state TEXT;';
