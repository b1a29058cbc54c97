/**
 * The session check and the statement it lets run are two statements on the server: in READ COMMITTED each reads the
 * catalogs as they are when it starts. A schema change another session commits between them (a view replaced by one
 * calling a function with an effect) would run under a verdict given to what was there before. A read racing a
 * session that keeps swapping a view, through the gateway, between a harmless body and one calling lo_from_bytea (an
 * effect a READ ONLY transaction allows) is either refused or runs the harmless body, never the other, over the wire
 * listener and REST alike. (The swaps are the same agent's here, under a rule allowing creates by type; any principal's
 * schema change through the gateway is latched the same way.)
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** Reads without a human; the agent's own objects (tables, views) by type; nothing else. */
const POLICY = `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: reads
      when: facts.sql.readOnly
      effect: allow
    - id: own-objects
      when: facts.sql.statements.all(s, s.type == "create")
      effect: allow
    - id: transactions
      when: facts.sql.statements.all(s, s.type == "transaction")
      effect: allow
`;

const HARMLESS = 'CREATE OR REPLACE VIEW v AS SELECT 1 AS x';
const EFFECT = "CREATE OR REPLACE VIEW v AS SELECT pg_catalog.lo_from_bytea(0, 'x')::text::int AS x";

describe.skipIf(!db)('a schema change between the session check and the statement', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  const wire = async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: 'deploy-bot', password: gw.keys['deploy-bot'], database: 'app-db' });
    await c.connect();
    return c;
  };
  const largeObjects = async () => (await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows[0]!.n;

  beforeAll(async () => {
    direct = new pg.Client({ connectionString: db!.url });
    await direct.connect();
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await direct?.end();
  });

  /** Swaps v through the gateway (as the agent may) while `read` runs 150 times; what the reads got. */
  async function race(read: () => Promise<boolean>): Promise<{ ran: number; refused: number }> {
    const swapper = await wire();
    await swapper.query(HARMLESS);
    let stop = false;
    const swapping = (async () => {
      while (!stop) {
        await swapper.query(EFFECT);
        await swapper.query(HARMLESS);
      }
    })();
    let ran = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 150; i++) (await read()) ? ran++ : refused++;
    } finally {
      stop = true;
      await swapping;
      await swapper.end();
    }
    return { ran, refused };
  }

  it('the view swapped before it is refused as it is (the check sees it), and lo_from_bytea never runs', async () => {
    const c = await wire();
    try {
      await c.query(EFFECT);
      await expect(c.query('SELECT x FROM v')).rejects.toMatchObject({ code: '55000' });
      await c.query(HARMLESS);
      expect((await c.query('SELECT x FROM v')).rows).toEqual([{ x: 1 }]);
    } finally {
      await c.end();
    }
    expect(await largeObjects()).toBe(0);
  });

  it('over the wire listener: a read racing the swaps runs the harmless view or is refused; no large object is made', async () => {
    const before = await largeObjects();
    const reader = await wire();
    try {
      const got = await race(() => reader.query('SELECT x FROM v').then(() => true, (e: { code?: string }) => (expect(e.code).toBe('55000'), false)));
      // Both sides of the race were met: reads that ran, and reads the check refused.
      expect(got.ran).toBeGreaterThan(0);
      expect(got.refused).toBeGreaterThan(0);
    } finally {
      await reader.end();
    }
    expect(await largeObjects()).toBe(before);
  }, 120_000);

  it('over REST: the same', async () => {
    const before = await largeObjects();
    const got = await race(async () => {
      const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql: 'SELECT x FROM v' }, reason: 'race' } });
      const body = res.body as { status?: string; error?: { code?: string } };
      if (body.status === 'succeeded') return true;
      expect(body.error?.code).toBe('SQL_SESSION_UNSAFE');
      return false;
    });
    expect(got.ran).toBeGreaterThan(0);
    expect(got.refused).toBeGreaterThan(0);
    expect(await largeObjects()).toBe(before);
  }, 120_000);

  it('a read after a schema change in the same open block still runs (the session does not wait on itself)', async () => {
    const c = await wire();
    try {
      await c.query('BEGIN');
      await c.query('CREATE TABLE mine (id int)');
      expect((await c.query('SELECT count(*)::int AS n FROM mine')).rows).toEqual([{ n: 0 }]);
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });
});
