/**
 * Races an agent (with one key) and one cooperating human can start across
 * two replicas on one PostgreSQL database, each a process of its own:
 *
 * - one person approving a two-approval request at once on A and B, through
 *   an API key and an identity provider token (or two tokens of one
 *   mailbox, or of two sub-addresses of it), counts once;
 * - two people approving it at once on A and B: each approval sees the
 *   other, so the later one approves it and it runs once;
 * - an approval on one replica racing the agent's cancel on the other, or
 *   the expiry of the request, ends one way only: run once, or never;
 * - the agent retrying under its idempotency key on the other replica while
 *   the approved action runs gets that request, never a second run;
 * - a replica killed with SIGKILL mid-run and the agent retrying on the
 *   other: the same request, settled EXECUTION_INTERRUPTED, never run again.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { eventually } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 180_000;

let dir: string;
let configFile: string;
let upstream: Upstream;
let idp: TestIssuer;
/** An upstream whose `/hang` calls stay open until released, and whose `/slow` calls answer after a second. */
let target: { url: string; calls: string[]; held: ServerResponse[]; server: Server };
let a: Replica;
let b: Replica;
let sql: pg.Client;
const keys = { bot: generateApiKey(), alice: generateApiKey(), bob: generateApiKey(), carol: generateApiKey() };
type Who = keyof typeof keys;

function yaml(): string {
  return `server: { port: 0, runGrace: 5s }
store: { postgres: { url: ${JSON.stringify(db!.url)}, poolSize: 6 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups, email: email }
      groupMap: { okta-sre: [sre] }
principals:
  - { id: deploy-bot, kind: agent, actsFor: carol, apiKeys: ["${keys.bot.hash}"] }
  - { id: alice, kind: human, groups: [sre], email: alice@example.com, roles: [auditor], apiKeys: ["${keys.alice.hash}"] }
  - { id: bob, kind: human, groups: [sre], email: bob@example.com, apiKeys: ["${keys.bob.hash}"] }
  - { id: carol, kind: human, groups: [dev], email: carol@example.com, apiKeys: ["${keys.carol.hash}"] }
connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)} }
  - { name: target-api, kind: http, url: ${JSON.stringify(target.url)}, timeoutMs: 3000 }
policy:
  default: deny
  rules:
    - id: two-sre
      when: facts.http.path.startsWith("/rotate")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
    - id: brief
      when: facts.http.path.startsWith("/brief")
      effect: approve
      approvers: [{ groups: [sre] }]
      ttl: 2s
    - id: one-sre
      when: facts.http.method == "POST" && !facts.http.path.startsWith("/rotate") && !facts.http.path.startsWith("/brief")
      effect: approve
      approvers: [{ groups: [sre] }]
      ttl: 1h
`;
}

async function hold(r: Replica, path: string, connection = 'ops-api', key?: string): Promise<{ id: string; status: number; body: any }> {
  const res = await submitWithKey(r, path, connection, key);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return { id: res.body.id as string, ...res };
}

async function submitWithKey(r: Replica, path: string, connection: string, key?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${r.url}/v1/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.bot.key}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify({ connection, input: { method: 'POST', path, body: { n: 1 } }, reason: 'races' }),
  });
  return { status: res.status, body: await res.json() };
}

const approve = (r: Replica, who: Who | { token: string }, id: string) =>
  r.as(typeof who === 'string' ? keys[who].key : who.token, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } });
const read = async (r: Replica, id: string) => (await r.as(keys.alice.key, `/v1/requests/${id}`)).body;
const settled = (r: Replica, id: string, statuses: readonly string[], ms = 30_000) =>
  eventually(async () => {
    const body = await read(r, id);
    return statuses.includes(body.status) ? body : undefined;
  }, ms);
const ran = (path: string) => upstream.calls.filter((c) => c.url === path).length;
const eventTypes = async (id: string) => (await sql.query<{ type: string }>('SELECT type FROM audit_events WHERE request_id = $1 ORDER BY seq', [id])).rows.map((r) => r.type);
const token = (claims: Record<string, unknown>) => idp.sign({ aud: 'countersign', email_verified: true, ...claims });

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-races-'));
  upstream = await startUpstream();
  idp = await startTestIssuer('/people');
  const calls: string[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.url?.startsWith('/hang')) held.push(res);
    else setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), 1000);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls, held, server };
  configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, yaml());
  a = await startReplica(configFile);
  b = await startReplica(configFile);
  sql = new pg.Client(db.url);
  await sql.connect();
}, SLOW);

