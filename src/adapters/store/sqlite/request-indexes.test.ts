/**
 * The pending cap counts a principal's pending requests at each held submission: through an index that holds
 * pending requests only, never by reading every request the principal ever made.
 */
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { migrate } from './schema.ts';

it("counts a principal's pending requests through the index of pending requests", () => {
  const db = new Database(':memory:');
  try {
    migrate(db);
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT count(*) FROM (SELECT 1 FROM requests WHERE principal_id = ? AND status = 'pending' LIMIT ?)`).all('bot', 100) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING COVERING INDEX requests_pending_principal \(principal_id=\?\)/);
  } finally {
    db.close();
  }
});
