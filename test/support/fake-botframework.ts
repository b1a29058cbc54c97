/**
 * A fake Bot Framework on 127.0.0.1 for tests, speaking the documented
 * protocol over real HTTP: the OpenID metadata and a JWKS whose keys carry
 * `endorsements` (one key endorsed for `msteams`, one for `webchat` only), a
 * client-credentials token endpoint that checks the bot's credentials, a Bot
 * Connector that records every activity posted or updated (with the bearer
 * token it came with) and refuses unknown tokens, answers "Get conversation
 * member" from a directory the test fills, and a sender that posts
 * signed activities to a bot's messaging endpoint the way Teams does.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';
import { newSigningKey, type SigningKey } from './issuer.ts';

export interface RecordedActivity {
  readonly method: 'POST' | 'PUT';
  readonly conversationId: string;
  readonly activityId: string;
  readonly authorization: string | undefined;
  readonly body: { type?: string; id?: string; attachments?: { contentType: string; content: unknown }[] } & Record<string, unknown>;
  /** performance.now() when it arrived (for latency figures). */
  readonly at?: number;
}

export interface FakeMember {
  readonly aadObjectId: string;
  readonly id?: string;
  readonly email?: string;
  readonly userPrincipalName?: string;
  readonly name?: string;
  /** `user` unless set: a B2B `guest`, whose mail attribute the inviting tenant sets; null leaves it out of the record. */
  readonly userRole?: string | null;
  /** The fake's tenant unless set; null leaves it out of the record. */
  readonly tenantId?: string | null;
}

