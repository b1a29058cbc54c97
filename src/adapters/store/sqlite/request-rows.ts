/**
 * A request as a row of the SQLite `requests` table: the record as JSON and,
 * beside it, the columns queries filter on, each derived from the record on
 * every write (so a column never disagrees with the record it sits beside).
 * `record` is the whole record as it was inserted; a transition that keeps
 * what never changes (who asked for what, where, with which facts: most of a
 * record's bytes) writes only its `state` fields, in `state`, which then say
 * what the record is now: serialising the whole record again was the largest
 * part of writing an outcome. Parameters are positional: better-sqlite3 binds
 * an array faster than it looks up each named parameter on an object (about
 * 1.5 µs per row here).
 */
import { escalationDueAt } from '../../../core/escalation.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { recordJson } from '../rows.ts';

export const INSERT_REQUEST = `INSERT INTO requests (id, status, principal_id, acts_for, connection, created_at, updated_at, expires_at, escalate_at, version, digest, term_set, idempotency_key, resume_key, record)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Over a row whose fixed fields stay as they are. */
export const UPDATE_STATE = `UPDATE requests SET status = ?, updated_at = ?, expires_at = ?, escalate_at = ?, version = ?, state = ?
  WHERE id = ? AND version = ?`;

/** Over any row: the whole record again, and no state over it. */
export const UPDATE_REQUEST = `UPDATE requests SET status = ?, updated_at = ?, expires_at = ?, escalate_at = ?, version = ?, record = ?, state = NULL
  WHERE id = ? AND version = ?`;

/**
 * Each field of a record: `fixed` when set at submission and copied unchanged by every transition, `state` when a
 * transition may change it (the reviews have rows of their own). Every field is listed: a field added to
 * RequestRecord does not compile here until it is placed.
 */
const PARTS = {
  id: 'fixed',
  principal: 'fixed',
  action: 'fixed',
  connection: 'fixed',
  facts: 'fixed',
  digest: 'fixed',
  createdAt: 'fixed',
  context: 'fixed',
  runsIn: 'fixed',
  traceparent: 'fixed',
  connectionTarget: 'fixed',
  idempotencyKey: 'fixed',
  resumeKey: 'fixed',
  status: 'state',
  decision: 'state',
  updatedAt: 'state',
  expiresAt: 'state',
  result: 'state',
  error: 'state',
  version: 'state',
  runDeadline: 'state',
  preview: 'state',
  escalations: 'state',
  breakGlass: 'state',
  undo: 'state',
  grant: 'state',
  grantedBy: 'state',
  reviews: 'rows',
} as const satisfies { readonly [K in keyof RequestRecord]-?: 'fixed' | 'state' | 'rows' };

type Field = keyof typeof PARTS;
const fieldsOf = (part: string): Field[] => (Object.keys(PARTS) as Field[]).filter((k) => PARTS[k] === part);
const FIXED = fieldsOf('fixed');
const STATE = fieldsOf('state');
/** State fields a record may lack: written only when present, as JSON leaves an undefined field out. */
const OPTIONAL_STATE = STATE.filter((k) => !['status', 'decision', 'updatedAt', 'expiresAt', 'result', 'error', 'version'].includes(k));

/** The state fields' JSON. */
export function stateJson(r: RequestRecord): string {
  // A literal of the fields every record has, then those present: faster to write than one with undefined values.
  const state: Record<string, unknown> = { status: r.status, decision: r.decision, updatedAt: r.updatedAt, expiresAt: r.expiresAt, result: r.result, error: r.error, version: r.version };
  for (const k of OPTIONAL_STATE) if (r[k] !== undefined) state[k] = r[k];
  return JSON.stringify(state);
}

/** True when `next` keeps every fixed field of `previous` (the same values: a transition copies them over). */
export function sameFixed(previous: RequestRecord, next: RequestRecord): boolean {
  for (const k of FIXED) if (next[k] !== previous[k]) return false;
  return true;
}

/** A stored row's record without its reviews (they have their own rows): the inserted record, with its state now. */
export function recordOf(row: { record: string; state: string | null }): Omit<RequestRecord, 'reviews'> {
  const r = JSON.parse(row.record) as Record<string, unknown>;
  if (row.state === null) return r as unknown as Omit<RequestRecord, 'reviews'>;
  const state = JSON.parse(row.state) as Record<string, unknown>;
  // A field the last transition left out is gone, whatever the record said when inserted.
  for (const k of STATE) if (!(k in state) && k in r) delete r[k];
  return Object.assign(r, state) as unknown as Omit<RequestRecord, 'reviews'>;
}

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
    r.resumeKey ?? null,
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
