/**
 * Requests and their reviews in PostgreSQL. A request row keeps its record
 * as JSON text plus the columns queries filter on (its terms as the id of
 * their set: term-sets.ts); reviews and their identity keys (reviews.ts) are
 * unique per request, so the database itself refuses a second vote by the
 * same person under any id. A change reads
 * the row FOR UPDATE, so of replicas racing to move one request exactly one
 * sees the state it expects.
 */
import type { AuditDraft } from '../../../core/audit.ts';
import { CountersignError } from '../../../core/errors.ts';
import { IdempotencyKeyTaken } from '../../../core/idempotency.ts';
import { ResumeKeyTaken } from '../../../core/resume-key.ts';
import type { MetaCondition, Mutation, RequestQuery } from '../../../core/ports.ts';
import type { RequestRecord, RequestStatus } from '../../../core/request.ts';
import type { Review } from '../../../core/review.ts';
import { escalationDueAt } from '../../../core/escalation.ts';
import { recordJson } from '../rows.ts';
import { termSetOf, type TermSetCache } from '../term-sets.ts';
import type { AuditTx, LockedHeadRow } from './audit.ts';
import { insertGrant } from './grants.ts';
import { insertReviews } from './reviews.ts';
import { holdsNul, jsonArray, jsonElements, statementParams, type Run } from './pool.ts';
import { ensureTermSet, inSets, termFilter } from './term-sets.ts';

type RecordRow = { id: string; record: string; reviews: string[] | null };

/**
 * The meta rows the batch's conditional inserts were made under ($22 keys; MetaCondition), read FOR SHARE once for the
 * whole statement (a common table expression before requestRowsCtes): a change committed first is read (READ
 * COMMITTED reads a row updated meanwhile again), one made after waits for this commit.
 */
export const HELD = `held AS MATERIALIZED (SELECT key, value FROM meta WHERE key = ANY($22::text[]) FOR SHARE)`;
/** True when every one of them has the value its inserts expect ($23); no condition: true. */
export const HOLDS = `((SELECT count(*) FROM held h JOIN unnest($22::text[], $23::text[]) AS c(key, value) ON h.key = c.key AND h.value = c.value) = cardinality($22::text[]))`;

/**
 * The rows' common table expressions: a batch's inserts, only while their conditions hold (HOLDS), and its updates
 * over known records (their ids returned), over parameters $1 to $23 (DeferredRows.values). `when`: a condition both
 * writes also need (append-sql.ts KNOWN_HEAD_WRITE).
 */
export function requestRowsCtes(when = 'true'): string {
  return `inserted AS (
           INSERT INTO requests (id, status, principal_id, acts_for, connection, created_at, updated_at, expires_at, escalate_at, version, digest, term_set, record)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[], $11::text[], $12::int[], ${jsonElements('$13')})
           WHERE ${when} AND ${HOLDS}
           RETURNING 1),
         updated AS (
           UPDATE requests r SET status = u.status, updated_at = u.updated_at, expires_at = u.expires_at, escalate_at = u.escalate_at, version = u.version, record = u.record
           FROM unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::int[], ${jsonElements('$20')}, $21::int[]) AS u(id, status, updated_at, expires_at, escalate_at, version, record, expected)
           WHERE r.id = u.id AND r.version = u.expected AND ${when}
           RETURNING r.id)`;
}
const ROWS = `WITH ${HELD}, ${requestRowsCtes()}`;

/**
 * The request rows of a batch, in one statement; the count of rows updated comes back, so a row that moved on is
 * noticed, and whether the inserts' conditions held.
 */
const WRITE_ROWS = { name: 'cs_request_write_rows', text: `${ROWS} SELECT count(*)::int AS n, ${HOLDS} AS held FROM updated` };

/**
 * The same rows, then the audit head locked (audit.ts LOCK_HEAD): the batch's last statement before the audit write,
 * one round trip instead of two. Lock order as in two statements, rows first and the head last: the rows are written
 * (their row locks taken) by the one-time filter's subqueries, which the executor runs before it reads the head's row
 * and locks it (EXPLAIN: LockRows over a Result whose One-Time Filter holds the subqueries, over the head's scan).
 */
const WRITE_ROWS_LOCK_HEAD = {
  name: 'cs_request_write_rows_lock_head',
  text: `${ROWS} SELECT h.seq, h.hash, h.time, h.edge, h.edge_seq, (SELECT count(*)::int FROM updated) AS n, ${HOLDS} AS held FROM audit_head h
         WHERE h.id = 1 AND (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated) >= 0 FOR UPDATE OF h`,
};

