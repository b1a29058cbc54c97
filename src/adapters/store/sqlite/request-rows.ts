/**
 * A request as a row of the SQLite `requests` table: the record as JSON and,
 * beside it, the columns queries filter on, each derived from the record on
 * every write (so a column never disagrees with the record it sits beside).
 */
import { escalationDueAt } from '../../../core/escalation.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { recordJson } from '../rows.ts';

export const INSERT_REQUEST = `INSERT INTO requests (id, status, principal_id, acts_for, connection, created_at, updated_at, expires_at, escalate_at, version, digest, term_set, idempotency_key, record)
  VALUES (@id, @status, @principal_id, @acts_for, @connection, @created_at, @updated_at, @expires_at, @escalate_at, @version, @digest, @term_set, @idempotency_key, @record)`;

export const UPDATE_REQUEST = `UPDATE requests SET status = @status, updated_at = @updated_at, expires_at = @expires_at, escalate_at = @escalate_at, version = @version, record = @record
  WHERE id = @id AND version = @previous_version`;

/** A request's row as the statements' named parameters, with `more` (the term set of an insert, the version an update expects). */
export function rowParams(r: RequestRecord, more: { term_set: number } | { previous_version: number }): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    principal_id: r.principal.id,
    acts_for: r.principal.actsFor,
    connection: r.action.connection,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    expires_at: r.expiresAt,
    escalate_at: escalationDueAt(r),
    version: r.version,
    digest: r.digest,
    record: recordJson(r),
    ...more,
  };
}
