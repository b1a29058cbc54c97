/**
 * Reviews in PostgreSQL: their rows, keyed by (request, reviewer), and their identity keys (../review-keys.ts), keyed
 * by (request, key). Of two transactions recording one person's reviews under two ids at once, the second waits on
 * the first's key and then fails: ALREADY_REVIEWED.
 */
import { reviewKeyRows } from '../review-keys.ts';
import type { Review } from '../../../core/review.ts';
import { CountersignError } from '../../../core/errors.ts';
import type { Run } from './pool.ts';

/** The migration step: the table, and the keys of the reviews already stored (a person reviewing twice before it kept one). */
export async function reviewKeysSchema(run: Run): Promise<void> {
  await run(`CREATE TABLE review_keys (
    request_id text NOT NULL REFERENCES requests (id),
    key text NOT NULL,
    reviewer text NOT NULL,
    PRIMARY KEY (request_id, key)
  )`);
  const { rows } = await run<{ request_id: string; record: string }>('SELECT request_id, record FROM reviews ORDER BY request_id, created_at, n');
  const keys = rows.flatMap((row) => reviewKeyRows(row.request_id, [JSON.parse(row.record) as Review]));
  // In statements of a few thousand rows: one per review would be a round trip each on a large log.
  for (let i = 0; i < keys.length; i += 5000) await insert(run, keys.slice(i, i + 5000), true);
}

const INSERT = {
  name: 'cs_review_keys_insert',
  text: 'INSERT INTO review_keys (request_id, key, reviewer) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
};
const INSERT_KEEPING_FIRST = `${INSERT.text} ON CONFLICT DO NOTHING`;

async function insert(run: Run, keys: ReturnType<typeof reviewKeyRows>, keepFirst = false): Promise<void> {
  if (keys.length === 0) return;
  const values = [keys.map((k) => k.requestId), keys.map((k) => k.key), keys.map((k) => k.reviewer)];
  await (keepFirst ? run(INSERT_KEEPING_FIRST, values) : run(INSERT, values));
}

const INSERT_REVIEWS = {
  name: 'cs_review_insert',
  text: `INSERT INTO reviews (request_id, reviewer, verdict, created_at, record)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])`,
};

/** Inside a write transaction: the reviews of request `id`, and their keys. */
export async function insertReviews(run: Run, id: string, reviews: readonly Review[]): Promise<void> {
  if (reviews.length === 0) return;
  try {
    await run(INSERT_REVIEWS, [id, reviews.map((r) => r.reviewer.id), reviews.map((r) => r.verdict), reviews.map((r) => r.createdAt), reviews.map((r) => JSON.stringify(r))]);
    await insert(run, reviewKeyRows(id, reviews));
  } catch (e) {
    // The primary keys (request, reviewer) and (request, identity key) are the last line of "each human counts once".
    const { code, constraint } = e as { code?: string; constraint?: string };
    if (code === '23505' && (constraint === 'reviews_pkey' || constraint === 'review_keys_pkey')) {
      throw new CountersignError('ALREADY_REVIEWED', `${reviews[0]!.reviewer.id} has already reviewed this request`);
    }
    throw e;
  }
}
