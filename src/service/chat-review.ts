/**
 * Chat review: a click on a chat card becomes a review by the human the
 * clicking account belongs to, through the same review use case as every
 * surface. What cannot count — an account linked to no human the gateway
 * knows, a review the rules refuse — is kept in the audit log as
 * `channel.refused`, naming the account by the channel's own id; a repeated
 * click of someone who already voted changes nothing and needs no event. The
 * reviewer carries the account that clicked: one account is one person, so a
 * second click of it is that person again, whatever email it has by then.
 */
import { isCountersignError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import type { RequestRecord } from '../core/request.ts';
import { reviewerByEmail } from './chat-reviewer.ts';
import type { Deps } from './deps.ts';
import { review } from './review.ts';
import type { RefusalReason } from '../core/refusals.ts';
import type { ErrorCode } from '../core/errors.ts';

/** One click: which channel, the account's id there (audited under `field`), and the request. */
export interface ChatClick {
  readonly channel: 'slack' | 'teams';
  readonly field: 'slackUser' | 'teamsUser';
  readonly user: string;
  readonly requestId: string;
}

export type ChatReviewOutcome = { readonly ok: true; readonly request: RequestRecord } | { readonly ok: false; readonly message: string };

async function refuse(deps: Pick<Deps, 'store' | 'clock'>, click: ChatClick, reason: RefusalReason): Promise<void> {
  await deps.store.appendAudit([
    { type: 'channel.refused', time: deps.clock.now().toISOString(), requestId: click.requestId, actor: null, data: { channel: click.channel, reason, [click.field]: click.user } },
  ]);
}

/**
 * The human behind the clicking account, by the email the channel vouches
 * for; undefined (and audited) when there is none.
 *
 * @example
 * const human = await chatReviewer(deps, { channel: 'slack', field: 'slackUser', user: 'U123', requestId }, 'alice@example.com');
 */
export async function chatReviewer(deps: Pick<Deps, 'identity' | 'store' | 'clock' | 'groupsMaxAgeSeconds' | 'signInIssuer' | 'signInGroups'>, click: ChatClick, email: string | null): Promise<Principal | undefined> {
  const human = email ? await reviewerByEmail(deps, email) : undefined;
  if (!human) {
    await refuse(deps, click, email ? 'user.unknown_email' : 'user.no_email');
    return undefined;
  }
  // The account that clicked, which the channel's signature vouches for: its email may change between two clicks (or
  // be read at another moment by another replica), the account does not, so a second click of it is no second person.
  return Object.freeze({ ...human, chatAccount: chatAccountOf(click) });
}

/**
 * The key of a chat account: a Slack user id as Slack writes it, an Entra object id (a GUID) in lower case.
 *
 * @example
 * chatAccountOf({ channel: 'teams', user: 'AAAAAAAA-0000-…', … }); // 'teams:aaaaaaaa-0000-…'
 */
export function chatAccountOf(click: Pick<ChatClick, 'channel' | 'user'>): string {
  return `${click.channel}:${click.channel === 'teams' ? click.user.toLowerCase() : click.user}`;
}

/**
 * @example
 * const outcome = await reviewFromChat(deps, click, alice, 'approve', '');
 * if (!outcome.ok) tell(outcome.message);
 */
export async function reviewFromChat(deps: Deps, click: ChatClick, human: Principal, verdict: 'approve' | 'deny', comment: string): Promise<ChatReviewOutcome> {
  try {
    return { ok: true, request: await review(deps, { reviewer: human, requestId: click.requestId, verdict, comment, via: click.channel, channelUser: click.user }) };
  } catch (e) {
    if (!isCountersignError(e)) throw e;
    if (e.code === 'ALREADY_REVIEWED') return { ok: false, message: 'You have already reviewed this request.' };
    await refuse(deps, click, `review.${e.code.toLowerCase() as Lowercase<ErrorCode>}`);
    return { ok: false, message: e.message };
  }
}
