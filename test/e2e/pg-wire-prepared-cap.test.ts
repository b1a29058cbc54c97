/**
 * The Postgres wire listener keeps each session's prepared statements (their
 * text, to judge a Bind and Execute by): a client preparing statement after
 * statement under new names, each up to 1,000,000 characters, grew the
 * gateway's one heap, shared by every session and the REST API, without
 * bound. Past 8,000,000 characters of prepared text (or 2,000 statements) in
 * one session a Parse is refused with 53400 and nothing is prepared; closing
 * a statement frees its share, and other sessions are untouched. A portal's
 * values are held alike (and, as in Postgres, dropped when its transaction ends).
 */
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY as POLICY, errors, queryOnce, Raw } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!db)('the Postgres wire listener: prepared statements per session', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  /** A Bind of one text value (pg-protocol's own marks a value this large as binary). */
  const bindText = (portal: string, statement: string, value: string) => {
    const body = Buffer.concat([Buffer.from(`${portal}\0${statement}\0`), Buffer.from([0, 1, 0, 0, 0, 1]), Buffer.alloc(4), Buffer.from(value), Buffer.from([0, 0])]);
    body.writeInt32BE(Buffer.byteLength(value), Buffer.byteLength(`${portal}\0${statement}\0`) + 6);
    const head = Buffer.alloc(5);
    head.write('B');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };

  /** 500,000 characters of a read: sixteen fill the session's share. */
  const text = (i: number) => `SELECT ${i} AS n, '${'x'.repeat(500_000 - 30)}' AS pad`;

  it('past the bound a Parse is refused with 53400; a Close frees its share; another session is served', { timeout: 120_000 }, async () => {
    const c = await Raw.open(gw);
    try {
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < 20; i++) {
        c.send(serialize.parse({ name: `s${i}`, text: text(i) }), serialize.sync());
        codes.push(...errors(await c.until('readyForQuery')));
      }
      expect(codes).toEqual(['53400', '53400', '53400', '53400']);

      // Another session runs while this one holds its share.
      expect((await queryOnce(gw, 'SELECT 1 AS one')).codes).toEqual([]);

      // A statement prepared before the bound still runs; closing one makes room for another.
      c.send(serialize.bind({ statement: 's0' }), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      c.send(serialize.close({ type: 'S', name: 's1' }), serialize.sync());
      await c.until('readyForQuery');
      c.send(serialize.parse({ name: 'again', text: text(99) }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
    } finally {
      c.end();
    }
  });

  it('bound portals count alike: past the bound a Bind is refused with 53400 and the session goes on', { timeout: 120_000 }, async () => {
    const c = await Raw.open(gw);
    try {
      c.send(serialize.parse({ name: 'p', text: 'SELECT length($1::text) AS n' }), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      // Within a transaction block each named portal lives on, with its values; each one run is a read the policy allows.
      c.send(serialize.query('BEGIN'));
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < 20; i++) {
        c.send(bindText(`q${i}`, 'p', 'x'.repeat(500_000)), serialize.execute({ portal: `q${i}` }), serialize.sync());
        codes.push(...errors(await c.until('readyForQuery')));
      }
      expect(codes).toEqual(['53400', '53400', '53400', '53400']);
      // Another session is served; closing a portal makes room in this one.
      expect((await queryOnce(gw, 'SELECT 1 AS one')).codes).toEqual([]);
      c.send(serialize.close({ type: 'P', name: 'q0' }), serialize.sync());
      await c.until('readyForQuery');
      c.send(serialize.bind({ statement: 'p', values: ['abc'] }), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual([]);
    } finally {
      c.end();
    }
  });
});
