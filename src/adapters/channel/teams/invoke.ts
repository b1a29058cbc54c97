/**
 * The `adaptiveCard/action` invoke Teams sends when someone clicks an
 * `Action.Execute` button (or their client refreshes the card), parsed into
 * what the review use case needs, and the answer Teams expects: an invoke
 * response whose body is a card (it replaces the card for the one who
 * clicked), an error, or a short message. Parse only after the activity's
 * token has been verified (verify-activity.ts).
 */
import { z } from 'zod';
import { CONFIRM_ON, type AdaptiveCard } from './card.ts';
import { ADAPTIVE_CARD_CONTENT_TYPE } from './connector.ts';
import type { ErrorCode } from '../../../core/errors.ts';

const verbs = ['approve', 'deny', 'refresh'] as const;
export type CardVerb = (typeof verbs)[number];

const invokeSchema = z.object({
  type: z.literal('invoke'),
  name: z.literal('adaptiveCard/action'),
  serviceUrl: z.string().min(1),
  /** The message that holds the card: what to update in place. */
  replyToId: z.string().min(1).optional(),
  from: z.object({ id: z.string().min(1), aadObjectId: z.string().min(1), name: z.string().optional() }),
  conversation: z.object({ id: z.string().min(1), tenantId: z.string().optional() }),
  channelData: z.object({ tenant: z.object({ id: z.string() }).optional() }).optional(),
  value: z.object({
    action: z.object({
      type: z.literal('Action.Execute'),
      verb: z.enum(verbs),
      // The card sends only the request id; Input.Text `reason` is merged in by the client on Deny,
      // Input.Toggle `confirm` on an Approve that needs a confirmation.
      data: z.object({
        requestId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/),
        reason: z.string().max(1000).optional(),
        confirm: z.string().max(10).optional(),
      }),
    }),
    trigger: z.enum(['manual', 'automatic']).optional(),
  }),
});

/** A parsed click: who, on which request, and what they chose. */
export interface CardAction {
  readonly verb: CardVerb;
  readonly requestId: string;
  /** The deny reason typed into the card, trimmed; absent when empty. */
  readonly reason?: string;
  /** The reviewer ticked the card's confirmation toggle (production or PII approvals need it). */
  readonly confirmed: boolean;
  /** The clicking user's Microsoft Entra object id: resolve it to the canonical human. */
  readonly aadObjectId: string;
  readonly tenantId: string;
  /** Where the card lives, to update it in place. */
  readonly conversation: { readonly serviceUrl: string; readonly id: string };
  readonly activityId?: string;
  /** `automatic` for a refresh the client asked for by itself. */
  readonly trigger: 'manual' | 'automatic';
}

export type InvokeParse = { readonly ok: true; readonly action: CardAction } | { readonly ok: false; readonly reason: 'teams.invoke_invalid' };

/**
 * @example
 * const p = parseCardAction(verified.activity);
 * if (p.ok && p.action.verb === 'approve') await review(p.action.requestId, humanFor(p.action.aadObjectId), 'approve');
 */
export function parseCardAction(activity: unknown): InvokeParse {
  const parsed = invokeSchema.safeParse(activity);
  if (!parsed.success) return { ok: false, reason: 'teams.invoke_invalid' };
  const a = parsed.data;
  const tenantId = a.channelData?.tenant?.id ?? a.conversation.tenantId;
  if (!tenantId) return { ok: false, reason: 'teams.invoke_invalid' };
  const reason = a.value.action.data.reason?.trim();
  return {
    ok: true,
    action: Object.freeze({
      verb: a.value.action.verb,
      requestId: a.value.action.data.requestId,
      ...(reason ? { reason } : {}),
      confirmed: a.value.action.data.confirm === CONFIRM_ON,
      aadObjectId: a.from.aadObjectId,
      tenantId,
      conversation: Object.freeze({ serviceUrl: a.serviceUrl, id: a.conversation.id }),
      ...(a.replyToId ? { activityId: a.replyToId } : {}),
      trigger: a.value.trigger ?? 'manual',
    }),
  };
}

/** What the messaging endpoint answers: this HTTP status and this JSON body. */
export interface InvokeResponse {
  readonly status: 200;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * The card replaces the one the user clicked on.
 *
 * @example
 * return c.json(cardResponse(requestCard(view, opts)).body, 200);
 */
export function cardResponse(card: AdaptiveCard): InvokeResponse {
  return { status: 200, body: { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: card } };
}

/**
 * Teams shows the message to the one who clicked and leaves the card as it was.
 *
 * @example
 * errorResponse(403, 'SELF_APPROVAL_FORBIDDEN', 'You cannot review your own request.');
 */
export function errorResponse(statusCode: 400 | 401 | 403 | 404 | 409 | 500, code: ErrorCode, message: string): InvokeResponse {
  return { status: 200, body: { statusCode, type: 'application/vnd.microsoft.error', value: { code, message } } };
}

/**
 * A short text in place of a card (for a verb the gateway does not act on).
 *
 * @example
 * messageResponse('Your vote was recorded.');
 */
export function messageResponse(text: string): InvokeResponse {
  return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text } };
}
