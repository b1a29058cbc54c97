/**
 * Long SQL texts off the paths that decide: the policy simulator (REST and
 * the console's form) derived the facts of the SQL it was given where it
 * was called, so 1,000,000 characters of SQL held every other agent, session
 * and REST call for the seconds they took to parse and walk, however often
 * one sent them. A long text there is analysed on the analysis thread, as a
 * submitted one is: others are answered meanwhile, and the simulation gets
 * its own answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

/** 999,999 characters: 111,111 statements, under the bound on an action's SQL. */
const FLOOD = 'SELECT 3;'.repeat(111_111);
const READS = 3;

describe.skipIf(!db)('a long SQL text simulated while others are answered (real PostgreSQL)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(
      `connections:
  - name: app-db
    kind: postgres
    url: \${APP_DB_URL}
policy:
  default: deny
  rules:
    - id: short-reads
      when: facts.sql.readOnly && facts.sql.statements.size() < 100
      effect: allow
`,
      // The simulation is analysed for at most 2 s (cut then, whatever its size): long enough for the reads, no longer.
      { env: { APP_DB_URL: db?.url ?? '' }, server: 'sqlAnalysisSeconds: 2' },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  it('another agent\'s reads are judged and run while the simulation is analysed; the simulation gets its decision', { timeout: 120_000 }, async () => {
    let done = false;
    const simulation = gw.as('alice', '/v1/policy/simulate', { body: { principal: 'deploy-bot', connection: 'app-db', input: { sql: FLOOD } } }).finally(() => {
      done = true;
    });
    const answeredMeanwhile: number[] = [];
    for (let i = 0; i < READS && !done; i++) {
      const read = await gw.as('other-bot', '/v1/actions', { body: { connection: 'app-db', input: { sql: `SELECT ${i} AS n` }, reason: 'e2e' } });
      expect(read.status).toBe(200);
      expect(read.body.result.results[0]).toMatchObject({ fields: ['n'], rows: [[i]] });
      if (!done) answeredMeanwhile.push(i);
    }
    const res = await simulation;
    expect(answeredMeanwhile).toEqual([...Array(READS).keys()]);
    // Its own decision: 111,111 statements are more than the rule allows, so the default (deny); or the time limit's refusal.
    if (res.status === 422) expect(res.body.error).toMatchObject({ code: 'INPUT_UNPARSEABLE', message: expect.stringContaining('within 2 s') });
    else {
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
      expect(res.body).toMatchObject({ principal: 'deploy-bot', effect: 'deny' });
      expect(res.body.facts.sql.statements).toHaveLength(111_111);
    }
  });
});
