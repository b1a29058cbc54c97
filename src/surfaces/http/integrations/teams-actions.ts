/**
 * What a verified Teams card action does: resolve the clicking user to a
 * human the gateway knows (their Entra object id → the Bot Connector's member
 * record → its email, cached), then the same review use case as every other
 * channel applies every rule. The answer is the card as it now stands, which
 * Teams shows the one who clicked in place of theirs; a refusal (not a known
 * human, self-approval, not an approver, already decided) is a notice on that
 * card, and kept in the audit log.
 */
import { requestCard } from '../../../adapters/channel/teams/card.ts';
import type { TeamsConnector } from '../../../adapters/channel/teams/connector.ts';
import { cardResponse, errorResponse, type CardAction, type InvokeResponse } from '../../../adapters/channel/teams/invoke.ts';
import { heldRequestView, publicUrlOf } from '../../../adapters/channel/teams/view.ts';
import { isCountersignError } from '../../../core/errors.ts';
import type { Principal } from '../../../core/principal.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { reviewerByEmail } from '../../../service/chat-reviewer.ts';
import type { Deps } from '../../../service/deps.ts';
import { review } from '../../../service/review.ts';

/** How long a Teams user's email is trusted before the Bot Connector is asked again. */
const EMAIL_TTL_MS = 10 * 60_000;

const UNLINKED = 'Your Teams account is not linked to a human this gateway knows (its email must match one that is configured or has signed in to the console).';

/** A channel conversation id as Teams sends it in an activity carries `;messageid=…`; the member look-up wants the conversation. */
const conversationIdOf = (id: string) => id.split(';')[0] as string;

export function createTeamsActions(deps: Deps, connector: TeamsConnector, opts: { requestUrl: (id: string) => string }) {
  const emails = new Map<string, { email: string | null; at: number }>();

  async function emailOf(action: CardAction): Promise<string | null> {
    const hit = emails.get(action.aadObjectId);
    if (hit && Date.now() - hit.at < EMAIL_TTL_MS) return hit.email;
    const member = await connector.getMember({ serviceUrl: action.conversation.serviceUrl, id: conversationIdOf(action.conversation.id) }, action.aadObjectId);
    // A record for someone else is no answer; UPN stands in for email where Entra has no mail attribute.
    const email = member && (member.aadObjectId ?? action.aadObjectId).toLowerCase() === action.aadObjectId.toLowerCase() ? (member.email ?? member.userPrincipalName) : null;
    emails.set(action.aadObjectId, { email, at: Date.now() });
    return email;
  }

  const card = (r: RequestRecord, notice?: string): InvokeResponse =>
    cardResponse(requestCard(heldRequestView(r), { publicUrl: publicUrlOf(opts.requestUrl), ...(notice ? { notice } : {}) }));

  async function refuse(action: CardAction, reason: string): Promise<void> {
    await deps.store.appendAudit([{ type: 'channel.refused', time: deps.clock.now().toISOString(), requestId: action.requestId, actor: null, data: { channel: 'teams', reason, teamsUser: action.aadObjectId } }]);
  }

  async function reviewer(action: CardAction): Promise<Principal | string> {
    const email = await emailOf(action);
    const human = email ? await reviewerByEmail(deps, email) : undefined;
    if (human) return human;
    await refuse(action, email ? 'user.unknown_email' : 'user.no_email');
    return UNLINKED;
  }

  /**
   * The answer to one card action.
   *
   * @example
   * return c.json((await actions.handle(parsed.action)).body, 200);
   */
  async function handle(action: CardAction): Promise<InvokeResponse> {
    const current = await deps.store.getRequest(action.requestId);
    // Only requests whose card went to Teams are shown or decided here.
    if (!current || (await deps.store.channelMessages(action.requestId, 'teams')).length === 0) return errorResponse(404, 'NOT_FOUND', 'This request is not known to this gateway.');
    if (action.verb === 'refresh') return card(current);
    if (action.verb === 'deny' && !action.reason) return card(current, 'Say why you deny, so the requester knows.');
    let human: Principal | string;
    try {
      human = await reviewer(action);
    } catch (e) {
      deps.log.error({ channel: 'teams', requestId: action.requestId, err: e instanceof Error ? e.message : String(e) }, 'looking up a Teams user failed');
      return errorResponse(500, 'INTERNAL', 'Your Teams account could not be looked up just now; try again.');
    }
    if (typeof human === 'string') return card(current, human);
    try {
      const next = await review(deps, { reviewer: human, requestId: action.requestId, verdict: action.verb, comment: action.reason ?? '', via: 'teams', channelUser: action.aadObjectId });
      return card(next);
    } catch (e) {
      if (!isCountersignError(e)) throw e;
      const now = (await deps.store.getRequest(action.requestId)) ?? current;
      // A repeated click of someone who already voted changes nothing and needs no audit event of its own.
      if (e.code === 'ALREADY_REVIEWED') return card(now, 'You have already reviewed this request.');
      await refuse(action, `review.${e.code.toLowerCase()}`);
      return card(now, e.message);
    }
  }

  return { handle };
}
