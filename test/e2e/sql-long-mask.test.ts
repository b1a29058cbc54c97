/**
 * The audit copy of a long SQL text on a connection with secret columns.
 * Its masking parsed the text, and the masked copy again, on the thread that
 * answers everyone: 1,000,000 characters held every other agent's call for
 * seconds, on each submission. Where the secret values sit is now found on
 * the analysis thread with the facts (mask-soon.test.ts shows no parse is
 * left on the calling thread); the audit write only puts the masks in. End
 * to end: the log holds no secret, and others are answered meanwhile.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

/** About 300 KB: one write of a secret, then statements enough to take a second or more to parse and mask (and few enough for policy). */
const LONG = `UPDATE users SET password = 'long-text-secret' WHERE id = 1; ${`SELECT lower('${'x'.repeat(36)}');`.repeat(6_000)}`;
const READS = 3;

describe.skipIf(!db)('a long SQL text on a connection with secret columns (real PostgreSQL)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    const client = new pg.Client({ connectionString: db!.url });
    await client.connect();
    await client.query('CREATE TABLE users (id int PRIMARY KEY, password text)');
    await client.end();
    gw = await startTestGateway(
      `connections:
  - { name: users-db, kind: postgres, url: "${db!.url}", secretColumns: [users.password] }
policy:
  default: deny
  rules:
    - id: short-reads
      when: facts.sql.readOnly && facts.sql.statements.size() < 100
      effect: allow
    - id: writes
      when: facts.sql.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  it('is held with its secret masked in the log, while another agent\'s reads are judged and run', { timeout: 120_000 }, async () => {
    let done = false;
    const held = gw.as('deploy-bot', '/v1/actions', { body: { connection: 'users-db', input: { sql: LONG }, reason: 'e2e' } }).finally(() => {
      done = true;
    });
    const answeredMeanwhile: number[] = [];
    for (let i = 0; i < READS && !done; i++) {
      const read = await gw.as('other-bot', '/v1/actions', { body: { connection: 'users-db', input: { sql: `SELECT ${i} AS n` }, reason: 'e2e' } });
      expect(read.status).toBe(200);
      expect(read.body.result.results[0]).toMatchObject({ fields: ['n'], rows: [[i]] });
      if (!done) answeredMeanwhile.push(i);
    }
    const res = await held;
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(202);
    expect(answeredMeanwhile).toEqual([...Array(READS).keys()]);
    const log = new Database(gw.dbPath, { readonly: true });
    const bodies = (log.prepare('SELECT body FROM audit_events').pluck().all() as string[]).join('\n');
    log.close();
    expect(bodies).not.toContain('long-text-secret');
    expect(bodies).toMatch(/password = 'hmac-sha256:[0-9a-f]{64}'/);
  });
});
