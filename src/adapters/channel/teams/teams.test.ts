/**
 * The Teams pieces against a fake Bot Framework over real HTTP: cards posted
 * and updated through the Bot Connector with the bot's token, and a
 * messaging endpoint that accepts a signed click and refuses every forgery
 * Bot Framework's authentication rules exclude, each with its reason.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { startFakeBotFramework, type FakeBotFramework } from '../../../../test/support/fake-botframework.ts';
import { newSigningKey, unsignedToken } from '../../../../test/support/issuer.ts';
import { requestCard } from './card.ts';
import { teamsConfigSchema, type TeamsConfig } from './config.ts';
import { createTeamsConnector } from './connector.ts';
import { cardResponse, errorResponse, parseCardAction } from './invoke.ts';
import { SAMPLE_OPTIONS, SAMPLE_VIEW } from './sample.ts';
import { createActivityVerifier, type ActivityVerifier } from './verify-activity.ts';

let bf: FakeBotFramework;
let cfg: TeamsConfig;

beforeAll(async () => {
  bf = await startFakeBotFramework();
  cfg = teamsConfigSchema.parse({
    appId: bf.appId,
    appPassword: bf.appPassword,
    tenantId: bf.tenantId,
    conversation: { serviceUrl: bf.serviceUrl, id: '19:approvals@thread.tacv2' },
    openIdMetadataUrl: bf.openIdMetadataUrl,
    tokenUrl: bf.tokenUrl,
  });
});
afterAll(() => bf.close());

describe('posting and updating cards through the Bot Connector', () => {
  it('posts the card, then replaces it with the outcome, with the bot token on each call', async () => {
    const connector = createTeamsConnector(cfg);
    const pending = requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS);
    const activityId = await connector.postCard(cfg.conversation, pending);
    const post = bf.posted.find((p) => p.activityId === activityId)!;
    expect(post.conversationId).toBe('19:approvals@thread.tacv2');
    expect(post.body).toEqual({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: JSON.parse(JSON.stringify(pending)) }] });
    expect(post.authorization).toBe(`Bearer ${bf.issuedTokens.at(-1)}`);

    const decided = requestCard({ ...SAMPLE_VIEW, status: 'succeeded', reviews: [{ reviewer: 'bob', verdict: 'approve', at: '2026-01-15T09:41:00.000Z' }], result: '1 row' }, SAMPLE_OPTIONS);
    await connector.updateCard(cfg.conversation, activityId, decided);
    const put = bf.updated.find((u) => u.activityId === activityId)!;
    expect(put.body).toEqual({ type: 'message', id: activityId, attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: JSON.parse(JSON.stringify(decided)) }] });
    expect(put.authorization).toBe(post.authorization);
  });

  it('asks for one token for many posts, and a new one shortly before it expires', async () => {
    let now = new Date('2026-01-15T09:00:00Z');
    const connector = createTeamsConnector({ ...cfg, now: () => now });
    const before = bf.fetches.token;
    await Promise.all([1, 2, 3].map(() => connector.postCard(cfg.conversation, requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS))));
    await connector.postCard(cfg.conversation, requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS));
    expect(bf.fetches.token - before).toBe(1);
    now = new Date(now.getTime() + (3599 - 299) * 1000); // inside the 5-minute margin
    await connector.postCard(cfg.conversation, requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS));
    expect(bf.fetches.token - before).toBe(2);
  });

  it('opens a 1:1 chat with a user and posts the card there', async () => {
    const connector = createTeamsConnector(cfg);
    const sent = await connector.sendToUser({ serviceUrl: bf.serviceUrl, userId: 'aaaaaaaa-0000-0000-0000-000000000001', tenantId: bf.tenantId }, requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS));
    expect(bf.conversationsCreated.at(-1)).toMatchObject({ isGroup: false, bot: { id: `28:${bf.appId}` }, members: [{ id: 'aaaaaaaa-0000-0000-0000-000000000001' }], tenantId: bf.tenantId });
    expect(bf.posted.at(-1)).toMatchObject({ conversationId: sent.id, activityId: sent.activityId });
  });

  it('fails without the secret in the message when the credentials are wrong', async () => {
    const connector = createTeamsConnector({ ...cfg, appPassword: 'wrong-password-123' });
    const err = (await connector.postCard(cfg.conversation, {}).then(
      () => new Error('posted'),
      (e: unknown) => e as Error,
    )) as Error;
    expect(err).toMatchObject({ name: 'TeamsDeliveryError', status: 401, retryable: false });
    expect(err.message).toContain('invalid_client');
    expect(err.message).not.toContain('wrong-password-123');
    expect(err.message).not.toContain('AADSTS');
  });

  it('marks a failing Bot Connector as retryable', async () => {
    const connector = createTeamsConnector(cfg);
    bf.failNext(503);
    await expect(connector.postCard(cfg.conversation, {})).rejects.toMatchObject({ status: 503, retryable: true });
    await expect(connector.postCard(cfg.conversation, {})).resolves.toMatch(/^\d+$/);
  });
});

describe('the messaging endpoint', () => {
  let endpoint: string;
  let server: Server;
  let now: Date;
  let verifier: ActivityVerifier;
  const refusals: string[] = [];

  beforeAll(async () => {
    // The thin edge the wiring will write: verify, parse, answer with the refreshed card.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          const v = await verifier.verify(req.headers.authorization, body);
          res.setHeader('content-type', 'application/json');
          if (!v.ok) {
            refusals.push(v.reason);
            res.statusCode = 401;
            return res.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', reason: v.reason } }));
          }
          const p = parseCardAction(v.activity);
          const answer = p.ok
            ? cardResponse(requestCard({ ...SAMPLE_VIEW, id: p.action.requestId, status: p.action.verb === 'approve' ? 'approved' : 'denied', reviews: [{ reviewer: p.action.aadObjectId, verdict: p.action.verb === 'approve' ? 'approve' : 'deny', at: '2026-01-15T09:41:00.000Z', reason: p.action.reason ?? null }] }, SAMPLE_OPTIONS))
            : errorResponse(400, 'INVALID_REQUEST', 'not a card action');
          res.statusCode = answer.status;
          res.end(JSON.stringify(answer.body));
        })();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/integrations/teams/messages`;
  });
  afterAll(() => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }));
  beforeEach(() => {
    now = new Date();
    verifier = createActivityVerifier({ appId: cfg.appId, tenantId: cfg.tenantId, openIdMetadataUrl: cfg.openIdMetadataUrl, now: () => now, keyCooldownMs: 60_000 });
    refusals.length = 0;
  });

  const click = () => bf.invokeActivity({ verb: 'deny', requestId: 'req_abc', reason: '  not during the freeze ' });
  async function refused(token: string | null, activity: Record<string, unknown> = click()) {
    const res = await bf.send(endpoint, activity, { token });
    expect(res.status).toBe(401);
    return (res.body as { error: { reason: string } }).error.reason;
  }

  it('accepts a signed click and answers with the outcome card as an invoke response', async () => {
    const res = await bf.send(endpoint, click());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: { type: 'AdaptiveCard' } });
    expect(JSON.stringify(res.body)).toContain('not during the freeze');
    expect(JSON.stringify(res.body)).not.toContain('Action.Execute');
  });

  it('refuses a token for another bot', async () => {
    expect(await refused(await bf.signToken({ claims: { aud: '99999999-2222-3333-4444-555555555555' } }))).toBe('teams.audience_invalid');
  });

  it('refuses a token from another issuer', async () => {
    expect(await refused(await bf.signToken({ claims: { iss: 'https://sts.windows.net/evil/' } }))).toBe('teams.issuer_invalid');
  });

  it('accepts a token expired less than 5 minutes ago and refuses one expired longer', async () => {
    const t = await bf.signToken({ now: new Date(now.getTime() - 3600_000), lifetimeSeconds: 3600 - 240 }); // expired 4 minutes ago
    expect((await bf.send(endpoint, click(), { token: t })).status).toBe(200);
    const old = await bf.signToken({ now: new Date(now.getTime() - 3600_000), lifetimeSeconds: 3600 - 360 }); // 6 minutes ago
    expect(await refused(old)).toBe('teams.expired');
  });

  it('refuses a token whose serviceUrl is not the activity’s', async () => {
    expect(await refused(await bf.signToken({ claims: { serviceUrl: 'https://smba.evil.example/' } }))).toBe('teams.service_url_mismatch');
    expect(await refused(await bf.signToken(), bf.invokeActivity({ verb: 'approve', requestId: 'req_abc', serviceUrl: 'https://smba.evil.example/' }))).toBe('teams.service_url_mismatch');
  });

  it('refuses a token signed by a key not endorsed for msteams', async () => {
    expect(await refused(await bf.signToken({ key: bf.keys.webchatOnly }))).toBe('teams.key_not_endorsed');
  });

  it('refuses an HS256 token, even one keyed with the public key material', async () => {
    const n = new TextEncoder().encode(String(bf.keys.teams.publicJwk.n));
    const hs = await new SignJWT({ iss: 'https://api.botframework.com', aud: bf.appId, serviceUrl: bf.serviceUrl }).setProtectedHeader({ alg: 'HS256', kid: bf.keys.teams.kid }).setExpirationTime('1h').sign(n);
    expect(await refused(hs)).toBe('teams.alg_not_allowed');
  });

  it('refuses a token with alg none', async () => {
    expect(await refused(unsignedToken({ iss: 'https://api.botframework.com', aud: bf.appId, serviceUrl: bf.serviceUrl, exp: Math.floor(Date.now() / 1000) + 600 }))).toBe('teams.alg_not_allowed');
  });

  it('refuses a click from another tenant', async () => {
    const other = '12345678-aaaa-bbbb-cccc-000000000000';
    expect(await refused(await bf.signToken(), bf.invokeActivity({ verb: 'approve', requestId: 'req_abc', tenantId: other }))).toBe('teams.tenant_mismatch');
  });

  it('refuses a missing or malformed token', async () => {
    expect(await refused(null)).toBe('teams.token_missing');
    expect(await refused('not.a.jwt')).toBe('teams.token_malformed');
  });

  it('refuses an unknown kid, refetching the JWKS at most once per cooldown', async () => {
    expect((await bf.send(endpoint, click())).status).toBe(200); // keys loaded
    const before = bf.fetches.jwks;
    const stranger = await newSigningKey('RS256');
    expect(await refused(await bf.signToken({ key: stranger }))).toBe('teams.kid_unknown');
    expect(await refused(await bf.signToken({ key: stranger }))).toBe('teams.kid_unknown');
    expect(bf.fetches.jwks - before).toBe(0); // the set was fetched within the cooldown
    now = new Date(now.getTime() + 61_000);
    expect(await refused(await bf.signToken({ key: stranger, now }))).toBe('teams.kid_unknown');
    expect(await refused(await bf.signToken({ key: stranger, now }))).toBe('teams.kid_unknown');
    expect(bf.fetches.jwks - before).toBe(1);
    // A key published since (a rotation) is found after the next cooldown.
    const rotated = await bf.publishKey(['msteams']);
    now = new Date(now.getTime() + 61_000);
    expect((await bf.send(endpoint, click(), { token: await bf.signToken({ key: rotated, now }) })).status).toBe(200);
    expect(bf.fetches.jwks - before).toBe(2);
  });

  it('never fetches a URL a token header points to', async () => {
    const other = bf.fetches.other;
    const t = await bf.signToken({ key: await newSigningKey('RS256'), header: { jku: `${bf.origin}/attacker/keys`, x5u: `${bf.origin}/attacker/cert` } });
    expect(await refused(t)).toBe('teams.kid_unknown');
    expect(bf.fetches.other).toBe(other);
  });
});
