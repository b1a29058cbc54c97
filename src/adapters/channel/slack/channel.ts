/**
 * The Slack channel: posts a request's message when it is held (to the
 * channels its matched rules name, else the default one), updates every
 * message of the request in place on each later event from any channel,
 * and sends the human requester (or the human an agent acts for) a direct
 * message with the outcome. Each step is safe to repeat: a retried delivery
 * posts only where no message exists yet, and an update shows the request
 * as it stands now. Should Slack ever refuse a message for what it says
 * (`invalid_blocks`), the same call is made again with a minimal card
 * without buttons — the action, the status and the console link — so a
 * request is never silently missing from Slack, and a decided request never
 * keeps an old card with live buttons.
 */
import type { Channel, DeliveryContext } from '../../../core/channel.ts';
import type { OutboxDelivery } from '../../../core/outbox.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { cardLifecycleChannel } from '../card-lifecycle.ts';
import { isContentRefusal, type SlackApi } from './api.ts';
import { announcement, minimalMessage, outcomeDm, requestMessage } from './message.ts';

export interface SlackChannelOptions {
  readonly api: SlackApi;
  /** Default channel (id or #name). */
  readonly channel: string;
  /** Channels each policy rule names in `notify`. */
  readonly ruleChannels: ReadonlyMap<string, readonly string[]>;
}


/** Where a held request is posted. */
export function targetsOf(r: RequestRecord, opts: Pick<SlackChannelOptions, 'channel' | 'ruleChannels'>): string[] {
  const named = r.decision.rules.flatMap((rule) => opts.ruleChannels.get(rule) ?? []);
  return [...new Set(named.length ? named : [opts.channel])];
}

export function createSlackChannel(opts: SlackChannelOptions): Channel {
  /** The full message, or the minimal one when Slack refuses the full one for its content. */
  async function send<T>(method: string, r: RequestRecord, url: string, where: Record<string, unknown>): Promise<T & { ok: true }> {
    try {
      return await opts.api.call<T>(method, { ...where, ...requestMessage(r, url) });
    } catch (e) {
      if (!isContentRefusal(e)) throw e;
      return opts.api.call<T>(method, { ...where, ...minimalMessage(r, url) });
    }
  }

  async function post(r: RequestRecord, ctx: DeliveryContext): Promise<void> {
    for (const target of targetsOf(r, opts)) {
      if (ctx.messages.some((m) => m.ref['target'] === target)) continue;
      const res = await send<{ channel: string; ts: string }>('chat.postMessage', r, ctx.requestUrl(r.id), { channel: target, unfurl_links: false, unfurl_media: false });
      await ctx.remember({ target, channel: res.channel, ts: res.ts });
    }
  }

  async function update(r: RequestRecord, ctx: DeliveryContext): Promise<void> {
    for (const m of ctx.messages) await send('chat.update', r, ctx.requestUrl(r.id), { channel: m.ref['channel'], ts: m.ref['ts'] });
  }

  async function dm(r: RequestRecord, ctx: DeliveryContext): Promise<void> {
    const human = r.principal.kind === 'human' ? r.principal.id : r.principal.actsFor;
    if (!human) return;
    const email = await ctx.emailOf(human);
    if (!email) return;
    let user: string | undefined;
    try {
      user = (await opts.api.call<{ user?: { id?: string } }>('users.lookupByEmail', { email })).user?.id;
    } catch (e) {
      // Not every human the gateway knows is in the workspace.
      if (e instanceof Error && /users_not_found/.test(e.message)) return;
      throw e;
    }
    if (!user) return;
    const im = await opts.api.call<{ channel: { id: string } }>('conversations.open', { users: user });
    await opts.api.call('chat.postMessage', { channel: im.channel.id, ...outcomeDm(r, ctx.requestUrl(r.id)) });
  }

  /** An escalation or a break-glass, said in the thread of each message of the request (a retried delivery may say it twice). */
  async function announce(r: RequestRecord, d: OutboxDelivery, ctx: DeliveryContext): Promise<void> {
    const said = announcement(r, d.event, ctx.requestUrl(r.id));
    for (const m of ctx.messages) await opts.api.call('chat.postMessage', { channel: m.ref['channel'], thread_ts: m.ref['ts'], reply_broadcast: true, unfurl_links: false, ...said });
  }

  return cardLifecycleChannel('slack', { post, update, dm, announce });
}
