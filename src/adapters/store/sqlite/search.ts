/**
 * Searching the audit log. Time bounds become a seq range by binary search
 * on the primary key (events are written in time order), so no index on time
 * slows every append; filters on the request (principal, connection, tags,
 * rule, effect, status) select requests through their own indexes first
 * (effect, rules and tags through their term sets: term-sets.ts), and the
 * events of those requests come through the request_id index.
 */
import type Database from 'better-sqlite3';
import type { AuditEvent } from '../../../core/audit.ts';
import type { AuditQuery } from '../../../core/ports.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { requestTerms } from '../../../core/request-terms.ts';
import { hasTerm } from './term-sets.ts';

export const SEARCH_SCHEMA = `
  CREATE INDEX requests_connection ON requests (connection);
  CREATE INDEX reviews_reviewer ON reviews (reviewer);`;

/**
 * Effect, rules and tags of each request as indexed terms, a row per term and request: shipped steps, kept so that
 * a new file passes through the same steps as an old one. Term sets replace the table (term-sets.ts).
 */
export const TERMS_SCHEMA = `
  CREATE TABLE request_terms (
    term TEXT NOT NULL,
    request_id TEXT NOT NULL,
    PRIMARY KEY (term, request_id)
  ) STRICT, WITHOUT ROWID;`;

function createTermWriter(db: Database.Database): { write(r: RequestRecord, previous?: RequestRecord): void } {
  const insert = db.prepare('INSERT OR IGNORE INTO request_terms (term, request_id) VALUES (?, ?)');
  const clear = db.prepare('DELETE FROM request_terms WHERE request_id = ?');
  return {
    write(r, previous) {
      // Terms change only when a decision is replaced (a tightened policy re-evaluated at execution).
      if (previous && previous.decision === r.decision) return;
      if (previous) clear.run(r.id);
      for (const t of requestTerms(r)) insert.run(t, r.id);
    },
  };
}

/** Terms for requests stored before the table existed. */
export function backfillTerms(db: Database.Database): void {
  const writer = createTermWriter(db);
  const page = db.prepare('SELECT rowid, record FROM requests WHERE rowid > ? ORDER BY rowid LIMIT 5000');
  for (let after = 0; ; ) {
    const rows = page.all(after) as { rowid: number; record: string }[];
    for (const row of rows) writer.write(JSON.parse(row.record) as RequestRecord);
    if (rows.length < 5000) return;
    after = rows[rows.length - 1]!.rowid;
  }
}

type Row = { seq: number; body: string; hash: string };

export function createAuditSearch(db: Database.Database): { search(q: AuditQuery): AuditEvent[]; firstSeqAt(time: string): number } {
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

  function search(q: AuditQuery): AuditEvent[] {
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
    // A list tag (compliance: [soc2, gdpr]) has a term per value, so it matches any of them.
    for (const term of [q.effect && `effect:${q.effect}`, q.rule && `rule:${q.rule}`, q.tag && `tag:${q.tag}`]) {
      if (term) (r.push(hasTerm('r')), rp.push(term));
    }
    if (r.length) {
      where.push(`e.request_id IN (SELECT r.id FROM requests r WHERE ${r.join(' AND ')})`);
      params.push(...rp);
    }
    const limit = Math.max(1, Math.min(q.limit ?? 100, 10_000));
    const rows = db.prepare(`SELECT e.seq, e.body, e.hash FROM audit_events e WHERE ${where.join(' AND ')} ORDER BY e.seq LIMIT ?`).all(...params, limit) as Row[];
    return rows.map((row) => ({ ...(JSON.parse(row.body) as Omit<AuditEvent, 'body' | 'hash'>), seq: row.seq, body: row.body, hash: row.hash }));
  }

  return { search, firstSeqAt: (time) => firstSeqAt(time, maxSeq.get() as number) };
}
