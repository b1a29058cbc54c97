/**
 * Listing requests on SQLite: newest first (insertion order, rowid), filtered
 * by the columns a request row keeps and by its term set, with the reviews of
 * the page read in one more statement.
 */
import type Database from 'better-sqlite3';
import type { RequestQuery } from '../../../core/ports.ts';
import type { RequestRecord } from '../../../core/request.ts';
import type { Review } from '../../../core/review.ts';
import { hasTerm } from './term-sets.ts';
import { recordOf } from './request-rows.ts';

type RequestRow = { id: string; record: string; state: string | null };
type ReviewRow = { request_id: string; record: string };

export function listRequests(db: Database.Database, query: RequestQuery): RequestRecord[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.status?.length) {
    where.push(`status IN (${query.status.map(() => '?').join(', ')})`);
    params.push(...query.status);
  }
  if (query.involving) {
    where.push('(principal_id = ? OR acts_for = ?)');
    params.push(query.involving, query.involving);
  }
  if (query.connection) (where.push('connection = ?'), params.push(query.connection));
  if (query.tag) (where.push(hasTerm()), params.push(`tag:${query.tag}`));
  if (query.from) (where.push('created_at >= ?'), params.push(query.from));
  if (query.to) (where.push('created_at < ?'), params.push(query.to));
  if (query.before) (where.push('rowid < (SELECT rowid FROM requests WHERE id = ?)'), params.push(query.before));
  const sql = `SELECT id, record, state FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
               ORDER BY rowid DESC LIMIT ?`;
  const rows = db.prepare(sql).all(...params, Math.max(1, Math.min(query.limit ?? 100, 1000))) as RequestRow[];
  if (rows.length === 0) return [];
  const byId = new Map<string, Review[]>();
  const reviewRows = db
    .prepare(`SELECT request_id, record FROM reviews WHERE request_id IN (${rows.map(() => '?').join(', ')}) ORDER BY created_at, rowid`)
    .all(...rows.map((r) => r.id)) as ReviewRow[];
  for (const r of reviewRows) {
    const list = byId.get(r.request_id) ?? [];
    list.push(JSON.parse(r.record) as Review);
    byId.set(r.request_id, list);
  }
  return rows.map((r) => ({ ...recordOf(r), reviews: byId.get(r.id) ?? [] }));
}
