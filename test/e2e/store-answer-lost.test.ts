/**
 * A write of submit that failed where it may have committed must not be answered STORE_UNAVAILABLE ("nothing changed
 * or ran; retry later") when the store has it: a retry would submit the action again. A held action approved by a
 * scoped grant is recorded as approved, then claimed in a second write: when the claim fails (its connection lost,
 * 57P01, once) the request stands approved and the sweep runs it, so the agent gets it (approved) to wait on, not a
 * 503 that would spend another use of the grant on a second run. Likewise when the write that spends the use commits
 * and its answer is lost, and when a held request's record commits and its answer is lost (a retry would hold the
 * action twice), and when a break-glass commits and its answer is lost (its retry is refused as decided): a TCP proxy
 * between the gateway and PostgreSQL drops the connection as that answer comes back.
 * Real gateway process on PostgreSQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/gateway.ts';
import { createTestDatabase, queryOnce } from '../support/postgres.ts';
import { principalLine, startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;

let dir: string;
let upstream: Upstream;
let gw: Replica;
let proxy: Server;
/** Set: the next connection that spends a grant's use loses its COMMIT's answer (the commit itself is durable). */
let loseCommitOfUse = false;
/** Set: the next transaction that carries this text loses the answer that ends it (ReadyForQuery, idle: committed). */
let loseEndOf: string | undefined;
const keys: Record<string, string> = {};

const sql = (text: string) => queryOnce(db!.url, text);

const principal = (id: string, kind: 'agent' | 'human', extra: string) => principalLine(keys, id, kind, extra);

const refund = (amount: number) => gw.as(keys['deploy-bot'], '/v1/actions', { body: { connection: 'pay-api', input: { method: 'POST', path: '/refunds', body: { amount } }, reason: 'e2e' } });
const runsOf = (amount: number) => upstream.calls.filter((c) => c.url === '/refunds' && c.body.includes(`"amount":${amount}`)).length;
const statusOf = async (id: string) => (await sql(`SELECT status FROM requests WHERE id = '${id}'`))[0]?.['status'] as string | undefined;

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-answer-lost-'));
  upstream = await startUpstream();
  const target = new URL(db.url);
  proxy = createServer((client) => {
    const server = connect(Number(target.port || 5432), target.hostname);
    let usedGrant = false;
    let committing = false;
    let ending = false;
    client.on('data', (b) => {
      if (loseEndOf !== undefined && b.includes(loseEndOf)) ending = true;
      if (loseCommitOfUse && b.includes('cs_grant_use')) usedGrant = true;
      if (usedGrant && b.includes('COMMIT')) committing = true;
      server.write(b);
    });
    server.on('data', (b) => {
      if (ending && b.includes(Buffer.from([0x5a, 0, 0, 0, 5, 0x49]))) {
        loseEndOf = undefined;
        client.destroy();
        server.destroy();
        return;
      }
      if (committing && b.includes('COMMIT\0')) {
        loseCommitOfUse = false;
        client.destroy();
        server.destroy();
        return;
      }
      client.write(b);
    });
    const end = () => (client.destroy(), server.destroy());
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const via = new URL(db.url);
  via.host = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const configFile = join(dir, 'countersign.yaml');
  writeFileSync(
    configFile,
    `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(via.toString())}, poolSize: 4 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
principals:
${principal('deploy-bot', 'agent', ', actsFor: carol')}
${principal('carol', 'human', ', groups: [dev]')}
${principal('alice', 'human', ', groups: [sre]')}
${principal('erin', 'human', ', groups: [oncall]')}
connections:
  - name: pay-api
    kind: http
    url: ${upstream.url}
policy:
  default: deny
  rules:
    - id: refunds
      when: facts.http.path == "/refunds"
      effect: approve
      approvers: [{ groups: [sre] }]
      grant: { maxUses: 5, maxDuration: 1h, vary: [body.amount] }
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: payouts
      when: facts.http.path == "/payouts"
      effect: approve
      approvers: [{ groups: [sre] }]
      breakGlass: { groups: [oncall] }
`,
  );
  gw = await startReplica(configFile);
}, SLOW);

