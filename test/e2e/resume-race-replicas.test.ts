/**
 * One held action sent at the same moment to two replicas on one PostgreSQL
 * store is one request: an MCP call (which resumes its request by digest) and
 * a Postgres wire statement (resumed by digest when held) each sent several
 * times at once on both replicas. Two requests for one action would ask
 * reviewers twice, and approving both would run it twice. And a break-glass
 * whose claim cannot be written is answered as what was recorded: approved,
 * run once by the sweep, its retry on the other replica refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { freePort } from '../support/own-postgres.ts';

const SERVER = fileURLToPath(new URL('../support/asking-mcp.js', import.meta.url));
const store = await createTestDatabase();
const app = await createTestDatabase();
const keys = { bot: generateApiKey(), alice: generateApiKey(), erin: generateApiKey() };
const ROUNDS = 6;

let dir: string;
let replicas: Replica[] = [];
let ports: number[];
let direct: pg.Client;

function yaml(pgPort: number): string {
  return `server: { port: 0, postgres: { port: ${pgPort}, holdSeconds: 0 } }
store: { postgres: { url: ${JSON.stringify(store!.url)}, poolSize: 6 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${keys.bot.hash}"] }
  - { id: alice, kind: human, groups: [sre], apiKeys: ["${keys.alice.hash}"] }
  - { id: erin, kind: human, groups: [oncall], apiKeys: ["${keys.erin.hash}"] }
connections:
  - { name: app-db, kind: postgres, url: ${JSON.stringify(app!.url)} }
  - { name: asker, kind: mcp, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(SERVER)}], waitSeconds: 0 }
policy:
  default: deny
  rules:
    - { id: settings, when: 'facts.sql.statements.all(s, s.type == "set")', effect: allow }
    - { id: greet-held, when: 'facts.mcp.tool == "greet"', effect: approve, approvers: [{ groups: [sre] }], ttl: 1h }
    - { id: updates, when: 'facts.sql.statements.all(s, s.type == "update")', effect: approve, approvers: [{ groups: [sre] }], ttl: 1h, breakGlass: { groups: [oncall] } }
`;
}

beforeAll(async () => {
  if (!store || !app) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-resume-race-'));
  ports = [await freePort(), await freePort()];
  ports.forEach((p, i) => writeFileSync(join(dir, `r${i}.yaml`), yaml(p)));
  replicas = [await startReplica(join(dir, 'r0.yaml')), await startReplica(join(dir, 'r1.yaml'))];
  direct = new pg.Client({ connectionString: app.url });
  await direct.connect();
  await direct.query('CREATE TABLE counter (id int PRIMARY KEY, n int); INSERT INTO counter SELECT g, 0 FROM generate_series(1, 20) g;');
}, 180_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await direct?.end();
  await Promise.all([store?.drop(), app?.drop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function mcpCall(r: Replica, name: string): Promise<string | undefined> {
  const res = await fetch(`${r.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.bot.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'asker__greet', arguments: { name } } }),
  });
  const body = (await res.json()) as { result?: { _meta?: Record<string, string> } };
  return body.result?._meta?.['countersign/requestId'];
}

async function send(port: number, sql: string): Promise<string | undefined> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'deploy-bot', password: keys.bot.key, database: 'app-db', ssl: false });
  await c.connect();
  try {
    return await c.query(sql).then(
      () => 'ran',
      (e: pg.DatabaseError) => e.code,
    );
  } finally {
    await c.end();
  }
}

type Listed = { id: string; status: string; action: { input: { sql?: string; arguments?: { name?: string } } } };
const mine = async (): Promise<Listed[]> => ((await replicas[0]!.as(keys.bot.key, '/v1/requests?limit=1000')).body as { requests: Listed[] }).requests;

describe.skipIf(!store || !app)('one held action sent at once to two replicas', () => {
  it('an MCP call: one request, named in every answer', async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const name = `ada-${i}`;
      const ids = await Promise.all([0, 1, 0, 1, 0, 1].map((r) => mcpCall(replicas[r]!, name)));
      const held = (await mine()).filter((r) => r.action.input.arguments?.name === name);
      expect(held.map((r) => r.status)).toEqual(['pending']);
      expect(new Set(ids)).toEqual(new Set([held[0]!.id]));
    }
  }, 120_000);

  it('a Postgres wire statement: one request, however many sessions on the two replicas send it', async () => {
    for (let i = 1; i <= ROUNDS; i++) {
      const sql = `UPDATE counter SET n = n + 1 WHERE id = ${i}`;
      const answers = await Promise.all([0, 1, 0, 1].map((r) => send(ports[r]!, sql)));
      expect(answers).toEqual(['CS001', 'CS001', 'CS001', 'CS001']);
      const held = (await mine()).filter((r) => r.action.input.sql === sql);
      expect(held.map((r) => r.status)).toEqual(['pending']);
    }
  }, 120_000);

  it('a wire statement sent at once from two sessions whose state reads it differently: the one that did not hold it is refused, never held on the other\'s request', async () => {
    await direct.query('CREATE TABLE d (id int, day date, n int)');
    for (let i = 1; i <= ROUNDS; i++) {
      const sql = `UPDATE d SET n = ${i} WHERE day = '01/02/2026'`;
      const sessions = await Promise.all([0, 1].map(async (r) => {
        const c = new pg.Client({ host: '127.0.0.1', port: ports[r]!, user: 'deploy-bot', password: keys.bot.key, database: 'app-db', ssl: false });
        await c.connect();
        if (r === 1) await c.query("SET DateStyle = 'ISO, DMY'");
        return c;
      }));
      try {
        const answers = await Promise.all(sessions.map((c) => c.query(sql).then(() => 'ran', (e: pg.DatabaseError) => e.code)));
        expect(answers.sort()).toEqual(['55000', 'CS001']);
      } finally {
        await Promise.all(sessions.map((c) => c.end()));
      }
      expect((await mine()).filter((r) => r.action.input.sql === sql).map((r) => r.status)).toEqual(['pending']);
    }
  }, 120_000);

  it('a break-glass whose claim cannot be written is answered as recorded (approved, run once by the sweep), and its retry on the other replica runs nothing', async () => {
    const sql = 'UPDATE counter SET n = n + 1 WHERE id = 20';
    const held = await replicas[0]!.as(keys.bot.key, '/v1/actions', { body: { connection: 'app-db', input: { sql }, reason: 'fix it' } });
    expect(held.body).toMatchObject({ status: 'pending' });
    const s = new pg.Client({ connectionString: store!.url });
    await s.connect();
    try {
      // The claim's audit event cannot be written: its transaction fails as on a connection lost (SQLSTATE class 08).
      await s.query(`CREATE FUNCTION refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'gone' USING ERRCODE = '08006'; END $$;
                     CREATE TRIGGER refuse_claim BEFORE INSERT ON audit_events FOR EACH ROW WHEN (NEW.type = 'request.executing') EXECUTE FUNCTION refuse_claim();`);
      const broke = await replicas[0]!.as(keys.erin.key, `/v1/requests/${held.body.id}/break-glass`, { body: { justification: 'INC-1' } });
      expect(broke.status).toBe(200);
      expect(broke.body).toMatchObject({ id: held.body.id, status: 'approved', breakGlass: { by: 'erin' } });
      const again = await replicas[1]!.as(keys.erin.key, `/v1/requests/${held.body.id}/break-glass`, { body: { justification: 'INC-1, again' } });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ error: { code: 'REQUEST_ALREADY_DECIDED' } });
      await s.query('DROP TRIGGER refuse_claim ON audit_events; DROP FUNCTION refuse_claim();');
    } finally {
      await s.end();
    }
    await eventually(async () => ((await replicas[1]!.as(keys.alice.key, `/v1/requests/${held.body.id}`)).body.status === 'succeeded' ? true : undefined), 30_000);
    expect((await direct.query('SELECT n FROM counter WHERE id = 20')).rows[0].n).toBe(1);
  }, 60_000);
});
