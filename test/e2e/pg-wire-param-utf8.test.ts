/**
 * A Bind's text-format parameters are recorded as the action's text, as its SQL is: the text reviewers see, the
 * digest binds and a re-sent statement must match. Decoded leniently, every byte sequence that is not UTF-8 read as
 * U+FFFD: many different values recorded as one, none of them what was sent (and a statement re-sent with other such
 * bytes matched the request it resumed). Decoded strictly, as the SQL is: refused at the Bind (22021), nothing recorded.
 */
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ATTACK_POLICY, errors, Raw, rowsOf } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();

/** A Bind of the unnamed portal and statement whose parameters are all sent in text format, whatever their bytes. */
function textBind(values: Buffer[]): Buffer {
  const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const body = Buffer.concat([Buffer.from([0, 0]), int16(0), int16(values.length), ...values.flatMap((v) => [int32(v.length), v]), int16(0)]);
  return Buffer.concat([Buffer.from('B'), int32(body.length + 4), body]);
}

afterAll(() => db?.drop());

describe.skipIf(!db)('a text-format parameter that is not UTF-8', () => {
  let gw: TestGateway;
  const recorded = async () => ((await gw.as('deploy-bot', '/v1/requests?limit=100')).body as { requests: { action: { input: { params?: unknown[] } } }[] }).requests;

  beforeAll(async () => {
    gw = await startTestGateway(ATTACK_POLICY, { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0 }' });
  });
  afterAll(async () => gw?.stop());

  it('is refused at the Bind (22021) and recorded as no other value; a UTF-8 one still runs', async () => {
    const c = await Raw.open(gw);
    try {
      const before = (await recorded()).length;
      c.send(serialize.parse({ text: 'SELECT octet_length($1::text)' }), textBind([Buffer.from([0x61, 0xff, 0x62])]), serialize.execute({}), serialize.sync());
      expect(errors(await c.until('readyForQuery'))).toEqual(['22021']);
      const after = await recorded();
      expect(after.map((r) => JSON.stringify(r.action.input.params ?? []))).not.toContain(JSON.stringify(['a\uFFFDb']));
      expect(after.length).toBe(before);
      c.send(serialize.parse({ text: 'SELECT octet_length($1::text)' }), textBind([Buffer.from('aéb')]), serialize.execute({}), serialize.sync());
      const ok = await c.until('readyForQuery');
      expect(errors(ok)).toEqual([]);
      expect(rowsOf(ok)).toEqual([['4']]);
    } finally {
      c.end();
    }
  }, 60_000);
});
