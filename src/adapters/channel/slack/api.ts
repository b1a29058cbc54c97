/**
 * Slack's Web API through `@slack/web-api` (its `slackApiUrl` points tests
 * at a local fake Slack). The client's own retries are off: the outbox owns
 * retrying, with backoff, across restarts. Its errors are turned into ones
 * the outbox can judge: retry, or give up when retrying cannot help.
 *
 * The library (about 1.3 MB of heap with its dependencies) loads with the
 * first call, so a gateway without Slack does not hold it; concurrent first
 * calls share one load and one client. A load that fails fails the call
 * (the outbox keeps the delivery and retries it), and the next call loads
 * again.
 */
import type { WebAPICallError, WebClient } from '@slack/web-api';
import { PermanentDeliveryError } from '../../../core/channel.ts';
import { lazyModule } from '../../lazy-module.ts';

type SlackLibrary = typeof import('./web-api.ts');
const slackLibrary = lazyModule(() => import('./web-api.ts'));

/** Slack errors that no retry fixes (https://api.slack.com/methods/chat.postMessage#errors). */
const PERMANENT = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'invalid_auth', 'account_inactive', 'token_revoked', 'no_permission', 'missing_scope', 'invalid_blocks', 'invalid_blocks_format', 'invalid_arguments', 'msg_too_long', 'users_not_found', 'user_not_found', 'message_not_found', 'cant_update_message']);

/** Errors by which Slack refuses what a message says (not where it goes, nor who sends it). */
const CONTENT_REFUSALS = ['invalid_blocks', 'invalid_blocks_format', 'invalid_arguments', 'msg_too_long'];

/**
 * True when Slack refused a message for its content: a smaller one may pass.
 *
 * @example
 * try { await api.call('chat.update', full); } catch (e) { if (isContentRefusal(e)) await api.call('chat.update', minimal); else throw e; }
 */
export function isContentRefusal(e: unknown): boolean {
  return e instanceof PermanentDeliveryError && CONTENT_REFUSALS.some((code) => e.message.endsWith(`: ${code}`));
}

export interface SlackApi {
  call<T = Record<string, unknown>>(method: string, body: Record<string, unknown>): Promise<T & { ok: true }>;
  /** users.info: the user's email (when Slack shares it), their home workspace, whether Slack confirmed the email, and whether they are deleted or a bot. */
  userInfo(user: string): Promise<{ id: string; email: string | null; teamId: string | null; emailConfirmed: boolean; deleted: boolean; isBot: boolean }>;
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

function translate(ErrorCode: SlackLibrary['ErrorCode'], method: string, e: unknown): Error {
  const err = e as Partial<WebAPICallError> & { message?: string };
  switch (err.code) {
    case ErrorCode.PlatformError: {
      const error = String((err as { data?: { error?: string } }).data?.error ?? 'unknown_error');
      return PERMANENT.has(error) ? new PermanentDeliveryError(`slack ${method}: ${error}`) : new SlackApiError(method, error);
    }
    case ErrorCode.RateLimitedError:
      return new SlackApiError(method, `rate limited (retry after ${(err as { retryAfter?: number }).retryAfter ?? '?'} s)`);
    case ErrorCode.HTTPError:
      return new SlackApiError(method, `HTTP ${(err as { statusCode?: number }).statusCode ?? '?'}`);
    case ErrorCode.RequestError:
      return new SlackApiError(method, `unreachable (${(err as { original?: Error }).original?.message ?? 'request failed'})`);
    default:
      return new SlackApiError(method, err.message ?? String(e));
  }
}

/**
 * @example
 * const api = createSlackApi({ apiUrl: 'https://slack.com/api/', botToken: process.env.SLACK_BOT_TOKEN! });
 * await api.call('chat.postMessage', { channel: 'C0APPROVALS', text: 'hello' });
 */
export function createSlackApi(opts: { apiUrl: string; botToken: string; timeoutMs?: number }): SlackApi {
  let client: Promise<{ web: WebClient; ErrorCode: SlackLibrary['ErrorCode'] }> | undefined;
  const connect = (method: string) => {
    const connecting = (client ??= slackLibrary().then(({ WebClient, ErrorCode }) => ({
      web: new WebClient(opts.botToken, {
        slackApiUrl: opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/`,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: opts.timeoutMs ?? 10_000,
        // The client logs through its own logger; the gateway's log says what matters.
        logLevel: undefined,
      }),
      ErrorCode,
    })));
    return connecting.catch((e: unknown) => {
      if (client === connecting) client = undefined;
      throw new SlackApiError(method, `the Slack client library did not load (${e instanceof Error ? e.message : String(e)})`);
    });
  };
  return {
    async call<T>(method: string, body: Record<string, unknown>) {
      const { web, ErrorCode } = await connect(method);
      try {
        return (await web.apiCall(method, body)) as unknown as T & { ok: true };
      } catch (e) {
        throw translate(ErrorCode, method, e);
      }
    },
    async userInfo(user) {
      const { web, ErrorCode } = await connect('users.info');
      let r;
      try {
        r = await web.users.info({ user });
      } catch (e) {
        throw translate(ErrorCode, 'users.info', e);
      }
      const email = r.user?.profile?.email;
      return {
        id: r.user?.id ?? user,
        email: typeof email === 'string' && email.length > 0 ? email : null,
        teamId: typeof r.user?.team_id === 'string' ? r.user.team_id : null,
        emailConfirmed: r.user?.is_email_confirmed === true,
        deleted: r.user?.deleted === true,
        isBot: r.user?.is_bot === true,
      };
    },
  };
}
