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
 *
 * `writeOnKnownHead` skips the head's read when this process wrote the head
 * last: it chains on the head as it wrote it, in one statement that moves
 * the head only from that seq and hash (append-sql.ts), so a guess that
 * another replica made stale writes nothing, and never a broken chain.
 */
import { chainEvent, type AuditDraft, type AuditEvent } from '../../../core/audit.ts';
import { CountersignError } from '../../../core/errors.ts';
import type { OutboxDraft, OutboxRouter } from '../../../core/outbox.ts';
import { appendValues, KNOWN_HEAD_WRITE, WRITE } from './append-sql.ts';
import type { Db, Run } from './pool.ts';
import type { PgTree } from './tree.ts';
import type { DeferredRows } from './requests.ts';

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
   * is then locked here). `sent`, when given, is called once the append is sent and before its answer (to send COMMIT
   * behind it on the same connection); not called when the append is never sent.
   */
  write(lockHead?: () => Promise<LockedHeadRow | undefined | null>, sent?: () => void): Promise<void>;
  /**
   * The same without reading the head first, when this process knows it (it wrote it last): what `rows` still holds,
   * the events chained on that head, their nodes, deliveries and the new head, in one statement that writes nothing
   * unless the head and the rows it updates are still as known, and the meta values its inserts were made under still
   * stand (append-sql.ts KNOWN_HEAD_WRITE). 'unknown': no head known, nothing sent; 'moved': the head or a row had
   * moved on, nothing written; 'refused': a meta value had changed, nothing written; 'written'. A failure of the
   * statement is thrown as it came. `run`: sends it as it is (on its own, it commits on its own).
   */
  writeOnKnownHead(rows: DeferredRows, run: Run): Promise<'unknown' | 'moved' | 'refused' | 'written'>;
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
export function createAuditLog(db: Db, tree: PgTree, route: OutboxRouter): AuditLog {
  // The head as this process last wrote it (not always committed yet): only ever a guess, which the known-head write
  // checks on the locked row. Forgotten when a write of ours fails or does not commit.
  let known: HeadRow | undefined;

  /** The drafts chained on `head`: their events and the head after them. */
  function chain(head: HeadRow, drafts: readonly AuditDraft[]): { events: AuditEvent[]; next: HeadRow } {
    const events: AuditEvent[] = [];
    let h: HeadRow = head;
    for (const d of drafts) {
      // Times never step back along the log (replicas' clocks differ): a period's events are one contiguous seq range.
      const time = h.time > d.time ? h.time : d.time;
      const e = chainEvent(h.seq === 0 ? null : h, { ...d, time });
      events.push(e);
      h = { seq: e.seq, hash: e.hash, time };
    }
    return { events, next: h };
  }

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
        async write(lockHead, sent) {
          if (drafts.length === 0) return;
          const locked = lockHead ? await lockHead() : null;
          const head = locked === null ? (await run<LockedHeadRow>(LOCK_HEAD)).rows[0] : locked;
          if (!head) throw new Error('the audit_head row is missing: the store is damaged');
          const { events, next } = chain(head, drafts);
          const deliveries: OutboxDraft[] = drafts.flatMap((d) => route(d));
          try {
            const nodes = await tree.nodes(run, { seq: head.seq, hash: head.hash, edge: head.edge, edgeSeq: head.edge_seq }, events);
            const written = run(WRITE, [...appendValues(events, nodes, deliveries), next.seq, next.hash, next.time, nodes.edge]);
            sent?.();
            await written;
            known = next;
          } catch (e) {
            tree.invalidate();
            known = undefined;
            if (db.lost(e)) throw e;
            throw new CountersignError('AUDIT_WRITE_FAILED', undefined, { cause: db.redact(e instanceof Error ? e.message : String(e)) });
          }
        },
        async writeOnKnownHead(rows, send) {
          const head = known;
          if (drafts.length === 0 || head === undefined || head.seq === 0 || !tree.at(head)) return 'unknown';
          const { events, next } = chain(head, drafts);
          const deliveries: OutboxDraft[] = drafts.flatMap((d) => route(d));
          let refused = false;
          try {
            // The tree is at the head (checked above): its nodes need no read.
            const nodes = await tree.nodes(send, { ...head, edge: null, edgeSeq: null }, events);
            const done = await send<{ written: number; held: boolean }>(KNOWN_HEAD_WRITE, [
              ...rows.values(),
              ...appendValues(events, nodes, deliveries),
              next.seq,
              next.hash,
              next.time,
              nodes.edge,
              head.seq,
              head.hash,
            ]);
            if (done.rows[0]?.written === 1) {
              known = next;
              return 'written';
            }
            refused = done.rows[0]?.held === false;
          } catch (e) {
            tree.invalidate();
            known = undefined;
            throw e;
          }
          tree.invalidate();
          known = undefined;
          return refused ? 'refused' : 'moved';
        },
      };
    },
    abort() {
      tree.invalidate();
      known = undefined;
    },
    async head() {
      const { rows } = await db.query<HeadRow>(READ_HEAD);
      return rows[0] ?? { seq: 0, hash: '', time: '' };
    },
  };
}
