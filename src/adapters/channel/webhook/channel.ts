/**
 * A signed outbound webhook: request created, decided and executed events
 * POSTed as JSON to one URL, signed per Standard Webhooks. The outbox id is
 * the `webhook-id`, the same on every retry, so a receiver can drop
 * duplicates; any 2xx is delivered, anything else is retried with backoff.
 */
import type { Channel } from '../../../core/channel.ts';
import { PermanentDeliveryError } from '../../../core/channel.ts';
import { eventKind, type EventKind } from '../../../core/outbox.ts';
import type { Clock } from '../../../core/ports.ts';
import { webhookSignature } from './sign.ts';

export interface WebhookChannelOptions {
  readonly name: string;
  readonly url: string;
  readonly secret: string;
  readonly events: readonly ('created' | 'previewed' | 'decided' | 'executed' | 'escalated' | 'break_glass')[];
  readonly clock: Clock;
  readonly timeoutMs?: number;
}

export function createWebhookChannel(opts: WebhookChannelOptions): Channel {
  const events = new Set<EventKind>(opts.events);
  return {
    name: `webhook:${opts.name}`,
    wants(type) {
      const kind = eventKind(type);
      return kind !== undefined && events.has(kind);
    },
    async deliver(d, ctx) {
      const kind = eventKind(d.event);
      const id = `msg_${d.id}`;
      const timestamp = Math.floor(opts.clock.now().getTime() / 1000);
      const r = ctx.request;
      const body = JSON.stringify({
        type: `request.${kind}`,
        timestamp: d.createdAt,
        data: {
          requestId: d.requestId,
          event: d.event,
          ...d.payload,
          // The request as it stands at delivery, for receivers that follow along without calling back.
          ...(r ? { status: r.status, principal: r.principal.id, actsFor: r.principal.actsFor, connection: r.action.connection, url: ctx.requestUrl(r.id) } : {}),
          // A held write's impact preview, once taken (a receiver is the operator's, like a reviewer's channel).
          ...(r?.preview ? { preview: r.preview } : {}),
        },
      });
      let res: Response;
      try {
        res = await fetch(opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': webhookSignature(opts.secret, id, timestamp, body) },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
      } catch (e) {
        throw new Error(`webhook ${opts.name}: unreachable (${e instanceof Error ? e.message : String(e)})`);
      }
      await res.body?.cancel();
      // 410 Gone: the receiver asks us to stop (Standard Webhooks §"Retries").
      if (res.status === 410) throw new PermanentDeliveryError(`webhook ${opts.name}: HTTP 410 gone`);
      if (res.status < 200 || res.status >= 300) throw new Error(`webhook ${opts.name}: HTTP ${res.status}`);
    },
  };
}
