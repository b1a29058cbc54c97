/**
 * Long SQL texts (over 16 KiB) are analysed on one thread, one at a time.
 * Served first come, first served, one agent sending many of them at once
 * made every other agent's long text wait behind all of them, and be refused
 * once its 10 s ran out: one principal could starve the rest. Each principal
 * now has at most two long texts in the queue (more are refused at once with
 * 429 TOO_MANY_ANALYSES), and the queue takes principals in turn, so another
 * principal's long text is analysed after at most the one in progress.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

/** About 1 MB each, each one other (none answered from what the gateway remembers of another). */
const flood = (i: number) => `SELECT ${i};`.repeat(Math.floor(999_000 / `SELECT ${i};`.length));
const FLOOD = 8;
/** Over 16 KiB, cheap to analyse, allowed: one statement after a long comment. */
const SMALL_LONG = `/* ${'x'.repeat(20_000)} */ SELECT 1 AS one`;

describe.skipIf(!db)('long SQL texts of one principal do not starve another\'s (real PostgreSQL)', () => {
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
      // Each flood is analysed for at most 2 s (cut then): the other principal's text waits behind one of them, no longer.
      { env: { APP_DB_URL: db?.url ?? '' }, server: 'sqlAnalysisSeconds: 2' },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await db?.drop();
  });

  /** Sends an action; `sent` settles once its whole body has left (the gateway has it to read, ahead of what is sent after). */
  const send = (who: string, sql: string) => {
    const body = JSON.stringify({ connection: 'app-db', input: { sql }, reason: 'e2e' });
    let sent!: () => void;
    const flushed = new Promise<void>((r) => (sent = r));
    const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(`${gw.url}/v1/actions`, { method: 'POST', headers: { authorization: `Bearer ${gw.keys[who]}`, 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      req.on('finish', sent);
      req.end(body);
    });
    return { answer, flushed };
  };

  it('another principal\'s long text is analysed and answered while one floods; the flood past its share is refused at once', { timeout: 300_000 }, async () => {
    // The analysis thread started and ready first: its start is nobody's text, and on a loaded machine it can take
    // longer than a wait limit of 3 times 2 s (a text other than SMALL_LONG, which must not be answered from memory).
    expect((await send('other-bot', SMALL_LONG.replace('SELECT 1 AS one', 'SELECT 2 AS two')).answer).status).toBe(200);
    const floods = Array.from({ length: FLOOD }, (_, i) => send('deploy-bot', flood(i)));
    await Promise.all(floods.map((f) => f.flushed));
    const other = await send('other-bot', SMALL_LONG).answer;
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    expect(other.body.result.results[0]).toMatchObject({ fields: ['one'], rows: [[1]] });
    const answers = await Promise.all(floods.map((f) => f.answer));
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(FLOOD - 2);
    for (const a of refused) expect(a.body.error.code).toBe('TOO_MANY_ANALYSES');
    // The rest got their own decision: too many statements for the rule, so the default (deny); or the time limit's refusal.
    for (const a of answers.filter((x) => x.status !== 429)) expect([403, 422]).toContain(a.status);
  });
});
