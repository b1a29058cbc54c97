/**
 * The check of an upstream session's prepared statements (prepared-watch.ts):
 * which Bind needs it, and, on a real PostgreSQL, that a statement of the
 * gateway's prepared again by SQL it could not see (a DO block) is caught
 * before its next use, with the session check cache or without.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import type { WireOutcome, WirePart, WireUpstream } from '../../../core/ports.ts';
import { createPostgresConnection } from './connection.ts';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';
import { installDdlEpochSql } from './guard-cache.ts';
import { boundStatement, CHECK_FAILED, PreparedWatch } from './prepared-watch.ts';

const part = (kind: WirePart['kind'], statement?: string): WirePart => ({ raw: Buffer.alloc(0), kind, ...(statement === undefined ? {} : { statement }) });

describe('which Bind is checked', () => {
  it('a named statement bound without its Parse before it; not the unnamed one, nor one parsed in the same flight', () => {
    expect(boundStatement([part('bind', 'tx'), part('execute')])).toBe('tx');
    expect(boundStatement([part('parse', 'tx'), part('bind', 'tx'), part('execute')])).toBeUndefined();
    // Parsed after the Bind: the Bind bound what the name held before.
    expect(boundStatement([part('bind', 'tx'), part('parse', 'tx'), part('execute')])).toBe('tx');
    expect(boundStatement([part('parse', 'other'), part('bind', 'tx'), part('execute')])).toBe('tx');
    expect(boundStatement([part('bind', ''), part('execute')])).toBeUndefined();
    expect(boundStatement([part('query')])).toBeUndefined();
  });

  it('after a write, every name until a check passes; a client statement once per write', () => {
    const w = new PreparedWatch();
    const bind = [part('bind', 'tx'), part('execute')];
    expect(w.needed([part('query')], 'SELECT 1', true)).toBeUndefined();
    expect(w.needed(bind, 'BEGIN', false)).toEqual(['tx', 'BEGIN']);
    w.passed(['tx', 'BEGIN']);
    expect(w.needed(bind, 'BEGIN', false)).toBeUndefined();
    w.wrote();
    expect(w.pending).toBe(true);
    expect(w.needed([part('query')], 'SELECT 1', false)).toBeUndefined();
    expect(w.needed([part('query')], 'SELECT 1', true)).toEqual([null, null]);
    w.passed([null, null]);
    expect(w.pending).toBe(false);
    expect(w.needed(bind, 'BEGIN', false)).toEqual(['tx', 'BEGIN']);
  });
});

const db = await createTestDatabase();

/** A wire session as the listener holds one, running simple Queries. */
async function session(handle: ReturnType<typeof createPostgresConnection>) {
  const up: WireUpstream = await handle.openWireSession!(() => undefined);
  return {
    up,
    run(sql: string): Promise<WireOutcome> {
      return up.run({ sql }, { parts: [{ raw: serialize.query(sql), kind: 'query' }], readOnly: deriveSqlFacts(sql).readOnly });
    },
  };
}

describe.skipIf(!db)('a statement of the gateway prepared again by a DO block (real PostgreSQL)', () => {
  const url = db?.url ?? '';
  let admin: pg.Client;
  const handles: ReturnType<typeof createPostgresConnection>[] = [];

  beforeAll(async () => {
    await loadSqlParser();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(installDdlEpochSql('countersign'));
    await admin.query("CREATE TABLE pw (id int PRIMARY KEY, note text); INSERT INTO pw VALUES (1, 'a'), (2, 'b')");
  });

  afterAll(async () => {
    for (const h of handles) await h.close();
    await admin?.end();
    await db?.drop();
  });

  const cases = [
    // Without the cache: the session check itself, made to pass whatever the statement.
    { how: 'without the cache', cache: false, name: 'countersign_guard', as: "SELECT '{}'::text" },
    // With it: the verifier of a cached verdict, made to pass whatever changed.
    { how: 'with the cache', cache: true, name: 'countersign_cache_verify', as: 'SELECT 1' },
  ];
  for (const c of cases) {
    it(`${c.how}: ${c.name} is checked before its next use, and the session is closed; nothing of the statement ran`, async () => {
      const handle = createPostgresConnection({ name: 'pw', url, tags: {}, ...(c.cache ? { sessionCheckCache: { schema: 'countersign' } } : {}) });
      handles.push(handle);
      const s = await session(handle);
      const read = "SELECT note FROM pw WHERE id = 1";
      // Warm: the verdict is cached (when the connection caches), and the gateway's statements are prepared.
      for (let i = 0; i < 3; i++) expect((await s.run(read)).ok).toBe(true);
      const types = c.name === 'countersign_guard' ? '(text[], text[], text[], text[], text[], text[])' : '(text)';
      expect((await s.run(`DO $$BEGIN EXECUTE 'DEALLOCATE ${c.name}'; EXECUTE 'PREPARE ${c.name}${types} AS ${c.as.replace(/'/g, "''")}'; END$$`)).ok).toBe(true);
      const refused = await s.run('UPDATE pw SET note = lower(note) WHERE id = 2');
      expect(refused).toMatchObject({ ok: false, relayed: false, error: { code: 'SQL_SESSION_UNSAFE', message: CHECK_FAILED } });
      expect((await admin.query('SELECT note FROM pw WHERE id = 2')).rows[0].note).toBe('b');
      // Closed: nothing more runs on it, and it does not go back to the pool.
      expect((await s.run(read)).ok).toBe(false);
      await s.up.release();
    });
  }
});
