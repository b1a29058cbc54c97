/**
 * The Postgres wire listener: the text of a statement is bounded before
 * anything parses it. An action's SQL may have 1,000,000 characters, but the
 * listener parsed a Query whose text holds the letters of COPY (to read a
 * COPY FROM STDIN's data first) before that bound was checked, and a message
 * may carry 64 MiB: the parser runs on the gateway's one thread and its
 * WebAssembly memory never shrinks, so 4 MB of `SELECT 1;` held every session
 * and the REST API for about 12 s, and 16 MB grew the process by some 700 MB
 * for good. A Query or Parse over the bound is answered 54000, nothing is
 * submitted, and the session goes on.
 */
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY as POLICY, errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { requests } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!db)('the Postgres wire listener: statements over 1,000,000 characters', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(POLICY, {
      env: { APP_DB_URL: db!.url },
      server: 'postgres: { port: 0, holdSeconds: 0 }',
      // alice reads every request as an auditor.
      principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)),
    });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  /** A read of one literal, `chars` long in all: cheap to parse, so only the bound refuses it. */
  const big = (chars: number) => `SELECT '${'x'.repeat(chars - 9)}'`;

  it('a Query over the bound is refused with 54000 before it is parsed, even where it names COPY; one at the bound runs; the session goes on', async () => {
    const c = await Raw.open(gw);
    try {
      const before = (await requests(gw)).length;
      // 4 MB of statements behind a comment that names COPY: what the listener parsed first to look for a COPY FROM STDIN.
      c.send(serialize.query(`/* copy */ ${'SELECT 1;'.repeat(450_000)}`));
      const flood = await c.until('readyForQuery');
      expect(errors(flood)).toEqual(['54000']);
      expect(flood.find((m) => m.name === 'error')?.message).toContain('1000000 characters');
      c.send(serialize.query(big(1_000_001)));
      const over = await c.until('readyForQuery');
      expect(errors(over)).toEqual(['54000']);
      expect(rowsOf(over)).toEqual([]);
      expect((await requests(gw)).length).toBe(before);
      // At the bound: judged and run as any read.
      c.send(serialize.query(big(1_000_000)));
      const fits = await c.until('readyForQuery');
      expect(errors(fits)).toEqual([]);
      expect(rowsOf(fits)).toHaveLength(1);
      expect((await requests(gw)).length).toBe(before + 1);
    } finally {
      c.end();
    }
  });

  it('a Parse over it: 54000, the rest of the batch skipped to its Sync, nothing submitted; inside a block, the block fails', async () => {
    const c = await Raw.open(gw);
    try {
      const before = (await requests(gw)).length;
      c.send(serialize.parse({ text: `/* copy */ ${'SELECT 1;'.repeat(450_000)}` }), serialize.bind({}), serialize.execute({}), serialize.sync());
      const answer = await c.until('readyForQuery');
      expect(errors(answer)).toEqual(['54000']);
      expect(rowsOf(answer)).toEqual([]);
      c.send(serialize.query('BEGIN'));
      await c.until('readyForQuery');
      c.send(serialize.query(big(1_000_001)));
      const inBlock = await c.until('readyForQuery');
      expect(errors(inBlock)).toEqual(['54000']);
      expect(inBlock.at(-1)?.status).toBe('E');
      c.send(serialize.query('ROLLBACK'));
      await c.until('readyForQuery');
      c.send(serialize.query('SELECT 42'));
      expect(rowsOf(await c.until('readyForQuery'))).toEqual([['42']]);
      expect((await requests(gw)).length).toBe(before + 3);
    } finally {
      c.end();
    }
  });
});
