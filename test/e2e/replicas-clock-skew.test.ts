/**
 * Replicas whose machine clocks disagree, on one PostgreSQL database: time to
 * live and run deadlines are judged on the database's time, so a replica whose
 * clock is behind does not take an approval for a request that already
 * expired, and one whose clock is ahead does not settle a run still in time.
 * Each gateway gets its machine's clock skewed (`hostClock`); it measures
 * itself against the database's clock_timestamp().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Clock } from '../../src/core/ports.ts';
import { startGateway, type Gateway } from '../../src/main.ts';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startHeldUpstream, type HeldUpstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const MINUTES_10 = 10 * 60_000;

let dir: string;
let upstream: HeldUpstream;
const gateways: Gateway[] = [];
const keys = { bot: generateApiKey(), alice: generateApiKey() };

/** A machine clock that runs, `skewMs` off the real time. */
const skewed = (skewMs: number): Clock => ({ now: () => new Date(Date.now() + skewMs) });

function yaml(): string {
  return `server: { port: 0, runGrace: 5s }
store: { postgres: { url: ${JSON.stringify(db!.url)}, poolSize: 4 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${keys.bot.hash}"] }
  - { id: alice, kind: human, groups: [sre], apiKeys: ["${keys.alice.hash}"] }
connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)}, timeoutMs: 3000 }
policy:
  default: deny
  rules:
    - id: brief
      when: facts.http.path.startsWith("/brief")
      effect: approve
      approvers: [{ groups: [sre] }]
      ttl: 2s
    - id: one-sre
      when: facts.http.method == "POST" && !facts.http.path.startsWith("/brief")
      effect: approve
      approvers: [{ groups: [sre] }]
      ttl: 1h
`;
}

/** A replica in this process, on a machine clock `skewMs` off; sweeps only at start (reads and reviews still expire). */
async function replica(skewMs: number): Promise<Gateway> {
  const g = await startGateway(parseConfig(yaml(), 'replicas.yaml'), { logger: pino({ level: 'silent' }), hostClock: skewed(skewMs), sweepMs: 3_600_000 });
  gateways.push(g);
  return g;
}

async function call(g: Gateway, who: keyof typeof keys, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${g.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${keys[who].key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe.skipIf(!db)('replicas with skewed clocks on one PostgreSQL database', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-skew-'));
    upstream = await startHeldUpstream();
  });

  afterAll(async () => {
    for (const g of gateways.reverse()) await g.close().catch(() => {});
    upstream.release();
    await upstream.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an approval on a replica whose clock is ten minutes behind is refused once the request expired by the database', async () => {
    const a = await replica(0);
    const behind = await replica(-MINUTES_10);
    const held = await call(a, 'bot', '/v1/actions', { connection: 'ops-api', input: { method: 'POST', path: '/brief/rotate' }, reason: 'skew' });
    expect(held.status).toBe(202);
    const id = held.body['id'] as string;
    const expiresAt = Date.parse(held.body['expiresAt'] as string);
    expect(expiresAt - Date.now()).toBeLessThan(3000);
    // Waiting for a time to pass, not for something not to happen.
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 300));

    const review = await call(behind, 'alice', `/v1/requests/${id}/reviews`, { verdict: 'approve' });
    expect(review.status).toBe(409);
    expect(review.body).toMatchObject({ error: { code: 'REQUEST_EXPIRED' } });
    for (const g of [a, behind]) expect((await call(g, 'bot', `/v1/requests/${id}`)).body).toMatchObject({ status: 'expired' });
    expect(upstream.calls.filter((c) => c.url.startsWith('/brief'))).toEqual([]);
  });

  it('a replica whose clock is ten minutes ahead starts without settling a run still within its deadline', async () => {
    const a = gateways[0] ?? (await replica(0));
    const held = await call(a, 'bot', '/v1/actions', { connection: 'ops-api', input: { method: 'POST', path: '/refunds/7' }, reason: 'skew' });
    const id = held.body['id'] as string;
    expect((await call(a, 'alice', `/v1/requests/${id}/reviews`, { verdict: 'approve' })).status).toBe(200);
    await eventually(async () => (upstream.calls.some((c) => c.url === '/refunds/7') ? true : undefined));

    // Its start recovers the store: runs overdue by its clock would be settled as interrupted here.
    const ahead = await replica(MINUTES_10);
    expect((await call(ahead, 'bot', `/v1/requests/${id}`)).body).toMatchObject({ status: 'executing' });

    upstream.release();
    for (const g of [a, ahead]) await eventually(async () => ((await call(g, 'bot', `/v1/requests/${id}`)).body['status'] === 'succeeded' ? true : undefined));
    expect(upstream.calls.filter((c) => c.url === '/refunds/7')).toHaveLength(1);
  });
});