/**
 * Request rows a batch writes later, all in one statement (WRITE_ROWS): before the next statement of any operation,
 * and before the audit head is locked, so the row locks still come first. An update that finds its row moved on, or an
 * insert whose condition no longer holds, fails the flush: the batch is then run again one operation at a time, where
 * nothing is deferred (and a refused condition is its insert's own: INSERT_IF).
 */
export interface DeferredRows {
  pending(): boolean;
  /** The rows' parameters ($1 to $23 of requestRowsCtes), taken out of the queue: the caller writes them. */
  values(): unknown[];
  flush(run: Run): Promise<void>;
  /** The rows, then the audit head locked, in one statement: the head's row, or undefined when there is none. */
  flushLockingHead(run: Run): Promise<LockedHeadRow | undefined>;
}

export interface RowQueue extends DeferredRows {
  /** `termSet`: the id of the request's term set, committed (see ../term-sets.ts). `onlyIf`: inserted only under it. */
  insert(r: RequestRecord, termSet: number, onlyIf?: MetaCondition): void;
  update(current: RequestRecord, next: RequestRecord): void;
}

export function deferredRows(): RowQueue {
  let inserts: { r: RequestRecord; termSet: number }[] = [];
  let updates: { current: RequestRecord; next: RequestRecord }[] = [];
  // Each (key, value) once; two values of one key cannot both hold, and so fail the write.
  let conditions = new Map<string, MetaCondition>();
  const values = (): unknown[] => {
    const [ins, upd, held] = [inserts, updates, [...conditions.values()]];
    inserts = [];
    updates = [];
    conditions = new Map();
    return [
      ins.map((i) => i.r.id),
      ins.map((i) => i.r.status),
      ins.map((i) => i.r.principal.id),
      ins.map((i) => i.r.principal.actsFor),
      ins.map((i) => i.r.action.connection),
      ins.map((i) => i.r.createdAt),
      ins.map((i) => i.r.updatedAt),
      ins.map((i) => i.r.expiresAt),
      ins.map((i) => escalationDueAt(i.r)),
      ins.map((i) => i.r.version),
      ins.map((i) => i.r.digest),
      ins.map((i) => i.termSet),
      jsonArray(ins.map((i) => recordJson(i.r))),
      upd.map((u) => u.current.id),
      upd.map((u) => u.next.status),
      upd.map((u) => u.next.updatedAt),
      upd.map((u) => u.next.expiresAt),
      upd.map((u) => escalationDueAt(u.next)),
      upd.map((u) => u.next.version),
      jsonArray(upd.map((u) => recordJson(u.next))),
      upd.map((u) => u.current.version),
      held.map((c) => c.key),
      held.map((c) => c.value),
    ];
  };
  const write = async <T extends { n: number; held: boolean }>(run: Run, sql: { name: string; text: string }): Promise<T | undefined> => {
    const expected = updates.length;
    const done = await run<T>(sql, values());
    const row = done.rows[0];
    // No head row: the rows were written all the same (the subqueries ran), and the audit write fails on the head.
    if (row !== undefined && !row.held) throw new Error('a meta value a request was inserted under had changed');
    if (row !== undefined && row.n !== expected) throw new Error('a request written over a known record had moved on');
    return row;
  };
  return {
    insert(r, termSet, onlyIf) {
      inserts.push({ r, termSet });
      if (onlyIf) conditions.set(`${onlyIf.key}\0${onlyIf.value}`, onlyIf);
    },
    update: (current, next) => void updates.push({ current, next }),
    pending: () => inserts.length > 0 || updates.length > 0,
    values,
    async flush(run) {
      if (inserts.length === 0 && updates.length === 0) return;
      await write(run, WRITE_ROWS);
    },
    async flushLockingHead(run) {
      const row = await write<LockedHeadRow & { n: number; held: boolean }>(run, WRITE_ROWS_LOCK_HEAD);
      return row && { seq: row.seq, hash: row.hash, time: row.time, edge: row.edge, edge_seq: row.edge_seq };
    },
  };
}

