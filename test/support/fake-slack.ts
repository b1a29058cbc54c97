/**
 * A fake Slack: a real HTTP server on 127.0.0.1 that answers the Web API
 * methods the gateway calls (chat.postMessage, chat.update, views.open,
 * users.info, users.lookupByEmail, conversations.open), records each call,
 * and sends interaction callbacks to the gateway signed exactly as Slack
 * documents (v0 HMAC-SHA256 of `v0:{timestamp}:{raw body}`, form-encoded
 * `payload=`). It can be taken down and brought back on the same port.
 * Like Slack, it refuses a whole message whose blocks break a Block Kit
 * limit (`invalid_blocks`, block-kit.ts), and it can be told to refuse the
 * next calls of a method, as Slack does now and then.
 */
import { createServer, type Server } from 'node:http';
import { slackSignature } from '../../src/adapters/channel/slack/signature.ts';
import { blockKitProblem } from './block-kit.ts';

export interface SlackCall {
  method: string;
  token: string | undefined;
  body: Record<string, any>;
  at: number;
}

export interface FakeUser {
  id: string;
  email?: string;
  deleted?: boolean;
  is_bot?: boolean;
  /** The user's home workspace: the fake's own unless set (a Slack Connect guest from another organisation). */
  team_id?: string;
  /** Whether Slack has confirmed the profile email; true unless set. */
  is_email_confirmed?: boolean;
}

