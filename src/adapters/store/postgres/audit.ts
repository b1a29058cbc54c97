/**
 * Appending to the audit log inside a write transaction. An operation only
 * hands its events to the transaction; once every operation of the batch has
 * done its own work (and taken its row locks), `write` locks the one-row
 * `audit_head` (FOR UPDATE waits for, then reads, the head another replica
 * just committed), chains the batch's events to it and writes them, their
 * Merkle nodes, the outbox deliveries they cause and the new head in one
 * statement; COMMIT follows. So every replica appends to one chain in one
 * total order, each event's time never steps back along the log, and the
 * head is held for a few round trips only: replicas overlap everything but
 * the append itself.
 *
 * Lock order: row locks first, the head last. A transaction holding the head
 * waits for no other lock (its inserts have no foreign keys, and no other
 * transaction can hold the keys it inserts), so no cycle can go through it.
 * A failure of the write is AUDIT_WRITE_FAILED, and the batch rolls back.
 */
import { chainEvent, type AuditDraft, type AuditEvent } from '../../../core/audit.ts';
import { CountersignError } from '../../../core/errors.ts';
import type { OutboxDraft, OutboxRouter } from '../../../core/outbox.ts';
import { jsonArray, jsonElements, type Db, type Run } from './pool.ts';
import type { PgTree } from './tree.ts';

type HeadRow = { seq: number; hash: string; time: string };
/** The head as LOCK_HEAD (or requests.ts WRITE_ROWS_LOCK_HEAD) reads it under its lock. */
export type LockedHeadRow = HeadRow & { edge: Buffer | null; edge_seq: number | null };

/** The audit events of one write transaction, written together at its end. */
export interface AuditTx {
  append(drafts: readonly AuditDraft[]): Promise<void>;
  /** A point to come back to when the operation that follows fails. */
  mark(): number;
  restore(mark: number): void;
  /** Whether events were appended: only then does `write` lock the head. */
  pending(): boolean;
  /**
   * Locks the head, then writes every event appended (their nodes, deliveries and the new head); the last statement
   * before COMMIT. Nothing to write: takes no lock. `lockHead`, when given, is asked for the head first: it writes
   * what else the batch still holds and locks the head in the same statement, or answers null (nothing held: the head
   * is then locked here).
   */
  write(lockHead?: () => Promise<LockedHeadRow | undefined | null>): Promise<void>;
}

export interface AuditLog {
  begin(run: Run): AuditTx;
  /** The transaction did not commit: nothing cached from it may be trusted. */
  abort(): void;
  /** The committed head. */
  head(): Promise<HeadRow>;
}

const LOCK_HEAD = { name: 'cs_audit_lock_head', text: 'SELECT seq, hash, time, edge, edge_seq FROM audit_head WHERE id = 1 FOR UPDATE' };
const READ_HEAD = { name: 'cs_audit_head', text: 'SELECT seq, hash, time FROM audit_head WHERE id = 1' };
/** Events, Merkle nodes, outbox deliveries and the head, in one round trip. */
const WRITE = {
  name: 'cs_audit_write',
  text: `WITH events AS (
           INSERT INTO audit_events (seq, time, type, request_id, actor, body, hash)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], ${jsonElements('$6')}, $7::text[])),
         nodes AS (
           INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM unnest($8::int[], $9::bigint[], $10::bytea[])),
         deliveries AS (
           INSERT INTO outbox (channel, event, request_id, payload, created_at, next_attempt_at)
           SELECT c, e, r, p, t, t FROM unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) AS d(c, e, r, p, t))
         UPDATE audit_head SET seq = $16, hash = $17, time = $18, edge = $19, edge_seq = $16 WHERE id = 1`,
};

export function createAuditLog(db: Db, tree: PgTree, route: OutboxRouter): AuditLog {
  return {
    begin(run) {
      let drafts: AuditDraft[] = [];
      return {
        async append(more) {
          drafts.push(...more);
        },
        mark: () => drafts.length,
        pending: () => drafts.length > 0,
        restore(mark) {
          drafts = drafts.slice(0, mark);
        },
        async write(lockHead) {
          if (drafts.length === 0) return;
          const locked = lockHead ? await lockHead() : null;
          const head = locked === null ? (await run<LockedHeadRow>(LOCK_HEAD)).rows[0] : locked;
          if (!head) throw new Error('the audit_head row is missing: the store is damaged');
          const events: AuditEvent[] = [];
          let h: HeadRow = head;
          for (const d of drafts) {
            // Times never step back along the log (replicas' clocks differ): a period's events are one contiguous seq range.
            const time = h.time > d.time ? h.time : d.time;
            const e = chainEvent(h.seq === 0 ? null : h, { ...d, time });
            events.push(e);
            h = { seq: e.seq, hash: e.hash, time };
          }
          const deliveries: OutboxDraft[] = drafts.flatMap((d) => route(d));
          try {
            const nodes = await tree.nodes(run, { seq: head.seq, hash: head.hash, edge: head.edge, edgeSeq: head.edge_seq }, events);
            await run(WRITE, [
              events.map((e) => e.seq),
              events.map((e) => e.time),
              events.map((e) => e.type),
              events.map((e) => e.requestId),
              events.map((e) => e.actor),
              jsonArray(events.map((e) => e.body)),
              events.map((e) => e.hash),
              nodes.levels,
              nodes.indexes,
              nodes.hashes,
              deliveries.map((d) => d.channel),
              deliveries.map((d) => d.event),
              deliveries.map((d) => d.requestId),
              deliveries.map((d) => JSON.stringify(d.payload)),
              deliveries.map((d) => d.createdAt),
              h.seq,
              h.hash,
              h.time,
              nodes.edge,
            ]);
          } catch (e) {
            tree.invalidate();
            if (db.lost(e)) throw e;
            throw new CountersignError('AUDIT_WRITE_FAILED', undefined, { cause: db.redact(e instanceof Error ? e.message : String(e)) });
          }
        },
      };
    },
    abort() {
      tree.invalidate();
    },
    async head() {
      const { rows } = await db.query<HeadRow>(READ_HEAD);
      return rows[0] ?? { seq: 0, hash: '', time: '' };
    },
  };
}