afterAll(async () => {
  await gw?.stop();
  proxy?.close();
  await upstream?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('a grant-approved action whose claim the store failed', () => {
  it('is answered as approved (it runs once, by the sweep), not as STORE_UNAVAILABLE inviting a second submission', async () => {
    const held = await refund(1);
    expect([held.status, held.body.status]).toEqual([202, 'pending']);
    const ok = await gw.as(keys['alice'], `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve', grant: { uses: 3, for: '30m' } } });
    expect(ok.status).toBe(200);
    await eventually(async () => ((await statusOf(held.body.id)) === 'succeeded' ? true : undefined), 20_000);

    // The next claim (approved → executing) loses its connection once, as when the database restarts under it.
    await sql(`CREATE SEQUENCE claim_shots;
               CREATE FUNCTION lose_claim() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF nextval('claim_shots') = 1 THEN RAISE EXCEPTION 'terminating connection due to administrator command' USING ERRCODE = '57P01'; END IF; RETURN NEW; END $$;
               CREATE TRIGGER lose_claim BEFORE INSERT OR UPDATE ON requests FOR EACH ROW WHEN (NEW.status = 'executing') EXECUTE FUNCTION lose_claim();`);
    const res = await refund(2);
    const id = (await sql(`SELECT id FROM requests WHERE id <> '${held.body.id}' ORDER BY created_at DESC LIMIT 1`))[0]!['id'] as string;
    expect(Number((await sql(`SELECT last_value FROM claim_shots`))[0]!['last_value'])).toBeGreaterThanOrEqual(1);
    expect([res.status, res.body.error?.code, res.body.id, res.body.status, res.body.grantedBy?.use]).toEqual([202, undefined, id, 'approved', 1]);
    // The sweep claims it once the request has stood approved for a while: it runs once.
    await eventually(async () => ((await statusOf(id)) === 'succeeded' ? true : undefined), 30_000);
    expect(runsOf(2)).toBe(1);
  }, SLOW);

  it('whose use committed with its answer lost: answered with the request (it runs once), not STORE_UNAVAILABLE', async () => {
    await sql('DROP TRIGGER lose_claim ON requests');
    loseCommitOfUse = true;
    const res = await refund(3);
    expect(loseCommitOfUse).toBe(false);
    const rows = await sql(`SELECT id, status FROM requests ORDER BY created_at DESC LIMIT 1`);
    const id = rows[0]!['id'] as string;
    expect([res.status, res.body.error?.code, res.body.id]).toEqual([200, undefined, id]);
    expect(res.body.status).toBe('succeeded');
    expect(runsOf(3)).toBe(1);
  }, SLOW);

  it('held, whose record committed with its answer lost: answered with the request, so a retry does not hold it twice', async () => {
    loseEndOf = 'lose-this-answer';
    const res = await gw.as(keys['deploy-bot'], '/v1/actions', { body: { connection: 'pay-api', input: { method: 'POST', path: '/payouts', body: {} }, reason: 'lose-this-answer' } });
    expect(loseEndOf).toBeUndefined();
    const rows = await sql(`SELECT id, status FROM requests ORDER BY created_at DESC LIMIT 1`);
    expect(rows[0]!['status']).toBe('pending');
    expect([res.status, res.body.error?.code, res.body.id, res.body.status]).toEqual([202, undefined, rows[0]!['id'], 'pending']);
  }, SLOW);

  it('allowed, whose record (as running) committed with its answer lost: it runs then, once, instead of never', async () => {
    loseEndOf = 'lose-this-read';
    const res = await gw.as(keys['deploy-bot'], '/v1/actions', { body: { connection: 'pay-api', input: { method: 'GET', path: '/balance' }, reason: 'lose-this-read' } });
    expect(loseEndOf).toBeUndefined();
    expect([res.status, res.body.error?.code, res.body.status]).toEqual([200, undefined, 'succeeded']);
    expect(upstream.calls.filter((c) => c.url === '/balance')).toHaveLength(1);
  }, SLOW);

  it('a break-glass whose write committed with its answer lost: answered with the request it ran, once, not STORE_UNAVAILABLE; a retry runs nothing', async () => {
    const held = await gw.as(keys['deploy-bot'], '/v1/actions', { body: { connection: 'pay-api', input: { method: 'POST', path: '/payouts', body: { to: 'x' } }, reason: 'e2e' } });
    expect(held.body.status).toBe('pending');
    loseEndOf = 'INC-lost-answer';
    const res = await gw.as(keys['erin'], `/v1/requests/${held.body.id}/break-glass`, { body: { justification: 'INC-lost-answer' } });
    expect(loseEndOf).toBeUndefined();
    expect([res.status, res.body.error?.code, res.body.id, res.body.breakGlass?.by]).toEqual([200, undefined, held.body.id, 'erin']);
    await eventually(async () => ((await statusOf(held.body.id)) === 'succeeded' ? true : undefined), 30_000);
    const again = await gw.as(keys['erin'], `/v1/requests/${held.body.id}/break-glass`, { body: { justification: 'INC-lost-answer, again' } });
    expect([again.status, again.body.error?.code]).toEqual([409, 'REQUEST_ALREADY_DECIDED']);
    expect(upstream.calls.filter((c) => c.url === '/payouts' && c.body.includes('"to":"x"'))).toHaveLength(1);
  }, SLOW);
});
