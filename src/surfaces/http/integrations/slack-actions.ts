/**
 * What a verified Slack interaction does, after Slack has had its answer:
 * resolve the clicking user to a human the gateway knows (users.info email,
 * cached), then the same review use case as every other channel applies
 * every rule. Approve records a review; Deny opens a modal asking why, and
 * its submission records the deny with that reason. A refusal (not a known
 * human, self-approval, not an approver, already decided) is told to the
 * user privately and kept in the audit log.
 */
import type { SlackApi } from '../../../adapters/channel/slack/api.ts';
import { denyModal } from '../../../adapters/channel/slack/message.ts';
import { chatReviewer, reviewFromChat, type ChatClick } from '../../../service/chat-review.ts';
import type { Deps } from '../../../service/deps.ts';
import { createEmailCache } from './email-cache.ts';
import { postedCard } from './posted-card.ts';

const UNLINKED = 'Your Slack account is not linked to a human this gateway knows (its email must match one that is configured or has signed in to the console).';
const ELSEWHERE = 'That request’s card is not on this message, so the click decides nothing. Review it from its own card or in the console.';

export interface SlackActor {
  readonly user: string;
  readonly requestId: string;
  /** Where to answer the clicking user privately (block_actions only). */
  readonly responseUrl?: string;
  /** The message whose button was clicked (block_actions only). */
  readonly message?: { readonly channel: string; readonly ts: string };
}

export function createSlackActions(deps: Deps, api: SlackApi, opts: { responseOrigins: readonly string[]; teamId: string }) {
  const emails = createEmailCache();

  const emailOf = (user: string) =>
    emails.get(user, async () => {
      const info = await api.userInfo(user);
      // A deleted account or a bot never reviews, whatever its profile says. The email vouches for a person only on an
      // account of the configured workspace (not a Slack Connect guest, whose organisation sets its own profiles) and
      // once Slack has confirmed it.
      return info.deleted || info.isBot || info.teamId !== opts.teamId || !info.emailConfirmed ? null : info.email;
    });

  async function tell(actor: SlackActor, text: string): Promise<void> {
    const url = actor.responseUrl;
    // Only back to Slack: a response_url is attacker-shaped text until it is checked.
    if (!url || !opts.responseOrigins.some((o) => url.startsWith(o))) return;
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }), signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  }

  async function decide(actor: SlackActor, verdict: 'approve' | 'deny', comment: string): Promise<void> {
    const click: ChatClick = { channel: 'slack', field: 'slackUser', user: actor.user, requestId: actor.requestId };
    const human = await chatReviewer(deps, click, await emailOf(actor.user));
    if (!human) return tell(actor, UNLINKED);
    const outcome = await reviewFromChat(deps, click, human, verdict, comment);
    if (!outcome.ok) await tell(actor, outcome.message);
  }

  /**
   * Whether the click came from this request's own card, a message the gateway posted and remembered for it. A button
   * is only a request id: one naming another request than the card it sits on (or a click from no card) would decide a
   * request whose card the human never saw, so it decides nothing and is kept in the audit log, as Teams does. A click
   * just after the card appeared waits for it to be remembered (postedCard).
   */
  async function onItsCard(actor: SlackActor): Promise<boolean> {
    const m = actor.message;
    if (m !== undefined && (await postedCard(() => deps.store.channelMessages(actor.requestId, 'slack'), (p) => p.ref['channel'] === m.channel && p.ref['ts'] === m.ts)).found) return true;
    await deps.store.appendAudit([
      { type: 'channel.refused', time: deps.clock.now().toISOString(), requestId: actor.requestId, actor: null, data: { channel: 'slack', reason: 'card.elsewhere', slackUser: actor.user } },
    ]);
    await tell(actor, ELSEWHERE);
    return false;
  }

  const guard = (what: string, p: Promise<void>) =>
    p.catch((e: unknown) => deps.log.error({ channel: 'slack', what, err: e }, 'slack interaction failed'));

  return {
    approve: (actor: SlackActor) => guard('approve', onItsCard(actor).then((ok) => (ok ? decide(actor, 'approve', '') : undefined))),
    /** Opens the reason modal (only from the request's own card); Slack's trigger_id lives for 3 seconds, so this runs right after the answer. */
    askDenyReason: (actor: SlackActor, triggerId: string) =>
      guard('deny modal', onItsCard(actor).then(async (ok) => (ok ? void (await api.call('views.open', { trigger_id: triggerId, view: denyModal(actor.requestId) })) : undefined))),
    deny: (actor: SlackActor, reason: string) => guard('deny', decide(actor, 'deny', reason)),
  };
}
