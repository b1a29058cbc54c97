/**
 * The outgoing side of the Teams channel: the bot's client-credentials token
 * from Microsoft Entra (cached until shortly before it expires) and the three
 * Bot Connector REST calls the channel needs: post a card to a conversation,
 * replace it in place, open a 1:1 chat with a user, and look up one member
 * of a conversation (who clicked, by their Entra object id). Every call has a
 * timeout; an error says which call failed and how, never a secret or a token.
 */
import { isSafeUrl, type ConversationReference } from './config.ts';

export const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com/.default';
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** A failed call. `retryable` is true for timeouts, network errors, 429 and 5xx: an outbox should try again later. */
export class TeamsDeliveryError extends Error {
  readonly status: number | undefined;
  readonly retryable: boolean;
  constructor(message: string, status: number | undefined, retryable: boolean) {
    super(message);
    this.name = 'TeamsDeliveryError';
    this.status = status;
    this.retryable = retryable;
  }
}

export interface ConnectorOptions {
  readonly appId: string;
  readonly appPassword: string;
  readonly tokenUrl: string;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

export interface TeamsConnector {
  /** Posts the card as a new message; returns the activity id to update it later. */
  postCard(conversation: ConversationReference, card: object): Promise<string>;
  /** Replaces the card of a message this bot posted. */
  updateCard(conversation: ConversationReference, activityId: string, card: object): Promise<void>;
  /** Opens (or reuses) the 1:1 chat with a user (AAD object id or `29:` id) and posts the card; returns the conversation it went to. */
  sendToUser(user: { serviceUrl: string; userId: string; tenantId: string }, card: object): Promise<ConversationReference & { activityId: string }>;
  /**
   * One member of a conversation, by Teams user id (`29:…`), Entra object id or UPN; undefined when not a member (404).
   * Bot Connector "Get conversation member": `GET {serviceUrl}/v3/conversations/{conversationId}/members/{userId}`.
   */
  getMember(conversation: ConversationReference, userId: string): Promise<TeamsMember | undefined>;
}

/** What the Bot Connector says of a member; Teams fills `email` and `userPrincipalName` from Entra. */
export interface TeamsMember {
  readonly id: string;
  readonly aadObjectId: string | null;
  readonly email: string | null;
  readonly userPrincipalName: string | null;
  readonly name: string | null;
  /** `user`, `guest` (B2B: the inviting tenant sets the mail attribute) or `anonymous`, when the Bot Connector says. */
  readonly userRole: string | null;
  readonly tenantId: string | null;
}

const retryableStatus = (s: number) => s === 408 || s === 429 || s >= 500;

function messageActivity(card: object, id?: string): object {
  return { type: 'message', ...(id ? { id } : {}), attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card }] };
}

/** `{serviceUrl}/v3/conversations/{id}…`; ids such as `19:…@thread.tacv2;messageid=…` are one path segment. */
function conversationUrl(conversation: ConversationReference, rest = ''): string {
  const base = conversation.serviceUrl.endsWith('/') ? conversation.serviceUrl : `${conversation.serviceUrl}/`;
  return new URL(`v3/conversations/${encodeURIComponent(conversation.id)}${rest}`, base).toString();
}

/**
 * @example
 * const connector = createTeamsConnector({ appId, appPassword, tokenUrl: cfg.tokenUrl });
 * const activityId = await connector.postCard(cfg.conversation, pendingCard(view));
 * await connector.updateCard(cfg.conversation, activityId, requestCard(decidedView));
 */
