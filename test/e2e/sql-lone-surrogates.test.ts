/**
 * A SQL action's text and its bound parameters reach PostgreSQL as UTF-8 (the
 * protocol's client_encoding). A lone UTF-16 surrogate (`"\ud800"`, valid in
 * JSON) has none: node-postgres wrote U+FFFD (EF BF BD), so the database
 * stored and compared a value the request, its policy decision and its audit
 * record did not name, and two inputs that differ only in which surrogate
 * they hold wrote the same row. Refused at submit (400 INVALID_INPUT naming
 * the field), nothing recorded or run. Real PostgreSQL; the table is read
 * back directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/postgres.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeCounts } from '../support/store-view.ts';

const db = await createTestDatabase();
let gw: TestGateway;
let pg: import('pg').Client;

beforeAll(async () => {
  if (!db) return;
  pg = new (await import('pg')).default.Client({ connectionString: db.url });
  await pg.connect();
  await pg.query('CREATE TABLE notes (body text)');
  gw = await startTestGateway(`connections:
  - { name: notes-db, kind: postgres, url: "${db.url}" }
policy:
  default: allow
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await pg?.end();
  await db?.drop();
});

const run = (input: Record<string, unknown>, reason = 'keep a note') => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'notes-db', input, reason } });

/** The notes PostgreSQL holds, each as the hex of its UTF-8 bytes. */
const stored = async () => (await pg.query<{ hex: string }>("SELECT encode(convert_to(body, 'UTF8'), 'hex') AS hex FROM notes ORDER BY hex")).rows.map((r) => r.hex);

describe.skipIf(!db)('a lone surrogate in a SQL action', () => {
  it.each([
    ['the SQL text', { sql: "INSERT INTO notes VALUES ('a\ud800b')" }, 'input.sql'],
    ['a bound parameter', { sql: 'INSERT INTO notes VALUES ($1)', params: ['a\udc00b'] }, 'input.params.0'],
    ['a later parameter', { sql: 'INSERT INTO notes VALUES ($1), ($2)', params: ['ok', '\ude00\ud83d'] }, 'input.params.1'],
  ])('in %s → 400 INVALID_INPUT at submit, nothing recorded or written', async (_name, input, field) => {
    const before = await storeCounts(gw.deps.store);
    const rows = await stored();
    const res = await run(input);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.message).toContain(field);
    expect(res.body.error.message).toMatch(/surrogate/);
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    // A write after it lands, and is the only change.
    expect((await run({ sql: "INSERT INTO notes VALUES ('after')" })).body.status).toBe('succeeded');
    expect(await stored()).toEqual([...rows, Buffer.from('after').toString('hex')].sort());
    await pg.query("DELETE FROM notes WHERE body = 'after'");
  });

  it('in the reason → 400 INVALID_INPUT naming the reason, nothing recorded or run', async () => {
    const before = await storeCounts(gw.deps.store);
    const rows = await stored();
    const res = await run({ sql: "INSERT INTO notes VALUES ('reasoned')" }, 'because \ud800');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.message).toContain('reason');
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    expect(await stored()).toEqual(rows);
  });

  it('a well-formed pair (an emoji), in the text and as a parameter, is stored as its own UTF-8 bytes', async () => {
    const res = await run({ sql: "INSERT INTO notes VALUES ('x\u{1F600}'), ($1)", params: ['y\u{1F600}'] }, 'keep \u{1F600}');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    const rows = await stored();
    expect(rows).toContain(Buffer.from('x\u{1F600}').toString('hex'));
    expect(rows).toContain(Buffer.from('y\u{1F600}').toString('hex'));
    await pg.query('DELETE FROM notes');
  });
});
