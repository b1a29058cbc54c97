/**
 * The statements that append a batch's audit events (audit.ts): after the
 * head was locked and read (WRITE), or in one statement on the head this
 * process wrote last (KNOWN_HEAD_WRITE).
 *
 * KNOWN_HEAD_WRITE is a whole write transaction in one round trip when the
 * batch's operations did all their work in rows left to the batch: sent
 * outside BEGIN, it commits on its own, so BEGIN, the head's read, the
 * append and COMMIT (four round trips) become one. Its events were chained
 * in memory on the head as this process last wrote it, so it must write
 * nothing unless that is still the head, nothing unless every request
 * row it writes over is still at the version known, and nothing unless the
 * meta values its inserts were made under (the config in force) still
 * stand, read FOR SHARE as an insert made alone reads them (requests.ts
 * INSERT_IF): its first steps lock that meta row FOR SHARE and those rows
 * (the lock order of every write: rows first, the head last), then the head
 * is moved only if its seq and hash are the ones known, the meta values
 * stand and every such row was found and locked (FOR UPDATE and UPDATE re-check a row another
 * transaction changed meanwhile, in read committed), and every other write
 * of the statement requires that move (EXISTS over its result: evaluated
 * once, before the write's first row). So either all of it is written or
 * none of it, and the statement says which; when none (another replica
 * appended, a row moved on, the config changed), the writer runs the batch
 * again the usual way.
 */
import type { AuditEvent } from '../../../core/audit.ts';
import type { OutboxDraft } from '../../../core/outbox.ts';
import { jsonArray, jsonElements } from './pool.ts';
import { HELD, HOLDS, requestRowsCtes } from './requests.ts';
import type { NewNodes } from './tree.ts';

/**
 * The common table expressions that insert a batch's events, Merkle nodes and outbox deliveries, over the 15
 * parameters of appendValues from `$${from}` on; `when`: a condition they also need.
 */
function appendCtes(from: number, when = 'true'): string {
  const $ = (n: number): string => `$${from + n}`;
  return `events AS (
           INSERT INTO audit_events (seq, time, type, request_id, actor, body, hash)
           SELECT * FROM unnest(${$(0)}::bigint[], ${$(1)}::text[], ${$(2)}::text[], ${$(3)}::text[], ${$(4)}::text[], ${jsonElements($(5))}, ${$(6)}::text[]) WHERE ${when}),
         nodes AS (
           INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM unnest(${$(7)}::int[], ${$(8)}::bigint[], ${$(9)}::bytea[]) WHERE ${when}),
         deliveries AS (
           INSERT INTO outbox (channel, event, request_id, payload, created_at, next_attempt_at)
           SELECT c, e, r, p, t, t FROM unnest(${$(10)}::text[], ${$(11)}::text[], ${$(12)}::text[], ${$(13)}::text[], ${$(14)}::text[]) AS d(c, e, r, p, t) WHERE ${when})`;
}

/** Events, Merkle nodes, outbox deliveries and the head (locked before): $1–$15 appendValues, then the new head. */
export const WRITE = {
  name: 'cs_audit_write',
  text: `WITH ${appendCtes(1)}
         UPDATE audit_head SET seq = $16, hash = $17, time = $18, edge = $19, edge_seq = $16 WHERE id = 1`,
};

/** The head's move is what every other write of KNOWN_HEAD_WRITE requires. */
const MOVED = 'EXISTS (SELECT 1 FROM head)';

/**
 * A batch's request rows and the meta values its inserts were made under ($1–$23, DeferredRows.values), its events,
 * nodes and deliveries ($24–$38, appendValues), the new head ($39 seq, $40 hash, $41 time, $42 edge) and the head they
 * were chained on ($43 seq, $44 hash): all of it, or none of it when that is no longer the head, a row written over is
 * no longer at its known version, or a meta value no longer stands (read FOR SHARE before the head is locked, as the
 * rows are: the one-time filter's subqueries run before the head's scan). `written` is 1 or 0; `held`, whether the
 * meta values stood.
 */
export const KNOWN_HEAD_WRITE = {
  name: 'cs_audit_write_on_known_head',
  text: `WITH ${HELD},
         locked AS MATERIALIZED (
           SELECT r.id FROM requests r JOIN unnest($14::text[], $21::int[]) AS k(id, expected) ON r.id = k.id AND r.version = k.expected
           FOR UPDATE OF r),
         head AS (
           UPDATE audit_head SET seq = $39, hash = $40, time = $41, edge = $42, edge_seq = $39
           WHERE id = 1 AND seq = $43 AND hash = $44 AND ${HOLDS} AND (SELECT count(DISTINCT id) FROM locked) = cardinality($14::text[])
           RETURNING 1),
         ${requestRowsCtes(MOVED)},
         ${appendCtes(24, MOVED)}
         SELECT count(*)::int AS written, ${HOLDS} AS held FROM head`,
};

/** The 15 parameters of the events, nodes and deliveries. */
export function appendValues(events: readonly AuditEvent[], nodes: NewNodes, deliveries: readonly OutboxDraft[]): unknown[] {
  return [
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
  ];
}
