/**
 * The outbox of a replica on an older config. A webhook's card was owed while
 * its receiver was down; the operator then moved the webhook to another
 * address (and changed the policy) and restarted replica A. Replica B, still
 * on the file as it was, went on leasing the outbox and would post the card
 * to the address the operator took away. A process on a config no longer in
 * force leases nothing: the row waits for one on the config in force.
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
const up: Record<string, boolean> = { '/old': false, '/new': false };
/** What each address answered, in order. */
const answered: { path: string; status: number }[] = [];
let sql: pg.Client;
let b: Replica;
const keys = { bot: generateApiKey() };

function yaml(version: 'before' | 'after'): string {
  return driftWebhookConfig({ dbUrl: db!.url, dir, receiverUrl: receiver.url, upstreamUrl: upstream.url, botKeyHash: keys.bot.hash }, version);
}

const row = async () =>
  (await sql.query<{ state: string; attempts: number; next_attempt_at: string }>(`SELECT state, attempts, next_attempt_at FROM outbox WHERE channel = 'webhook:ops-hook'`)).rows;
const delivered = (path: string) => answered.filter((a) => a.path === path && a.status === 200);

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-drift-outbox-'));
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

describe.skipIf(!db)('a replica still running the file as it was before its webhook moved', () => {
  it('leases no outbox row: the card owed goes to the new address, from a replica on the file as it is', async () => {
    writeFileSync(configFile, yaml('before'));
    b = await startReplica(configFile);
    const held = await b.as(keys.bot.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/rotate' }, reason: 'drift' } });
    expect(held.status, JSON.stringify(held.body)).toBe(202);
    // The old address is down: the card stays owed.
    await eventually(async () => ((await row())[0]?.attempts ?? 0) >= 1 || undefined, 30_000);
    expect(answered.map((a) => a.status)).toContain(503);

    // A takes over with the file as it is now, then goes away: only B, on the file as it was, runs.
    writeFileSync(configFile, yaml('after'));
    const a = await startReplica(configFile);
    await a.stop();
    up['/old'] = true;
    up['/new'] = true;
    // Let the row come due while only B runs, with time for B's outbox passes (every 0.5 s) to take it if it would.
    await eventually(async () => {
      const [r] = await row();
      return r && (r.state !== 'pending' || Date.parse(r.next_attempt_at) < Date.now() - 2000) ? true : undefined;
    }, 60_000);
    // Nothing went to the address the operator removed (the check that counts is below, once the row is delivered).
    expect(delivered('/old')).toEqual([]);

    // A replica on the file as it is delivers it, to the address now configured.
    const fresh = await startReplica(configFile);
    try {
      await eventually(async () => ((await row())[0]?.state === 'delivered' ? true : undefined), 60_000);
      expect(delivered('/new')).toHaveLength(1);
      expect(delivered('/old')).toEqual([]);
    } finally {
      await fresh.stop();
    }
  }, SLOW);
});
