/**
 * The PostgreSQL store: every port of the Store over one database that any
 * number of gateway replicas share. Writes with audit events go through the
 * writer (group-commit.ts), which locks the audit head last, to append; reads and the
 * writes that touch no audit event (outbox leases, channel messages, known
 * humans, checkpoints) are single statements on the pool.
 */
import type { AuditColumns } from '../../../core/audit.ts';
import { auditEventOf, type AuditRow } from '../rows.ts';
import { CountersignError } from '../../../core/errors.ts';
import type { OutboxRouter } from '../../../core/outbox.ts';
import type { Store, StoredCheckpoint } from '../../../core/ports.ts';
import { createAuditLog } from './audit.ts';
import { createWriter } from './group-commit.ts';
import { outbox } from './outbox.ts';
import { pins } from './pins.ts';
import type { Db } from './pool.ts';
import * as requests from './requests.ts';
import { firstSeqAtOrAfter, searchAudit } from './search.ts';
import { sessions } from './sessions.ts';
import { createPasskeyPort } from './passkeys.ts';
import { createTree } from './tree.ts';
import { ensureTermSet } from './term-sets.ts';
import { grantPort } from './grants.ts';
import { createTermSetCache, termSetOf } from '../term-sets.ts';

const READ_AUDIT_COLUMNS = { name: 'cs_audit_columns', text: 'SELECT seq, time, type, request_id AS "requestId", actor FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2' };
const READ_AUDIT = { name: 'cs_audit_read', text: 'SELECT seq, body, hash FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2' };
const SET_META = { name: 'cs_meta_set', text: 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value' };
const GET_META = { name: 'cs_meta_get', text: 'SELECT value FROM meta WHERE key = $1' };
const CLAIM_META = {
  name: 'cs_meta_claim',
  text: `WITH ins AS (INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value)
         SELECT value FROM ins UNION ALL SELECT value FROM meta WHERE key = $1 LIMIT 1`,
};
const STORE_TIME = { name: 'cs_store_time', text: 'SELECT clock_timestamp() AS now' };
const INSERT_CHECKPOINT = {
  name: 'cs_checkpoint_insert',
  text: 'INSERT INTO checkpoints (size, root, key_id, note, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING',
};
const CHECKPOINT_COLUMNS = 'size, root, key_id AS "keyId", note, created_at AS "createdAt"';
const CHECKPOINTS_FROM = { name: 'cs_checkpoints_from', text: `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE size >= $1 ORDER BY size LIMIT $2` };
const LATEST_CHECKPOINT = { name: 'cs_checkpoint_latest', text: `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1` };

/**
 * Requests this process inserts before it refreshes the planner's statistics (ANALYZE) of the tables the write path
 * and the tree join to arrays of keys. A pool connection plans each prepared statement for its own values at first,
 * then keeps a generic plan built on the table's size at that time, until the table's statistics change. On a young
 * database that size is a few rows, and the generic plan of a batch's outcome write (the rows joined to an array of
 * ids: append-sql.ts, requests.ts) or of the tree's node read scans the whole table instead of its primary key: every
 * outcome then reads every request ever written, until autovacuum first analyzes the table (a minute or more later,
 * longer on a busy server). An ANALYZE once the tables are this large makes those plans index lookups, which they then
 * stay as the tables grow (the second for the Merkle nodes, a sixteenth as many). Run in the background; refused (not
 * the tables' owner: a warning), nothing changes.
 */
const ANALYZE_AT = new Set([1000, 20000]);

export function createStoreOn(db: Db, options: { outbox?: OutboxRouter; groupCommit: boolean; poolSize: number }): Store {
  const tree = createTree();
  const log = createAuditLog(db, tree, options.outbox ?? (() => []));
  const write = createWriter(db, log, { groupCommit: options.groupCommit, retries: options.poolSize });
  const q = db.query;
  // A set seen for the first time is created in a statement of its own, committed before a request refers to it.
  const sets = createTermSetCache((set) => ensureTermSet(db.once, set));
  let inserted = 0;

  /** The log's length, checking that `size` lies within it. */
  async function within(size: number, what: string): Promise<{ seq: number; hash: string }> {
    const head = await log.head();
    if (!Number.isSafeInteger(size) || size < 0 || size > head.seq) {
      throw new CountersignError('INVALID_REQUEST', `${what} must be an integer from 0 to the log's length (${head.seq})`);
    }
    return head;
  }

  return {
    ...createPasskeyPort(write, q, db.once),
    ...grantPort(write, q, sets),
    async insertRequest(request, audit, onlyIf) {
      const termSet = await sets.committed(termSetOf(request));
      const done = await write((run, tx, rows) => requests.insertRequest(run, tx, request, termSet, audit, rows, onlyIf));
      if (ANALYZE_AT.has(++inserted)) void q('ANALYZE requests, audit_events, merkle_nodes').catch(() => {});
      return done;
    },
    mutateRequest: (id, fn, known, onlyIf) => write((run, tx, rows) => requests.mutateRequest(run, tx, id, fn, sets, known, rows, onlyIf)),
    getRequest: (id) => requests.getRequest(q, id),
    findRequestByDigest: (principalId, digest, status, mine) => requests.findRequestByDigest(q, principalId, digest, status, mine),
    findRequestByIdempotencyKey: (principalId, key) => requests.findRequestByIdempotencyKey(q, principalId, key),
    listRequests: (query) => requests.listRequests(q, query),
    dueForExpiry: (now, limit) => requests.dueForExpiry(q, now, limit),
    escalationsDue: (now, limit) => requests.escalationsDue(q, now, limit),
    pendingSummary: () => requests.pendingSummary(q),
    pendingOf: (principalId, limit) => requests.pendingOf(q, principalId, limit),

    toolPins: (connection) => pins.read(q, connection),
    mutateToolPins: (connection, fn) =>
      write(async (run, tx) => {
        const change = fn(await pins.read(run, connection, true));
        for (const p of change.next) {
          if (p.connection !== connection) throw new Error(`a pin of ${p.connection} written through ${connection}`);
          await pins.upsert(run, p);
        }
        await tx.append(change.audit);
        return change.result;
      }),

    appendAudit: (audit, meta = {}) =>
      write(async (run, tx) => {
        await tx.append(audit);
        for (const [k, v] of Object.entries(meta)) await run(SET_META, [k, v]);
      }),
    async readAuditRaw(fromSeq, limit) {
      return (await q<AuditRow>(READ_AUDIT, [fromSeq, Math.max(0, limit)])).rows;
    },
    async readAuditColumns(fromSeq, limit) {
      return (await q<AuditColumns>(READ_AUDIT_COLUMNS, [fromSeq, Math.max(0, limit)])).rows;
    },
    async readAudit(fromSeq, limit) {
      return (await q<AuditRow>(READ_AUDIT, [fromSeq, Math.max(0, limit)])).rows.map(auditEventOf);
    },
    async treeHead() {
      const head = await log.head();
      return { size: head.seq, root: await tree.rootHex(q, head.seq, head) };
    },
    async auditSize() {
      return (await log.head()).seq;
    },
    async rootAt(size) {
      const head = await within(size, 'size');
      return tree.rootHex(q, size, head);
    },
    async inclusionProof(index, size) {
      await within(size, 'size');
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new CountersignError('INVALID_REQUEST', 'index must be an integer from 0 to size - 1');
      return tree.inclusionHex(q, index, size);
    },
    async consistencyProof(from, to) {
      await within(to, 'to');
      if (!Number.isSafeInteger(from) || from < 0 || from > to) throw new CountersignError('INVALID_REQUEST', 'from must be an integer from 0 to `to`');
      return tree.consistencyHex(q, from, to);
    },
    async treeEdge(size) {
      await within(size, 'size');
      return tree.edge(q, size);
    },
    async insertCheckpoint(c) {
      await db.once(INSERT_CHECKPOINT, [c.size, c.root, c.keyId, c.note, c.createdAt]);
    },
    async checkpoints(query) {
      if (query.latest) return (await q<StoredCheckpoint>(LATEST_CHECKPOINT)).rows;
      return (await q<StoredCheckpoint>(CHECKPOINTS_FROM, [query.fromSize ?? 0, Math.max(1, Math.min(query.limit ?? 1000, 100_000))])).rows;
    },
    async getMeta(key) {
      return (await q<{ value: string }>(GET_META, [key])).rows[0]?.value;
    },
    async claimMeta(key, value) {
      // A claim that waited on another's uncommitted insert sees neither row in its own snapshot: read again, after it committed.
      const claimed = (await db.once<{ value: string }>(CLAIM_META, [key, value])).rows[0] ?? (await q<{ value: string }>(GET_META, [key])).rows[0];
      if (!claimed) throw new Error(`meta ${key} was claimed and then removed`);
      return claimed.value;
    },
    searchAudit: (query) => searchAudit(q, query),
    firstSeqAtOrAfter: (time) => firstSeqAtOrAfter(q, time),

    insertSession: (session, audit) =>
      write(async (run, tx) => {
        await sessions.insert(run, session);
        await tx.append(audit);
      }),
    getSession: (key) => sessions.get(q, key),
    deleteSession: (key, audit) =>
      write(async (run, tx) => {
        if (!(await sessions.remove(run, key))) return false;
        await tx.append(audit);
        return true;
      }),
    expiredSessions: (now, limit) => sessions.expired(q, now, limit),

    claimDeliveries: (now, limit, leaseMs, onlyIf) => outbox.claim(db.once, now, limit, leaseMs, onlyIf),
    completeDelivery: (id) => outbox.complete(db.once, id),
    failDelivery: (id, error, retryAt) => outbox.fail(db.once, id, error, retryAt),
    outboxHealth: () => outbox.health(q),
    addChannelMessage: (m) => outbox.addMessage(db.once, m),
    channelMessages: (requestId, channel) => outbox.messages(q, requestId, channel),
    rememberHuman: (h) => outbox.remember(db.once, h),
    knownHumanByEmail: (email) => outbox.byEmail(q, email),
    knownHumanById: (id) => outbox.byId(q, id),
    knownHumans: () => outbox.all(q),

    async storeTime() {
      const { rows } = await q<{ now: Date }>(STORE_TIME);
      return rows[0]!.now;
    },
    close: () => db.end(),
  };
}
