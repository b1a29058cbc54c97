/**
 * Searching the audit log. Time bounds become a seq range by binary search
 * on the primary key (events are written in time order), so no index on time
 * slows every append; filters on the request (principal, connection, tags,
 * rule, effect, status) select requests through their own indexes first, and
 * the events of those requests come through the request_id index.
 */
import type Database from 'better-sqlite3';
import type { AuditEvent } from '../../../core/audit.ts';
import type { AuditQuery } from '../../../core/ports.ts';

export const SEARCH_SCHEMA = `
  CREATE INDEX requests_connection ON requests (connection);
  CREATE INDEX reviews_reviewer ON reviews (reviewer);`;

type Row = { seq: number; body: string; hash: string };

export function createAuditSearch(db: Database.Database): (q: AuditQuery) => AuditEvent[] {
  const timeAt = db.prepare('SELECT time FROM audit_events WHERE seq = ?').pluck();
  const maxSeq = db.prepare('SELECT COALESCE(MAX(seq), 0) FROM audit_events').pluck();

  /** The first seq whose event was written at or after `time` (size + 1 if none). */
  function firstSeqAt(time: string, size: number): number {
    let lo = 1;
    let hi = size + 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((timeAt.get(mid) as string) >= time) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  return (q) => {
    const where: string[] = [];
    const params: unknown[] = [];
    const size = maxSeq.get() as number;
    const lo = Math.max(q.afterSeq !== undefined ? q.afterSeq + 1 : 1, q.from ? firstSeqAt(q.from, size) : 1);
    const hi = q.to ? firstSeqAt(q.to, size) - 1 : size;
    where.push('e.seq BETWEEN ? AND ?');
    params.push(lo, hi);
    if (q.types?.length) {
      where.push(`e.type IN (${q.types.map(() => '?').join(', ')})`);
      params.push(...q.types);
    }
    if (q.requestId) {
      where.push('e.request_id = ?');
      params.push(q.requestId);
    }
    if (q.reviewer) {
      where.push(`e.actor = ? AND e.type = 'review.recorded' AND e.request_id IN (SELECT request_id FROM reviews WHERE reviewer = ?)`);
      params.push(q.reviewer, q.reviewer);
    }
    const r: string[] = [];
    const rp: unknown[] = [];
    if (q.principal) (r.push('r.principal_id = ?'), rp.push(q.principal));
    if (q.actsFor) (r.push('r.acts_for = ?'), rp.push(q.actsFor));
    if (q.connection) (r.push('r.connection = ?'), rp.push(q.connection));
    if (q.status) (r.push('r.status = ?'), rp.push(q.status));
    if (q.effect) (r.push(`json_extract(r.record, '$.decision.effect') = ?`), rp.push(q.effect));
    if (q.rule) (r.push(`EXISTS (SELECT 1 FROM json_each(r.record, '$.decision.rules') x WHERE x.value = ?)`), rp.push(q.rule));
    if (q.tag) {
      const eq = q.tag.indexOf('=');
      const key = eq === -1 ? q.tag : q.tag.slice(0, eq);
      const value = eq === -1 ? null : q.tag.slice(eq + 1);
      // A list tag (compliance: [soc2, gdpr]) matches any of its values.
      r.push(`EXISTS (SELECT 1 FROM json_each(r.record, '$.connection.tags') t WHERE t.key = ? AND (? IS NULL OR t.value = ? OR (t.type = 'array' AND EXISTS (SELECT 1 FROM json_each(t.value) v WHERE v.value = ?))))`);
      rp.push(key, value, value, value);
    }
    if (r.length) {
      where.push(`e.request_id IN (SELECT r.id FROM requests r WHERE ${r.join(' AND ')})`);
      params.push(...rp);
    }
    const limit = Math.max(1, Math.min(q.limit ?? 100, 10_000));
    const rows = db.prepare(`SELECT e.seq, e.body, e.hash FROM audit_events e WHERE ${where.join(' AND ')} ORDER BY e.seq LIMIT ?`).all(...params, limit) as Row[];
    return rows.map((row) => ({ ...(JSON.parse(row.body) as Omit<AuditEvent, 'body' | 'hash'>), seq: row.seq, body: row.body, hash: row.hash }));
  };
}