afterAll(async () => {
  await sql?.end();
  await Promise.all([a?.stop(), b?.stop()]);
  for (const res of target?.held ?? []) res.end();
  target?.server.closeAllConnections();
  await new Promise<void>((r) => (target ? target.server.close(() => r()) : r()));
  await upstream?.close();
  await idp?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('one human, two credentials, two replicas, at once', () => {
  it('a configured human approving with an API key on A and a token on B counts once: the two-approval request stays pending', async () => {
    for (let i = 0; i < 6; i++) {
      const path = `/rotate/key-and-token/${i}`;
      const { id } = await hold(a, path);
      const bobToken = await token({ sub: `00u-bob-${i}`, email: 'Bob@Example.com' });
      const [viaKey, viaToken] = await Promise.all([approve(a, 'bob', id), approve(b, { token: bobToken }, id)]);
      expect([viaKey.status, viaToken.status].sort(), JSON.stringify([viaKey.body, viaToken.body])).toEqual([200, 409]);
      expect([viaKey, viaToken].find((r) => r.status === 409)!.body.error.code).toBe('ALREADY_REVIEWED');
      const now = await read(b, id);
      expect(now.status).toBe('pending');
      expect(now.reviews.map((r: { reviewer: string }) => r.reviewer)).toEqual(['bob']);
      expect((await eventTypes(id)).filter((t) => t === 'request.approved')).toEqual([]);
    }
    expect(upstream.calls.filter((c) => c.url.startsWith('/rotate/key-and-token'))).toEqual([]);
  }, SLOW);

  it('a human the config does not name, with two tokens of one mailbox on A and B at once, counts once', async () => {
    for (let i = 0; i < 6; i++) {
      const path = `/rotate/two-tokens/${i}`;
      const { id } = await hold(b, path);
      const [laptop, phone] = await Promise.all([
        token({ sub: `dana-laptop-${i}`, email: 'Dana@Example.com', groups: ['okta-sre'] }),
        token({ sub: `dana-phone-${i}`, email: 'dana@example.com', groups: ['okta-sre'] }),
      ]);
      const results = await Promise.all([approve(a, { token: laptop }, id), approve(b, { token: phone }, id)]);
      expect(results.map((r) => r.status).sort(), JSON.stringify(results.map((r) => r.body))).toEqual([200, 409]);
      const now = await read(a, id);
      expect(now.status).toBe('pending');
      expect(now.reviews).toHaveLength(1);
    }
    expect(upstream.calls.filter((c) => c.url.startsWith('/rotate/two-tokens'))).toEqual([]);
  }, SLOW);

  it('a human the config does not name, approving as two sub-addresses of one mailbox on A and B at once, counts once', async () => {
    for (let i = 0; i < 6; i++) {
      const { id } = await hold(a, `/rotate/two-addresses/${i}`);
      const [plain, tagged] = await Promise.all([
        token({ sub: `erin-plain-${i}`, email: 'erin@example.com', groups: ['okta-sre'] }),
        token({ sub: `erin-tagged-${i}`, email: 'erin+ops@example.com', groups: ['okta-sre'] }),
      ]);
      const results = await Promise.all([approve(a, { token: plain }, id), approve(b, { token: tagged }, id)]);
      expect(results.map((r) => r.status).sort(), JSON.stringify(results.map((r) => r.body))).toEqual([200, 409]);
      expect((await read(a, id)).reviews).toHaveLength(1);
    }
  }, SLOW);

  it('the human the agent acts for cannot add herself on either replica, by key or token, while another approves', async () => {
    const { id } = await hold(a, '/rotate/acts-for');
    const carolToken = await token({ sub: '00u-carol', email: 'carol@example.com', groups: ['okta-sre'] });
    const results = await Promise.all([approve(a, 'alice', id), approve(b, { token: carolToken }, id), approve(a, { token: carolToken }, id)]);
    expect(results[0]!.status).toBe(200);
    for (const r of results.slice(1)) expect([r.status, r.body.error?.code]).toEqual([403, 'SELF_APPROVAL_FORBIDDEN']);
    const now = await read(b, id);
    expect([now.status, now.reviews.map((r: { reviewer: string }) => r.reviewer)]).toEqual(['pending', ['alice']]);
  }, SLOW);
});

describe.skipIf(!db)('a decision on one replica racing another on the other', () => {
  it('approve on A against the agent’s cancel on B: cancelled and never run, or approved and run once', async () => {
    for (let i = 0; i < 8; i++) {
      const path = `/approve-vs-cancel/${i}`;
      const { id } = await hold(a, path);
      const [approval, cancel] = await Promise.all([approve(i % 2 ? a : b, 'alice', id), (i % 2 ? b : a).as(keys.bot.key, `/v1/requests/${id}/cancel`, { body: {} })]);
      expect([approval.status, cancel.status].filter((s) => s === 200)).toHaveLength(1);
      const end = await settled(b, id, ['cancelled', 'succeeded']);
      const types = await eventTypes(id);
      if (end.status === 'cancelled') {
        expect(ran(path)).toBe(0);
        expect(types.filter((t) => t === 'request.approved' || t === 'request.executing')).toEqual([]);
      } else {
        expect(ran(path)).toBe(1);
        expect(types.filter((t) => t === 'request.cancelled')).toEqual([]);
        expect(types.filter((t) => t === 'request.executing')).toHaveLength(1);
      }
    }
  }, SLOW);

  it('approvals on A and B as the request expires: expired and never run, or approved and run once', async () => {
    // Six requests, each its own round, side by side: each waits out its own 2 s, not the ones before it.
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const path = `/brief/${i}`;
        const { id, body } = await hold(i % 2 ? a : b, path);
        // Aimed around the expiry, a little later each round: some land before it, some after.
        const at = Date.parse(body.expiresAt as string) - 300 + i * 120;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        const results = await Promise.all([approve(a, 'alice', id), approve(b, 'bob', id)]);
        expect(results.filter((r) => r.status === 200).length, JSON.stringify(results.map((r) => r.body))).toBeLessThanOrEqual(1);
        const end = await settled(a, id, ['expired', 'succeeded']);
        const types = await eventTypes(id);
        if (end.status === 'expired') {
          expect(ran(path)).toBe(0);
          expect(types.filter((t) => t === 'request.approved' || t === 'request.executing')).toEqual([]);
          expect(results.every((r) => r.status !== 200)).toBe(true);
        } else {
          expect(ran(path)).toBe(1);
          expect(types.filter((t) => t === 'request.expired')).toEqual([]);
          expect(types.filter((t) => t === 'request.executing')).toHaveLength(1);
        }
      }),
    );
  }, SLOW);
});