const INSERT = {
  name: 'cs_request_insert',
  text: `INSERT INTO requests (id, status, principal_id, acts_for, connection, created_at, updated_at, expires_at, version, digest, term_set, record, idempotency_key, escalate_at, resume_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
};
/**
 * INSERT, only while the meta value under $16 is $17: read FOR SHARE in the same statement, so a change of it committed
 * first is seen (READ COMMITTED reads a row updated meanwhile again) and one made after waits for this commit. `found`:
 * the value read; `n`: 1 when inserted, else 0.
 */
const INSERT_IF = {
  name: 'cs_request_insert_if',
  text: `WITH held AS MATERIALIZED (SELECT value FROM meta WHERE key = $16 FOR SHARE),
         ins AS (
           INSERT INTO requests (id, status, principal_id, acts_for, connection, created_at, updated_at, expires_at, version, digest, term_set, record, idempotency_key, escalate_at, resume_key)
           SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::int, $10::text, $11::int, $12::text, $13::text, $14::text, $15::text
           WHERE EXISTS (SELECT 1 FROM held WHERE value = $17::text)
           RETURNING 1)
         SELECT (SELECT value FROM held) AS found, (SELECT count(*)::int FROM ins) AS n`,
};
const UPDATE = {
  name: 'cs_request_update',
  text: `UPDATE requests SET status = $2, updated_at = $3, expires_at = $4, version = $5, record = $6, term_set = COALESCE($7::int, term_set), escalate_at = $9
         WHERE id = $1 AND version = $8`,
};
/** A request with its reviews (oldest first) in one row. */
const WITH_REVIEWS = `SELECT r.id, r.record,
  (SELECT array_agg(v.record ORDER BY v.created_at, v.n) FROM reviews v WHERE v.request_id = r.id) AS reviews FROM requests r`;
const GET = { name: 'cs_request_get', text: `${WITH_REVIEWS} WHERE r.id = $1` };
/**
 * The row under its lock, with the version the statement's snapshot held (`seen`). A lock that waited for another
 * transaction's commit reads the row as that commit left it, but the reviews as the snapshot had them, from before
 * (READ COMMITTED re-checks only the locked row): `seen` then differs from the row's version, and the reviews are read
 * again (GET, a statement with a snapshot of its own, under the lock now held). Without that, a review committed by
 * another replica meanwhile was missed: the same person could vote again under another of their names, and the
 * approval that met the quorum did not count the one before it.
 */
const GET_FOR_UPDATE = {
  name: 'cs_request_get_for_update',
  text: `SELECT r.id, r.record, r.version, (SELECT s.version FROM requests s WHERE s.id = r.id) AS seen,
  (SELECT array_agg(v.record ORDER BY v.created_at, v.n) FROM reviews v WHERE v.request_id = r.id) AS reviews FROM requests r WHERE r.id = $1 FOR UPDATE OF r`,
};
/** Live requests of one id and digest read for a retry to find its own among (others' are passed over). */
const DIGEST_SCAN = 100;
const BY_DIGEST = {
  name: 'cs_request_by_digest',
  text: `${WITH_REVIEWS} WHERE r.principal_id = $1 AND r.digest = $2 AND r.status = ANY($3::text[]) ORDER BY r.seq DESC LIMIT ${DIGEST_SCAN}`,
};
const BY_KEY = { name: 'cs_request_by_key', text: `${WITH_REVIEWS} WHERE r.principal_id = $1 AND r.idempotency_key = $2` };
/** Only pending requests have `escalate_at` set; one past its time to live is the expiry's. */
const ESCALATIONS_DUE = {
  name: 'cs_request_escalations_due',
  text: `SELECT id FROM requests WHERE escalate_at <= $1 AND (expires_at IS NULL OR expires_at > $1) ORDER BY escalate_at LIMIT $2`,
};
const DUE = {
  name: 'cs_request_due',
  text: `SELECT id FROM requests WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
};

function fromRow(row: RecordRow): RequestRecord {
  return { ...(JSON.parse(row.record) as Omit<RequestRecord, 'reviews'>), reviews: (row.reviews ?? []).map((r) => JSON.parse(r) as Review) };
}

/**
 * Inside a write transaction: the request, its reviews and its audit events. `termSet`: the id of its term set,
 * committed before this transaction (see ../term-sets.ts). `rows`: the batch's deferred rows. `onlyIf`: inserted only
 * while the meta value stands, read FOR SHARE in the insert's own statement (INSERT_IF).
 */
