/**
 * Replicas on one PostgreSQL database whose config file changed: the
 * operator removed Slack and Teams (their workspace and tenant no longer
 * vouch for reviewers) and moved the console's single sign-on to another
 * provider whose groups map to other roles, then restarted replica A.
 * Replica B still runs the file as it was. Before, B refused what a
 * credential or a console session brought, but still served the routes that
 * come before one or bring none of ours: a click from the removed Slack
 * workspace or Teams tenant was taken (users looked up, modals opened in the
 * old workspace), a sign-in was begun at the replaced provider and its
 * callback would have minted a console session with the roles of the old
 * group mapping, and the CLI's code exchange, the passkey ceremonies and
 * chat callbacks ran. B must serve none of them: 503 POLICY_NOT_IN_FORCE,
 * as every other call to a replica on an older file.
 *
 * The same change also removed an agent whose key leaked. B refuses every new
 * call with that key, but a wait the key opened on B before the change (a
 * long-poll, an event stream) must not go on to hand it what happens to its
 * request afterwards: the review, the result. (One pair of replicas for both:
 * each case's requests and routes are its own.)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { startFakeBotFramework, type FakeBotFramework } from '../support/fake-botframework.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startTestOidcProvider, type TestOidcProvider } from '../support/oidc-provider.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;

let dir: string;
let configFile: string;
let upstream: Upstream;
let slack: FakeSlack;
let bf: FakeBotFramework;
let oldIdp: TestOidcProvider;
let newIdp: TestOidcProvider;
let a: Replica;
let b: Replica;
const keys = { bot: generateApiKey(), alice: generateApiKey(), leaked: generateApiKey() };
let heldId: string;

/** Before: Slack, Teams, sign-on at the old provider whose `platform` group is admin, the reporting bot. After: no chat, another provider, no admins from it, no reporting bot. */
function yaml(version: 'before' | 'after'): string {
  const idp = version === 'before' ? oldIdp : newIdp;
  const channels = version === 'before' ? `channels:\n${slack.channelYaml()}\n${bf.channelYaml()}\n` : '';
  const groupMap = version === 'before' ? '{ platform: [sre, platform] }' : '{ platform: [sre] }';
  return `server: { port: 0 }
store: { postgres: { url: ${JSON.stringify(db!.url)}, poolSize: 4 } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: silent }
${channels}identity:
${idp.loginYaml()}    groupMap: ${groupMap}
    cli: { clientId: ${idp.cliClientId}, scopes: [openid, email, groups], resource: ${idp.resource} }
roles: { admin: [platform] }
principals:
  - { id: deploy-bot, kind: agent, apiKeys: ["${keys.bot.hash}"] }
  - { id: alice, kind: human, groups: [sre], email: alice@example.com, apiKeys: ["${keys.alice.hash}"] }
${version === 'before' ? `  - { id: report-bot, kind: agent, apiKeys: ["${keys.leaked.hash}"] }\n` : ''}connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)} }
policy:
  default: deny
  rules:
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;
}

interface SseEvent {
  event: string;
  data: string;
}

/** The events of a stream until the server ends it (or the signal aborts the read). */
async function readEvents(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e: SseEvent = { event: 'message', data: '' };
        for (const line of frame.split('\n')) {
          const [field, ...rest] = line.split(':');
          const value = rest.join(':').replace(/^ /, '');
          if (field === 'event') e.event = value;
          else if (field === 'data') e.data += value;
        }
        events.push(e);
      }
    }
  } catch {
    // aborted by the test's own deadline: what arrived stands
  }
  return events;
}

let leakedId: string;
let longPoll: Promise<{ status: number; body: string }>;
let stream: Promise<SseEvent[]>;

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-drift-sign-in-'));
  upstream = await startUpstream();
  slack = await startFakeSlack();
  slack.users.set('UALICE', { id: 'UALICE', email: 'alice@example.com' });
  bf = await startFakeBotFramework();
  await bf.publishKey();
  [oldIdp, newIdp] = await Promise.all([startTestOidcProvider(), startTestOidcProvider()]);
  const accounts = { 'carol@example.com': { email: 'carol@example.com', groups: ['platform'] } };
  await Promise.all([oldIdp.configure({ redirectUris: ['http://127.0.0.1:9/callback'], accounts }), newIdp.configure({ redirectUris: ['http://127.0.0.1:9/callback'], accounts })]);
  configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, yaml('before'));
  a = await startReplica(configFile);
  b = await startReplica(configFile);
  const held = await b.as(keys.bot.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/rotate' }, reason: 'drift' } });
  expect(held.status, JSON.stringify(held.body)).toBe(202);
  heldId = held.body.id as string;

  const leaked = await b.as(keys.leaked.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/export', body: { all: true } }, reason: 'drift' } });
  expect(leaked.status, JSON.stringify(leaked.body)).toBe(202);
  leakedId = leaked.body.id as string;
  // Opened on B under the old file, by the key the new file removes.
  const headers = { authorization: `Bearer ${keys.leaked.key}` };
  longPoll = fetch(`${b.url}/v1/requests/${leakedId}?wait=50`, { headers, signal: AbortSignal.timeout(90_000) }).then(
    async (r) => ({ status: r.status, body: await r.text() }),
    (e: unknown) => ({ status: 0, body: String(e) }),
  );
  const res = await fetch(`${b.url}/v1/requests/${leakedId}/events`, { headers, signal: AbortSignal.timeout(60_000) });
  expect(res.status).toBe(200);
  stream = readEvents(res);

  writeFileSync(configFile, yaml('after'));
  await a.stop();
  a = await startReplica(configFile);
}, SLOW);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([upstream?.close(), slack?.close(), bf?.close(), oldIdp?.close(), newIdp?.close()]);
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

/** The answer is the stale replica's refusal, in JSON, whatever the route would have answered. */
async function refused(res: Response, what: string): Promise<void> {
  const text = await res.text();
  expect(res.status, `${what}: ${text}`).toBe(503);
  expect(JSON.parse(text).error.code, what).toBe('POLICY_NOT_IN_FORCE');
}

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { state: randomBytes(16).toString('base64url'), code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' };
};

// First: its waits were opened in beforeAll, and the review must come while they are still open.
describe.skipIf(!db)('a wait the removed key opened on a replica still on the file as it was', () => {
  it('hands it nothing that happened after the change: the long-poll is refused, the stream ends without the verdict', async () => {
    const denied = await a.as(keys.alice.key, `/v1/requests/${leakedId}/reviews`, { body: { verdict: 'deny', comment: 'key-leak-9c1e: export refused' } });
    expect(denied.status, JSON.stringify(denied.body)).toBe(200);

    const polled = await longPoll;
    expect(polled.body).not.toContain('key-leak-9c1e');
    expect(polled.status, polled.body).toBe(503);
    expect(JSON.parse(polled.body).error.code).toBe('POLICY_NOT_IN_FORCE');

    const events = await stream;
    expect(events.length).toBeGreaterThan(0); // the state as it was when the stream opened, under the old file
    expect(events.map((e) => e.data).join('\n')).not.toContain('key-leak-9c1e');
    expect(events.filter((e) => e.event === 'request').map((e) => JSON.parse(e.data).status as string)).toEqual(['pending']);
  }, SLOW);
});

describe.skipIf(!db)('a replica still running the file as it was before its chat and sign-on sections changed', () => {
  it('takes no click from the Slack workspace the operator removed', async () => {
    await refused(await slack.click(b.url, { user: 'UALICE', action: 'approve', requestId: heldId }), 'slack approve');
    await refused(await slack.click(b.url, { user: 'UALICE', action: 'deny', requestId: heldId }), 'slack deny');
    // A does not serve Slack at all any more.
    expect((await slack.click(a.url, { user: 'UALICE', action: 'approve', requestId: heldId })).status).toBe(404);
    const after = await a.as(keys.alice.key, `/v1/requests/${heldId}`);
    expect([after.body.status, after.body.reviews ?? []]).toEqual(['pending', []]);
  }, SLOW);

  it('takes no card action, and no refresh, from the Teams tenant the operator removed', async () => {
    for (const verb of ['approve', 'refresh']) {
      const res = await bf.send(`${b.url}/integrations/teams/messages`, bf.invokeActivity({ verb, requestId: heldId }));
      expect(res.status, `${verb}: ${JSON.stringify(res.body)}`).toBe(503);
      expect((res.body as { error: { code: string } }).error.code).toBe('POLICY_NOT_IN_FORCE');
    }
    expect((await a.as(keys.alice.key, `/v1/requests/${heldId}`)).body.status).toBe('pending');
  }, SLOW);

  it('begins no sign-in at the provider the operator replaced, and mints no session from its callback', async () => {
    // A sends a browser to the provider in force now.
    const onA = await fetch(`${a.url}/auth/oidc/start`, { redirect: 'manual' });
    expect(onA.status).toBe(302);
    expect(onA.headers.get('location')).toContain(newIdp.issuer);
    // B would send it to the old one, and its callback would sign carol in as admin (the old group mapping).
    const onB = await fetch(`${b.url}/auth/oidc/start`, { redirect: 'manual' });
    expect(onB.headers.get('location') ?? '').not.toContain(oldIdp.issuer);
    await refused(onB, 'oidc start');
    const callback = await fetch(`${b.url}/auth/oidc/callback?code=x&state=y`, { redirect: 'manual' });
    expect(callback.headers.get('set-cookie') ?? '').toBe('');
    await refused(callback, 'oidc callback');
  }, SLOW);

  it('serves no step of the CLI sign-in, nor a passkey ceremony', async () => {
    const start = new URL(`${b.url}/auth/cli/start`);
    start.search = new URLSearchParams({ redirect_uri: 'http://127.0.0.1:9/callback', ...pkce() }).toString();
    await refused(await fetch(start, { redirect: 'manual' }), 'cli start');
    const token = await fetch(`${b.url}/auth/cli/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'x', code_verifier: 'y', redirect_uri: 'http://127.0.0.1:9/callback' }) });
    await refused(token, 'cli token');
    for (const path of ['/login', '/account/passkeys/options', `/requests/${heldId}/step-up/options`]) {
      await refused(await fetch(`${b.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: b.url }, body: '', redirect: 'manual' }), path);
    }
    // Health and readiness stay served: the readiness says why it is out.
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${b.url}/readyz`)).status).toBe(503);
  }, SLOW);
});
