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
import { isCountersignError } from '../../../core/errors.ts';
import type { Principal } from '../../../core/principal.ts';
import { reviewerByEmail } from '../../../service/chat-reviewer.ts';
import type { Deps } from '../../../service/deps.ts';
import { review } from '../../../service/review.ts';

/** How long a Slack user's email is trusted before users.info is asked again. */
const EMAIL_TTL_MS = 10 * 60_000;

export interface SlackActor {
  readonly user: string;
  readonly requestId: string;
  /** Where to answer the clicking user privately (block_actions only). */
  readonly responseUrl?: string;
}

export function createSlackActions(deps: Deps, api: SlackApi, opts: { responseOrigins: readonly string[] }) {
  const emails = new Map<string, { email: string | null; at: number }>();

  async function emailOf(user: string): Promise<string | null> {
    const hit = emails.get(user);
    if (hit && Date.now() - hit.at < EMAIL_TTL_MS) return hit.email;
    const info = await api.userInfo(user);
    // A deleted account or a bot never reviews, whatever its profile says.
    const email = info.deleted || info.isBot ? null : info.email;
    emails.set(user, { email, at: Date.now() });
    return email;
  }

  async function tell(actor: SlackActor, text: string): Promise<void> {
    const url = actor.responseUrl;
    // Only back to Slack: a response_url is attacker-shaped text until it is checked.
    if (!url || !opts.responseOrigins.some((o) => url.startsWith(o))) return;
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }), signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  }

  async function refuse(actor: SlackActor, reason: string, text: string): Promise<void> {
    await deps.store.appendAudit([{ type: 'channel.refused', time: deps.clock.now().toISOString(), requestId: actor.requestId, actor: null, data: { channel: 'slack', reason, slackUser: actor.user } }]);
    await tell(actor, text);
  }

  async function reviewer(actor: SlackActor): Promise<Principal | undefined> {
    const email = await emailOf(actor.user);
    const human = email ? await reviewerByEmail(deps, email) : undefined;
    if (!human) await refuse(actor, email ? 'user.unknown_email' : 'user.no_email', 'Your Slack account is not linked to a human this gateway knows (its email must match one that is configured or has signed in to the console).');
    return human;
  }

  async function decide(actor: SlackActor, verdict: 'approve' | 'deny', comment: string): Promise<void> {
    const human = await reviewer(actor);
    if (!human) return;
    try {
      await review(deps, { reviewer: human, requestId: actor.requestId, verdict, comment, via: 'slack', channelUser: actor.user });
    } catch (e) {
      if (!isCountersignError(e)) throw e;
      // A replayed click of someone who already voted changes nothing and needs no audit event of its own.
      if (e.code === 'ALREADY_REVIEWED') return tell(actor, 'You have already reviewed this request.');
      await refuse(actor, `review.${e.code.toLowerCase()}`, e.message);
    }
  }

  const guard = (what: string, p: Promise<void>) =>
    p.catch((e: unknown) => deps.log.error({ channel: 'slack', what, err: e instanceof Error ? e.message : String(e) }, 'slack interaction failed'));

  return {
    approve: (actor: SlackActor) => guard('approve', decide(actor, 'approve', '')),
    /** Opens the reason modal; Slack's trigger_id lives for 3 seconds, so this runs right after the answer. */
    askDenyReason: (actor: SlackActor, triggerId: string) => guard('deny modal', api.call('views.open', { trigger_id: triggerId, view: denyModal(actor.requestId) }).then(() => undefined)),
    deny: (actor: SlackActor, reason: string) => guard('deny', decide(actor, 'deny', reason)),
  };
}
