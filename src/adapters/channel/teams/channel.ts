/**
 * The Teams channel: posts a request's Adaptive Card when it is held (to the
 * conversations its matched rules name, else the default one), replaces
 * every card of the request in place on each later event from any channel,
 * and sends the human requester (or the human an agent acts for) the outcome
 * card in a 1:1 chat. The direct message needs their Entra object id, which
 * the Bot Connector gives only for a member of the approvals conversation
 * (looked up by their email); anyone else gets no direct message. Every step
 * is safe to repeat, as in Slack. A Bot Connector failure that a retry cannot
 * fix (403, 404, a bad request) sets the delivery aside; the rest are retried.
 * A card the Bot Connector refuses for what it holds (400, 413) is sent again
 * as a minimal card without buttons, so a request is never silently missing
 * and a decided one never keeps an old card with live buttons.
 */
import { PermanentDeliveryError, type Channel, type DeliveryContext } from '../../../core/channel.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { cardLifecycleChannel } from '../card-lifecycle.ts';
import { messageCard, minimalCard, requestCard, type AdaptiveCard } from './card.ts';
import { announcementText } from '../request-text.ts';
import type { OutboxDelivery } from '../../../core/outbox.ts';
import { conversationFor, type ConversationReference, type TeamsConfig } from './config.ts';
import { TeamsDeliveryError, type TeamsConnector } from './connector.ts';
import { heldRequestView, publicUrlOf } from './view.ts';

export interface TeamsChannelOptions {
  readonly connector: TeamsConnector;
  readonly config: TeamsConfig;
  /** Conversation names each policy rule names in `notify`. */
  readonly ruleConversations: ReadonlyMap<string, readonly string[]>;
}

/** The name the default conversation is recorded under. */
export const DEFAULT_CONVERSATION = 'default';


/** Where a held request is posted: conversation names, `default` when no rule names one. */
export function conversationsOf(r: RequestRecord, ruleConversations: ReadonlyMap<string, readonly string[]>): string[] {
  const named = r.decision.rules.flatMap((rule) => ruleConversations.get(rule) ?? []);
  return [...new Set(named.length ? named : [DEFAULT_CONVERSATION])];
}

/** The outbox's two outcomes: retry later, or set the delivery aside. */
async function judged<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof TeamsDeliveryError && !e.retryable) throw new PermanentDeliveryError(e.message);
    throw e;
  }
}

/**
 * @example
 * const teams = createTeamsChannel({ connector: createTeamsConnector(cfg), config: cfg, ruleConversations: new Map() });
 */
export function createTeamsChannel(opts: TeamsChannelOptions): Channel {
  const target = (name: string): ConversationReference => (name === DEFAULT_CONVERSATION ? opts.config.conversation : conversationFor(opts.config, name));
  const cardOf = (r: RequestRecord, ctx: DeliveryContext) => requestCard(heldRequestView(r), { publicUrl: publicUrlOf(ctx.requestUrl) });

  /** The full card, or the minimal one when the Bot Connector refuses the full one for its content. */
  async function send<T>(r: RequestRecord, ctx: DeliveryContext, call: (card: AdaptiveCard) => Promise<T>): Promise<T> {
    try {
      return await call(cardOf(r, ctx));
    } catch (e) {
      if (!(e instanceof TeamsDeliveryError) || (e.status !== 400 && e.status !== 413)) return judged(Promise.reject(e));
      return judged(call(minimalCard(heldRequestView(r), { publicUrl: publicUrlOf(ctx.requestUrl) })));
    }
  }

  async function post(r: RequestRecord, ctx: DeliveryContext): Promise<void> {
    for (const name of conversationsOf(r, opts.ruleConversations)) {
      if (ctx.messages.some((m) => m.ref['target'] === name)) continue;
      const conversation = target(name);
      const activityId = await send(r, ctx, (card) => opts.connector.postCard(conversation, card));
      await ctx.remember({ target: name, serviceUrl: conversation.serviceUrl, conversationId: conversation.id, activityId });
    }
  }

  async function update(r: RequestRecord, ctx: DeliveryContext): Promise<void> {
    for (const m of ctx.messages) {
      const { serviceUrl, conversationId, activityId } = m.ref;
      if (!serviceUrl || !conversationId || !activityId) continue;
      await send(r, ctx, (card) => opts.connector.updateCard({ serviceUrl, id: conversationId }, activityId, card));
    }
  }

  async function dm(r: RequestRecord, ctx: DeliveryContext): Promise<void> {
    const human = r.principal.kind === 'human' ? r.principal.id : r.principal.actsFor;
    if (!human) return;
    const email = await ctx.emailOf(human);
    if (!email) return;
    const home = opts.config.conversation;
    const member = await judged(opts.connector.getMember(home, email));
    if (!member?.aadObjectId) return;
    // The requesting side never sees the impact preview: its counts would answer what it may not read.
    const { preview: _preview, ...unpreviewed } = r;
    await judged(opts.connector.sendToUser({ serviceUrl: home.serviceUrl, userId: member.aadObjectId, tenantId: opts.config.tenantId }, cardOf(unpreviewed, ctx)));
  }

  /** An escalation or a break-glass, said as a short card in each conversation the request's card is in. */
  async function announce(r: RequestRecord, d: OutboxDelivery, ctx: DeliveryContext): Promise<void> {
    const card = messageCard(`${announcementText(r, d.event)} (${r.action.operation} on ${r.action.connection}, request ${r.id})`);
    for (const m of ctx.messages) if (m.ref['target']) await judged(opts.connector.postCard(target(m.ref['target']), card));
  }

  return cardLifecycleChannel('teams', { post, update, dm, announce });
}
