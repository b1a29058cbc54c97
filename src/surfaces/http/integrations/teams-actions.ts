/**
 * What a verified Teams card action does: resolve the clicking user to a
 * human the gateway knows (their Entra object id → the Bot Connector's member
 * record → its email, cached), then the same review use case as every other
 * channel applies every rule. The answer is the card as it now stands, which
 * Teams shows the one who clicked in place of theirs; a refusal (not a known
 * human, self-approval, not an approver, already decided) is a notice on that
 * card, and kept in the audit log. An approval on a production or PII
 * connection without the card's ticked confirmation is refused with
 * CONFIRMATION_REQUIRED and records nothing. A decision counts only from the
 * request's own card (the activity Teams names as clicked, `replyToId`, must be
 * the one the gateway posted for that request): any other is `card.elsewhere`.
 * The clicking user is looked up at the Bot Connector the card was posted to
 * (the configured conversation's serviceUrl), never at the one the activity
 * names: that call carries the bot's own token, and its answer decides who
 * approved.
 */
import { requestCard } from '../../../adapters/channel/teams/card.ts';
import type { TeamsConnector } from '../../../adapters/channel/teams/connector.ts';
import { cardResponse, errorResponse, type CardAction, type InvokeResponse } from '../../../adapters/channel/teams/invoke.ts';
import { heldRequestView, publicUrlOf } from '../../../adapters/channel/teams/view.ts';
import type { Principal } from '../../../core/principal.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { reviewBrief } from '../../../core/review-brief.ts';
import { chatReviewer, reviewFromChat, type ChatClick } from '../../../service/chat-review.ts';
import type { Deps } from '../../../service/deps.ts';
import { createEmailCache } from './email-cache.ts';
import { postedCard } from './posted-card.ts';

const UNLINKED = 'Your Teams account is not linked to a human this gateway knows (its email must match one that is configured or has signed in to the console).';

const ELSEWHERE = 'That request’s card is not on this message, so the click decides nothing. Review it from its own card or in the console.';

/** A channel conversation id as Teams sends it in an activity carries `;messageid=…`; the member look-up wants the conversation. */
const conversationIdOf = (id: string) => id.split(';')[0] as string;

export function createTeamsActions(deps: Deps, connector: TeamsConnector, opts: { requestUrl: (id: string) => string; tenantId: string }) {
  const emails = createEmailCache();

  const emailOf = (action: CardAction, serviceUrl: string) =>
    emails.get(action.aadObjectId, async () => {
      const member = await connector.getMember({ serviceUrl, id: conversationIdOf(action.conversation.id) }, action.aadObjectId);
      // A record for someone else is no answer; UPN stands in for email where Entra has no mail attribute.
      if (!member || (member.aadObjectId ?? action.aadObjectId).toLowerCase() !== action.aadObjectId.toLowerCase()) return null;
      // A guest's or another tenant's mail attribute is set by whoever invited them, not proven by the person: it names no one
      // here. So does one on a record that does not say it is a member of the configured tenant (fail closed).
      if (member.userRole !== 'user' || member.tenantId === null || member.tenantId.toLowerCase() !== opts.tenantId.toLowerCase()) return null;
      return member.email ?? member.userPrincipalName ?? null;
    });

  const card = (r: RequestRecord, notice?: string): InvokeResponse =>
    cardResponse(requestCard(heldRequestView(r), { publicUrl: publicUrlOf(opts.requestUrl), ...(notice ? { notice } : {}) }));


  /**
   * The answer to one card action.
   *
   * @example
   * return c.json((await actions.handle(parsed.action)).body, 200);
   */
  async function handle(action: CardAction): Promise<InvokeResponse> {
    const current = await deps.store.getRequest(action.requestId);
    // Only a request whose card was posted in the conversation the click comes from is shown or decided there:
    // a card with another request's id, sent from a chat the card never reached, learns nothing of it.
    const here = conversationIdOf(action.conversation.id);
    // A decision counts only from this request's own card: the message Teams says was clicked (replyToId) must be one
    // the gateway posted for it. The buttons carry only an id: one naming another request than its card (an edited
    // card, a crafted invoke), or a click from no card, would decide a request whose card the human never saw. A click
    // just after the card appeared waits for it to be remembered (postedCard).
    const { found: clicked, posted } = current
      ? await postedCard(
          () => deps.store.channelMessages(action.requestId, 'teams'),
          (m) => m.ref['conversationId'] === here && (action.verb === 'refresh' || m.ref['activityId'] === action.activityId),
          // A click from no card (no replyToId) has nothing to wait for.
          action.verb !== 'refresh' && action.activityId === undefined ? 0 : undefined,
        )
      : { found: undefined, posted: [] };
    if (!current || !posted.some((m) => m.ref['conversationId'] === here)) return errorResponse(404, 'NOT_FOUND', 'This request is not known to this gateway.');
    if (action.verb === 'refresh') return card(current);
    if (!clicked) {
      await deps.store.appendAudit([
        { type: 'channel.refused', time: deps.clock.now().toISOString(), requestId: current.id, actor: null, data: { channel: 'teams', reason: 'card.elsewhere', teamsUser: action.aadObjectId } },
      ]);
      return card(current, ELSEWHERE);
    }
    if (action.verb === 'deny' && !action.reason) return card(current, 'Say why you deny, so the requester knows.');
    // Production and PII approvals carry the ticked toggle; a click without it (an old card, a forged one) records nothing.
    if (action.verb === 'approve' && !action.confirmed && reviewBrief(current).confirm) {
      return errorResponse(400, 'CONFIRMATION_REQUIRED', 'This runs on a production or PII connection: open Approve…, tick the confirmation, then approve.');
    }
    const click: ChatClick = { channel: 'teams', field: 'teamsUser', user: action.aadObjectId, requestId: action.requestId };
    let human: Principal | undefined;
    try {
      // Where the gateway posted this card (its configuration), not the activity's serviceUrl.
      const serviceUrl = clicked.ref['serviceUrl'];
      human = serviceUrl ? await chatReviewer(deps, click, await emailOf(action, serviceUrl)) : undefined;
    } catch (e) {
      deps.log.error({ channel: 'teams', requestId: action.requestId, err: e }, 'looking up a Teams user failed');
      return errorResponse(500, 'INTERNAL', 'Your Teams account could not be looked up just now; try again.');
    }
    if (!human) return card(current, UNLINKED);
    const outcome = await reviewFromChat(deps, click, human, action.verb, action.reason ?? '');
    if (outcome.ok) return card(outcome.request);
    return card((await deps.store.getRequest(action.requestId)) ?? current, outcome.message);
  }

  return { handle };
}
