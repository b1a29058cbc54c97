/**
 * The channel port: a place where reviewers are asked (Slack, Teams) or
 * followers are told (signed webhooks). The worker hands a channel one owed
 * delivery with the request as it stands now; the channel posts or updates
 * its message and says where it lives, so any later decision — from any
 * channel — can update it in place.
 */
import type { OutboxDelivery } from './outbox.ts';
import type { RequestRecord } from './request.ts';

/** Where a channel put a message for a request (Slack: channel + ts; Teams: conversation + activity id). */
export interface ChannelMessage {
  readonly requestId: string;
  readonly channel: string;
  /** The channel's own reference, opaque to everything else. */
  readonly ref: Readonly<Record<string, string>>;
  readonly createdAt: string;
}

/** What a channel needs beyond the delivery, handed in by the worker (the channel knows no store). */
export interface DeliveryContext {
  /** The request as it stands at delivery time (undefined for events of no request). */
  readonly request: RequestRecord | undefined;
  /** Messages this channel already posted for the request. */
  readonly messages: readonly ChannelMessage[];
  /** Records a message just posted, so later events update it. */
  remember(ref: Readonly<Record<string, string>>): Promise<void>;
  /** The email of a human the gateway knows (configured or signed in), for direct messages. */
  emailOf(humanId: string): Promise<string | null>;
  /** The console page of the request (absolute when the public URL is known). */
  readonly requestUrl: (id: string) => string;
}

/** A failure the channel says retrying cannot fix (a channel that does not exist): the delivery is set aside. */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}

export interface Channel {
  /** `slack`, `teams`, `webhook:<name>`: the outbox's channel column. */
  readonly name: string;
  /** Whether this channel follows an audit event type (pure: decides what gets enqueued). */
  wants(eventType: string): boolean;
  /** Delivers; throws to be retried with backoff, PermanentDeliveryError to give up. */
  deliver(delivery: OutboxDelivery, ctx: DeliveryContext): Promise<void>;
}
