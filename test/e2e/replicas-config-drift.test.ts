/**
 * Replicas on one PostgreSQL database that run different versions of their
 * one config file: the file was changed and replica A restarted with it,
 * while replica B still runs what it read at its own start. The config in
 * force is the one the last gateway started with: from the moment A serves,
 * B takes no action, no review and runs nothing under its older policy and
 * principals (503 POLICY_NOT_IN_FORCE, /readyz unready), until it is
 * restarted with the file.
 *
 * The same change added an input path to `audit.sensitive` (a password an
 * agent sends must reach the audit log only as an HMAC), removed Slack (its
 * workspace can no longer vouch for reviewers), an agent whose key leaked and
 * an auditor who left. B must serve nothing under its older file: an agent's
 * password sent through B would otherwise stay in clear in a log that cannot
 * be rewritten, a Slack click at B would still count as a reviewer's
 * approval, the leaked key would still read what its agent's actions
 * returned, and the auditor's console session would still open the log.
 * (One pair of replicas for all: each case's requests, paths and principals
 * are its own; the case that restarts B comes last.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { signIn, type ConsoleUser } from '../support/console.ts';
import { eventually } from '../support/gateway.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;
const PASSWORD = 'pw-7f3c9e1d-never-in-clear';

let dir: string;
let configFile: string;
let upstream: Upstream;
let slack: FakeSlack;
let sql: pg.Client;
let a: Replica;
let b: Replica;
const keys = { bot: generateApiKey(), alice: generateApiKey(), bob: generateApiKey(), carol: generateApiKey(), leaked: generateApiKey(), mallory: generateApiKey() };
/** Made under the old file: a held write whose card went to Slack, and a read the leaked key ran. */
let heldId: string;
let readId: string;
/** Mallory's console session, opened under the old file: the new one no longer names her. */
let mallory: ConsoleUser;
/** Held under the old file for two of sre (bob among them then). */
let writeId: string;

/**
 * Before: reads run outright, writes need two of sre, bob is in sre; no sensitive path, reviews from Slack, the reporting bot and mallory.
 * After: reads are held too, bob has left sre; body.password kept as an HMAC, no Slack, no reporting bot, no mallory.
 */
function yaml(version: 'before' | 'after'): string {
  const bobGroups = version === 'before' ? '[sre]' : '[dev]';
  const reads = version === 'before' ? 'effect: allow' : 'effect: approve\n      approvers: [{ groups: [sre], count: 1 }]\n      ttl: 1h';
  const audit = version === 'before' ? '' : ', sensitive: [body.password]';
  const channels = version === 'before' ? `channels:\n${slack.channelYaml()}\n` : '';
  return `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(db!.url)}, poolSize: 4 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))}${audit} }
log: { level: silent }
${channels}principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${keys.bot.hash}"] }
  - { id: alice, kind: human, groups: [sre], email: alice@example.com, apiKeys: ["${keys.alice.hash}"] }
  - { id: bob, kind: human, groups: ${bobGroups}, apiKeys: ["${keys.bob.hash}"] }
  - { id: carol, kind: human, groups: [sre], apiKeys: ["${keys.carol.hash}"] }
${version === 'before' ? `  - { id: report-bot, kind: agent, apiKeys: ["${keys.leaked.hash}"] }\n  - { id: mallory, kind: human, groups: [sre], roles: [auditor], apiKeys: ["${keys.mallory.hash}"] }\n` : ''}connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)} }
policy:
  default: deny
  rules:
    - id: logins
      when: facts.http.path == "/login"
      effect: allow
    - id: reads
      when: facts.http.method == "GET"
      ${reads}
    - id: writes
      when: facts.http.method == "POST" && facts.http.path != "/login"
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      ttl: 1h
`;
}

const submit = (r: Replica, path: string, body: Record<string, unknown>) =>
  r.as(keys.bot.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body }, reason: 'drift' } });
