/**
 * The session check's cached verdict (guard-cache.ts) on a real PostgreSQL:
 * with the cache warm, whatever another session (or the agent's own) does
 * that could change the check's answer makes the next statement refused
 * exactly as without the cache, and nothing of it runs. A hit is seen on the
 * server: the session's prepared check does not run again.
 */
import fc from 'fast-check';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import type { WireOutcome, WireUpstream } from '../../../core/ports.ts';
import { createPostgresConnection } from './connection.ts';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';
import { installDdlEpochSql, stateSql, verifySql } from './guard-cache.ts';

const db = await createTestDatabase();

/** A wire session as the listener holds one: what reached the client, and each statement's outcome. */
async function session(handle: ReturnType<typeof createPostgresConnection>) {
  let seen: Buffer[] = [];
  const up: WireUpstream = await handle.openWireSession!((b) => void seen.push(Buffer.from(b)));
  return {
    up,
    async run(sql: string): Promise<{ outcome: WireOutcome; client: Buffer }> {
      seen = [];
      let readOnly = false;
      try {
        readOnly = deriveSqlFacts(sql).readOnly;
      } catch {
        // Refused by the facts (a SET of a pinned setting): the session refuses it the same way below.
      }
      const outcome = await up.run({ sql }, { parts: [{ raw: serialize.query(sql), kind: 'query' }], readOnly });
      return { outcome, client: Buffer.concat(seen) };
    },
  };
}
type Session = Awaited<ReturnType<typeof session>>;

/** What pg_prepared_statements calls, off the built-in allow-list: the counting below reads the view through the session. */
const COUNTING = ['pg_catalog.pg_prepared_statement'];

/** How often this session's session check and verifier ran on the server. */
async function runs(s: Session): Promise<{ guard: number; verify: number }> {
  const r = await s.run(
    "SELECT name, generic_plans + custom_plans FROM pg_catalog.pg_prepared_statements WHERE name IN ('countersign_guard', 'countersign_cache_verify')",
  );
  expect(r.outcome.ok).toBe(true);
  const rows = dataRows(r.client);
  const of = (n: string) => Number(rows.find((row) => row[0] === `countersign_${n}`)?.[1] ?? 0);
  return { guard: of('guard'), verify: of('cache_verify') };
}

/** The text columns of each DataRow in `bytes` (backend messages). */
function dataRows(bytes: Buffer): string[][] {
  const rows: string[][] = [];
  for (let at = 0; at < bytes.length; ) {
    const type = String.fromCharCode(bytes[at]!);
    const len = bytes.readInt32BE(at + 1);
    if (type === 'D') {
      const row: string[] = [];
      let p = at + 7;
      for (let i = 0; i < bytes.readInt16BE(at + 5); i++) {
        const n = bytes.readInt32BE(p);
        row.push(n < 0 ? '' : bytes.toString('utf8', p + 4, p + 4 + n));
        p += 4 + Math.max(0, n);
      }
      rows.push(row);
    }
    at += 1 + len;
  }
  return rows;
}

