/**
 * Two gateway replicas, each its own process, started from one config file
 * on one PostgreSQL database: any replica takes any call. A request made on
 * A is seen, reviewed and cancelled on B; a waiter on A is woken by an
 * approval on B through LISTEN/NOTIFY (the store poll is slowed so only the
 * notification can wake it in time); thirty approvals spread over both run
 * the action once; a Slack card is posted once and its click may land on
 * either; a console session works on both; a replica killed with SIGKILL
 * mid-run leaves its request to the other, which settles it without running
 * it again; and the audit log both wrote verifies as one chain.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliHere } from '../support/audit-gateway.ts';
import { signIn } from '../support/console.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { principalLine, startReplica, type Replica } from '../support/replica.ts';
import { READS_ALLOWED_WRITES_HELD } from '../support/policies.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;
const HUMANS = Array.from({ length: 30 }, (_, i) => `human-${String(i + 1).padStart(2, '0')}`);

let dir: string;
let configFile: string;
let upstream: Upstream;
let slack: FakeSlack;
/** An upstream that holds `/hang` calls open until released: an action that is running when its replica dies. */
let hanging: { url: string; calls: string[]; held: ServerResponse[]; server: Server };
const keys: Record<string, string> = {};
let a: Replica;
let b: Replica;

const principal = (id: string, kind: 'agent' | 'human', extra: string) => principalLine(keys, id, kind, extra);

function yaml(url: string): string {
  // The shortest run grace (server.runGrace): the replica killed mid-run is settled 3 s + 5 s after the claim.
  return `server: { port: 0, runGrace: 5s }
store: { postgres: { url: ${JSON.stringify(url)}, poolSize: 8 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))}, checkpoint: { events: 20, seconds: 1 } }
log: { level: silent }
channels:
${slack.channelYaml()}
principals:
${principal('deploy-bot', 'agent', ', actsFor: carol')}
${principal('carol', 'human', ', groups: [dev]')}
${principal('alice', 'human', ', groups: [sre], email: alice@example.com, roles: [auditor]')}
${HUMANS.map((h) => principal(h, 'human', ', groups: [sre]')).join('\n')}
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}
  - name: slow-api
    kind: http
    url: ${hanging.url}
    timeoutMs: 3000
${READS_ALLOWED_WRITES_HELD}`;
}

