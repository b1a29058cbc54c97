/**
 * One approval of a wire statement runs once across replicas: two replicas on
 * one PostgreSQL store, each with a Postgres wire listener of its own, and the
 * agent sending the approved statement again on both at once. The claim in the
 * store decides: one session runs it, the other's statement is a new action.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { freePort } from '../support/own-postgres.ts';

const store = await createTestDatabase();
const app = await createTestDatabase();
const keys = { bot: generateApiKey(), alice: generateApiKey() };

let dir: string;
let a: Replica;
let b: Replica;
let ports: number[];
let direct: pg.Client;

function yaml(pgPort: number): string {
  return `server: { port: 0, postgres: { port: ${pgPort}, holdSeconds: 1 } }
store: { postgres: { url: ${JSON.stringify(store!.url)}, poolSize: 6 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${keys.bot.hash}"] }
  - { id: alice, kind: human, groups: [sre], apiKeys: ["${keys.alice.hash}"] }
connections:
  - { name: app-db, kind: postgres, url: ${JSON.stringify(app!.url)} }
policy:
  default: deny
  rules:
    - { id: reads, when: facts.sql.readOnly, effect: allow }
    - { id: updates, when: 'facts.sql.statements.all(s, s.type == "update")', effect: approve, approvers: [{ groups: [sre] }], ttl: 1h }
`;
}

beforeAll(async () => {
  if (!store || !app) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-digest-replicas-'));
  ports = [await freePort(), await freePort()];
  ports.forEach((p, i) => writeFileSync(join(dir, `r${i}.yaml`), yaml(p)));
  a = await startReplica(join(dir, 'r0.yaml'));
  b = await startReplica(join(dir, 'r1.yaml'));
  direct = new pg.Client({ connectionString: app.url });
  await direct.connect();
  await direct.query('CREATE TABLE counter (id int PRIMARY KEY, n int); INSERT INTO counter SELECT g, 0 FROM generate_series(1, 5) g;');
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await direct?.end();
  await Promise.all([store?.drop(), app?.drop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function send(port: number, sql: string): Promise<{ ran: boolean; code?: string }> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'deploy-bot', password: keys.bot.key, database: 'app-db', ssl: false });
  await c.connect();
  try {
    return await c.query(sql).then(() => ({ ran: true }), (e: pg.DatabaseError) => ({ ran: false, code: e.code }));
  } finally {
    await c.end();
  }
}

describe.skipIf(!store || !app)('an approved wire statement sent again on two replicas at once', () => {
  it('runs once, in five rounds', async () => {
    for (let id = 1; id <= 5; id++) {
      const sql = `UPDATE counter SET n = n + 1 WHERE id = ${id}`;
      expect(await send(ports[id % 2]!, sql)).toEqual({ ran: false, code: 'CS001' });
      const list = (await a.as(keys.alice.key, '/v1/requests?status=pending&limit=100')).body as { requests: { id: string; action: { input: { sql: string } } }[] };
      const held = list.requests.find((r) => r.action.input.sql === sql)!;
      expect((await b.as(keys.alice.key, `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
      const both = await Promise.all([send(ports[0]!, sql), send(ports[1]!, sql)]);
      await eventually(async () => ((await a.as(keys.alice.key, `/v1/requests/${held.id}`)).body as { status: string }).status === 'succeeded' || undefined);
      expect(both.filter((x) => x.ran)).toHaveLength(1);
      expect(both.filter((x) => !x.ran)).toEqual([{ ran: false, code: 'CS001' }]);
      expect((await direct.query('SELECT n FROM counter WHERE id = $1', [id])).rows[0].n).toBe(1);
    }
  }, 120_000);

  it('sent again on one replica while it runs on the other: told it is running there, and no second request is made', async () => {
    const sql = 'UPDATE counter SET n = n + 10 FROM (SELECT pg_sleep(2)) AS s WHERE id = 1';
    expect(await send(ports[0]!, sql)).toEqual({ ran: false, code: 'CS001' });
    const status = async (id: string) => ((await a.as(keys.alice.key, `/v1/requests/${id}`)).body as { status: string }).status;
    const mine = async () => ((await a.as(keys.bot.key, '/v1/requests?limit=100')).body as { requests: { id: string; action: { input: { sql: string } } }[] }).requests.filter((r) => r.action.input.sql === sql);
    const held = (await mine())[0]!;
    expect((await b.as(keys.alice.key, `/v1/requests/${held.id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
    const first = send(ports[0]!, sql);
    await eventually(async () => ((await status(held.id)) === 'executing' ? true : undefined));
    expect(await send(ports[1]!, sql)).toEqual({ ran: false, code: 'CS001' });
    expect(await first).toEqual({ ran: true });
    expect((await mine()).map((r) => r.id)).toEqual([held.id]);
    expect((await direct.query('SELECT n FROM counter WHERE id = 1')).rows[0].n).toBe(11);
  }, 60_000);
});