export interface FakeBotFramework {
  readonly origin: string;
  readonly openIdMetadataUrl: string;
  readonly jwksUri: string;
  readonly tokenUrl: string;
  /** The Bot Connector base, as Teams puts it in `serviceUrl` (trailing slash). */
  readonly serviceUrl: string;
  readonly appId: string;
  readonly appPassword: string;
  readonly tenantId: string;
  readonly keys: { readonly teams: SigningKey; readonly webchatOnly: SigningKey };
  readonly fetches: { metadata: number; jwks: number; token: number; other: number };
  /** Access tokens the token endpoint issued, in order. */
  readonly issuedTokens: string[];
  readonly posted: RecordedActivity[];
  readonly updated: RecordedActivity[];
  readonly conversationsCreated: Record<string, unknown>[];
  /** Members the Bot Connector knows, keyed by Entra object id; `GET …/members/{id}` finds one by object id, `29:` id, email or UPN. */
  readonly members: Map<string, FakeMember>;
  /**
   * `channels.teams` for a gateway that talks to this fake and posts to the
   * approvals conversation, as one YAML line under `channels:`; `extra`: more
   * entries of that map, e.g. `conversations: {…}`.
   */
  channelYaml(extra?: string): string;
  /** Member look-ups as `{conversationId, userId}`, in order. */
  readonly memberLookups: { conversationId: string; userId: string }[];
  /** Token lifetime the token endpoint announces (seconds). */
  tokenLifetimeSeconds: number;
  /** The next `count` connector calls answer `status` (to test retries). */
  failNext(status: number, count?: number): void;
  /**
   * While set, a posted message is recorded (and shown, as Teams does) at once, but its answer to the gateway waits
   * for this promise: a click on the card can arrive before the gateway has remembered it.
   */
  postAnswerGate: Promise<void> | undefined;
  /** Publishes a further key (e.g. after a rotation); returns it. */
  publishKey(endorsements?: string[]): Promise<SigningKey>;
  /** A channel token as Bot Framework signs it; `claims` and `header` override the defaults. */
  signToken(opts?: { claims?: JWTPayload; key?: SigningKey; header?: Record<string, unknown>; now?: Date; lifetimeSeconds?: number }): Promise<string>;
  /** An `adaptiveCard/action` invoke as Teams sends it for a click on the card. */
  /**
   * An `adaptiveCard/action` invoke as Teams sends a click: `replyToId` (and the conversation's `;messageid=`) name the
   * message holding the card, by default the card posted for `requestId` in that conversation, as Teams sets them;
   * `replyToId: null` sends none.
   */
  invokeActivity(opts: { verb: string; requestId: string; reason?: string; confirm?: string; aadObjectId?: string; tenantId?: string; serviceUrl?: string; replyToId?: string | null; conversationId?: string }): Record<string, unknown>;
  /** POSTs the activity to a bot's endpoint with `Authorization: Bearer <token>` (a fresh valid one unless given). */
  send(url: string, activity: Record<string, unknown>, opts?: { token?: string | null }): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/**
 * @example
 * const bf = await startFakeBotFramework();
 * const res = await bf.send(`${gateway}/integrations/teams/messages`, bf.invokeActivity({ verb: 'approve', requestId }));
 */
export async function startFakeBotFramework(opts: { appId?: string; appPassword?: string; tenantId?: string } = {}): Promise<FakeBotFramework> {
  const appId = opts.appId ?? '11111111-2222-3333-4444-555555555555';
  const appPassword = opts.appPassword ?? 'fake-app-password-not-a-secret';
  const tenantId = opts.tenantId ?? '66666666-7777-8888-9999-000000000000';
  const teams = await newSigningKey('RS256');
  const webchatOnly = await newSigningKey('RS256');
  const published: { key: SigningKey; endorsements: string[] }[] = [
    { key: teams, endorsements: ['msteams', 'webchat'] },
    { key: webchatOnly, endorsements: ['webchat'] },
  ];
  const fetches = { metadata: 0, jwks: 0, token: 0, other: 0 };
  const issuedTokens: string[] = [];
  const posted: RecordedActivity[] = [];
  const updated: RecordedActivity[] = [];
  const conversationsCreated: Record<string, unknown>[] = [];
  const members = new Map<string, FakeMember>();
  const memberLookups: { conversationId: string; userId: string }[] = [];
  let failures: { status: number; count: number } | undefined;
  let serial = 0;

  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      if (req.method === 'GET' && path === '/v1/.well-known/openidconfiguration') {
        fetches.metadata++;
        return json(res, 200, { issuer: 'https://api.botframework.com', authorization_endpoint: 'https://invalid.botframework.com', jwks_uri: self.jwksUri, id_token_signing_alg_values_supported: ['RS256'], token_endpoint_auth_methods_supported: ['private_key_jwt'] });
      }
      if (req.method === 'GET' && path === '/v1/.well-known/keys') {
        fetches.jwks++;
        return json(res, 200, { keys: published.map(({ key, endorsements }) => ({ ...key.publicJwk, endorsements })) });
      }
      if (req.method === 'POST' && path === '/botframework.com/oauth2/v2.0/token') {
        fetches.token++;
        const form = new URLSearchParams(await readBody(req));
        if (form.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
        if (form.get('client_id') !== appId || form.get('client_secret') !== appPassword) return json(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
        if (form.get('scope') !== 'https://api.botframework.com/.default') return json(res, 400, { error: 'invalid_scope' });
        const token = `fake-access-token-${issuedTokens.length + 1}`;
        issuedTokens.push(token);
        return json(res, 200, { token_type: 'Bearer', expires_in: self.tokenLifetimeSeconds, ext_expires_in: self.tokenLifetimeSeconds, access_token: token });
      }
      const mm = /^\/connector\/v3\/conversations\/([^/]+)\/members\/([^/]+)$/.exec(path);
      if (mm && req.method === 'GET') {
        const bearer = req.headers.authorization?.replace(/^Bearer /, '');
        if (!bearer || !issuedTokens.includes(bearer)) return json(res, 401, { error: { code: 'Unauthorized', message: 'token invalid' } });
        const conversationId = decodeURIComponent(mm[1] as string);
        const userId = decodeURIComponent(mm[2] as string).toLowerCase();
        memberLookups.push({ conversationId, userId });
        const found = [...members.values()].find((x) => [x.aadObjectId, x.id, x.email, x.userPrincipalName].some((v) => v?.toLowerCase() === userId));
        if (!found) return json(res, 404, { error: { code: 'MemberNotFoundInConversation', message: 'The member was not found in the conversation.' } });
        // The shape of a TeamsChannelAccount.
        return json(res, 200, { id: found.id ?? `29:1${found.aadObjectId}`, name: found.name ?? found.email ?? '', aadObjectId: found.aadObjectId, email: found.email, userPrincipalName: found.userPrincipalName ?? found.email, ...(found.tenantId === null ? {} : { tenantId: found.tenantId ?? tenantId }), ...(found.userRole === null ? {} : { userRole: found.userRole ?? 'user' }) });
      }
      const m = /^\/connector\/v3\/conversations(?:\/([^/]+)\/activities(?:\/([^/]+))?)?$/.exec(path);
      if (m) {
        const authorization = req.headers.authorization;
        const bearer = authorization?.replace(/^Bearer /, '');
        if (!bearer || !issuedTokens.includes(bearer)) return json(res, 401, { error: { code: 'Unauthorized', message: 'token invalid' } });
        if (failures && failures.count > 0) {
          failures.count--;
          return json(res, failures.status, { error: { code: 'ServiceError', message: 'injected failure' } });
        }
        const raw = (await readBody(req)) || '{}';
        // Teams refuses a message over about 28 KB.
        if (Buffer.byteLength(raw) > 28 * 1024) return json(res, 413, { error: { code: 'MessageSizeTooBig', message: 'Message size too big' } });
        const body = JSON.parse(raw) as RecordedActivity['body'];
        const conversationId = m[1] ? decodeURIComponent(m[1]) : '';
        if (!m[1] && req.method === 'POST') {
          conversationsCreated.push(body);
          return json(res, 201, { id: `a:fake-chat-${++serial}` });
        }
        if (m[1] && !m[2] && req.method === 'POST') {
          const activityId = `1700000000${String(++serial).padStart(3, '0')}`;
          posted.push({ method: 'POST', conversationId, activityId, authorization, body, at: performance.now() });
          if (self.postAnswerGate) await self.postAnswerGate;
          return json(res, 201, { id: activityId });
        }
        if (m[1] && m[2] && req.method === 'PUT') {
          const activityId = decodeURIComponent(m[2]);
          if (!posted.some((p) => p.conversationId === conversationId && p.activityId === activityId)) return json(res, 404, { error: { code: 'ActivityNotFound' } });
          updated.push({ method: 'PUT', conversationId, activityId, authorization, body });
          return json(res, 200, { id: activityId });
        }
      }
      fetches.other++;
      json(res, 404, { error: 'not found' });
    })().catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const self: FakeBotFramework = {
    origin,
    openIdMetadataUrl: `${origin}/v1/.well-known/openidconfiguration`,
    jwksUri: `${origin}/v1/.well-known/keys`,
    tokenUrl: `${origin}/botframework.com/oauth2/v2.0/token`,
    serviceUrl: `${origin}/connector/`,
    appId,
    appPassword,
    tenantId,
    channelYaml(extra) {
      const v = JSON.stringify;
      const conversation = `{ serviceUrl: ${v(self.serviceUrl)}, id: "19:approvals@thread.tacv2" }`;
      return `  teams: { appId: ${v(appId)}, appPassword: ${v(appPassword)}, tenantId: ${v(tenantId)}, conversation: ${conversation}, openIdMetadataUrl: ${v(self.openIdMetadataUrl)}, tokenUrl: ${v(self.tokenUrl)}${extra ? `, ${extra}` : ''} }`;
    },
    keys: { teams, webchatOnly },
    fetches,
    issuedTokens,
    posted,
    updated,
    conversationsCreated,
    members,
    memberLookups,
    postAnswerGate: undefined,
    tokenLifetimeSeconds: 3599,
    failNext(status, count = 1) {
      failures = { status, count };
    },
    async publishKey(endorsements = ['msteams']) {
      const key = await newSigningKey('RS256');
      published.push({ key, endorsements });
      return key;
    },
    async signToken(o = {}) {
      const key = o.key ?? teams;
      const now = Math.floor((o.now ?? new Date()).getTime() / 1000);
      // The claims Bot Framework puts in a channel token (Authenticate requests from the Bot Connector service).
      const claims: JWTPayload = { iss: 'https://api.botframework.com', aud: appId, serviceUrl: self.serviceUrl, nbf: now, iat: now, exp: now + (o.lifetimeSeconds ?? 3600), ...o.claims };
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...o.header }).sign(key.privateKey);
    },
    invokeActivity(o) {
      const tenant = o.tenantId ?? tenantId;
      const conversationId = o.conversationId ?? '19:approvals@thread.tacv2';
      const card = posted.findLast((p) => p.conversationId === conversationId && JSON.stringify(p.body).includes(JSON.stringify(o.requestId)));
      const replyToId = o.replyToId === undefined ? card?.activityId : o.replyToId;
      return {
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: `f:${++serial}`,
        timestamp: new Date().toISOString(),
        channelId: 'msteams',
        serviceUrl: o.serviceUrl ?? self.serviceUrl,
        from: { id: '29:1fake-user', name: 'Alice Reviewer', aadObjectId: o.aadObjectId ?? 'aaaaaaaa-0000-0000-0000-000000000001' },
        conversation: { isGroup: true, conversationType: 'channel', tenantId: tenant, id: `${conversationId};messageid=${replyToId ?? '1700000000001'}` },
        recipient: { id: `28:${appId}`, name: 'Countersign' },
        ...(replyToId ? { replyToId } : {}),
        channelData: { tenant: { id: tenant }, channel: { id: '19:approvals@thread.tacv2' }, source: { name: 'message' } },
        value: { action: { type: 'Action.Execute', verb: o.verb, data: { requestId: o.requestId, ...(o.reason !== undefined ? { reason: o.reason } : {}), ...(o.confirm !== undefined ? { confirm: o.confirm } : {}) } }, trigger: 'manual' },
      };
    },
    async send(url, activity, o = {}) {
      const token = o.token === undefined ? await self.signToken() : o.token;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(activity) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body };
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  return self;
}
