/**
 * The embedded store: one SQLite file in WAL mode through better-sqlite3.
 * Every write runs in a BEGIN IMMEDIATE transaction (shared with the writes of
 * the same event-loop turn: see group-commit.ts) together with its audit
 * events, so state and evidence commit together or not at all, and writers in
 * other processes on the same file are serialized by SQLite's own lock.
 */
import { chainEvent, type AuditColumns, type AuditDraft } from '../../../core/audit.ts';
import { auditEventOf, type AuditRow } from '../rows.ts';
import { CountersignError } from '../../../core/errors.ts';
import { IdempotencyKeyTaken } from '../../../core/idempotency.ts';
import { ResumeKeyTaken } from '../../../core/resume-key.ts';
import type { MetaCondition, Mutation, Store, StoredCheckpoint } from '../../../core/ports.ts';
import type { RequestRecord } from '../../../core/request.ts';
import type { Review } from '../../../core/review.ts';
import { INSERT_REQUEST, insertParams, recordOf, sameFixed, UPDATE_REQUEST, UPDATE_STATE, updateParams, updateStateParams } from './request-rows.ts';
import { createGroupCommit } from './group-commit.ts';
import { openDatabase } from './open.ts';
import { migrate } from './schema.ts';
import { createTreeStore } from './tree.ts';
import { createAuditSearch } from './search.ts';
import { createTermSetTable } from './term-sets.ts';
import { listRequests } from './list.ts';
import { createTermSetCache, termSetOf } from '../term-sets.ts';
import { createSessionTable } from './sessions.ts';
import { createPinTable } from './pins.ts';
import { createOutboxTables } from './outbox.ts';
import { createPasskeyPort } from './passkeys.ts';
import { createGrantTable, grantPort } from './grants.ts';
import type { OutboxRouter } from '../../../core/outbox.ts';
import { reviewKeysWriter } from './review-keys.ts';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:'. */
  readonly path: string;
  readonly synchronous?: 'normal' | 'full';
  /** Which deliveries each audit event causes; they commit in the same transaction as the event. */
  readonly outbox?: OutboxRouter;
  /** Open only a store that exists (another process made it); never create one. */
  readonly mustExist?: boolean;
}

type RequestRow = { record: string; state: string | null };
type AuditHead = { seq: number; hash: string; time: string };
type ReviewRow = { request_id: string; record: string };

