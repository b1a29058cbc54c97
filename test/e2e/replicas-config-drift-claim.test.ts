/**
 * The outbox claim of a replica on an older config, in the second after the
 * config changed. A replica checked that its config was in force with a
 * reading up to 1 s old, then leased outbox rows in another statement: a row
 * owed just after another replica took over with a new file (a webhook moved
 * to another address) could still be leased and posted by the stale one to
 * the address the operator took away. The lease itself now holds only while
 * the stored generation is the process's own, in the same statement.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { driftWebhookConfig } from '../support/drift-webhook-config.ts';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;

let dir: string;
let configFile: string;
let upstream: Upstream;
/** Both webhook addresses: `/old` (the one removed) and `/new`; each answers 503 until told otherwise. */
let receiver: Upstream;
const up: Record<string, boolean> = { '/old': true, '/new': true };
/** What each address answered, in order. */
const answered: { path: string; status: number }[] = [];
let sql: pg.Client;
let b: Replica;
const keys = { bot: generateApiKey() };

function yaml(version: 'before' | 'after'): string {
  return driftWebhookConfig({ dbUrl: db!.url, dir, receiverUrl: receiver.url, upstreamUrl: upstream.url, botKeyHash: keys.bot.hash }, version);
}

const rows = async () => (await sql.query<{ id: string; state: string }>(`SELECT id, state FROM outbox WHERE channel = 'webhook:ops-hook' ORDER BY id`)).rows;
const generation = async () => (await sql.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'config.generation'`)).rows[0]?.value;
const delivered = (path: string) => answered.filter((a) => a.path === path && a.status === 200);

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-drift-claim-'));
  upstream = await startUpstream();
  receiver = await startUpstream((call) => {
    const status = up[call.url] ? 200 : 503;
    answered.push({ path: call.url, status });
    return { status };
  });
  configFile = join(dir, 'countersign.yaml');
  sql = new pg.Client(db.url);
  await sql.connect();
}, SLOW);

afterAll(async () => {
  await sql?.end();
  await b?.stop();
  await Promise.all([upstream?.close(), receiver?.close()]);
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('a replica still on the file as it was, in the second after another took over', () => {
  it('leases no row owed after the change, though its last reading said its config was in force', async () => {
    writeFileSync(configFile, yaml('before'));
    b = await startReplica(configFile);
    const held = await b.as(keys.bot.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/rotate' }, reason: 'drift' } });
    expect(held.status, JSON.stringify(held.body)).toBe(202);
    await eventually(async () => ((await rows())[0]?.state === 'delivered' ? true : undefined), 30_000);
    expect(delivered('/old')).toHaveLength(1);
    const before = await generation();

    // The generation of the file as it is now: a replica started on it records it (then goes away).
    writeFileSync(configFile, yaml('after'));
    const a = await startReplica(configFile);
    await a.stop();
    const after = await generation();
    expect(after).not.toBe(before);

    // B in force again, and sure of it: its reading of the stored generation is fresh (readiness reads it now).
    await sql.query(`UPDATE meta SET value = $1 WHERE key = 'config.generation'`, [before]);
    expect((await b.as(undefined, '/readyz')).status).toBe(200);
    // The new config takes over and, in the same transaction, a card is owed; B's outbox pass (every 0.5 s) comes
    // well within the second its reading is trusted for.
    await sql.query('BEGIN');
    await sql.query(`UPDATE meta SET value = $1 WHERE key = 'config.generation'`, [after]);
    const owed = await sql.query<{ id: string }>(
      `INSERT INTO outbox (channel, event, request_id, payload, created_at, next_attempt_at)
       SELECT channel, event, request_id, payload, created_at, created_at FROM outbox WHERE channel = 'webhook:ops-hook' ORDER BY id LIMIT 1
       RETURNING id`,
    );
    await sql.query('COMMIT');

    // A replica on the file as it is delivers it, to the address now configured; B posted nothing more.
    const fresh = await startReplica(configFile);
    try {
      await eventually(async () => ((await rows()).find((r) => r.id === owed.rows[0]!.id)?.state === 'delivered' ? true : undefined), 60_000);
      expect(delivered('/new')).toHaveLength(1);
      expect(delivered('/old')).toHaveLength(1);
    } finally {
      await fresh.stop();
    }
  }, SLOW);
});
