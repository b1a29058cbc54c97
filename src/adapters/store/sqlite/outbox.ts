/**
 * The outbox, channel messages and known humans in SQLite. Deliveries are
 * inserted by the store's own write transactions (from the audit events
 * they commit with), claimed oldest-first per (channel, request), and kept
 * after delivery as a record of what was sent.
 */
import type Database from 'better-sqlite3';
import type { ChannelMessage } from '../../../core/channel.ts';
import type { KnownHuman } from '../../../core/known-human.ts';
import type { ChannelHealth, OutboxDelivery, OutboxDraft } from '../../../core/outbox.ts';
import { deliveryOf, type OutboxRow } from '../rows.ts';

export const OUTBOX_SCHEMA = `
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    event TEXT NOT NULL,
    request_id TEXT,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    state TEXT NOT NULL DEFAULT 'pending'
  ) STRICT;
  CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
  CREATE INDEX outbox_order ON outbox (channel, request_id, state, id);
  CREATE TABLE channel_messages (
    request_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    ref TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX channel_messages_request ON channel_messages (request_id, channel);
  CREATE TABLE known_humans (
    email TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX known_humans_id ON known_humans (id);`;

/** Statements over the outbox tables; writes are plain functions the store runs in its transactions. */
export function createOutboxTables(db: Database.Database) {
  const q = {
    insert: db.prepare('INSERT INTO outbox (channel, event, request_id, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)'),
    // The oldest owed delivery of each (channel, request): later events of a request wait for earlier ones.
    due: db.prepare(
      `SELECT o.* FROM outbox o
       WHERE o.state = 'pending' AND o.next_attempt_at <= ?
         AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel = o.channel AND p.request_id IS o.request_id AND p.state = 'pending' AND p.id < o.id)
       ORDER BY o.id LIMIT ?`,
    ),
    lease: db.prepare('UPDATE outbox SET next_attempt_at = ? WHERE id = ?'),
    done: db.prepare(`UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_error = NULL WHERE id = ?`),
    // Only a delivery still owed: a failure reported late (its lease ran out and another process made the delivery)
    // must not make a delivered row owed again, and post it twice.
    fail: db.prepare(`UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, state = ? WHERE id = ? AND state = 'pending'`),
    health: db.prepare(
      `SELECT channel,
              SUM(state = 'pending') AS pending,
              SUM(state = 'dead') AS dead,
              MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest,
              MAX(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END) AS failing,
              (SELECT last_error FROM outbox e WHERE e.channel = o.channel AND e.state != 'delivered' AND e.last_error IS NOT NULL ORDER BY e.id DESC LIMIT 1) AS last_error
       FROM outbox o GROUP BY channel ORDER BY channel`,
    ),
    addMessage: db.prepare('INSERT INTO channel_messages (request_id, channel, ref, created_at) VALUES (?, ?, ?, ?)'),
    messages: db.prepare('SELECT request_id, channel, ref, created_at FROM channel_messages WHERE request_id = ? AND channel = ? ORDER BY rowid'),
    remember: db.prepare('INSERT INTO known_humans (email, id, record) VALUES (?, ?, ?) ON CONFLICT (email) DO UPDATE SET id = excluded.id, record = excluded.record'),
    byEmail: db.prepare('SELECT record FROM known_humans WHERE email = ?').pluck(),
    byId: db.prepare('SELECT record FROM known_humans WHERE id = ? ORDER BY rowid DESC LIMIT 1').pluck(),
    all: db.prepare('SELECT record FROM known_humans ORDER BY rowid').pluck(),
  };
  return {
    enqueue(drafts: readonly OutboxDraft[]): void {
      for (const d of drafts) q.insert.run(d.channel, d.event, d.requestId, JSON.stringify(d.payload), d.createdAt, d.createdAt);
    },
    claim(now: Date, limit: number, leaseMs: number): OutboxDelivery[] {
      const rows = q.due.all(now.toISOString(), Math.max(1, limit)) as OutboxRow[];
      const until = new Date(now.getTime() + leaseMs).toISOString();
      for (const r of rows) q.lease.run(until, r.id);
      return rows.map(deliveryOf);
    },
    complete(id: string): void {
      q.done.run(Number(id));
    },
    fail(id: string, error: string, retryAt: string | null): void {
      q.fail.run(error.slice(0, 500), retryAt ?? '9999-12-31T00:00:00.000Z', retryAt === null ? 'dead' : 'pending', Number(id));
    },
    health(): ChannelHealth[] {
      return (q.health.all() as { channel: string; pending: number; dead: number; oldest: string | null; failing: number; last_error: string | null }[]).map((r) => ({
        channel: r.channel,
        pending: r.pending,
        dead: r.dead,
        oldest: r.oldest,
        lastError: r.last_error,
        failing: r.failing === 1,
      }));
    },
    addMessage(m: ChannelMessage): void {
      q.addMessage.run(m.requestId, m.channel, JSON.stringify(m.ref), m.createdAt);
    },
    messages(requestId: string, channel: string): ChannelMessage[] {
      return (q.messages.all(requestId, channel) as { request_id: string; channel: string; ref: string; created_at: string }[]).map((r) => ({
        requestId: r.request_id,
        channel: r.channel,
        ref: JSON.parse(r.ref) as Record<string, string>,
        createdAt: r.created_at,
      }));
    },
    remember(h: KnownHuman): void {
      q.remember.run(h.email, h.id, JSON.stringify(h));
    },
    byEmail(email: string): KnownHuman | undefined {
      const r = q.byEmail.get(email) as string | undefined;
      return r ? (JSON.parse(r) as KnownHuman) : undefined;
    },
    byId(id: string): KnownHuman | undefined {
      const r = q.byId.get(id) as string | undefined;
      return r ? (JSON.parse(r) as KnownHuman) : undefined;
    },
    all(): KnownHuman[] {
      return (q.all.all() as string[]).map((r) => JSON.parse(r) as KnownHuman);
    },
  };
}
