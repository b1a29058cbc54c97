/**
 * The outbox, channel messages and known humans in PostgreSQL. Deliveries
 * are inserted by the write transactions of the audit events that cause
 * them (audit.ts); workers on any replica claim them with FOR UPDATE SKIP
 * LOCKED, so two never take the same one, and only the oldest owed delivery
 * of each (channel, request) is due, so a channel sees a request's events in
 * order. Delivered rows are kept as a record of what was sent.
 */
import type { ChannelMessage } from '../../../core/channel.ts';
import type { KnownHuman } from '../../../core/known-human.ts';
import type { ChannelHealth, OutboxDelivery } from '../../../core/outbox.ts';
import { deliveryOf, type OutboxRow } from '../rows.ts';
import type { Run } from './pool.ts';

/**
 * The lease of the due deliveries: it moves next_attempt_at; the delivery is returned as it stood when claimed.
 * `onlyIf`: only while the meta value under $4 is $5, read in the statement and locked FOR SHARE, so a change of it
 * committed first is seen (READ COMMITTED rechecks a row updated meanwhile) and one made after waits for this lease
 * to commit.
 */
function claimText(onlyIf: boolean): string {
  return `WITH ${onlyIf ? 'held AS (SELECT 1 FROM meta WHERE key = $4 AND value = $5 FOR SHARE),\n         ' : ''}due AS (
           SELECT o.id, o.next_attempt_at FROM outbox o
           WHERE ${onlyIf ? 'EXISTS (SELECT 1 FROM held) AND ' : ''}o.state = 'pending' AND o.next_attempt_at <= $1
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel = o.channel AND p.request_id IS NOT DISTINCT FROM o.request_id
                             AND p.state = 'pending' AND p.id < o.id)
           ORDER BY o.id LIMIT $2
           FOR UPDATE OF o SKIP LOCKED)
         UPDATE outbox SET next_attempt_at = $3 FROM due WHERE outbox.id = due.id
         RETURNING outbox.id, outbox.channel, outbox.event, outbox.request_id, outbox.payload, outbox.created_at, outbox.attempts,
                   due.next_attempt_at, outbox.last_error`;
}
const CLAIM = { name: 'cs_outbox_claim', text: claimText(false) };
const CLAIM_IF = { name: 'cs_outbox_claim_if', text: claimText(true) };
const DONE = { name: 'cs_outbox_done', text: `UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_error = NULL WHERE id = $1` };
/**
 * Only a delivery still owed: a failure reported late (a replica whose lease ran out while another made the delivery,
 * or whose completion committed without it learning so) must not make a delivered row owed again, and post it twice.
 */
const FAIL = {
  name: 'cs_outbox_fail',
  text: `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, state = $4 WHERE id = $1 AND state = 'pending'`,
};
const HEALTH = `
  SELECT channel,
         count(*) FILTER (WHERE state = 'pending')::int AS pending,
         count(*) FILTER (WHERE state = 'dead')::int AS dead,
         min(created_at) FILTER (WHERE state = 'pending') AS oldest,
         coalesce(bool_or(state = 'pending' AND attempts > 0), false) AS failing,
         (SELECT last_error FROM outbox e WHERE e.channel = o.channel AND e.state <> 'delivered' AND e.last_error IS NOT NULL ORDER BY e.id DESC LIMIT 1) AS last_error
  FROM outbox o GROUP BY channel ORDER BY channel`;
const ADD_MESSAGE = { name: 'cs_channel_message_add', text: 'INSERT INTO channel_messages (request_id, channel, ref, created_at) VALUES ($1, $2, $3, $4)' };
const MESSAGES = { name: 'cs_channel_messages', text: 'SELECT request_id, channel, ref, created_at FROM channel_messages WHERE request_id = $1 AND channel = $2 ORDER BY n' };
const REMEMBER = {
  name: 'cs_known_human_remember',
  text: 'INSERT INTO known_humans (email, id, record) VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE SET id = excluded.id, record = excluded.record',
};
const BY_EMAIL = { name: 'cs_known_human_by_email', text: 'SELECT record FROM known_humans WHERE email = $1' };
const BY_ID = { name: 'cs_known_human_by_id', text: 'SELECT record FROM known_humans WHERE id = $1 ORDER BY n DESC LIMIT 1' };
const ALL = { name: 'cs_known_humans', text: 'SELECT record FROM known_humans ORDER BY n' };

/** A delivery id as the outbox numbers them; anything else names no delivery. */
const idOf = (id: string): string => (/^[0-9]{1,18}$/.test(id) ? id : '0');

export const outbox = {
  /** One statement, so its own transaction: claimed rows are leased the moment it commits. */
  async claim(run: Run, now: Date, limit: number, leaseMs: number, onlyIf?: { readonly key: string; readonly value: string }): Promise<OutboxDelivery[]> {
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const args = [now.toISOString(), Math.max(1, limit), until];
    const { rows } = await (onlyIf ? run<OutboxRow>(CLAIM_IF, [...args, onlyIf.key, onlyIf.value]) : run<OutboxRow>(CLAIM, args));
    return rows.sort((a, b) => a.id - b.id).map(deliveryOf);
  },
  async complete(run: Run, id: string): Promise<void> {
    await run(DONE, [idOf(id)]);
  },
  async fail(run: Run, id: string, error: string, retryAt: string | null): Promise<void> {
    await run(FAIL, [idOf(id), error.slice(0, 500), retryAt ?? '9999-12-31T00:00:00.000Z', retryAt === null ? 'dead' : 'pending']);
  },
  async health(run: Run): Promise<ChannelHealth[]> {
    const { rows } = await run<{ channel: string; pending: number; dead: number; oldest: string | null; failing: boolean; last_error: string | null }>(HEALTH);
    return rows.map((r) => ({ channel: r.channel, pending: r.pending, dead: r.dead, oldest: r.oldest, lastError: r.last_error, failing: r.failing }));
  },
  async addMessage(run: Run, m: ChannelMessage): Promise<void> {
    await run(ADD_MESSAGE, [m.requestId, m.channel, JSON.stringify(m.ref), m.createdAt]);
  },
  async messages(run: Run, requestId: string, channel: string): Promise<ChannelMessage[]> {
    const { rows } = await run<{ request_id: string; channel: string; ref: string; created_at: string }>(MESSAGES, [requestId, channel]);
    return rows.map((r) => ({ requestId: r.request_id, channel: r.channel, ref: JSON.parse(r.ref) as Record<string, string>, createdAt: r.created_at }));
  },
  async remember(run: Run, h: KnownHuman): Promise<void> {
    await run(REMEMBER, [h.email, h.id, JSON.stringify(h)]);
  },
  async byEmail(run: Run, email: string): Promise<KnownHuman | undefined> {
    const row = (await run<{ record: string }>(BY_EMAIL, [email])).rows[0];
    return row ? (JSON.parse(row.record) as KnownHuman) : undefined;
  },
  async byId(run: Run, id: string): Promise<KnownHuman | undefined> {
    const row = (await run<{ record: string }>(BY_ID, [id])).rows[0];
    return row ? (JSON.parse(row.record) as KnownHuman) : undefined;
  },
  async all(run: Run): Promise<KnownHuman[]> {
    return (await run<{ record: string }>(ALL, [])).rows.map((r) => JSON.parse(r.record) as KnownHuman);
  },
};
