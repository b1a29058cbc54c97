/**
 * Fail closed on PostgreSQL, through a real gateway process: when the audit
 * log alone cannot be written (its role lost INSERT on the table, or a
 * trigger refuses the one event), the request row beside it is not written
 * either, nothing runs, and the agent gets 503 AUDIT_WRITE_FAILED with no SQL
 * in it; an outcome that cannot be recorded after the run says so (500
 * EXECUTION_INTERRUPTED: it may have had an effect), and the request is left
 * for recovery instead of run again.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase, queryOnce } from '../support/postgres.ts';
import { principalLine, startReplica, type Replica } from '../support/replica.ts';
import { READS_ALLOWED_WRITES_HELD } from '../support/policies.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;
/** The gateway's own role: not a superuser, so a REVOKE binds it. */
const ROLE = `cs_gw_${randomBytes(4).toString('hex')}`;

let dir: string;
let upstream: Upstream;
let gw: Replica;
const keys: Record<string, string> = {};

const sql = (text: string) => queryOnce(db!.url, text);

const principal = (id: string, kind: 'agent' | 'human', extra: string) => principalLine(keys, id, kind, extra);

const submit = (method: string, path: string) =>
  gw.as(keys['deploy-bot'], '/v1/actions', { body: { connection: 'pay-api', input: { method, path, body: { amount: 1 } }, reason: 'e2e' } });
const callsTo = (path: string) => upstream.calls.filter((c) => c.url === path).length;
const count = async (table: string) => Number((await sql(`SELECT count(*) AS n FROM ${table}`))[0]!['n']);
const statusOf = async (id: string) => (await sql(`SELECT status FROM requests WHERE id = '${id}'`))[0]?.['status'] as string | undefined;

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-fail-pg-'));
  upstream = await startUpstream();
  const dbName = new URL(db.url).pathname.slice(1);
  await sql(`CREATE ROLE ${ROLE} LOGIN; ALTER DATABASE ${dbName} OWNER TO ${ROLE}; GRANT ALL ON SCHEMA public TO ${ROLE}`);
  const url = new URL(db.url);
  url.username = ROLE;
  const configFile = join(dir, 'countersign.yaml');
  writeFileSync(
    configFile,
    `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(url.toString())}, poolSize: 4 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
principals:
${principal('deploy-bot', 'agent', ', actsFor: carol')}
${principal('carol', 'human', ', groups: [dev]')}
${principal('alice', 'human', ', groups: [sre]')}
connections:
  - name: pay-api
    kind: http
    url: ${upstream.url}
${READS_ALLOWED_WRITES_HELD}`,
  );
  gw = await startReplica(configFile);
}, SLOW);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await db?.drop();
  if (db) {
    // Roles belong to the server, not the database: dropped once the database that held its objects is gone.
    const admin = new pg.Client({ connectionString: process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${ROLE}`).finally(() => admin.end());
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('an audit log the gateway cannot write on PostgreSQL', () => {
  it('with INSERT on it revoked from the gateway role: an allowed action answers 503 AUDIT_WRITE_FAILED, no row, nothing sent', async () => {
    const before = { requests: await count('requests'), events: await count('audit_events') };
    await sql(`REVOKE INSERT ON audit_events FROM ${ROLE}`);
    try {
      const res = await submit('GET', '/revoked');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('AUDIT_WRITE_FAILED');
      const text = JSON.stringify(res.body);
      for (const internal of ['permission denied', 'audit_events', 'INSERT', ROLE]) expect(text).not.toContain(internal);
      expect({ requests: await count('requests'), events: await count('audit_events') }).toEqual(before);
      expect(callsTo('/revoked')).toBe(0);
    } finally {
      await sql(`GRANT INSERT ON audit_events TO ${ROLE}`);
    }
    const again = await submit('GET', '/revoked');
    expect(again.status).toBe(200);
    expect(callsTo('/revoked')).toBe(1);
  }, SLOW);

  it('with its review refused: the request stays pending, the review is not counted, nothing runs until it is written', async () => {
    const held = await submit('POST', '/refunds/revoked');
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    await sql(`REVOKE INSERT ON audit_events FROM ${ROLE}`);
    try {
      const res = await gw.as(keys['alice'], `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('AUDIT_WRITE_FAILED');
    } finally {
      await sql(`GRANT INSERT ON audit_events TO ${ROLE}`);
    }
    expect(await statusOf(id)).toBe('pending');
    expect(Number((await sql(`SELECT count(*) AS n FROM reviews WHERE request_id = '${id}'`))[0]!['n'])).toBe(0);
    expect(callsTo('/refunds/revoked')).toBe(0);

    expect((await gw.as(keys['alice'], `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => ((await statusOf(id)) === 'succeeded' ? true : undefined), 20_000);
    expect(callsTo('/refunds/revoked')).toBe(1);
  }, SLOW);

  it('refusing only the outcome event: the agent is told the action ran and not to retry; the request is left executing, not run again', async () => {
    await sql(`CREATE FUNCTION refuse_outcome() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
               CREATE TRIGGER refuse_outcome BEFORE INSERT ON audit_events FOR EACH ROW WHEN (NEW.type = 'request.succeeded') EXECUTE FUNCTION refuse_outcome();`);
    try {
      const res = await submit('GET', '/outcome-lost');
      // Not AUDIT_WRITE_FAILED, whose stable meaning is "nothing ran, retry later": a client acting on the code would run it again.
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('EXECUTION_INTERRUPTED');
      expect(res.body.error.message).toContain('do not retry');
      expect(JSON.stringify(res.body)).not.toContain('disk full');
      const id = (await sql(`SELECT request_id FROM audit_events WHERE type = 'request.submitted' ORDER BY seq DESC LIMIT 1`))[0]!['request_id'] as string;
      expect(await statusOf(id)).toBe('executing');
      expect(callsTo('/outcome-lost')).toBe(1);
    } finally {
      await sql('DROP TRIGGER refuse_outcome ON audit_events; DROP FUNCTION refuse_outcome()');
    }
  }, SLOW);
});
