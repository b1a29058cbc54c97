/**
 * A long SQL text held every other caller while it was parsed. The parser
 * (libpg-query) ran on the gateway's one thread: an action's SQL may have
 * 1,000,000 characters, and 1,000,000 characters of `SELECT 1;` took some
 * seconds to parse and walk, during which no session, REST call or other
 * agent was answered; an agent with its own key could send it again and
 * again. Each such text is analysed apart from the thread that answers, and
 * the others go on meanwhile: an agent's plain reads are judged and run, one
 * after another, while the long text is still in flight, and the long one
 * gets its own decision (or a refusal when it cannot be analysed in time).
 */
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

/** 999,999 characters: 111,111 statements, under the bound on an action's SQL (one per test: none is analysed before). */
const FLOOD = 'SELECT 1;'.repeat(111_111);
const WIRE_FLOOD = 'SELECT 2;'.repeat(111_111);
/** Reads a plain agent makes, one after another, while the flood is in flight; a stalled gateway answers none of them in that time. */
const READS = 3;

const POLICY = `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: short-reads
      when: facts.sql.readOnly && facts.sql.statements.size() < 100
      effect: allow
    - id: writes
      when: facts.sql.statements.all(s, s.type == "insert" || s.type == "create")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`;

describe.skipIf(!db)('a long SQL text is analysed while others are answered (real PostgreSQL)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    // Each flood is analysed for at most 2 s (cut then, whatever its size): long enough for the reads, no longer.
    gw = await startTestGateway(POLICY, { env: { APP_DB_URL: db?.url ?? '' }, server: 'sqlAnalysisSeconds: 2, postgres: { port: 0, holdSeconds: 0 }' });
  });

  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  const act = (who: string, sql: string) => gw.as(who, '/v1/actions', { body: { connection: 'app-db', input: { sql }, reason: 'e2e' } });

  it('REST: another agent\'s reads and /healthz are answered while the flood is analysed; the flood gets its decision', { timeout: 120_000 }, async () => {
    let floodDone = false;
    const flood = act('deploy-bot', FLOOD).finally(() => {
      floodDone = true;
    });
    const answeredMeanwhile: number[] = [];
    for (let i = 0; i < READS && !floodDone; i++) {
      const [read, health] = await Promise.all([act('other-bot', `SELECT ${i} AS n`), fetch(`${gw.url}/healthz`)]);
      expect(read.status).toBe(200);
      expect(read.body.result.results[0]).toMatchObject({ fields: ['n'], rows: [[i]] });
      expect(health.status).toBe(200);
      if (!floodDone) answeredMeanwhile.push(i);
    }
    const res = await flood;
    expect(answeredMeanwhile).toEqual([...Array(READS).keys()]);
    // Its own decision: 111,111 statements are more than the rule allows, so the default (deny) holds; or the time limit's refusal.
    if (res.status === 422) expect(res.body.error).toMatchObject({ code: 'INPUT_UNPARSEABLE', message: expect.stringContaining('within 2 s') });
    else {
      expect(res.status).toBe(403);
      expect(JSON.stringify(res.body)).toMatch(/denied|DENIED/);
    }
  });

  it('the wire listener: a flood Query on one session does not hold another session\'s SELECT 1', { timeout: 120_000 }, async () => {
    const a = await Raw.open(gw, 'deploy-bot');
    const b = await Raw.open(gw, 'other-bot');
    try {
      let floodDone = false;
      a.send(serialize.query(WIRE_FLOOD));
      const flood = a.until('readyForQuery').finally(() => {
        floodDone = true;
      });
      const answeredMeanwhile: number[] = [];
      for (let i = 0; i < READS && !floodDone; i++) {
        b.send(serialize.query(`SELECT ${i}`));
        const got = await b.until('readyForQuery');
        expect(errors(got)).toEqual([]);
        expect(rowsOf(got)).toEqual([[String(i)]]);
        if (!floodDone) answeredMeanwhile.push(i);
      }
      const answer = await flood;
      expect(answeredMeanwhile).toEqual([...Array(READS).keys()]);
      expect(errors(answer)).toHaveLength(1);
      expect(rowsOf(answer)).toEqual([]);
    } finally {
      a.end();
      b.end();
    }
  });

  it('a long held write, approved after other long texts were analysed, is judged again and runs', { timeout: 120_000 }, async () => {
    const sql = `CREATE TABLE IF NOT EXISTS long_writes (n int); ${'INSERT INTO long_writes VALUES (1); '.repeat(600)}`;
    const held = await act('deploy-bot', sql);
    expect(held.status).toBe(202);
    // More long texts than the gateway keeps analyses of: the held one is analysed again when it is approved.
    for (let i = 0; i < 5; i++) expect((await act('other-bot', `SELECT ${i};`.repeat(3_000))).status).toBe(403);
    expect((await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const done = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${held.body.id}`);
      return ['succeeded', 'failed', 'denied'].includes(r.body.status) ? r : undefined;
    }, 60_000);
    expect(done.body.status).toBe('succeeded');
    expect(done.body.result.results).toHaveLength(601);
    expect(done.body.result.results[600]).toMatchObject({ command: 'INSERT', rowCount: 1 });
  });
});
