/**
 * Searching the audit log in PostgreSQL. Time bounds become a seq range by
 * a binary search on the primary key, run inside the database
 * (countersign_first_seq_at, see schema.ts): events are written in time
 * order, so no index on time slows every append. Filters on the request
 * (principal, connection, tags, rule, effect, status) select requests
 * through their own indexes (effect, rules and tags through their term sets:
 * term-sets.ts), and their events
 * come through the request_id index.
 */
import type { AuditEvent } from '../../../core/audit.ts';
import type { AuditQuery } from '../../../core/ports.ts';
import { holdsNul, statementParams, type Run } from './pool.ts';
import { inSets, termFilter } from './term-sets.ts';

type Row = { seq: number; body: string; hash: string };

const FIRST_SEQ = { name: 'cs_audit_first_seq_at', text: 'SELECT countersign_first_seq_at($1) AS seq' };

/** The first seq whose event was written at or after `time` (the log's length + 1 if none was). */
export async function firstSeqAtOrAfter(run: Run, time: string): Promise<number> {
  return (await run<{ seq: number }>(FIRST_SEQ, [time])).rows[0]!.seq;
}

export async function searchAudit(run: Run, q: AuditQuery): Promise<AuditEvent[]> {
  const where: string[] = [];
  const { params, p } = statementParams();
  if (q.afterSeq !== undefined) where.push(`e.seq > ${p(q.afterSeq)}`);
  if (q.from) where.push(`e.seq >= countersign_first_seq_at(${p(q.from)})`);
  if (q.to) where.push(`e.seq < countersign_first_seq_at(${p(q.to)})`);
  if (q.types?.length) where.push(`e.type = ANY(${p(q.types)}::text[])`);
  if (q.requestId) where.push(`e.request_id = ${p(q.requestId)}`);
  if (q.reviewer) {
    const who = p(q.reviewer);
    where.push(`e.actor = ${who} AND e.type = 'review.recorded' AND e.request_id IN (SELECT request_id FROM reviews WHERE reviewer = ${who})`);
  }
  const r: string[] = [];
  if (q.principal) r.push(`r.principal_id = ${p(q.principal)}`);
  if (q.actsFor) r.push(`r.acts_for = ${p(q.actsFor)}`);
  if (q.connection) r.push(`r.connection = ${p(q.connection)}`);
  if (q.status) r.push(`r.status = ${p(q.status)}`);
  // A list tag (compliance: [soc2, gdpr]) has a term per value, so it matches any of them.
  const terms = [q.effect && `effect:${q.effect}`, q.rule && `rule:${q.rule}`, q.tag && `tag:${q.tag}`].filter((t): t is string => !!t);
  if (holdsNul(params) || holdsNul(terms)) return [];
  const limit = p(Math.max(1, Math.min(q.limit ?? 100, 10_000)));
  return termFilter(run, terms, [], async (ids) => {
    const values = [...params];
    const onRequest = [...r, ...ids.map((one) => inSets(`$${values.push(one)}`))];
    const all = onRequest.length ? [...where, `e.request_id IN (SELECT r.id FROM requests r WHERE ${onRequest.join(' AND ')})`] : where;
    const sql = `SELECT e.seq, e.body, e.hash FROM audit_events e ${all.length ? `WHERE ${all.join(' AND ')}` : ''} ORDER BY e.seq LIMIT ${limit}`;
    const { rows } = await run<Row>(sql, values);
    return rows.map((row) => ({ ...(JSON.parse(row.body) as Omit<AuditEvent, 'body' | 'hash'>), seq: row.seq, body: row.body, hash: row.hash }));
  });
}