describe.skipIf(!db)('two people approving at once on A and B', () => {
  it('each approval sees the other: the two-approval request is approved and runs once', async () => {
    for (let i = 0; i < 8; i++) {
      const path = `/rotate/two-people/${i}`;
      const { id } = await hold(b, path);
      const results = await Promise.all([approve(a, 'alice', id), approve(b, 'bob', id)]);
      expect(results.map((r) => r.status), JSON.stringify(results.map((r) => r.body))).toEqual([200, 200]);
      // Both committed: the later one counted the earlier, whichever replica read it.
      expect(['approved', 'executing', 'succeeded']).toContain((await read(a, id)).status);
      expect((await settled(a, id, ['succeeded', 'failed'])).status).toBe('succeeded');
      expect(ran(path)).toBe(1);
    }
  }, SLOW);
});

describe.skipIf(!db)('the agent retrying while its approved action runs', () => {
  it('under its idempotency key on both replicas: the running request, one run', async () => {
    const key = 'retry-while-running-1';
    const { id } = await hold(a, '/slow/1', 'target-api', key);
    expect((await approve(b, 'alice', id)).status).toBe(200);
    await eventually(async () => (target.calls.includes('POST /slow/1') ? true : undefined), 30_000);
    const retries = await Promise.all([submitWithKey(a, '/slow/1', 'target-api', key), submitWithKey(b, '/slow/1', 'target-api', key), submitWithKey(b, '/slow/1', 'target-api', key)]);
    for (const r of retries) {
      expect(r.body.id, JSON.stringify(r.body)).toBe(id);
      expect(['executing', 'succeeded']).toContain(r.body.status);
    }
    expect((await settled(a, id, ['succeeded', 'failed'])).status).toBe('succeeded');
    const after = await submitWithKey(b, '/slow/1', 'target-api', key);
    expect([after.status, after.body.id, after.body.status]).toEqual([200, id, 'succeeded']);
    expect(target.calls.filter((c) => c === 'POST /slow/1')).toHaveLength(1);
  }, SLOW);

  it('after a replica is killed mid-run, on the other: the same request, settled EXECUTION_INTERRUPTED, never run again', async () => {
    const c = await startReplica(configFile);
    try {
      const key = 'retry-after-kill-1';
      const { id } = await hold(c, '/hang/1', 'target-api', key);
      // Approved on C: C claims it and runs it; the upstream holds the call open.
      expect((await approve(c, 'alice', id)).status).toBe(200);
      await eventually(async () => (target.calls.includes('POST /hang/1') ? true : undefined), 30_000);
      await c.kill();
      const retry = await submitWithKey(b, '/hang/1', 'target-api', key);
      expect([retry.body.id, retry.body.status], JSON.stringify(retry.body)).toEqual([id, 'executing']);
      // The run deadline: the connection's 3 s timeout plus the 5 s grace this config gives every claim.
      const end = await settled(a, id, ['failed', 'succeeded'], 60_000);
      expect([end.status, end.error?.code]).toEqual(['failed', 'EXECUTION_INTERRUPTED']);
      const again = await submitWithKey(a, '/hang/1', 'target-api', key);
      expect([again.body.id, again.body.status]).toEqual([id, 'failed']);
      // Released now: the call C started ends, and nothing has asked for it a second time.
      for (const res of target.held.splice(0)) res.end();
      const types = await eventTypes(id);
      expect(types.filter((t) => t === 'request.executing')).toHaveLength(1);
      expect(target.calls.filter((x) => x === 'POST /hang/1')).toHaveLength(1);
    } finally {
      await c.kill();
    }
  }, SLOW);
});