/**
 * @example
 * const store = createSqliteStore({ path: './.countersign/countersign.db' });
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const db = openDatabase(options);
  migrate(db);

  const insertReviewKeys = reviewKeysWriter(db);
  const q = {
    insertRequest: db.prepare(INSERT_REQUEST),
    updateRequest: db.prepare(UPDATE_REQUEST),
    updateState: db.prepare(UPDATE_STATE),
    setTermSet: db.prepare('UPDATE requests SET term_set = ? WHERE id = ?'),
    getRequest: db.prepare('SELECT record, state FROM requests WHERE id = ?'),
    idByKey: db.prepare('SELECT id FROM requests WHERE principal_id = ? AND idempotency_key = ?').pluck(),
    idsByDigest: db.prepare('SELECT id, status FROM requests WHERE principal_id = ? AND digest = ? ORDER BY rowid DESC'),
    reviewsOf: db.prepare('SELECT request_id, record FROM reviews WHERE request_id = ? ORDER BY created_at, rowid'),
    insertReview: db.prepare('INSERT INTO reviews (request_id, reviewer, verdict, created_at, record) VALUES (?, ?, ?, ?, ?)'),
    due: db.prepare(`SELECT id FROM requests WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?`),
    // Only pending requests have the column set; one past its time to live is the expiry's.
    escalationsDue: db.prepare(`SELECT id FROM requests WHERE escalate_at <= @now AND (expires_at IS NULL OR expires_at > @now) ORDER BY escalate_at LIMIT @limit`),
    pending: db.prepare(`SELECT count(*) AS count, min(created_at) AS oldest FROM requests WHERE status = 'pending'`),
    pendingOf: db.prepare(`SELECT count(*) FROM (SELECT 1 FROM requests WHERE principal_id = ? AND status = 'pending' LIMIT ?)`).pluck(),
    head: db.prepare('SELECT seq, hash, time FROM audit_events ORDER BY seq DESC LIMIT 1'),
    insertAudit: db.prepare('INSERT INTO audit_events (seq, time, type, request_id, actor, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    readAudit: db.prepare('SELECT seq, body, hash FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?'),
    readAuditColumns: db.prepare('SELECT seq, time, type, request_id AS requestId, actor FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?'),
    size: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM audit_events').pluck(),
    insertCheckpoint: db.prepare('INSERT OR IGNORE INTO checkpoints (size, root, key_id, note, created_at) VALUES (?, ?, ?, ?, ?)'),
    checkpointsFrom: db.prepare('SELECT size, root, key_id AS keyId, note, created_at AS createdAt FROM checkpoints WHERE size >= ? ORDER BY size LIMIT ?'),
    latestCheckpoint: db.prepare('SELECT size, root, key_id AS keyId, note, created_at AS createdAt FROM checkpoints ORDER BY size DESC LIMIT 1'),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    claimMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
  };
  const tree = createTreeStore(db);
  const audit = createAuditSearch(db);
  const ensureTermSet = createTermSetTable(db);
  const sessions = createSessionTable(db);
  const pins = createPinTable(db);
  const outbox = createOutboxTables(db);
  const grants = createGrantTable(db);
  const route = options.outbox ?? (() => []);

  /** Reads a size that must lie within the log as it stands. */
  function within(size: number, what: string): number {
    const length = q.size.get() as number;
    if (!Number.isSafeInteger(size) || size < 0 || size > length) {
      throw new CountersignError('INVALID_REQUEST', `${what} must be an integer from 0 to the log's length (${length})`);
    }
    return size;
  }

  /** The log's last event as this batch has written it; undefined when it must be read (see the group commit's onReset). */
  let batchHead: AuditHead | null | undefined;

  function appendAuditInTx(drafts: readonly AuditDraft[]): void {
    if (drafts.length === 0) return;
    try {
      let head = batchHead !== undefined ? batchHead : ((q.head.get() as AuditHead | undefined) ?? null);
      for (const d of drafts) {
        // Times never step back along the log (writers commit in groups, processes' clocks differ):
        // a period's events are then one contiguous seq range, found by binary search.
        const time = head && head.time > d.time ? head.time : d.time;
        const e = chainEvent(head, { ...d, time });
        q.insertAudit.run(e.seq, e.time, e.type, e.requestId, e.actor, e.body, e.hash);
        tree.appendLeaf(head ?? { seq: 0, hash: '' }, e);
        head = { seq: e.seq, hash: e.hash, time };
      }
      batchHead = head;
    } catch (e) {
      throw new CountersignError('AUDIT_WRITE_FAILED', undefined, { cause: e instanceof Error ? e.message : String(e) });
    }
    // Outside the audit try: a failing enqueue still fails (and rolls back) the whole change.
    for (const d of drafts) outbox.enqueue(route(d));
  }

  function load(id: string): RequestRecord | undefined {
    const row = q.getRequest.get(id) as RequestRow | undefined;
    if (!row) return undefined;
    const reviews = (q.reviewsOf.all(id) as ReviewRow[]).map((r) => JSON.parse(r.record) as Review);
    return { ...recordOf(row), reviews };
  }

  // Plain functions: the group commit runs them in the batch's transaction, and each alone again if the batch fails.
  /** A write's MetaCondition, read in its transaction (under the write lock): throws its refusal unless it stands. */
  const holds = (onlyIf?: MetaCondition): void => {
    const found = onlyIf && (q.getMeta.get(onlyIf.key) as string | undefined);
    if (onlyIf && found !== onlyIf.value) throw onlyIf.refuse(found);
  };
  const insertTx = (request: RequestRecord, termSet: number, audit: readonly AuditDraft[]): void => {
    try {
      q.insertRequest.run(insertParams(request, termSet));
    } catch (e) {
      // The unique indexes on (principal, key) and on (principal, resume key) of live requests: another submission
      // under this key, or of this action resuming by digest (core/resume-key.ts), inserted first.
      const unique = (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' ? String((e as Error).message) : '';
      if (unique.includes('idempotency_key')) throw new IdempotencyKeyTaken(request.principal.id);
      if (unique.includes('resume_key')) throw new ResumeKeyTaken(request.principal.id);
      throw e;
    }
    // The record's reviews live in their own table; without this they would be dropped.
    for (const r of request.reviews) q.insertReview.run(request.id, r.reviewer.id, r.verdict, r.createdAt, JSON.stringify(r));
    insertReviewKeys(request.id, request.reviews);
    appendAuditInTx(audit);
  };

  /**
   * With `known` (what this process last wrote), `fn` is tried on it first: when the update finds the stored version
   * still known's, the stored record is known, so reading and decoding it is saved (an action's outcome, written by
   * the process that claimed it). Otherwise `fn` is asked again of what is stored.
   */
  const mutateTx = <T>(id: string, fn: (current: RequestRecord) => Mutation<T>, known?: RequestRecord): T => {
    if (known?.id === id) {
      let m: Mutation<T> | undefined;
      try {
        m = fn(known);
      } catch {
        // Refused on what the caller knew: asked again below, of what is stored.
      }
      if (m?.next && writeOver(m.next, known)) {
        updateTermSet(id, known, m.next);
        return finishTx(id, m);
      }
    }
    const current = load(id);
    if (!current) throw new CountersignError('NOT_FOUND', `no request ${id}`);
    const m = fn(current);
    if (m.next) {
      if (!writeOver(m.next, current)) throw new Error(`request ${id} changed under a write lock`);
      updateTermSet(id, current, m.next);
    }
    return finishTx(id, m);
  };

  /** `next` over the stored row if that is still at `previous`'s version: its state part alone when the fixed part is kept. */
  const writeOver = (next: RequestRecord, previous: RequestRecord): boolean =>
    (sameFixed(previous, next) ? q.updateState.run(updateStateParams(next, previous.version)) : q.updateRequest.run(updateParams(next, previous.version))).changes === 1;

  /**
   * The terms change only when a decision is replaced (a tightened policy re-evaluated at execution). A set first seen
   * here is created in this transaction and not cached: it may yet roll back.
   */
  const updateTermSet = (id: string, previous: RequestRecord, next: RequestRecord): void => {
    if (next.decision === previous.decision) return;
    const set = termSetOf(next);
    q.setTermSet.run(termSets.cached(set) ?? ensureTermSet(set), id);
  };

  const finishTx = <T>(id: string, m: Mutation<T>): T => {
    if (m.review) {
      try {
        q.insertReview.run(id, m.review.reviewer.id, m.review.verdict, m.review.createdAt, JSON.stringify(m.review));
        insertReviewKeys(id, [m.review]);
      } catch (e) {
        // The primary keys (request, reviewer) and (request, identity key) are the last line of "each human counts once".
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new CountersignError('ALREADY_REVIEWED', `${m.review.reviewer.id} has already reviewed this request`);
        }
        throw e;
      }
    }
    if (m.grant) grants.insert(m.grant);
    appendAuditInTx(m.audit);
    return m.result;
  };

  const appendTx = (audit: readonly AuditDraft[], meta: Readonly<Record<string, string>>): void => {
    appendAuditInTx(audit);
    for (const [k, v] of Object.entries(meta)) q.setMeta.run(k, v);
  };
  const write = createGroupCommit(
    db,
    (cause) => new CountersignError('AUDIT_WRITE_FAILED', 'the store could not end a failed transaction; restart the gateway', { cause: String(cause) }),
    () => (batchHead = undefined),
  );
  // A set seen for the first time is created in a write of its own, committed before a request refers to it.
  const termSets = createTermSetCache((set) => write(() => ensureTermSet(set)));

  const passkeys = createPasskeyPort(db, write, appendAuditInTx);

  return {
    ...passkeys,
    ...grantPort(grants, write, insertTx, appendAuditInTx, termSets),
    async insertRequest(request, audit, onlyIf) {
      const termSet = await termSets.committed(termSetOf(request));
      await write(() => (holds(onlyIf), insertTx(request, termSet, audit)));
    },
    async mutateRequest(id, fn, known, onlyIf) {
      return write(() => (holds(onlyIf), mutateTx(id, fn, known)));
    },
    async getRequest(id) {
      return load(id);
    },
    async findRequestByIdempotencyKey(principalId, key) {
      const id = q.idByKey.get(principalId, key) as string | undefined;
      return id === undefined ? undefined : load(id);
    },
    async findRequestByDigest(principalId, digest, status, mine) {
      const rows = q.idsByDigest.all(principalId, digest) as { id: string; status: string }[];
      for (const row of rows) {
        if (!(status as readonly string[]).includes(row.status)) continue;
        const r = load(row.id);
        if (r && (!mine || mine(r))) return r;
      }
      return undefined;
    },
    async toolPins(connection) {
      return pins.read(connection);
    },
    async mutateToolPins(connection, fn) {
      return write(() => {
        const change = fn(pins.read(connection));
        for (const p of change.next) {
          if (p.connection !== connection) throw new Error(`a pin of ${p.connection} written through ${connection}`);
          pins.upsert(p);
        }
        appendAuditInTx(change.audit);
        return change.result;
      });
    },
    async listRequests(query) {
      return listRequests(db, query);
    },
    async dueForExpiry(now, limit) {
      return (q.due.all(now.toISOString(), Math.max(1, limit)) as { id: string }[]).map((r) => r.id);
    },
    async escalationsDue(now, limit) {
      return (q.escalationsDue.all({ now: now.toISOString(), limit: Math.max(1, limit) }) as { id: string }[]).map((r) => r.id);
    },
    async pendingSummary() {
      return q.pending.get() as { count: number; oldest: string | null };
    },
    async pendingOf(principalId, limit) {
      return q.pendingOf.get(principalId, limit) as number;
    },
    async appendAudit(audit, meta = {}) {
      await write(() => appendTx(audit, meta));
    },
    async treeHead() {
      const head = (q.head.get() as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: '' };
      return { size: head.seq, root: tree.rootHex(head.seq, head) };
    },
    async auditSize() {
      return q.size.get() as number;
    },
    async rootAt(size) {
      const head = (q.head.get() as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: '' };
      return tree.rootHex(within(size, 'size'), head);
    },
    async inclusionProof(index, size) {
      within(size, 'size');
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new CountersignError('INVALID_REQUEST', 'index must be an integer from 0 to size - 1');
      return tree.inclusionHex(index, size);
    },
    async consistencyProof(from, to) {
      within(to, 'to');
      if (!Number.isSafeInteger(from) || from < 0 || from > to) throw new CountersignError('INVALID_REQUEST', 'from must be an integer from 0 to `to`');
      return tree.consistencyHex(from, to);
    },
    async treeEdge(size) {
      return tree.edge(within(size, 'size'));
    },
    async insertCheckpoint(c) {
      await write(() => q.insertCheckpoint.run(c.size, c.root, c.keyId, c.note, c.createdAt));
    },
    async checkpoints(query) {
      if (query.latest) return q.latestCheckpoint.all() as StoredCheckpoint[];
      return q.checkpointsFrom.all(query.fromSize ?? 0, Math.max(1, Math.min(query.limit ?? 1000, 100_000))) as StoredCheckpoint[];
    },
    async searchAudit(query) {
      return audit.search(query);
    },
    async firstSeqAtOrAfter(time) {
      return audit.firstSeqAt(time);
    },
    async insertSession(session, audit) {
      await write(() => {
        sessions.insert(session);
        appendAuditInTx(audit);
      });
    },
    async getSession(key) {
      return sessions.get(key);
    },
    async deleteSession(key, audit) {
      return write(() => {
        if (!sessions.remove(key)) return false;
        appendAuditInTx(audit);
        return true;
      });
    },
    async expiredSessions(now, limit) {
      return sessions.expired(now, limit);
    },
    async getMeta(key) {
      return (q.getMeta.get(key) as string | undefined) ?? undefined;
    },
    async claimMeta(key, value) {
      // Insert-if-absent and the read back share one write transaction: another process's claim is all before or all after.
      return write(() => {
        q.claimMeta.run(key, value);
        return q.getMeta.get(key) as string;
      });
    },
    async readAuditRaw(fromSeq, limit) {
      return q.readAudit.all(fromSeq, limit) as AuditRow[];
    },
    async readAuditColumns(fromSeq, limit) {
      return q.readAuditColumns.all(fromSeq, limit) as AuditColumns[];
    },
    async readAudit(fromSeq, limit) {
      return (q.readAudit.all(fromSeq, limit) as AuditRow[]).map(auditEventOf);
    },
    async claimDeliveries(now, limit, leaseMs, onlyIf) {
      // In the write transaction of the lease: a change of the value commits before it or after it, never between.
      return write(() => (onlyIf && q.getMeta.get(onlyIf.key) !== onlyIf.value ? [] : outbox.claim(now, limit, leaseMs)));
    },
    async completeDelivery(id) {
      await write(() => outbox.complete(id));
    },
    async failDelivery(id, error, retryAt) {
      await write(() => outbox.fail(id, error, retryAt));
    },
    async outboxHealth() {
      return outbox.health();
    },
    async addChannelMessage(m) {
      await write(() => outbox.addMessage(m));
    },
    async channelMessages(requestId, channel) {
      return outbox.messages(requestId, channel);
    },
    async rememberHuman(h) {
      await write(() => outbox.remember(h));
    },
    async knownHumanByEmail(email) {
      return outbox.byEmail(email);
    },
    async knownHumanById(id) {
      return outbox.byId(id);
    },
    async knownHumans() {
      return outbox.all();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
