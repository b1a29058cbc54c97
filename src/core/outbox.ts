/**
 * The outbox: what the gateway owes the outside world (a Slack message, a
 * signed webhook) after a state change. A delivery is written in the same
 * transaction as the audit event that causes it, so it exists exactly when
 * the change does; a worker delivers it later, retrying with backoff, so a
 * slow or absent channel never holds up a decision and a restart loses none.
 */
import type { AuditDraft } from './audit.ts';

/** One owed delivery, as enqueued. */
export interface OutboxDraft {
  /** The channel that delivers it: `slack`, `teams`, `webhook:<name>`. */
  readonly channel: string;
  /** The audit event type that caused it (`request.held`, `request.approved`, …). */
  readonly event: string;
  readonly requestId: string | null;
  /** What the event said when it happened (the audit event's data, time and actor). */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

/** A stored delivery: its id is stable across retries (a webhook's `webhook-id`). */
export interface OutboxDelivery extends OutboxDraft {
  readonly id: string;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
}

/** How each channel stands: what it still owes and why the last try failed. */
export interface ChannelHealth {
  readonly channel: string;
  readonly pending: number;
  readonly dead: number;
  /** Creation time of the oldest delivery not yet made. */
  readonly oldest: string | null;
  readonly lastError: string | null;
  /** Failing: a delivery has been tried and failed and is still owed. */
  readonly failing: boolean;
}

/** Which deliveries one audit event causes: the composition root routes events to the channels that want them. */
export type OutboxRouter = (event: AuditDraft) => readonly OutboxDraft[];

/**
 * Delay before attempt `attempts + 1`: 1 s doubling to a 5-minute cap, with up
 * to a quarter of jitter (`random` in [0, 1)) so a recovering channel is not
 * hit by every delivery at once.
 *
 * @example
 * backoffMs(0, 0); // 1000
 * backoffMs(20, 0); // 300000
 */
export function backoffMs(attempts: number, random: number): number {
  const base = Math.min(300_000, 1000 * 2 ** Math.min(attempts, 20));
  return Math.round(base * (1 + random / 4));
}

/** The audit events a request's followers care about, by what they mean. */
export const EVENT_KINDS = {
  created: ['request.submitted'],
  held: ['request.held'],
  previewed: ['request.previewed'],
  reviewed: ['review.recorded', 'review.after_the_fact'],
  decided: ['request.approved', 'request.denied', 'request.expired', 'request.cancelled', 'request.requeued'],
  executed: ['request.succeeded', 'request.failed'],
  escalated: ['request.escalated'],
  break_glass: ['request.break_glass'],
} as const satisfies Record<string, readonly string[]>;

export type EventKind = keyof typeof EVENT_KINDS;

/** The kind of an audit event type, or undefined when no follower cares. */
export function eventKind(type: string): EventKind | undefined {
  for (const [kind, types] of Object.entries(EVENT_KINDS)) if ((types as readonly string[]).includes(type)) return kind as EventKind;
  return undefined;
}