export interface FakeSlack {
  /** The Web API base URL, for `channels.slack.apiUrl`. */
  apiUrl: string;
  calls: SlackCall[];
  /** Calls Slack refused for their blocks, with why (the call is in `calls` too). */
  refused: { method: string; error: string; body: Record<string, any> }[];
  /** The next `count` calls of `method` whose body passes `test` are answered `{ ok: false, error }`. */
  refuseNext(method: string, error: string, opts?: { count?: number; test?: (body: Record<string, any>) => boolean }): void;
  /** Ephemeral answers posted to response_url. */
  responses: Record<string, any>[];
  teamId: string;
  appId: string;
  signingSecret: string;
  botToken: string;
  users: Map<string, FakeUser>;
  /** `channels.slack` for a gateway that talks to this fake and posts to C0APPROVALS, as one YAML line under `channels:`. */
  channelYaml(): string;
  callsOf(method: string): SlackCall[];
  /** Resolves when a call of `method` matching `test` arrives (or has arrived). */
  waitFor(method: string, test?: (c: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  /** The message (channel and ts, as Slack answered the post) of the last card posted for a request outside DMs. */
  cardOf(requestId: string): { channel: string; ts: string } | undefined;
  /** A block_actions click on a message's button, as Slack sends it: on the request's card unless `message` says which. */
  click(gatewayUrl: string, args: { user: string; action: 'approve' | 'deny'; requestId: string; message?: { channel: string; ts: string } }, opts?: SignOptions): Promise<Response>;
  /** A view_submission of the deny modal with a reason. */
  submitDeny(gatewayUrl: string, args: { user: string; requestId: string; reason: string }, opts?: SignOptions): Promise<Response>;
  /** Posts any form body signed like Slack, with overrides to forge the signature. */
  send(gatewayUrl: string, payload: Record<string, unknown>, opts?: SignOptions): Promise<Response>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface SignOptions {
  /** Seconds added to now for the timestamp. */
  skewSeconds?: number;
  /** Changes the body after signing. */
  tamper?: (body: string) => string;
  /** Replaces the signature header (undefined: sent without it). */
  signature?: (good: string) => string | undefined;
  omitTimestamp?: boolean;
  secret?: string;
}

let seq = 0;

export async function startFakeSlack(opts: { teamId?: string; appId?: string; signingSecret?: string; botToken?: string } = {}): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  const refused: FakeSlack['refused'] = [];
  const refusals: { method: string; error: string; count: number; test: (body: Record<string, any>) => boolean }[] = [];
  const responses: Record<string, any>[] = [];
  const users = new Map<string, FakeUser>();
  const waiters = new Set<() => void>();
  /** Messages posted, where their buttons are: a click comes from one of them. */
  const posted: { channel: string; ts: string; blocks: string }[] = [];
  /** The last card posted for a request in a channel (not a DM): where a click on its buttons comes from. */
  const cardOf = (requestId: string) => posted.findLast((m) => !m.channel.startsWith('D') && m.blocks.includes(JSON.stringify(requestId)));
  const teamId = opts.teamId ?? 'T0FAKETEAM';
  const appId = opts.appId ?? 'A0FAKEAPP';
  const signingSecret = opts.signingSecret ?? 'fake-signing-secret-0123456789abcdef';
  const botToken = opts.botToken ?? 'xoxb-fake-bot-token';
  let port = 0;
  let server: Server | undefined;

  function answer(method: string, body: Record<string, any>): Record<string, unknown> {
    const ts = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
    const forced = refusals.find((x) => x.method === method && x.count > 0 && x.test(body));
    if (forced) {
      forced.count--;
      refused.push({ method, error: forced.error, body });
      return { ok: false, error: forced.error };
    }
    if (method === 'chat.postMessage' || method === 'chat.update') {
      const problem = blockKitProblem(body);
      if (problem) {
        refused.push({ method, error: problem, body });
        return { ok: false, error: problem.split(':')[0]!, response_metadata: { messages: [`[ERROR] ${problem}`] } };
      }
    }
    switch (method) {
      case 'chat.postMessage':
        return { ok: true, channel: String(body['channel']).startsWith('#') ? `C${String(body['channel']).slice(1).toUpperCase().replace(/[^A-Z0-9]/g, '')}` : body['channel'], ts: ts(), message: { text: body['text'] } };
      case 'chat.update':
        return { ok: true, channel: body['channel'], ts: body['ts'] };
      case 'views.open':
        return body['trigger_id'] ? { ok: true, view: { id: `V${++seq}` } } : { ok: false, error: 'invalid_trigger_id' };
      case 'users.info': {
        const u = users.get(String(body['user']));
        if (!u) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: { id: u.id, team_id: u.team_id ?? teamId, deleted: u.deleted ?? false, is_bot: u.is_bot ?? false, is_email_confirmed: u.is_email_confirmed ?? true, profile: u.email ? { email: u.email } : {} } };
      }
      case 'users.lookupByEmail': {
        const u = [...users.values()].find((x) => x.email === body['email']);
        return u ? { ok: true, user: { id: u.id } } : { ok: false, error: 'users_not_found' };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(body['users'])}` } };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  /**
   * A form-encoded call, as @slack/web-api sends every method: structured
   * arguments (blocks, view, attachments, …) arrive as JSON strings, which
   * Slack decodes.
   */
  function formBody(raw: string): Record<string, any> {
    const out: Record<string, any> = {};
    for (const [k, v] of new URLSearchParams(raw)) {
      out[k] = /^[[{]/.test(v) ? (() => { try { return JSON.parse(v); } catch { return v; } })() : v;
    }
    return out;
  }

  function listen(): Promise<void> {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const url = req.url ?? '';
        if (url.startsWith('/response/')) {
          responses.push(JSON.parse(raw) as Record<string, any>);
          res.writeHead(200).end('ok');
          return;
        }
        const method = url.replace(/^\/api\//, '').split('?')[0] ?? '';
        const body = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(raw || '{}') as Record<string, any>) : formBody(raw);
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        calls.push({ method, token, body, at: performance.now() });
        for (const w of [...waiters]) w();
        const out = token === botToken ? answer(method, body) : { ok: false, error: 'invalid_auth' };
        if (method === 'chat.postMessage' && out['ok'] === true) posted.push({ channel: String(out['channel']), ts: String(out['ts']), blocks: JSON.stringify(body['blocks'] ?? []) });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      });
    });
    return new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', () => {
      const a = server!.address();
      port = typeof a === 'object' && a ? a.port : port;
      resolve();
    }));
  }
  await listen();

  async function stop(): Promise<void> {
    await new Promise<void>((r) => {
      server?.close(() => r());
      server?.closeAllConnections();
    });
    server = undefined;
  }

  async function send(gatewayUrl: string, payload: Record<string, unknown>, s: SignOptions = {}): Promise<Response> {
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = String(Math.floor(Date.now() / 1000) + (s.skewSeconds ?? 0));
    const good = slackSignature(s.secret ?? signingSecret, timestamp, body);
    const signature = s.signature ? s.signature(good) : good;
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (!s.omitTimestamp) headers['x-slack-request-timestamp'] = timestamp;
    if (signature !== undefined) headers['x-slack-signature'] = signature;
    return fetch(`${gatewayUrl}/integrations/slack/interactions`, { method: 'POST', headers, body: s.tamper ? s.tamper(body) : body });
  }

  const base = () => ({ team: { id: teamId, domain: 'fake' }, api_app_id: appId, token: 'deprecated-verification-token' });

  const apiUrl = () => `http://127.0.0.1:${port}/api/`;

  const fake: FakeSlack = {
    get apiUrl() {
      return apiUrl();
    },
    calls,
    refused,
    refuseNext(method, error, o = {}) {
      refusals.push({ method, error, count: o.count ?? 1, test: o.test ?? (() => true) });
    },
    responses,
    teamId,
    appId,
    signingSecret,
    botToken,
    users,
    channelYaml() {
      const v = JSON.stringify;
      return `  slack: { botToken: ${v(botToken)}, signingSecret: ${v(signingSecret)}, channel: C0APPROVALS, teamId: ${v(teamId)}, appId: ${v(appId)}, apiUrl: ${v(apiUrl())} }`;
    },
    callsOf: (method) => calls.filter((c) => c.method === method),
    waitFor(method, test = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = calls.find((c) => c.method === method && test(c));
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake Slack: no ${method} call in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    send,
    cardOf(requestId) {
      const m = cardOf(requestId);
      return m ? { channel: m.channel, ts: m.ts } : undefined;
    },
    async click(gatewayUrl, a, s) {
      // A human clicks a card once Slack shows it: wait for the request's card to be posted (a click meant to come from
      // no card at all still goes, without one, if none is posted in time).
      const card =
        a.message ??
        cardOf(a.requestId) ??
        (await fake.waitFor('chat.postMessage', (c) => !String(c.body['channel'] ?? '').startsWith('D') && JSON.stringify(c.body['blocks'] ?? []).includes(JSON.stringify(a.requestId)), 10_000).then(
          () => cardOf(a.requestId),
          () => undefined,
        ));
      return send(
        gatewayUrl,
        {
          type: 'block_actions',
          ...base(),
          user: { id: a.user, username: a.user, team_id: teamId },
          trigger_id: `${++seq}.${Date.now()}.fake`,
          response_url: `http://127.0.0.1:${port}/response/${seq}`,
          container: { type: 'message', ...(card ? { channel_id: card.channel, message_ts: card.ts } : {}) },
          actions: [{ type: 'button', action_id: a.action === 'approve' ? 'countersign_approve' : 'countersign_deny', block_id: 'countersign_review', value: a.requestId, action_ts: String(Date.now() / 1000) }],
        },
        s,
      );
    },
    submitDeny(gatewayUrl, a, s) {
      return send(
        gatewayUrl,
        {
          type: 'view_submission',
          ...base(),
          user: { id: a.user, team_id: teamId },
          view: { id: 'V1', type: 'modal', callback_id: 'countersign_deny_reason', private_metadata: a.requestId, state: { values: { reason: { reason: { type: 'plain_text_input', value: a.reason } } } } },
        },
        s,
      );
    },
    stop,
    start: listen,
    async close() {
      if (server) await stop();
    },
  };
  return fake;
}