export async function insertRequest(
  run: Run,
  tx: AuditTx,
  r: RequestRecord,
  termSet: number,
  audit: readonly AuditDraft[],
  rows?: RowQueue,
  onlyIf?: MetaCondition,
): Promise<void> {
  // A keyed insert (idempotency or resume key) is not deferred: a refusal by the key's index is then its own statement's, named below. A
  // conditional one is: the batch's statement inserts nothing unless the condition holds (HOLDS), and the batch then
  // runs again one operation at a time, where the refusal is its own statement's (INSERT_IF).
  if (rows && r.reviews.length === 0 && r.idempotencyKey === undefined && r.resumeKey === undefined) {
    rows.insert(r, termSet, onlyIf);
    await tx.append(audit);
    return;
  }
  const values = [r.id, r.status, r.principal.id, r.principal.actsFor, r.action.connection, r.createdAt, r.updatedAt, r.expiresAt, r.version, r.digest, termSet, recordJson(r), r.idempotencyKey ?? null, escalationDueAt(r), r.resumeKey ?? null];
  try {
    if (onlyIf) {
      const held = (await run<{ found: string | null; n: number }>(INSERT_IF, [...values, onlyIf.key, onlyIf.value])).rows[0];
      if (held?.n !== 1) throw onlyIf.refuse(held?.found ?? undefined);
    } else await run(INSERT, values);
  } catch (e) {
    // Another submission under this key, or resuming this action (core/resume-key.ts), committed first (waited for).
    const unique = (e as { code?: string }).code === '23505' ? (e as { constraint?: string }).constraint : undefined;
    if (unique === 'requests_idempotency') throw new IdempotencyKeyTaken(r.principal.id);
    if (unique === 'requests_resume') throw new ResumeKeyTaken(r.principal.id);
    throw e;
  }
  // The record's reviews live in their own table; without this they would be dropped.
  await insertReviews(run, r.id, r.reviews);
  await tx.append(audit);
}

/** Writes `next` over `current` if the stored version is still current's (the UPDATE takes the row lock). */
async function update(run: Run, sets: TermSetCache, current: RequestRecord, n: RequestRecord): Promise<boolean> {
  // Terms change only when a decision is replaced (a tightened policy re-evaluated at execution). A set first seen
  // here is created in this transaction and not cached: the batch may yet roll back, or run again.
  let termSet: number | null = null;
  if (n.decision !== current.decision) {
    const set = termSetOf(n);
    termSet = sets.cached(set) ?? (await ensureTermSet(run, set));
  }
  const done = await run(UPDATE, [current.id, n.status, n.updatedAt, n.expiresAt, n.version, recordJson(n), termSet, current.version, escalationDueAt(n)]);
  return done.rowCount === 1;
}

/**
 * A meta value a write holds only under (MetaCondition), locked FOR SHARE to the end of its transaction: a change of it
 * committed first is read (READ COMMITTED reads a row updated meanwhile again), one made after waits for the commit.
 */
const META_FOR_SHARE = { name: 'cs_meta_for_share', text: 'SELECT value FROM meta WHERE key = $1 FOR SHARE' };

/**
 * Inside a write transaction: reads the request under its row lock, and writes what `fn` returns. With `known` (what
 * the caller last wrote), `fn` is tried on it first: when its write finds the stored version still known's, the
 * stored record is known, so the read is saved (an action's outcome, written by the process that claimed it).
 */
export async function mutateRequest<T>(
  run: Run,
  tx: AuditTx,
  id: string,
  fn: (current: RequestRecord) => Mutation<T>,
  sets: TermSetCache,
  known?: RequestRecord,
  rows?: RowQueue,
  onlyIf?: MetaCondition,
): Promise<T> {
  if (onlyIf) {
    const found = (await run<{ value: string }>(META_FOR_SHARE, [onlyIf.key])).rows[0]?.value;
    if (found !== onlyIf.value) throw onlyIf.refuse(found);
  }
  if (known?.id === id && !holdsNul([id])) {
    let m: Mutation<T> | undefined;
    try {
      m = fn(known);
    } catch {
      // Refused on what the caller knew: asked again below, of what is stored.
    }
    // Deferred when there is no review to insert and the terms stay (a refusal of the row fails the flush, and so the batch).
    if (m?.next && rows && !m.review && !m.grant && m.next.decision === known.decision) {
      rows.update(known, m.next);
      await tx.append(m.audit);
      return m.result;
    }
    if (m?.next && (await update(run, sets, known, m.next))) return finish(run, tx, id, m);
  }
  const locked = holdsNul([id]) ? undefined : (await run<RecordRow & { version: number; seen: number | null }>(GET_FOR_UPDATE, [id])).rows[0];
  const row = locked && locked.seen !== locked.version ? (await run<RecordRow>(GET, [id])).rows[0] : locked;
  if (!row) throw new CountersignError('NOT_FOUND', `no request ${id}`);
  const current = fromRow(row);
  const m = fn(current);
  if (m.next && !(await update(run, sets, current, m.next))) throw new Error(`request ${id} changed under its row lock`);
  return finish(run, tx, id, m);
}

