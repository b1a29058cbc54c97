/**
 * SQL under the 16 KiB that goes to the analysis thread, yet deeper as a tree
 * than the parser's stack holds (a few hundred nested subqueries around a
 * chain of 5,800 `+ 1`): each one aborted the live parser instance and the
 * spare took over; two in a row left none, and every SQL action of every
 * agent was refused for the half second a new instance took to make, again
 * and again as long as an agent kept sending them. Such texts are refused by
 * a linear scan before the parser sees them, so a burst of them leaves the
 * parser as it was: the next plain statement, sent at once, is judged and runs.
 */
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { readsPolicy } from '../support/sql-by-type.ts';

const db = await createTestDatabase();

/** 16,108 characters (parsed where it arrives), each overflowing the parser's stack while it writes the tree out. */
const DEEP = `SELECT ${'(SELECT '.repeat(500)}1${'+1'.repeat(5_800)}${')'.repeat(500)}`;
const BURST = 50;

describe.skipIf(!db)('a burst of SQL too deep for the parser (real PostgreSQL)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      readsPolicy(),
      { env: { APP_DB_URL: db?.url ?? '' }, server: 'postgres: { port: 0, holdSeconds: 0 }' },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  const act = (sql: string) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql }, reason: 'e2e' } });

  it('REST: each is refused, and a plain read sent with each burst is judged and runs', { timeout: 300_000 }, async () => {
    expect(DEEP.length).toBeLessThan(16_384);
    // Ten bursts of five at once, as an agent with many connections sends them, a plain read sent with each, last.
    for (let round = 0; round < BURST / 5; round++) {
      const answers = await Promise.all([...Array.from({ length: 5 }, () => act(DEEP)), act(`SELECT ${round} AS one`)]);
      const read = answers.pop()!;
      for (const res of answers) {
        expect(res.status).toBe(422);
        expect(res.body.error).toMatchObject({ code: 'INPUT_UNPARSEABLE', message: expect.stringMatching(/nested|terms/) });
      }
      expect(read.body).toMatchObject({ status: 'succeeded' });
      expect(read.body.result.results[0]).toMatchObject({ fields: ['one'], rows: [[round]] });
    }
  });

  it('the wire listener: each is refused, and another session\'s SELECT sent with each burst is answered', { timeout: 300_000 }, async () => {
    const a = await Raw.open(gw, 'deploy-bot');
    const b = await Raw.open(gw, 'other-bot');
    try {
      for (let round = 0; round < BURST / 5; round++) {
        for (let i = 0; i < 5; i++) a.send(serialize.query(DEEP));
        b.send(serialize.query(`SELECT ${round}`));
        const read = await b.until('readyForQuery');
        for (let i = 0; i < 5; i++) expect(errors(await a.until('readyForQuery'))).toHaveLength(1);
        expect(errors(read)).toEqual([]);
        expect(rowsOf(read)).toEqual([[String(round)]]);
      }
    } finally {
      a.end();
      b.end();
    }
  });
});
