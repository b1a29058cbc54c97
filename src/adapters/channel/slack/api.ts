/**
 * A small Slack Web API client over fetch: JSON POSTs with the bot token,
 * `ok: false` answers and HTTP failures turned into errors the outbox can
 * judge (retry, or give up when retrying cannot help). The base URL is
 * configurable so tests talk to a local fake Slack.
 */
import { PermanentDeliveryError } from '../../../core/channel.ts';

/** Slack errors that no retry fixes (https://api.slack.com/methods/chat.postMessage#errors). */
const PERMANENT = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'invalid_auth', 'account_inactive', 'token_revoked', 'no_permission', 'missing_scope', 'invalid_blocks', 'msg_too_long', 'users_not_found', 'user_not_found', 'message_not_found', 'cant_update_message']);

export interface SlackApi {
  call<T = Record<string, unknown>>(method: string, body: Record<string, unknown>): Promise<T & { ok: true }>;
  /** users.info, GET-style (form-encoded) as Slack documents it. */
  userInfo(user: string): Promise<{ id: string; email: string | null; deleted: boolean; isBot: boolean }>;
}

export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  constructor(
    readonly method: string,
    readonly error: string,
  ) {
    super(`slack ${method}: ${error}`);
  }
}

export function createSlackApi(opts: { apiUrl: string; botToken: string; timeoutMs?: number }): SlackApi {
  const base = opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/`;
  async function send<T>(method: string, init: RequestInit): Promise<T & { ok: true }> {
    let res: Response;
    try {
      res = await fetch(`${base}${method}`, { ...init, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
    } catch (e) {
      throw new SlackApiError(method, `unreachable (${e instanceof Error ? e.message : String(e)})`);
    }
    if (res.status === 429) throw new SlackApiError(method, `rate limited (retry after ${res.headers.get('retry-after') ?? '?'} s)`);
    if (!res.ok) throw new SlackApiError(method, `HTTP ${res.status}`);
    const body = (await res.json().catch(() => ({ ok: false, error: 'invalid_json' }))) as { ok?: boolean; error?: string };
    if (body.ok !== true) {
      const error = body.error ?? 'unknown_error';
      if (PERMANENT.has(error)) throw new PermanentDeliveryError(`slack ${method}: ${error}`);
      throw new SlackApiError(method, error);
    }
    return body as T & { ok: true };
  }
  return {
    call(method, body) {
      return send(method, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.botToken}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
      });
    },
    async userInfo(user) {
      const r = await send<{ user?: { id?: string; deleted?: boolean; is_bot?: boolean; profile?: { email?: string } } }>('users.info', {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.botToken}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ user }).toString(),
      });
      const email = r.user?.profile?.email;
      return { id: r.user?.id ?? user, email: typeof email === 'string' && email.length > 0 ? email : null, deleted: r.user?.deleted === true, isBot: r.user?.is_bot === true };
    },
  };
}