export function createTeamsConnector(opts: ConnectorOptions): TeamsConnector {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const now = opts.now ?? (() => new Date());
  let cached: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: opts.appId, client_secret: opts.appPassword, scope: BOT_FRAMEWORK_SCOPE });
    let res: Response;
    try {
      res = await fetch(opts.tokenUrl, { method: 'POST', body: form, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    } catch (e) {
      throw new TeamsDeliveryError(`the Teams token request failed (${(e as Error).name})`, undefined, true);
    }
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
    if (!res.ok || typeof body.access_token !== 'string') {
      // The OAuth `error` code (invalid_client, …) helps an operator; the description may echo request details, so it stays out.
      const code = typeof body.error === 'string' && /^[a-z_]{1,64}$/.test(body.error) ? ` ${body.error}` : '';
      throw new TeamsDeliveryError(`the Teams token endpoint answered ${res.status}${code}`, res.status, retryableStatus(res.status));
    }
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in) || 3600;
    // Renew 5 minutes before expiry (or halfway through a short lifetime) so a call never carries an expiring token.
    const margin = Math.min(300, lifetime / 2);
    cached = { token: body.access_token, refreshAt: now().getTime() + (lifetime - margin) * 1000 };
    return body.access_token;
  }

  async function token(): Promise<string> {
    if (cached && now().getTime() < cached.refreshAt) return cached.token;
    inflight ??= fetchToken().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  async function call(method: 'GET' | 'POST' | 'PUT', url: string, what: string, body?: object): Promise<Record<string, unknown>> {
    if (!isSafeUrl(url)) throw new TeamsDeliveryError(`${what}: the service URL is not https, or carries a user or password`, undefined, false);
    const bearer = await token();
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (e) {
      throw new TeamsDeliveryError(`${what} failed (${(e as Error).name})`, undefined, true);
    }
    // A refused token is dropped so the next attempt asks for a new one.
    if (res.status === 401) cached = undefined;
    if (!res.ok) throw new TeamsDeliveryError(`${what}: the Bot Connector answered ${res.status}`, res.status, retryableStatus(res.status) || res.status === 401);
    const text = await res.text();
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  const idOf = (r: Record<string, unknown>, what: string): string => {
    if (typeof r.id !== 'string' || r.id === '') throw new TeamsDeliveryError(`${what}: the Bot Connector sent no id`, undefined, false);
    return r.id;
  };

  const api: TeamsConnector = {
    async postCard(conversation, card) {
      const what = 'posting the Teams card';
      return idOf(await call('POST', conversationUrl(conversation, '/activities'), what, messageActivity(card)), what);
    },
    async updateCard(conversation, activityId, card) {
      await call('PUT', conversationUrl(conversation, `/activities/${encodeURIComponent(activityId)}`), 'updating the Teams card', messageActivity(card, activityId));
    },
    async sendToUser(user, card) {
      const base = user.serviceUrl.endsWith('/') ? user.serviceUrl : `${user.serviceUrl}/`;
      const what = 'opening the Teams chat';
      // Bot Connector "Create conversation": a 1:1 with the bot; Teams needs the tenant and returns the existing chat if there is one.
      const created = await call('POST', new URL('v3/conversations', base).toString(), what, {
        isGroup: false,
        bot: { id: `28:${opts.appId}` },
        members: [{ id: user.userId }],
        tenantId: user.tenantId,
        channelData: { tenant: { id: user.tenantId } },
      });
      const conversation = { serviceUrl: user.serviceUrl, id: idOf(created, what) };
      return { ...conversation, activityId: await api.postCard(conversation, card) };
    },
    async getMember(conversation, userId) {
      let m: Record<string, unknown>;
      try {
        m = await call('GET', conversationUrl(conversation, `/members/${encodeURIComponent(userId)}`), 'looking up the Teams member');
      } catch (e) {
        if (e instanceof TeamsDeliveryError && e.status === 404) return undefined;
        throw e;
      }
      const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
      if (typeof m.id !== 'string') throw new TeamsDeliveryError('looking up the Teams member: the Bot Connector sent no id', undefined, false);
      return { id: m.id, aadObjectId: str(m.aadObjectId), email: str(m.email), userPrincipalName: str(m.userPrincipalName), name: str(m.name), userRole: str(m.userRole), tenantId: str(m.tenantId) };
    },
  };
  return api;
}