async function hold(r: Replica, path: string, connection = 'ops-api'): Promise<string> {
  const res = await r.as(keys['deploy-bot'], '/v1/actions', { body: { connection, input: { method: 'POST', path, body: { n: 1 } }, reason: 'replicas' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

const approve = (r: Replica, who: string, id: string) => r.as(keys[who], `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } });
const statusOn = async (r: Replica, id: string) => (await r.as(keys['alice'], `/v1/requests/${id}`)).body.status as string;

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-replicas-'));
  upstream = await startUpstream();
  slack = await startFakeSlack();
  slack.users.set('UALICE', { id: 'UALICE', email: 'alice@example.com' });
  const calls: string[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.url?.startsWith('/hang')) held.push(res);
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hanging = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls, held, server };
  configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, yaml(db.url));
  // The store's 1 s poll is slowed to a minute in both replicas: a prompt wake-up can only come from a notification.
  const env = { COUNTERSIGN_WAIT_POLL_MS: '60000' };
  a = await startReplica(configFile, env);
  b = await startReplica(configFile, env);
}, SLOW);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  for (const res of hanging?.held ?? []) res.end();
  hanging?.server.closeAllConnections();
  await new Promise<void>((r) => (hanging ? hanging.server.close(() => r()) : r()));
  await upstream?.close();
  await slack?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('two replicas on one PostgreSQL database', () => {
  it('a request submitted on A is visible, reviewable and cancellable on B', async () => {
    const id = await hold(a, '/visible');
    expect(await statusOn(b, id)).toBe('pending');
    const listed = await b.as(keys['alice'], '/v1/requests?status=pending');
    expect(listed.body.requests.map((r: { id: string }) => r.id)).toContain(id);

    const approved = await approve(b, 'alice', id);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    await eventually(async () => ((await statusOn(a, id)) === 'succeeded' ? true : undefined), 15_000);
    expect(upstream.calls.filter((c) => c.url === '/visible')).toHaveLength(1);

    const other = await hold(a, '/cancel-me');
    const cancelled = await b.as(keys['deploy-bot'], `/v1/requests/${other}/cancel`, { body: {} });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(await statusOn(a, other)).toBe('cancelled');
  }, SLOW);

  it('an agent long-polling on A is woken by an approval on B (not by a poll of the store)', async () => {
    const id = await hold(a, '/wake');
    const waiting = a.as(keys['deploy-bot'], `/v1/requests/${id}?wait=30&from=pending`);
    // The waiter is registered once A has answered a later request (HTTP/1.1 requests on one replica are served in turn).
    await a.as(keys['deploy-bot'], '/v1/whoami');
    const started = Date.now();
    expect((await approve(b, 'alice', id)).status).toBe(200);
    const woken = await waiting;
    expect(woken.status).toBe(200);
    expect(['approved', 'executing', 'succeeded']).toContain(woken.body.status);
    // Far below the 30 s wait and the slowed 60 s poll: only the notification can have answered it.
    expect(Date.now() - started).toBeLessThan(20_000);
  }, SLOW);

  it('the console inbox on A updates live when B records a decision', async () => {
    const id = await hold(a, '/inbox');
    const user = await signIn(a.url, keys['human-01']!);
    const controller = new AbortController();
    const res = await fetch(`${a.url}/inbox/events`, { headers: { cookie: user.cookie }, signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const nextFrame = async (test: (data: string) => boolean) => {
      for (;;) {
        const frames = text.split('\n\n');
        text = frames.pop() ?? '';
        for (const f of frames) if (f.includes('event: inbox') && test(f)) return f;
        const { value, done } = await reader.read();
        if (done) throw new Error('the inbox stream ended');
        text += decoder.decode(value, { stream: true });
      }
    };
    // A frame lists the rows in the inbox, and says why each request that left since the last frame left.
    const inbox = (f: string) => JSON.parse(f.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as { rows: { id: string }[]; gone: { id: string; says: string }[] };
    await nextFrame((f) => inbox(f).rows.some((r) => r.id === id));
    expect((await approve(b, 'alice', id)).status).toBe(200);
    const after = inbox(await nextFrame((f) => !inbox(f).rows.some((r) => r.id === id)));
    expect(after.gone).toEqual([{ id, says: `Request ${id} approved` }]);
    controller.abort();
  }, SLOW);

  it('a console session made on A works on B', async () => {
    const user = await signIn(a.url, keys['alice']!);
    const page = await fetch(`${b.url}/`, { headers: { cookie: user.cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Inbox');
  }, SLOW);

  it('thirty simultaneous approvals spread over both replicas run the action exactly once', async () => {
    const id = await hold(a, '/race');
    const results = await Promise.all(HUMANS.map((h, i) => approve(i % 2 ? a : b, h, id)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status !== 200).every((r) => r.status === 409)).toBe(true);
    await eventually(async () => ((await statusOn(b, id)) === 'succeeded' ? true : undefined), 15_000);
    expect(upstream.calls.filter((c) => c.url === '/race')).toHaveLength(1);
  }, SLOW);

  it('a Slack card is posted once, and its click may land on the other replica', async () => {
    const id = await hold(a, '/slack');
    const post = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && c.body['channel'] === 'C0APPROVALS', 30_000);
    expect(post).toBeDefined();
    const res = await slack.click(b.url, { user: 'UALICE', action: 'approve', requestId: id });
    expect(res.status).toBe(200);
    await eventually(async () => ((await statusOn(a, id)) === 'succeeded' ? true : undefined), 15_000);
    // The card is updated to its final state: by then every delivery for it has been made, each by one replica.
    await slack.waitFor('chat.update', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && JSON.stringify(c.body['blocks']).includes('succeeded'), 30_000);
    const posts = slack.callsOf('chat.postMessage').filter((c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && c.body['channel'] === 'C0APPROVALS');
    expect(posts).toHaveLength(1);
  }, SLOW);

  it('a replica killed mid-run: the other settles the request after its deadline as EXECUTION_INTERRUPTED, never running it again', async () => {
    const id = await hold(a, '/hang-1', 'slow-api');
    // Approved on A: A claims it and runs it; the upstream holds the call open.
    expect((await approve(a, 'alice', id)).status).toBe(200);
    await eventually(async () => (hanging.calls.includes('POST /hang-1') ? true : undefined), 15_000);
    expect(await statusOn(b, id)).toBe('executing');
    await a.kill();

    const settled = await eventually(async () => {
      const r = await b.as(keys['alice'], `/v1/requests/${id}`);
      return r.body.status === 'failed' ? r.body : undefined;
    }, 60_000); // the run deadline: the connection's 3 s timeout plus the 5 s grace this config gives every claim
    expect(settled.error?.code ?? settled.result?.error?.code ?? JSON.stringify(settled)).toContain('EXECUTION_INTERRUPTED');
    // Released now: the call A started ends, and nothing has asked for it a second time.
    for (const res of hanging.held.splice(0)) res.end();
    a = await startReplica(configFile, { COUNTERSIGN_WAIT_POLL_MS: '60000' });
    await a.as(keys['alice'], `/v1/requests/${id}`);
    expect(hanging.calls.filter((c) => c === 'POST /hang-1')).toHaveLength(1);
    expect(await statusOn(a, id)).toBe('failed');
  }, SLOW);

  it('the audit log both replicas wrote verifies as one chain with signed checkpoints', async () => {
    // Both wrote: requests above were submitted on A and decided on B.
    const client = new pg.Client(db!.url);
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
      expect(Number(rows[0]!.n)).toBeGreaterThan(20);
    } finally {
      await client.end();
    }
    await eventually(async () => {
      const r = await a.as(keys['alice'], '/v1/audit/checkpoints');
      return r.status === 200 && (r.body.checkpoints ?? r.body).length > 0 ? true : undefined;
    }, 30_000);
    const r = await runCliHere(['audit', 'verify', '--config', configFile]);
    expect(r.stdout + r.stderr).toMatch(/verified/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, SLOW);
});
