/**
 * Replicas on one PostgreSQL database that run different versions of their
 * one config file: the file was changed and replica A restarted with it,
 * while replica B still runs what it read at its own start. The config in
 * force is the one the last gateway started with: from the moment A serves,
 * B takes no action, no review and runs nothing under its older policy and
 * principals (503 POLICY_NOT_IN_FORCE, /readyz unready), until it is
 * restarted with the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;

let dir: string;
let configFile: string;
let upstream: Upstream;
let a: Replica;
let b: Replica;
const keys = { bot: generateApiKey(), alice: generateApiKey(), bob: generateApiKey(), carol: generateApiKey() };

/** Before: reads run outright, writes need two of sre, and bob is in sre. After: reads are held too, and bob has left sre. */
function yaml(version: 'before' | 'after'): string {
  const bobGroups = version === 'before' ? '[sre]' : '[dev]';
  const reads = version === 'before' ? 'effect: allow' : 'effect: approve\n      approvers: [{ groups: [sre], count: 1 }]\n      ttl: 1h';
  return `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(db!.url)}, poolSize: 4 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${keys.bot.hash}"] }
  - { id: alice, kind: human, groups: [sre], apiKeys: ["${keys.alice.hash}"] }
  - { id: bob, kind: human, groups: ${bobGroups}, apiKeys: ["${keys.bob.hash}"] }
  - { id: carol, kind: human, groups: [sre], apiKeys: ["${keys.carol.hash}"] }
connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)} }
policy:
  default: deny
  rules:
    - id: reads
      when: facts.http.method == "GET"
      ${reads}
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      ttl: 1h
`;
}

const submit = (r: Replica, method: 'GET' | 'POST', path: string) =>
  r.as(keys.bot.key, '/v1/actions', { body: { connection: 'ops-api', input: { method, path, ...(method === 'POST' ? { body: {} } : {}) }, reason: 'drift' } });
const approve = (r: Replica, who: 'alice' | 'bob' | 'carol', id: string) => r.as(keys[who].key, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } });
const ran = (path: string) => upstream.calls.filter((c) => c.url === path).length;

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-drift-'));
  upstream = await startUpstream();
  configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, yaml('before'));
  a = await startReplica(configFile);
  b = await startReplica(configFile);
}, SLOW);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await upstream?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('a replica still running the config the file held before', () => {
  it('takes no action, review or run once a replica with the new file serves, until it is restarted with it', async () => {
    // Under the old config: a read runs on B, and a write is held for two of sre.
    expect((await submit(b, 'GET', '/drift/before')).status).toBe(200);
    const held = await submit(b, 'POST', '/drift/write');
    expect(held.status).toBe(202);
    const id = held.body.id as string;

    writeFileSync(configFile, yaml('after'));
    await a.stop();
    a = await startReplica(configFile);

    // A serves the new config: reads are held, and bob, no longer an approver, does not even see the request.
    const onA = await submit(a, 'GET', '/drift/on-a');
    expect(onA.status, JSON.stringify(onA.body)).toBe(202);
    const bobOnA = await approve(a, 'bob', id);
    expect(bobOnA.status, JSON.stringify(bobOnA.body)).toBe(404);

    // B, on the old policy, would run this read outright: it refuses it, and nothing reaches the upstream.
    const read = await submit(b, 'GET', '/drift/on-b');
    expect(read.status, JSON.stringify(read.body)).toBe(503);
    expect(read.body.error.code).toBe('POLICY_NOT_IN_FORCE');
    expect(ran('/drift/on-b')).toBe(0);

    // B, on the old principals, would count bob: it takes no review, and the request keeps no approval of his.
    const bobOnB = await approve(b, 'bob', id);
    expect(bobOnB.status, JSON.stringify(bobOnB.body)).toBe(503);
    expect(bobOnB.body.error.code).toBe('POLICY_NOT_IN_FORCE');
    const after = await a.as(keys.alice.key, `/v1/requests/${id}`);
    expect(after.body.status).toBe('pending');
    expect(after.body.reviews ?? []).toEqual([]);

    // A load balancer drains it: /readyz says why.
    const ready = await b.as(undefined, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.config?.code).toBe('POLICY_NOT_IN_FORCE');

    // Two of sre under the new config approve on A; it runs once.
    expect((await approve(a, 'alice', id)).status).toBe(200);
    expect((await approve(a, 'carol', id)).status).toBe(200);
    await eventually(async () => ((await a.as(keys.bot.key, `/v1/requests/${id}`)).body.status === 'succeeded' ? true : undefined), 30_000);
    expect(ran('/drift/write')).toBe(1);

    // Restarted with the file, B serves again, under the new policy.
    await b.stop();
    b = await startReplica(configFile);
    const again = await submit(b, 'GET', '/drift/on-b-again');
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect((await b.as(undefined, '/readyz')).status).toBe(200);
  }, SLOW);
});