async function finish<T>(run: Run, tx: AuditTx, id: string, m: Mutation<T>): Promise<T> {
  if (m.review) await insertReviews(run, id, [m.review]);
  if (m.grant) await insertGrant(run, m.grant);
  await tx.append(m.audit);
  return m.result;
}

export async function getRequest(run: Run, id: string): Promise<RequestRecord | undefined> {
  if (holdsNul([id])) return undefined;
  const row = (await run<RecordRow>(GET, [id])).rows[0];
  return row ? fromRow(row) : undefined;
}

export async function findRequestByDigest(run: Run, principalId: string, digest: string, status: readonly RequestStatus[], mine?: (r: RequestRecord) => boolean): Promise<RequestRecord | undefined> {
  if (holdsNul([principalId, digest, status])) return undefined;
  for (const row of (await run<RecordRow>(BY_DIGEST, [principalId, digest, status])).rows) {
    const r = fromRow(row);
    if (!mine || mine(r)) return r;
  }
  return undefined;
}

export async function findRequestByIdempotencyKey(run: Run, principalId: string, key: string): Promise<RequestRecord | undefined> {
  if (holdsNul([principalId, key])) return undefined;
  const row = (await run<RecordRow>(BY_KEY, [principalId, key])).rows[0];
  return row ? fromRow(row) : undefined;
}

export async function dueForExpiry(run: Run, now: Date, limit: number): Promise<string[]> {
  return (await run<{ id: string }>(DUE, [now.toISOString(), Math.max(1, limit)])).rows.map((r) => r.id);
}

export async function escalationsDue(run: Run, now: Date, limit: number): Promise<string[]> {
  return (await run<{ id: string }>(ESCALATIONS_DUE, [now.toISOString(), Math.max(1, limit)])).rows.map((r) => r.id);
}

const PENDING = {
  name: 'cs_request_pending',
  text: `SELECT count(*)::int AS count, min(created_at) AS oldest FROM requests WHERE status = 'pending'`,
};

export async function pendingSummary(run: Run): Promise<{ count: number; oldest: string | null }> {
  const row = (await run<{ count: number; oldest: string | null }>(PENDING, [])).rows[0];
  return { count: row?.count ?? 0, oldest: row?.oldest ?? null };
}

const PENDING_OF = {
  name: 'cs_request_pending_of',
  text: `SELECT count(*)::int AS count FROM (SELECT 1 FROM requests WHERE principal_id = $1 AND status = 'pending' LIMIT $2) AS p`,
};

export async function pendingOf(run: Run, principalId: string, limit: number): Promise<number> {
  return (await run<{ count: number }>(PENDING_OF, [principalId, limit])).rows[0]?.count ?? 0;
}

export async function listRequests(run: Run, query: RequestQuery): Promise<RequestRecord[]> {
  const where: string[] = [];
  const { params, p } = statementParams();
  if (query.status?.length) where.push(`r.status = ANY(${p(query.status)}::text[])`);
  if (query.involving) {
    const who = p(query.involving);
    where.push(`(r.principal_id = ${who} OR r.acts_for = ${who})`);
  }
  if (query.connection) where.push(`r.connection = ${p(query.connection)}`);
  if (query.from) where.push(`r.created_at >= ${p(query.from)}`);
  if (query.to) where.push(`r.created_at < ${p(query.to)}`);
  if (query.before) where.push(`r.seq < (SELECT seq FROM requests WHERE id = ${p(query.before)})`);
  const terms = query.tag ? [`tag:${query.tag}`] : [];
  if (holdsNul(params) || holdsNul(terms)) return [];
  const limit = p(Math.max(1, Math.min(query.limit ?? 100, 1000)));
  return termFilter(run, terms, [], async (ids) => {
    const values = [...params];
    const all = [...where, ...ids.map((one) => inSets(`$${values.push(one)}`))];
    const sql = `${WITH_REVIEWS} ${all.length ? `WHERE ${all.join(' AND ')}` : ''} ORDER BY r.seq DESC LIMIT ${limit}`;
    return (await run<RecordRow>(sql, values)).rows.map(fromRow);
  });
}