describe.skipIf(!db)('the session check cache (real PostgreSQL)', () => {
  const url = db?.url ?? '';
  let admin: pg.Client;
  let cachedDb: ReturnType<typeof createPostgresConnection>;
  let plainDb: ReturnType<typeof createPostgresConnection>;
  let cached: Session;
  let plain: Session;

  beforeAll(async () => {
    await loadSqlParser();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(installDdlEpochSql('countersign'));
    await admin.query(`CREATE TABLE orders (id int PRIMARY KEY, note text);
      INSERT INTO orders VALUES (1, 'A'), (2, 'B');
      CREATE VIEW v AS SELECT id FROM orders;
      CREATE TYPE mood AS ENUM ('ok');
      CREATE FUNCTION public.leak(x int) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'leak ran'; RETURN x; END$$;
      CREATE FUNCTION public.mood_int(m mood) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'leak ran'; RETURN 1; END$$;`);
    cachedDb = createPostgresConnection({ name: 'cached', url, tags: {}, sessionCheckCache: { schema: 'countersign' }, readOnlyFunctions: COUNTING });
    plainDb = createPostgresConnection({ name: 'plain', url, tags: {}, readOnlyFunctions: COUNTING });
    cached = await session(cachedDb);
    plain = await session(plainDb);
  });

  afterAll(async () => {
    await cached?.up.release();
    await plain?.up.release();
    await cachedDb?.close();
    await plainDb?.close();
    await admin?.end();
    await db?.drop();
  });

  /** Runs `sql` on the cached session until a run is a hit (the check does not run again), and returns its result. */
  async function warm(sql: string): Promise<{ outcome: WireOutcome; client: Buffer }> {
    await cached.run(sql);
    await runs(cached); // the counting query's own verdict is cached from here on
    const before = await runs(cached);
    const hit = await cached.run(sql);
    const after = await runs(cached);
    expect(hit.outcome.ok).toBe(true);
    expect(after.guard).toBe(before.guard);
    expect(after.verify).toBeGreaterThan(before.verify);
    return hit;
  }

  /** The statement is refused on the warm cached session exactly as on the session without a cache, and nothing of it ran. */
  async function refusedAlike(sql: string): Promise<void> {
    const without = await plain.run(sql);
    const with_ = await cached.run(sql);
    expect(without.outcome.ok).toBe(false);
    expect(with_.outcome).toEqual(without.outcome);
    expect(with_.outcome.error?.code).toBe('SQL_SESSION_UNSAFE');
    expect(with_.client.length).toBe(0);
    expect(without.client.length).toBe(0);
    expect(cached.up.status()).toBe('I');
  }

  it('a hit runs the statement with its real result, without the check, behind the verifier', async () => {
    const hit = await warm("SELECT note FROM orders WHERE id = 1");
    const direct = await plain.run("SELECT note FROM orders WHERE id = 1");
    expect(hit.client).toEqual(direct.client);
    expect(hit.outcome).toEqual(direct.outcome);
    expect(hit.client.toString()).toContain('A');
  });

  const attacks: { name: string; sql: string; attack: string; undo: string }[] = [
    { name: 'a function of the same name on the search_path', sql: 'SELECT lower(note) FROM orders', attack: "CREATE FUNCTION public.lower(int) RETURNS int LANGUAGE sql AS 'SELECT 1'", undo: 'DROP FUNCTION public.lower(int)' },
    { name: 'a view replaced to call a function not allowed', sql: 'SELECT id FROM v', attack: 'CREATE OR REPLACE VIEW v AS SELECT public.leak(id) AS id FROM orders', undo: 'CREATE OR REPLACE VIEW v AS SELECT id FROM orders' },
    { name: 'a row-level-security policy calling one', sql: 'SELECT id FROM orders', attack: 'ALTER TABLE orders ENABLE ROW LEVEL SECURITY; ALTER TABLE orders FORCE ROW LEVEL SECURITY; CREATE POLICY p ON orders USING (public.leak(id) > 0)', undo: 'DROP POLICY p ON orders; ALTER TABLE orders DISABLE ROW LEVEL SECURITY' },
    { name: 'a cast', sql: 'SELECT id FROM orders', attack: 'CREATE CAST (mood AS int) WITH FUNCTION public.mood_int(mood)', undo: 'DROP CAST (mood AS int)' },
    { name: 'a domain CHECK', sql: 'SELECT id FROM orders', attack: 'CREATE DOMAIN checked AS int CHECK (public.leak(VALUE) > 0)', undo: 'DROP DOMAIN checked' },
  ];

  for (const a of attacks) {
    it(`another session adds ${a.name}: the next statement is refused as without the cache`, async () => {
      await warm(a.sql);
      await admin.query(a.attack);
      try {
        await refusedAlike(a.sql);
      } finally {
        await admin.query(a.undo);
      }
      await warm(a.sql);
    });
  }

  it("a temporary view made in the agent's own session shadows a table: refused as without the cache", async () => {
    const sql = 'SELECT id FROM orders';
    await warm(sql);
    const made = await cached.run('CREATE TEMP VIEW orders AS SELECT public.leak(1) AS id');
    expect(made.outcome.ok).toBe(true);
    // The plain session has no such view: compare with the refusal it gives once it has one too.
    expect((await plain.run('CREATE TEMP VIEW orders AS SELECT public.leak(1) AS id')).outcome.ok).toBe(true);
    await refusedAlike(sql);
    for (const s of [cached, plain]) expect((await s.run('DROP VIEW pg_temp.orders')).outcome.ok).toBe(true);
    await warm(sql);
  });

  it("SET search_path and SET ROLE in the agent's session are refused with or without the cache, and the cache still serves", async () => {
    const sql = 'SELECT id FROM orders';
    await warm(sql);
    for (const set of ['SET search_path = public, pg_catalog', 'SET ROLE postgres', "SELECT set_config('search_path', 'public', false)"]) {
      const a = await plain.run(set);
      const b = await cached.run(set);
      expect(a.outcome.ok).toBe(false);
      expect(b.outcome).toEqual(a.outcome);
      expect(b.client.length).toBe(0);
    }
    await warm(sql);
  });

  const triggerAttacks: { name: string; before: string; after: string }[] = [
    { name: 'disables the event trigger', before: 'ALTER EVENT TRIGGER countersign_ddl_epoch_end DISABLE', after: 'ALTER EVENT TRIGGER countersign_ddl_epoch_end ENABLE ALWAYS' },
    { name: 'sets it to fire on origin only', before: 'ALTER EVENT TRIGGER countersign_ddl_epoch_end ENABLE', after: 'ALTER EVENT TRIGGER countersign_ddl_epoch_end ENABLE ALWAYS' },
    {
      name: 'drops the event trigger and makes it again',
      before: 'DROP EVENT TRIGGER countersign_ddl_epoch_end',
      after: 'CREATE EVENT TRIGGER countersign_ddl_epoch_end ON ddl_command_end EXECUTE FUNCTION countersign.bump_ddl_epoch(); ALTER EVENT TRIGGER countersign_ddl_epoch_end ENABLE ALWAYS',
    },
    {
      name: 'replaces the trigger function with one that does nothing, then restores it',
      before: 'CREATE OR REPLACE FUNCTION countersign.bump_ddl_epoch() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$BEGIN END$$',
      after: `CREATE OR REPLACE FUNCTION countersign.bump_ddl_epoch() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$BEGIN UPDATE "countersign".ddl_epoch SET epoch = epoch OPERATOR(pg_catalog.+) 1; END$$`,
    },
    { name: 'sets the counter back by hand', before: 'SELECT 1', after: 'UPDATE countersign.ddl_epoch SET epoch = epoch - 1' },
    { name: 'runs the DDL as a replica session', before: 'SET session_replication_role = replica', after: 'RESET session_replication_role' },
  ];

  for (const t of triggerAttacks) {
    it(`another session ${t.name} around DDL: refused as without the cache`, async () => {
      const sql = 'SELECT lower(note) FROM orders';
      await warm(sql);
      // One connection, so the session setting applies to the DDL.
      await admin.query(`${t.before}; CREATE FUNCTION public.lower(int) RETURNS int LANGUAGE sql AS 'SELECT 1'; ${t.after}`);
      try {
        await refusedAlike(sql);
      } finally {
        await admin.query('DROP FUNCTION public.lower(int)');
      }
      await warm(sql);
    });
  }

  it('inside the client’s transaction block: a stale verdict leaves the block usable and the write refused as without the cache', async () => {
    const sql = "UPDATE orders SET note = lower(note) WHERE id = 2";
    let made = false;
    try {
      for (const s of [cached, plain]) expect((await s.run('BEGIN')).outcome.ok).toBe(true);
      await warm(sql);
      await admin.query("CREATE FUNCTION public.lower(int) RETURNS int LANGUAGE sql AS 'SELECT 1'");
      made = true;
      const without = await plain.run(sql);
      const with_ = await cached.run(sql);
      expect(without.outcome.ok).toBe(false);
      expect(with_.outcome).toEqual(without.outcome);
      expect(with_.client.length).toBe(0);
      expect(cached.up.status()).toBe('T');
      const read = await cached.run('SELECT note FROM orders WHERE id = 1');
      expect(read.outcome.ok).toBe(true);
    } finally {
      for (const s of [cached, plain]) await s.run('ROLLBACK');
      if (made) await admin.query('DROP FUNCTION public.lower(int)');
    }
  });

  it('the verifier fails when the session state changes: search_path, role, the counter row, temporary objects', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const state = async () => (await c.query<{ state: string | null }>(stateSql('countersign'))).rows[0]?.state;
      const verify = (s: string) => c.query(verifySql('countersign'), [s]);
      const s0 = (await state())!;
      expect(s0).toMatch(/postgres postgres \{pg_catalog,public\}  on safe_encoding UTF8$/);
      await expect(verify(s0)).resolves.toMatchObject({ rowCount: 1 });
      await c.query('SET search_path = public, pg_catalog');
      await expect(verify(s0)).rejects.toMatchObject({ code: '22P02' });
      await c.query('RESET search_path');
      await c.query('CREATE ROLE cs_guard_cache_r; SET ROLE cs_guard_cache_r');
      await expect(verify(s0)).rejects.toThrow();
      await c.query('RESET ROLE; DROP ROLE cs_guard_cache_r');
      await expect(verify(s0)).resolves.toMatchObject({ rowCount: 1 });
      await c.query('TRUNCATE countersign.ddl_epoch; INSERT INTO countersign.ddl_epoch VALUES (0)');
      await expect(verify(s0)).rejects.toMatchObject({ code: '22P02' });
      await c.query('INSERT INTO countersign.ddl_epoch VALUES (0)');
      expect(await state()).toBeNull();
      await c.query('DELETE FROM countersign.ddl_epoch WHERE ctid IN (SELECT ctid FROM countersign.ddl_epoch LIMIT 1)');
      // Temporary objects go without an event trigger (DISCARD TEMP, ON COMMIT DROP): the state names them itself.
      await c.query('CREATE TEMP TABLE cs_guard_cache_t (id int)');
      const s1 = (await state())!;
      await expect(verify(s1)).resolves.toMatchObject({ rowCount: 1 });
      await c.query('DISCARD TEMP');
      await expect(verify(s1)).rejects.toMatchObject({ code: '22P02' });
      await c.query('BEGIN; CREATE TEMP TABLE cs_guard_cache_t (id int) ON COMMIT DROP');
      const s2 = (await state())!;
      await c.query('COMMIT');
      await expect(verify(s2)).rejects.toMatchObject({ code: '22P02' });
    } finally {
      await c.end();
    }
  });

  // Each condition the state stands on, broken alone inside a transaction that is rolled back: no state, so no verdict
  // is served (the verifier fails on 'no epoch').
  const unsettled: { name: string; sql: string }[] = [
    { name: 'row-level security on the counter', sql: 'ALTER TABLE countersign.ddl_epoch ENABLE ROW LEVEL SECURITY' },
    { name: 'a rule on the counter', sql: 'CREATE RULE r AS ON UPDATE TO countersign.ddl_epoch DO INSTEAD NOTHING' },
    {
      name: 'a trigger on the counter',
      sql: `CREATE FUNCTION public.cs_skip() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
        CREATE TRIGGER t BEFORE UPDATE ON countersign.ddl_epoch FOR EACH ROW EXECUTE FUNCTION public.cs_skip()`,
    },
    { name: 'a child of the counter', sql: 'CREATE TABLE countersign.child () INHERITS (countersign.ddl_epoch)' },
    { name: 'a second counter row', sql: 'INSERT INTO countersign.ddl_epoch VALUES (0)' },
    { name: 'no counter row', sql: 'DELETE FROM countersign.ddl_epoch' },
    { name: 'an event trigger dropped', sql: 'DROP EVENT TRIGGER countersign_ddl_epoch_rewrite' },
    { name: 'an event trigger disabled', sql: 'ALTER EVENT TRIGGER countersign_ddl_epoch_drop DISABLE' },
    { name: 'an event trigger firing on origin only', sql: 'ALTER EVENT TRIGGER countersign_ddl_epoch_end ENABLE' },
    { name: 'the function made security invoker', sql: 'ALTER FUNCTION countersign.bump_ddl_epoch() SECURITY INVOKER' },
    { name: 'the function without its search_path', sql: 'ALTER FUNCTION countersign.bump_ddl_epoch() RESET search_path' },
    {
      name: 'the function body changed',
      sql: 'CREATE OR REPLACE FUNCTION countersign.bump_ddl_epoch() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$BEGIN END$$',
    },
  ];

  it('the state is none while any condition of the counter table, its row or the event triggers does not hold', async () => {
    const state = async () => (await admin.query<{ state: string | null }>(stateSql('countersign'))).rows[0]?.state ?? null;
    const s0 = await state();
    expect(s0).not.toBeNull();
    for (const u of unsettled) {
      await admin.query('BEGIN');
      try {
        expect(await state()).toBe(s0);
        await admin.query(u.sql);
        expect({ [u.name]: await state() }).toEqual({ [u.name]: null });
      } finally {
        await admin.query('ROLLBACK');
      }
    }
    await admin.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      expect(await state()).toBeNull();
    } finally {
      await admin.query('ROLLBACK');
    }
    expect(await state()).toBe(s0);
  });

  it('property: with DDL in between, the cached session answers every statement as the session without a cache', async () => {
    const statements = ['SELECT lower(note) FROM orders', 'SELECT id FROM v', 'SELECT id FROM orders', "UPDATE orders SET note = 'B' WHERE id = 2", 'SELECT 1; SELECT 1/0'];
    const ddl = [...attacks.map((a) => [a.attack, a.undo] as const)];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.integer({ min: 0, max: statements.length - 1 }).map((i) => ({ sql: statements[i]! })), fc.integer({ min: 0, max: ddl.length - 1 }).map((i) => ({ ddl: i }))), { minLength: 4, maxLength: 14 }), async (steps) => {
        const on = new Set<number>();
        try {
          for (const step of steps) {
            if ('ddl' in step) {
              await admin.query(on.has(step.ddl) ? ddl[step.ddl]![1] : ddl[step.ddl]![0]);
              if (on.has(step.ddl)) on.delete(step.ddl);
              else on.add(step.ddl);
              continue;
            }
            const a = await plain.run(step.sql);
            const b = await cached.run(step.sql);
            expect(b.outcome).toEqual(a.outcome);
            expect(b.client).toEqual(a.client);
            expect(cached.up.status()).toBe(plain.up.status());
          }
        } finally {
          for (const i of on) await admin.query(ddl[i]![1]);
          for (const s of [cached, plain]) if (s.up.status() !== 'I') await s.run('ROLLBACK');
        }
      }),
      { numRuns: 12 },
    );
  });
});
