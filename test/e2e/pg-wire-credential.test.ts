/**
 * The Postgres wire listener: the credential a session was opened with is
 * checked again before each statement, not only at startup. A client holding
 * a token that has since expired gets 28000, its session is closed, and
 * nothing it sent runs: no request is recorded for it, the database is as it
 * was, and the refusal is in the audit log as `auth.failed`.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/ports.ts';
import { manualClock } from '../support/clock.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { ATTACK_POLICY, errors, Raw, rowsOf, type Msg } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { storedAudit } from '../support/store-view.ts';

const db = await createTestDatabase();

afterAll(async () => {
  await db?.drop();
});

/** ATTACK_POLICY, and: inserts into cred_t, and COPY into it, allowed. */
const POLICY = ATTACK_POLICY.replace(
  'rules:\n',
  'rules:\n    - id: inserts\n      when: facts.sql.statements.all(s, s.type == "insert" || s.type == "copy") && facts.sql.tables.all(t, t == "cred_t")\n      effect: allow\n',
);

interface TokenGateway {
  gw: TestGateway;
  idp: TestIssuer;
  direct: pg.Client;
}

/** A table made by `ddl` in the test database, a test issuer, and a gateway taking its tokens, on `clock`. */
async function startTokenGateway(clock: Clock, ddl: string, policy: string, holdSeconds: number): Promise<TokenGateway> {
  const direct = new pg.Client({ connectionString: db!.url });
  await direct.connect();
  await direct.query(ddl);
  const idp = await startTestIssuer('/idp');
  const gw = await startTestGateway(
    `identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: agent, id: sub }
${policy}`,
    { env: { APP_DB_URL: db!.url }, server: `postgres: { port: 0, holdSeconds: ${holdSeconds} }`, clock },
  );
  return { gw, idp, direct };
}

async function stopTokenGateway(t: Partial<TokenGateway>): Promise<void> {
  await t.gw?.stop();
  await t.idp?.close();
  await t.direct?.end();
}