const get = (r: Replica, path: string) => r.as(keys.bot.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'GET', path }, reason: 'drift' } });
const approve = (r: Replica, who: 'alice' | 'bob' | 'carol', id: string) => r.as(keys[who].key, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } });
const ran = (path: string) => upstream.calls.filter((c) => c.url === path).length;
const inClear = async () => (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events WHERE body LIKE $1', [`%${PASSWORD}%`])).rows[0]!.n;

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-drift-'));
  upstream = await startUpstream();
  slack = await startFakeSlack();
  slack.users.set('UALICE', { id: 'UALICE', email: 'alice@example.com' });
  configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, yaml('before'));
  a = await startReplica(configFile);
  b = await startReplica(configFile);
  sql = new pg.Client(db.url);
  await sql.connect();

  const held = await submit(b, '/rotate', { n: 1 });
  expect(held.status, JSON.stringify(held.body)).toBe(202);
  heldId = held.body.id as string;
  await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(heldId), 30_000);
  const read = await b.as(keys.leaked.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'GET', path: '/report' }, reason: 'drift' } });
  expect(read.status, JSON.stringify(read.body)).toBe(200);
  readId = read.body.id as string;
  mallory = await signIn(b.url, keys.mallory.key);
  // Under the old config: a read runs on B, and a write is held for two of sre.
  expect((await get(b, '/drift/before')).status).toBe(200);
  const write = await submit(b, '/drift/write', {});
  expect(write.status, JSON.stringify(write.body)).toBe(202);
  writeId = write.body.id as string;

  writeFileSync(configFile, yaml('after'));
  await a.stop();
  a = await startReplica(configFile);
}, SLOW);

afterAll(async () => {
  await sql?.end();
  await Promise.all([a?.stop(), b?.stop()]);
  await upstream?.close();
  await slack?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('a replica still running the file as it was before its policy, principals, audit, channel and agent sections changed', () => {
  it('keeps no password in clear: it takes no action', async () => {
    // A keeps the password as an HMAC.
    const onA = await submit(a, '/login', { user: 'svc', password: PASSWORD });
    expect(onA.status, JSON.stringify(onA.body)).toBe(200);
    expect(await inClear()).toBe(0);

    // B, on the old file, would keep it in clear: it takes no action at all, and nothing reaches the upstream.
    const onB = await submit(b, '/login', { user: 'svc-b', password: PASSWORD });
    expect(onB.status, JSON.stringify(onB.body)).toBe(503);
    expect(onB.body.error.code).toBe('POLICY_NOT_IN_FORCE');
    expect(await inClear()).toBe(0);
    expect(upstream.calls.filter((c) => c.url === '/login')).toHaveLength(1);
  }, SLOW);

  it('counts no Slack click: the callback is refused before anything of it is read', async () => {
    const res = await slack.click(b.url, { user: 'UALICE', action: 'approve', requestId: heldId });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('POLICY_NOT_IN_FORCE');
    // Nothing was queued to run after the answer (the review runs only after a 200): the request is as it was.
    const after = await a.as(keys.alice.key, `/v1/requests/${heldId}`);
    expect(after.body.status).toBe('pending');
    expect(after.body.reviews ?? []).toEqual([]);
    expect(ran('/rotate')).toBe(0);
  }, SLOW);

  it('lets the removed agent’s key read nothing: not its requests, their results, nor its list', async () => {
    expect((await a.as(keys.leaked.key, `/v1/requests/${readId}`)).status).toBe(401);
    for (const path of [`/v1/requests/${readId}`, '/v1/requests', '/v1/grants']) {
      const res = await b.as(keys.leaked.key, path);
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(503);
      expect(res.body.error.code).toBe('POLICY_NOT_IN_FORCE');
      expect(JSON.stringify(res.body)).not.toContain('"ok":true');
    }
  }, SLOW);

  it('opens no console page to a human the new file removed, whose session began under the old one', async () => {
    const page = (r: Replica, path: string) => fetch(`${r.url}${path}`, { headers: { cookie: mallory.cookie }, redirect: 'manual' });
    // B, on the old file, would still show her the audit log (she was an auditor there) and the requests' pages.
    for (const path of ['/audit', `/requests/${readId}`]) {
      const res = await page(b, path);
      expect(res.status, path).toBe(503);
      expect(await res.text()).not.toContain('/report');
    }
    // A ends her session: the new file does not name her.
    expect((await page(a, '/audit')).status).toBe(303);
    expect((await page(b, '/audit')).status).toBe(503);
  }, SLOW);

  // Last: it restarts B.
  it('takes no action, review or run once a replica with the new file serves, until it is restarted with it', async () => {
    const id = writeId;
    // A serves the new config: reads are held, and bob, no longer an approver, does not even see the request.
    const onA = await get(a, '/drift/on-a');
    expect(onA.status, JSON.stringify(onA.body)).toBe(202);
    const bobOnA = await approve(a, 'bob', id);
    expect(bobOnA.status, JSON.stringify(bobOnA.body)).toBe(404);

    // B, on the old policy, would run this read outright: it refuses it, and nothing reaches the upstream.
    const read = await get(b, '/drift/on-b');
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
    const again = await get(b, '/drift/on-b-again');
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect((await b.as(undefined, '/readyz')).status).toBe(200);
  }, SLOW);
});
