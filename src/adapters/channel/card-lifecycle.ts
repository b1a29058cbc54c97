/**
 * The life of a request's card on a chat channel, the same for Slack and
 * Teams: posted when the request is held, updated on every later event from
 * any channel, and one direct message to the requester's human with the
 * event that made the request final. Channels say only how to post, update
 * and send a direct message.
 */
import type { Channel, DeliveryContext } from '../../core/channel.ts';
import { eventKind, type OutboxDelivery } from '../../core/outbox.ts';
import type { RequestRecord } from '../../core/request.ts';

const FOLLOWS = new Set(['held', 'previewed', 'reviewed', 'decided', 'executed', 'escalated', 'break_glass']);

/** Events said out loud where the card lives, beyond updating it: the humans they concern must notice. */
const ANNOUNCED = new Set(['request.escalated', 'request.break_glass']);

/** The audit event that makes a request final, and the status it leaves. */
const FINAL_EVENTS: Readonly<Record<string, RequestRecord['status']>> = {
  'request.denied': 'denied',
  'request.expired': 'expired',
  'request.cancelled': 'cancelled',
  'request.succeeded': 'succeeded',
  'request.failed': 'failed',
};

export interface CardSteps {
  post(r: RequestRecord, ctx: DeliveryContext): Promise<void>;
  update(r: RequestRecord, ctx: DeliveryContext): Promise<void>;
  dm(r: RequestRecord, ctx: DeliveryContext): Promise<void>;
  /** Says an escalation or a break-glass out loud (beside the card); absent: the updated card says it. */
  announce?(r: RequestRecord, d: OutboxDelivery, ctx: DeliveryContext): Promise<void>;
}

/**
 * @example
 * return cardLifecycleChannel('slack', { post, update, dm });
 */
export function cardLifecycleChannel(name: string, steps: CardSteps): Channel {
  return {
    name,
    wants(type) {
      const kind = eventKind(type);
      return kind !== undefined && FOLLOWS.has(kind);
    },
    async deliver(d: OutboxDelivery, ctx) {
      const r = ctx.request;
      // Only requests held for review have a card (a policy deny at submission never does).
      if (!r || r.expiresAt === null) return;
      if (d.event === 'request.held') return steps.post(r, ctx);
      await steps.update(r, ctx);
      if (ANNOUNCED.has(d.event) && steps.announce) await steps.announce(r, d, ctx);
      // One final event per request, so one direct message, sent with the event that made it final.
      if (FINAL_EVENTS[d.event] !== undefined && FINAL_EVENTS[d.event] === r.status) await steps.dm(r, ctx);
    },
  };
}