describe.skipIf(!db)('the Postgres wire listener: a credential that lapses mid-session', () => {
  let gw: TestGateway;
  let idp: TestIssuer;
  let direct: pg.Client;
  const clock = manualClock();

  beforeAll(async () => {
    ({ gw, idp, direct } = await startTokenGateway(clock, 'CREATE TABLE cred_t (id int)', POLICY, 0));
  });

  afterAll(async () => {
    await stopTokenGateway({ gw, idp, direct });
  });

  const ids = async () => (await direct.query('SELECT coalesce(array_agg(id ORDER BY id), ARRAY[]::int[]) AS ids FROM cred_t')).rows[0].ids as number[];
  const send = async (c: Raw, sql: string) => {
    c.send(serialize.query(sql));
    return c.until('readyForQuery');
  };
  /** The FATAL error the session ends with, and that it ended: nothing else arrives before the close. */
  const closedWith = async (c: Raw): Promise<Msg> => {
    const refused = (await c.until('error')).at(-1)!;
    expect(await c.until('readyForQuery').catch(() => 'closed')).toBe('closed');
    return refused;
  };
  /** A token of tok-bot's that expires `seconds` from the gateway's now. */
  const tokenFor = (seconds: number) => {
    const now = Math.floor(clock.now().getTime() / 1000);
    return idp.sign({ sub: 'tok-bot', aud: 'countersign', iat: now, exp: now + seconds }, { expiresIn: null });
  };
  const submitted = async (sql: string) =>
    (await storedAudit(gw.deps.store)).filter((e) => e.type === 'request.submitted' && JSON.stringify(e.data).includes(sql));

  it('a token that expires while its session is open runs nothing more: 28000, the session closed, auth.failed recorded', async () => {
    const token = await tokenFor(120);
    const c = await Raw.open(gw, 'tok-bot', undefined, token);
    expect(errors(await send(c, 'INSERT INTO cred_t VALUES (1)'))).toEqual([]);
    expect(rowsOf(await send(c, 'SELECT count(*) FROM cred_t'))).toEqual([['1']]);
    // Past exp and the clock skew the issuer's tokens are allowed (60 s by default).
    clock.advance((120 + 60 + 1) * 1000);
    const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').length;
    c.send(serialize.query('INSERT INTO cred_t VALUES (2)'));
    const refused = await closedWith(c);
    expect([refused.code, refused.message]).toEqual(['28000', expect.stringMatching(/credential.*no longer.*token\.expired/)]);
    expect(await ids()).toEqual([1]);
    expect(await submitted('INSERT INTO cred_t VALUES (2)')).toEqual([]);
    const failed = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').slice(before);
    expect(failed.map((e) => [e.data['reason'], e.data['surface']])).toEqual([['token.expired', 'postgres']]);
    expect(JSON.stringify(failed)).not.toContain(token);
  });

  it('nor does a COPY whose data arrives after the token expired: nothing submitted, nothing loaded', async () => {
    const token = await tokenFor(120);
    const c = await Raw.open(gw, 'tok-bot', undefined, token);
    c.send(serialize.query('COPY cred_t FROM STDIN -- slow'));
    await c.until('copyInResponse');
    clock.advance((120 + 60 + 1) * 1000);
    c.send(serialize.copyData(Buffer.from('40\n')), serialize.copyDone());
    expect((await closedWith(c)).code).toBe('28000');
    expect(await ids()).toEqual([1]);
    expect(await submitted('COPY cred_t FROM STDIN -- slow')).toEqual([]);
  });

  it('nor does a Parse on its own, and the expired token opens no new session', async () => {
    const token = await tokenFor(120);
    const c = await Raw.open(gw, 'tok-bot', undefined, token);
    c.send(serialize.parse({ name: 'ins', text: 'INSERT INTO cred_t VALUES (3)' }), serialize.sync());
    expect(errors(await c.until('readyForQuery'))).toEqual([]);
    clock.advance((120 + 60 + 1) * 1000);
    // A Parse runs the input functions of its literals: refused too, before anything reaches the database.
    c.send(serialize.parse({ name: 'other', text: "SELECT '{1}'::int[]" }), serialize.describe({ type: 'S', name: 'other' }), serialize.sync());
    expect((await closedWith(c)).code).toBe('28000');
    const d = await Raw.open(gw, 'tok-bot', undefined, token).catch((e: unknown) => String(e));
    expect(d).toMatch(/connection closed/);
    expect(await ids()).toEqual([1]);
  });

  it('a token still within its lifetime keeps its session working, statement after statement', async () => {
    const token = await tokenFor(3600);
    const c = await Raw.open(gw, 'tok-bot', undefined, token);
    for (let i = 0; i < 3; i++) {
      clock.advance(10 * 60_000);
      expect(rowsOf(await send(c, 'SELECT 1'))).toEqual([['1']]);
    }
    c.end();
  });
});

describe.skipIf(!db)('the Postgres wire listener: a credential that lapses while a statement is held', () => {
  let gw: TestGateway;
  let idp: TestIssuer;
  let direct: pg.Client;
  const clock = manualClock();

  beforeAll(async () => {
    ({ gw, idp, direct } = await startTokenGateway(clock, 'CREATE TABLE cred_h (id int); INSERT INTO cred_h VALUES (1)', ATTACK_POLICY, 60));
  });

  afterAll(async () => {
    await stopTokenGateway({ gw, idp, direct });
  });

  it('a token that expired while its statement was held does not run it once approved: 28000, the request left approved, auth.failed recorded', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const token = await idp.sign({ sub: 'tok-bot', aud: 'countersign', iat: now, exp: now + 120 }, { expiresIn: null });
    const c = await Raw.open(gw, 'tok-bot', undefined, token);
    c.send(serialize.query('UPDATE cred_h SET id = 2'));
    const notice = (await c.until('notice')).at(-1)!;
    const id = /held for approval as request (req_[a-z0-9]+)/.exec(String(notice.message))![1]!;
    clock.advance((120 + 60 + 1) * 1000);
    const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').length;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    const answer = await c.until('readyForQuery').then((ms) => ms.map((m) => m.message ?? m.name), (e: unknown) => String(e));
    expect(answer).toEqual(expect.stringMatching(/connection closed before readyForQuery: .*credential.*no longer.*token\.expired/));
    expect((await direct.query('SELECT id FROM cred_h')).rows).toEqual([{ id: 1 }]);
    expect((await gw.as('alice', `/v1/requests/${id}`)).body.status).toBe('approved');
    const failed = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').slice(before);
    expect(failed.map((e) => [e.data['reason'], e.data['surface']])).toEqual([['token.expired', 'postgres']]);
  });
});
