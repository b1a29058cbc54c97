/**
 * SQL whose parse tree is deeper than the parser's stack: a chain of
 * operators (`SELECT 1 + 1 + … + 1`, left-deep, so the grammar's own depth
 * limit never trips) overflows the stack of the parser's WASM instance while
 * it writes the tree out. The overflow aborts the instance mid-call and
 * leaves its stack pointer and heap where the abort left them; an agent that
 * sent a few dozen such statements broke the parser for good, and every SQL
 * action of every agent on every postgres connection was then refused
 * ("memory access out of bounds") until the gateway was restarted. Each such
 * statement is refused, and the next statement is judged and runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { readsPolicy } from '../support/sql-by-type.ts';

const db = await createTestDatabase();

const act = (g: TestGateway, sql: string) => g.as('deploy-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql }, reason: 'e2e' } });

/** 200 KB of SQL: under the body limit, far deeper as a tree than the parser's stack holds. */
const DEEP = `SELECT 1${' + 1'.repeat(50_000)}`;

describe.skipIf(!db)('SQL that overflows the parser (real PostgreSQL)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      readsPolicy(),
      { env: { APP_DB_URL: db?.url ?? '' } },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  it('is refused each time, and the statements after it are still judged and run', { timeout: 300_000 }, async () => {
    for (let i = 0; i < 120; i++) {
      const res = await act(gw, DEEP);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    }
    // A spare parser takes over at once; only an abort that came before the spare was made leaves a moment without one.
    const res = await eventually(async () => {
      const r = await act(gw, 'SELECT 1 AS one');
      return r.status === 200 ? r : undefined;
    }, 30_000);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.results[0]).toMatchObject({ fields: ['one'], rows: [[1]] });
  });
});
