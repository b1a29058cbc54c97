/**
 * Waits hold no connection of the pool: with a pool of two connections, a
 * dozen agents long-polling their held requests leave the gateway free to
 * take submissions and reviews (no STORE_BUSY), and an approval still wakes
 * its waiter. A long-poll is woken by the notifier, not by a connection held
 * open for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const WAITERS = 12;

let dir: string;
let upstream: Upstream;
let gw: Gateway;
const keys = { bot: generateApiKey(), alice: generateApiKey() };

async function call(path: string, who: keyof typeof keys, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${keys[who].key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const hold = async (path: string) => {
  const r = await call('/v1/actions', 'bot', { connection: 'ops-api', input: { method: 'POST', path }, reason: 'pool' });
  expect(r.status).toBe(202);
  return r.body['id'] as string;
};

describe.skipIf(!db)('long-polls on a gateway with a pool of two connections', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-pool-'));
    upstream = await startUpstream();
    const yaml = `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(db!.url)}, poolSize: 2, connectTimeout: 1s } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${keys.bot.hash}"] }
  - { id: alice, kind: human, groups: [sre], apiKeys: ["${keys.alice.hash}"] }
connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)} }
policy:
  default: deny
  rules:
    - { id: one-sre, when: 'facts.http.method == "POST"', effect: approve, approvers: [{ groups: [sre] }] }
`;
    gw = await startGateway(parseConfig(yaml, 'pool.yaml'), { logger: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leave submissions and reviews served, and an approval wakes its waiter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < WAITERS; i++) ids.push(await hold(`/held/${i}`));
    const waits = ids.map((id) => call(`/v1/requests/${id}?wait=30&from=pending`, 'bot'));
    // Each waiter is registered once the gateway has answered a later call on it.
    expect((await call('/v1/whoami', 'bot')).status).toBe(200);

    const fresh = await hold('/fresh');
    const reviewed = await call(`/v1/requests/${fresh}/reviews`, 'alice', { verdict: 'approve' });
    expect(reviewed.status).toBe(200);
    expect((await call(`/v1/requests/${ids[0]}/reviews`, 'alice', { verdict: 'approve' })).status).toBe(200);
    const woken = await waits[0]!;
    expect(woken.status).toBe(200);
    expect(['approved', 'executing', 'succeeded']).toContain(woken.body['status']);

    for (const id of ids.slice(1)) expect((await call(`/v1/requests/${id}/reviews`, 'alice', { verdict: 'deny' })).status).toBe(200);
    for (const w of waits.slice(1)) expect((await w).body).toMatchObject({ status: 'denied' });
  });
});
