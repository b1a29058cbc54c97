/**
 * Appending to the audit log inside a write transaction. The transaction
 * first locks the one-row `audit_head` (FOR UPDATE waits for, then reads,
 * the head another replica just committed), so every replica appends to one
 * chain in one total order; each event is chained to the true head, its
 * time never steps back along the log, and the Merkle nodes and the outbox
 * deliveries it causes are written in the same transaction. A failure of
 * the audit write itself is AUDIT_WRITE_FAILED, and the write that needed
 * it rolls back with it.
 */
import { chainEvent, type AuditDraft, type AuditEvent } from '../../../core/audit.ts';
import { CountersignError } from '../../../core/errors.ts';
import type { OutboxDraft, OutboxRouter } from '../../../core/outbox.ts';
import type { Db, Run } from './pool.ts';
import type { PgTree } from './tree.ts';

type HeadRow = { seq: number; hash: string; time: string };

/** The audit log as one write transaction sees it, from the moment it locked the head. */
export interface AuditTx {
  append(drafts: readonly AuditDraft[]): Promise<void>;
  /** A point to come back to when the operation that follows fails (its savepoint rolled back). */
  mark(): HeadRow;
  restore(mark: HeadRow): void;
  /** Writes the head row if the transaction moved it; the last statement before COMMIT. */
  finish(): Promise<void>;
}

export interface AuditLog {
  /** Locks the head: call first in the transaction, so every writer takes its locks in the same order. */
  begin(run: Run): Promise<AuditTx>;
  /** The transaction did not commit: nothing cached from it may be trusted. */
  abort(): void;
  /** The committed head. */
  head(): Promise<HeadRow>;
}

const LOCK_HEAD = { name: 'cs_audit_lock_head', text: 'SELECT seq, hash, time FROM audit_head WHERE id = 1 FOR UPDATE' };
const READ_HEAD = { name: 'cs_audit_head', text: 'SELECT seq, hash, time FROM audit_head WHERE id = 1' };
const MOVE_HEAD = { name: 'cs_audit_move_head', text: 'UPDATE audit_head SET seq = $1, hash = $2, time = $3 WHERE id = 1' };
const INSERT_EVENTS = {
  name: 'cs_audit_insert',
  text: `INSERT INTO audit_events (seq, time, type, request_id, actor, body, hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
};
const INSERT_OUTBOX = {
  name: 'cs_outbox_insert',
  text: `INSERT INTO outbox (channel, event, request_id, payload, created_at, next_attempt_at)
         SELECT c, e, r, p, t, t FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS d(c, e, r, p, t)`,
};

export function createAuditLog(db: Db, tree: PgTree, route: OutboxRouter): AuditLog {
  async function enqueue(run: Run, deliveries: readonly OutboxDraft[]): Promise<void> {
    if (deliveries.length === 0) return;
    await run(INSERT_OUTBOX, [
      deliveries.map((d) => d.channel),
      deliveries.map((d) => d.event),
      deliveries.map((d) => d.requestId),
      deliveries.map((d) => JSON.stringify(d.payload)),
      deliveries.map((d) => d.createdAt),
    ]);
  }

  return {
    async begin(run) {
      const { rows } = await run<HeadRow>(LOCK_HEAD);
      const start = rows[0];
      if (!start) throw new Error('the audit_head row is missing: the store is damaged');
      let head: HeadRow = start;
      return {
        async append(drafts) {
          if (drafts.length === 0) return;
          const events: AuditEvent[] = [];
          let h = head;
          for (const d of drafts) {
            // Times never step back along the log (replicas' clocks differ): a period's events are one contiguous seq range.
            const time = h.time > d.time ? h.time : d.time;
            const e = chainEvent(h.seq === 0 ? null : h, { ...d, time });
            events.push(e);
            h = { seq: e.seq, hash: e.hash, time };
          }
          try {
            await run(INSERT_EVENTS, [
              events.map((e) => e.seq),
              events.map((e) => e.time),
              events.map((e) => e.type),
              events.map((e) => e.requestId),
              events.map((e) => e.actor),
              events.map((e) => e.body),
              events.map((e) => e.hash),
            ]);
            await tree.append(run, head, events);
          } catch (e) {
            if (db.lost(e)) throw e;
            throw new CountersignError('AUDIT_WRITE_FAILED', undefined, { cause: db.redact(e instanceof Error ? e.message : String(e)) });
          }
          head = h;
          // Outside the audit try: a failing enqueue still fails (and rolls back) the whole change.
          await enqueue(run, drafts.flatMap((d) => route(d)));
        },
        mark: () => head,
        restore(mark) {
          if (mark !== head) tree.invalidate();
          head = mark;
        },
        async finish() {
          if (head !== start) await run(MOVE_HEAD, [head.seq, head.hash, head.time]);
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
