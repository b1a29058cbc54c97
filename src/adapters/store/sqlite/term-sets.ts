/**
 * Term sets in SQLite (see ../term-sets.ts): `requests.term_set` refers to a
 * row of `term_sets` (the set's canonical key), whose terms are rows of
 * `term_set_members`. A filter on a term is
 * `term_set IN (SELECT set_id FROM term_set_members WHERE term = ?)`: a few
 * member rows, then the requests through their term_set index.
 */
import type Database from 'better-sqlite3';
import type { TermSet } from '../term-sets.ts';
import { termSetKey } from '../../../core/request-terms.ts';

/** The condition on a request row (aliased `alias`) that it has the term bound to the next `?`. */
export function hasTerm(alias?: string): string {
  return `${alias ? `${alias}.` : ''}term_set IN (SELECT set_id FROM term_set_members WHERE term = ?)`;
}

/**
 * Returns the id of the set, creating it with its members if absent, inside the caller's transaction. Under
 * SQLite's write lock insert-if-absent is race-free between processes on one file.
 */
export function createTermSetTable(db: Database.Database): (set: TermSet) => number {
  const insert = db.prepare('INSERT INTO term_sets (key) VALUES (?) ON CONFLICT (key) DO NOTHING');
  const find = db.prepare('SELECT id FROM term_sets WHERE key = ?').pluck();
  const member = db.prepare('INSERT INTO term_set_members (term, set_id) VALUES (?, ?)');
  return (set) => {
    const done = insert.run(set.key);
    if (done.changes === 1) {
      const id = Number(done.lastInsertRowid);
      for (const term of new Set(set.terms)) member.run(term, id);
      return id;
    }
    return find.get(set.key) as number;
  };
}

/**
 * Migration step: term sets replace request_terms (a row per term and request). Each request's set is made from the
 * term rows stored for it, so every search matches after the upgrade exactly what it matched before; a request
 * without term rows keeps no set and, as before, matches no term filter. Then request_terms is dropped.
 */
export function termSetsFromRequestTerms(db: Database.Database): void {
  db.exec(`
    CREATE TABLE term_sets (
      id INTEGER PRIMARY KEY,
      key TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE TABLE term_set_members (
      term TEXT NOT NULL,
      set_id INTEGER NOT NULL,
      PRIMARY KEY (term, set_id)
    ) STRICT, WITHOUT ROWID;
    ALTER TABLE requests ADD COLUMN term_set INTEGER;
    CREATE TEMP TABLE old_terms AS SELECT request_id, json_group_array(term) AS terms FROM request_terms GROUP BY request_id;`);
  const ensure = createTermSetTable(db);
  const ids = new Map<string, number>();
  const setOf = db.prepare('UPDATE requests SET term_set = ? WHERE id = ?');
  const page = db.prepare('SELECT rowid, request_id, terms FROM temp.old_terms WHERE rowid > ? ORDER BY rowid LIMIT 5000');
  for (let after = 0; ; ) {
    const rows = page.all(after) as { rowid: number; request_id: string; terms: string }[];
    for (const row of rows) {
      const terms = JSON.parse(row.terms) as string[];
      const key = termSetKey(terms);
      let id = ids.get(key);
      if (id === undefined) ids.set(key, (id = ensure({ key, terms })));
      setOf.run(id, row.request_id);
    }
    if (rows.length < 5000) break;
    after = rows[rows.length - 1]!.rowid;
  }
  // The index after the backfill: built once instead of updated row by row.
  db.exec(`
    DROP TABLE temp.old_terms;
    CREATE INDEX requests_term_set ON requests (term_set);
    DROP TABLE request_terms;`);
}
