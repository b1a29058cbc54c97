/**
 * Term sets in PostgreSQL (see ../term-sets.ts): `requests.term_set` refers
 * to a row of `term_sets` (the set's canonical key), whose terms are rows of
 * `term_set_members`. It replaces the `terms text[]` column and its GIN
 * index, which every request insert had to update. A filter on a term is
 * `term_set = ANY($n)` over the ids of the sets holding the term (termFilter).
 */
import { termSetKey } from '../../../core/request-terms.ts';
import type { TermSet } from '../term-sets.ts';
import type { Run } from './pool.ts';

/** The condition on request row `r` that its set is one of those in parameter `param` ($n, an int[] from termFilter). */
export const inSets = (param: string): string => `r.term_set = ANY(${param}::int[])`;

const SETS_WITH = {
  name: 'cs_term_sets_with',
  text: `SELECT coalesce((SELECT array_agg(m.set_id ORDER BY m.set_id) FROM term_set_members m WHERE m.term = t.term), '{}') AS ids
         FROM unnest($1::text[]) WITH ORDINALITY AS t(term, n) ORDER BY t.n`,
};

async function setsWith(run: Run, terms: readonly string[]): Promise<number[][]> {
  return (await run<{ ids: number[] }>(SETS_WITH, [terms])).rows.map((r) => r.ids);
}

/**
 * Runs `query` over the ids of the sets holding each of `terms` (all of them must match), or answers `none` when a
 * term is in no set. The ids are read first and passed as values, not as a subquery: the planner then sees which sets
 * the filter keeps, and their share of the requests from the statistics on requests.term_set. With a subquery it
 * cannot, guesses a large share, and for a rare or absent term walks every request backwards by seq.
 *
 * Sets are only ever added, so the ids are read again after the query: unchanged, no set holding a term committed
 * before the query's snapshot was missing, and the answer is exactly what a single statement would have returned.
 * Changed (a set first seen meanwhile), the query runs again with them.
 */
export async function termFilter<T>(run: Run, terms: readonly string[], none: T, query: (ids: number[][]) => Promise<T>): Promise<T> {
  if (terms.length === 0) return query([]);
  let ids = await setsWith(run, terms);
  for (;;) {
    if (ids.some((one) => one.length === 0)) return none;
    const result = await query(ids);
    const again = await setsWith(run, terms);
    if (JSON.stringify(again) === JSON.stringify(ids)) return result;
    ids = again;
  }
}

/**
 * The set and its members in one statement, so they commit together. Replicas racing to create one set agree through
 * the unique key: the loser's insert waits for the winner's commit and does nothing; its statement's snapshot, taken
 * before that wait, may not see the winner's row either, so then the id is read again (ensureTermSet).
 */
const ENSURE = {
  name: 'cs_term_set_ensure',
  text: `WITH created AS (INSERT INTO term_sets (key) VALUES ($1) ON CONFLICT (key) DO NOTHING RETURNING id),
              members AS (INSERT INTO term_set_members (term, set_id) SELECT t, c.id FROM created c, unnest($2::text[]) AS t)
         SELECT id FROM created UNION ALL SELECT id FROM term_sets WHERE key = $1 LIMIT 1`,
};
const FIND = { name: 'cs_term_set_find', text: 'SELECT id FROM term_sets WHERE key = $1' };

/** The id of the set, created with its members if absent, by `run` (its own transaction, or the caller's). */
export async function ensureTermSet(run: Run, set: TermSet): Promise<number> {
  const found = (await run<{ id: number }>(ENSURE, [set.key, [...new Set(set.terms)]])).rows[0] ?? (await run<{ id: number }>(FIND, [set.key])).rows[0];
  if (!found) throw new Error('a term set was created and then removed');
  return found.id;
}

/**
 * Migration step: term sets replace the terms column. Each request's set is made from the terms stored on its row,
 * so every search matches after the upgrade exactly what it matched before. Keys are made here by the same function
 * the store uses (termSetKey), so later writes find these sets.
 */
export async function termSetsFromTermsColumn(run: Run): Promise<void> {
  await run(`
    CREATE TABLE term_sets (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      key text COLLATE "C" NOT NULL UNIQUE
    );
    CREATE TABLE term_set_members (
      term text COLLATE "C" NOT NULL,
      set_id integer NOT NULL,
      PRIMARY KEY (term, set_id)
    );
    ALTER TABLE requests ADD COLUMN term_set integer;
    CREATE TEMP TABLE term_set_of (terms text[] NOT NULL, set_id integer NOT NULL) ON COMMIT DROP;`);
  // Distinct term lists are few (effects × rules × connections' tags) however many requests share them.
  const { rows } = await run<{ terms: string[] }>('SELECT DISTINCT terms FROM requests');
  for (const { terms } of rows) {
    const id = await ensureTermSet(run, { key: termSetKey(terms), terms });
    await run('INSERT INTO term_set_of (terms, set_id) VALUES ($1, $2)', [terms, id]);
  }
  // The index after the backfill: built once instead of updated row by row. Dropping the column drops its GIN index.
  await run(`
    UPDATE requests r SET term_set = m.set_id FROM term_set_of m WHERE r.terms = m.terms;
    ALTER TABLE requests DROP COLUMN terms;
    CREATE INDEX requests_term_set ON requests (term_set);`);
}
