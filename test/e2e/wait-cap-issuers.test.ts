/**
 * The waits a principal may hold open (`server.maxWaitsPerPrincipal`) are its own. Two issuers' workloads of one
 * unconfigured id are two principals (core/visibility.ts samePrincipal): counted under the id alone, one holding its
 * waits open made every wait of the other refused (429 TOO_MANY_WAITS), its held MCP calls answered at once; and so
 * with the wire listener's sessions (`server.postgres.maxSessionsPerPrincipal`, 53300).
 */
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { ATTACK_POLICY, Raw, rowsOf } from '../support/pg-raw.ts';
import { createTestDatabase } from '../support/postgres.ts';

const db = await createTestDatabase();
afterAll(() => db?.drop());

let a: TestIssuer;
let b: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestIssuer('/a'), startTestIssuer('/b')]);
  gw = await startTestGateway(
    `identity:
  issuers:
    - { issuer: ${a.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${b.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
connections:
  - { name: ops-api, kind: http, url: http://127.0.0.1:9/ops }
policy:
  default: deny
  rules:
    - { id: held, when: "true", effect: approve, approvers: [{ groups: [sre], count: 1 }] }
`,
    { server: 'maxWaitsPerPrincipal: 1' },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([a, b].map((s) => s?.close()));
});

async function call(token: string, path: string, init: { body?: unknown; signal?: AbortSignal } = {}) {
  const res = await fetch(`${gw.url}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('waits held open by another issuer’s workload of the same id', () => {
  it('leave this one’s own waits free', async () => {
    const mine = await a.sign({ aud: 'countersign', sub: 'worker' });
    const theirs = await b.sign({ aud: 'countersign', sub: 'worker' });
    const action = { connection: 'ops-api', input: { method: 'POST', path: '/restart' }, reason: 'restart' };
    const myId = (await call(mine, '/v1/actions', { body: action })).body.id as string;
    const theirId = (await call(theirs, '/v1/actions', { body: { ...action, reason: 'theirs' } })).body.id as string;
    const ctl = new AbortController();
    // The other's one wait, held open.
    const theirWait = call(theirs, `/v1/requests/${theirId}?wait=30`, { signal: ctl.signal }).catch(() => undefined);
    try {
      // Their cap reached: a second wait of theirs is refused...
      await expect.poll(async () => (await call(theirs, `/v1/requests/${theirId}?wait=1`)).status, { timeout: 10_000 }).toBe(429);
      // ...and this one's own wait is not.
      const mineWait = await call(mine, `/v1/requests/${myId}?wait=1`);
      expect(mineWait.status).toBe(200);
      expect(mineWait.body).toMatchObject({ id: myId, status: 'pending' });
    } finally {
      ctl.abort();
      await theirWait;
    }
  });
});

describe.skipIf(!db)('wire sessions held open by another issuer’s workload of the same id', () => {
  let pg: TestGateway;

  beforeAll(async () => {
    pg = await startTestGateway(
      `identity:
  issuers:
    - { issuer: ${a.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${b.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
${ATTACK_POLICY}`,
      { env: { APP_DB_URL: db!.url }, server: 'postgres: { port: 0, holdSeconds: 0, maxSessionsPerPrincipal: 1 }' },
    );
  });
  afterAll(async () => pg?.stop());

  it('leave this one’s own session free (server.postgres.maxSessionsPerPrincipal)', async () => {
    const mine = await a.sign({ aud: 'countersign', sub: 'worker' });
    const theirs = await b.sign({ aud: 'countersign', sub: 'worker' });
    const held = await Raw.open(pg, 'worker', undefined, theirs);
    try {
      // Their one session is open; this one's first is its own.
      const own = await Raw.open(pg, 'worker', undefined, mine);
      own.send(serialize.query('SELECT 1'));
      expect(rowsOf(await own.until('readyForQuery'))).toEqual([['1']]);
      own.end();
    } finally {
      held.end();
    }
  }, 60_000);
});
