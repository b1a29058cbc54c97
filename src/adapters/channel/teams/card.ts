/**
 * The Adaptive Card for one held request: the exact action first with its
 * risks (writes · prod · PII · irreversible), the exact input, who asked and
 * for whom, the connection and its tags, the facts, the agent's reason as
 * its unverified claim (the first lines, the rest behind "Show more"), the
 * matched rules, what approvals are still needed and the expiry, with
 * Approve / Deny as `Action.Execute` (Universal Actions, schema 1.5). Approve
 * names what it does; on a production or PII connection it opens a card with
 * a required "I understand" toggle whose value the gateway checks. Once
 * decided, the same card shows the outcome and no buttons. Every string that
 * an agent (or anything outside our config) supplied goes into a `TextRun`,
 * which the Adaptive Cards schema renders as plain text (no markdown), so a
 * reason of `**APPROVED** by [security](https://evil)` renders inert. The
 * card stays under Teams' message size (about 28 KB): past CARD_MAX_BYTES it
 * is built again with less, and at worst as the action and a link.
 */

import { cutText, PREVIEW_LINES, previewText } from '../../../core/bounded-text.ts';
import { guttered, visibleText } from '../../../core/visible-text.ts';
import { oneLine } from '../../../core/line-comments.ts';
import { INPUT_TEXT_MAX } from '../request-text.ts';

export type RequestStatusView = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'executing' | 'succeeded' | 'failed';

/** What the card shows; the wiring builds it from a request record. */
export interface HeldRequestView {
  readonly id: string;
  readonly status: RequestStatusView;
  readonly requester: { readonly id: string; readonly kind: 'agent' | 'human' };
  /** The human an agent acts for, or null. */
  readonly actsFor: string | null;
  readonly connection: { readonly name: string; readonly kind: string; readonly tags: Readonly<Record<string, string | number | boolean | readonly string[]>> };
  readonly operation: string;
  /** The exact action in one line: `POST /refunds on billing-api` (core/review-brief.ts). */
  readonly action: string;
  /** `writes · prod · PII · irreversible`, or `read-only`. */
  readonly riskLine: string;
  /** The Approve button's words: `Approve and run …` or `Approve (1 of 2)`. */
  readonly approveLabel: string;
  /** On a production or PII connection, the sentence the reviewer must confirm to approve; else null. */
  readonly confirm: string | null;
  /** The exact input as text: the SQL, `METHOD path` and body, or the argv. */
  readonly input: string;
  /** What a SQL action binds apart from its text (request-text.ts boundInput): `Parameters`, `COPY data`. */
  readonly bound?: readonly { readonly label: string; readonly value: string }[];
  /** Derived facts as label/value pairs, e.g. `{ label: 'tables', value: 'public.users' }`. */
  readonly facts: readonly { readonly label: string; readonly value: string }[];
  readonly reason: string;
  readonly rules: readonly string[];
  /** What is still needed, e.g. `1 more from group sre`; empty once met. */
  readonly approvalsNeeded: readonly string[];
  readonly expiresAt: string | null;
  readonly reviews: readonly { readonly reviewer: string; readonly verdict: 'approve' | 'deny'; readonly at: string; readonly reason?: string | null }[];
  /** A short result once it ran: `200`, `3 rows`, `exit 0`. */
  readonly result?: string | null;
  /** The error message when it failed. */
  readonly error?: string | null;
  /** Its escalation ladder and break-glass, one line each (request-text.ts safetyNetLines). */
  readonly safetyNets?: readonly string[];
}

export interface CardOptions {
  /** The gateway's public URL; the card links to `<publicUrl>/requests/<id>`. */
  readonly publicUrl: string;
  /** Longer input is cut here, with a link to the full view. */
  readonly maxInputChars?: number;
  /** Teams refreshes the card automatically for everyone in chats under 60 people; in larger ones, only for these user ids. */
  readonly refreshUserIds?: readonly string[];
  /** A line at the top for the one who clicked (`You cannot approve your own request`). */
  readonly notice?: string;
}

export type CardElement = Readonly<Record<string, unknown>>;

export interface AdaptiveCard {
  readonly type: 'AdaptiveCard';
  readonly $schema: string;
  readonly version: string;
  readonly body: readonly CardElement[];
  readonly actions?: readonly CardElement[];
  readonly refresh?: CardElement;
  readonly msteams?: CardElement;
}

const TITLES: Record<RequestStatusView, string> = {
  pending: 'Approval needed',
  approved: 'Approved, running',
  executing: 'Approved, running',
  succeeded: 'Approved and executed',
  failed: 'Approved; the action failed',
  denied: 'Denied',
  expired: 'Expired without a decision',
  cancelled: 'Cancelled',
};

/** Statuses after which the card never changes again. */
const FINAL = new Set<RequestStatusView>(['denied', 'expired', 'cancelled', 'succeeded', 'failed']);

/**
 * Teams' renderers format `{{DATE(2026-12-06T10:00:00Z, SHORT)}}` and `{{TIME(…)}}` in every TextRun as a local
 * date or time: an agent's literal read as another value. A word joiner between the braces keeps it as written,
 * as Slack's `@here` is kept inert (slack/mrkdwn.ts).
 */
const TEXT_FUNCTION = /\{\{(?=(?:DATE|TIME)\()/gi;

/** Text with no date or time function left for Teams to format; done once, last (a second `plain` would show the joiner as U+FFFD). */
const inert = (text: string) => text.replace(TEXT_FUNCTION, '{\u2060{');

/** Untrusted text as it may appear: no hidden character (controls, bidi, zero-width, line separators) but newlines and tabs, bounded. */
export function plain(text: string, max = 2000): string {
  const clean = visibleText(text);
  return clean.length > max ? `${cutText(clean, max).text}…` : clean;
}

/** The agent's words, each line after the first behind a gutter so none passes for a line of the card's own. */
const claimText = (text: string, max: number) => guttered(plain(text, max));

/** Teams refuses a message over about 28 KB; the card stays well under it. */
export const CARD_MAX_BYTES = 24_000;
/** The agent's reason shown before "Show more". */
export const CLAIM_PREVIEW = 300;
/** Reviews listed on a card (the latest), and the characters of each comment. */
const REVIEWS_SHOWN = 10;
const COMMENT_MAX = 300;
/** The id of the toggle an approval on production or PII carries, and its value when ticked. */
export const CONFIRM_INPUT = 'confirm';
export const CONFIRM_ON = 'true';
/** The toggle's own words: no agent text (see approveActions). */
const CONFIRM_TITLE = 'I understand, and approve the action above';

/** A TextRun: plain text by the schema, whatever it contains. */
const run = (text: string, style: Record<string, unknown> = {}): CardElement => ({ type: 'TextRun', text: inert(plain(text)), ...style });
const para = (inlines: CardElement[], extra: Record<string, unknown> = {}): CardElement => ({ type: 'RichTextBlock', inlines, ...extra });
const labelled = (label: string, value: string): CardElement => para([run(`${label}: `, { weight: 'Bolder' }), run(value)]);

function tagText(value: string | number | boolean | readonly string[]): string {
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function requestUrl(view: HeldRequestView, opts: CardOptions): string {
  return `${opts.publicUrl.replace(/\/+$/, '')}/requests/${encodeURIComponent(view.id)}`;
}

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The latest reviews, and a line saying how many earlier ones the card leaves out. */
function latestReviews(view: HeldRequestView, max: number): { shown: HeldRequestView['reviews']; earlier: CardElement[] } {
  const shown = view.reviews.slice(-max);
  const left = view.reviews.length - shown.length;
  return { shown, earlier: left > 0 ? [para([run(`${left} earlier review${left === 1 ? '' : 's'}: open the request to see them.`, { isSubtle: true })])] : [] };
}

function outcomeLines(view: HeldRequestView, budget: Budget): CardElement[] {
  const { shown, earlier } = latestReviews(view, budget.reviews);
  const lines: CardElement[] = [...earlier];
  for (const r of shown) {
    // A reviewer's comment on one line: a break in it would start a line that reads as the card's (`Approved by bob`).
    const verb = r.verdict === 'approve' ? 'Approved by ' : 'Denied by ';
    lines.push(para([run(verb, { weight: 'Bolder' }), run(plain(r.reviewer, 200)), run(` at ${when(r.at)}`), ...(r.reason ? [run(': '), run(oneLine(plain(r.reason, budget.comment)), { italic: true })] : [])]));
  }
  if (view.result) lines.push(labelled('Result', view.result));
  if (view.error) lines.push(labelled('Error', view.error));
  return lines;
}

/** How much of each long part a card holds; smaller budgets when the card would be too large. */
interface Budget {
  readonly input: number;
  readonly claim: number;
  readonly reviews: number;
  readonly comment: number;
}

const BUDGETS: readonly Budget[] = [
  { input: 1200, claim: 2000, reviews: REVIEWS_SHOWN, comment: COMMENT_MAX },
  { input: 400, claim: CLAIM_PREVIEW, reviews: 3, comment: 100 },
];

/** The agent's reason: labelled as its claim, the first lines shown, the rest behind Show more. */
function claimElements(view: HeldRequestView, budget: Budget): CardElement[] {
  const reason = view.reason || '(none given)';
  const label = run("Agent's claim (unverified): ", { weight: 'Bolder' });
  const head = previewText(reason, CLAIM_PREVIEW, PREVIEW_LINES);
  if (!head.cut) return [para([label, run(claimText(reason, CLAIM_PREVIEW))])];
  const more = budget.claim > CLAIM_PREVIEW;
  return [
    para([label, run(`${claimText(head.text, CLAIM_PREVIEW)}…`)]),
    ...(more
      ? [
          { type: 'Container', id: 'claim-full', isVisible: false, items: [para([run(`│ ${claimText(reason, budget.claim)}`)])] },
          { type: 'ActionSet', actions: [{ type: 'Action.ToggleVisibility', title: 'Show more', targetElements: ['claim-full'] }] },
        ]
      : [para([run('Open the request for the whole reason.', { isSubtle: true, italic: true })])]),
  ];
}

/** A bound value (parameters, COPY data) in monospace, cut at `max` saying how much it left out. */
function boundElement(b: { label: string; value: string }, max: number): CardElement {
  const shown = cutText(b.value, max);
  return para([
    run(`${b.label}: `, { weight: 'Bolder' }),
    run(shown.text, { fontType: 'Monospace' }),
    ...(shown.cut ? [run(` … ${b.value.length >= INPUT_TEXT_MAX ? 'at least ' : ''}${b.value.length - shown.text.length} more characters; open the request for all of them.`, { isSubtle: true, italic: true })] : []),
  ]);
}

function approveActions(view: HeldRequestView, data: Record<string, string>): CardElement[] {
  const title = inert(plain(view.approveLabel, 200));
  if (!view.confirm) return [{ type: 'Action.Execute', title, verb: 'approve', data, style: 'positive', associatedInputs: 'none' }];
  // The toggle's value travels with the click; the gateway refuses an approval without it (CONFIRMATION_REQUIRED).
  // Teams draws a toggle's title as a TextBlock, which renders markdown (`[SELECT 1](<; DROP TABLE t>)` shows no
  // DROP): the sentence naming the action is a plain-text run above it, the title only words of ours.
  return [
    {
      type: 'Action.ShowCard',
      title: 'Approve…',
      card: {
        type: 'AdaptiveCard',
        body: [
          para([run(plain(view.confirm, 300))]),
          { type: 'Input.Toggle', id: CONFIRM_INPUT, title: CONFIRM_TITLE, valueOn: CONFIRM_ON, valueOff: 'false', value: 'false', isRequired: true, errorMessage: 'Confirm to approve.', wrap: true },
        ],
        actions: [{ type: 'Action.Execute', title, verb: 'approve', data, style: 'positive', associatedInputs: 'auto' }],
      },
    },
  ];
}

function buildCard(view: HeldRequestView, opts: CardOptions, budget: Budget): AdaptiveCard {
  const max = Math.min(opts.maxInputChars ?? budget.input, budget.input);
  const url = requestUrl(view, opts);
  const pending = view.status === 'pending';
  const truncated = view.input.length > max;
  const tags = Object.entries(view.connection.tags).map(([k, v]) => `${k}: ${tagText(v)}`);

  const body: CardElement[] = [];
  if (opts.notice) body.push({ type: 'Container', style: 'warning', items: [para([run(opts.notice)])] });
  body.push({ type: 'TextBlock', text: TITLES[view.status], size: 'Large', weight: 'Bolder', wrap: true, color: pending ? 'Warning' : view.status === 'denied' || view.status === 'failed' ? 'Attention' : view.status === 'succeeded' ? 'Good' : 'Default' });
  body.push(para([run(plain(view.action, 300), { weight: 'Bolder', size: 'Medium', fontType: 'Monospace' })]));
  body.push(para([run('Risk: ', { weight: 'Bolder' }), run(view.riskLine, { weight: 'Bolder', color: view.riskLine === 'read-only' ? 'Good' : 'Attention' })]));
  body.push({
    type: 'Container',
    style: 'emphasis',
    items: [
      para([run(truncated ? view.input.slice(0, max) : view.input, { fontType: 'Monospace' })]),
      // The view's input is already cut at INPUT_TEXT_MAX: past it, the count is a floor.
      ...(truncated ? [para([run(`… ${view.input.length >= INPUT_TEXT_MAX ? 'at least ' : ''}${view.input.length - max} more characters; open the request for the full input.`, { isSubtle: true, italic: true })])] : []),
    ],
  });
  // Under a label of ours, not after the SQL, where a `-- params:` comment of the agent's could stand in for them.
  for (const b of view.bound ?? []) body.push(boundElement(b, max));
  body.push(
    para([
      run(plain(view.requester.id, 200), { weight: 'Bolder' }),
      run(` (${view.requester.kind})`),
      ...(view.actsFor ? [run(' for '), run(plain(view.actsFor, 200), { weight: 'Bolder' })] : []),
      run(' wants to '),
      run(plain(view.operation, 100), { weight: 'Bolder' }),
      run(' on '),
      run(plain(view.connection.name, 200), { weight: 'Bolder' }),
      run(` (${view.connection.kind})`),
    ]),
  );
  if (tags.length) body.push(labelled('Tags', plain(tags.join(' · '), 1000)));
  for (const f of view.facts) body.push(labelled(f.label, plain(f.value, 500)));
  body.push(...claimElements(view, budget));
  if (view.rules.length) body.push(labelled('Rules', plain(view.rules.join(', '), 1000)));
  if (view.safetyNets?.length) body.push(labelled('Safety nets', plain(view.safetyNets.join('\n'), 2000)));
  if (pending) {
    if (view.approvalsNeeded.length) body.push(labelled('Still needed', plain(view.approvalsNeeded.join('; '), 1000)));
    if (view.expiresAt) body.push(labelled('Expires', when(view.expiresAt)));
    const { shown, earlier } = latestReviews(view, budget.reviews);
    body.push(...earlier);
    for (const r of shown) body.push(para([run(`${r.verdict === 'approve' ? 'Approved' : 'Denied'} by `), run(plain(r.reviewer, 200)), run(` at ${when(r.at)}`)], { isSubtle: true }));
  } else {
    body.push({ type: 'Container', separator: true, items: outcomeLines(view, budget) });
  }
  // A link, not a button: decided cards carry no actions.
  body.push({ type: 'Container', selectAction: { type: 'Action.OpenUrl', url }, items: [para([run(`Open request ${view.id} in Countersign`, { color: 'Accent' })])] });

  const data = { requestId: view.id };
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    msteams: { width: 'Full' },
    body,
    ...(pending
      ? {
          actions: [
            ...approveActions(view, data),
            {
              type: 'Action.ShowCard',
              title: 'Deny…',
              card: {
                type: 'AdaptiveCard',
                body: [{ type: 'Input.Text', id: 'reason', label: 'Why deny? The requester and the audit log see this.', isMultiline: true, isRequired: true, maxLength: 1000, errorMessage: 'A reason is required to deny.' }],
                actions: [{ type: 'Action.Execute', title: 'Deny', verb: 'deny', data, style: 'destructive', associatedInputs: 'auto' }],
              },
            },
          ],
        }
      : {}),
    // Universal Actions: every viewer's client asks for the current card, so a decision taken elsewhere shows here.
    ...(FINAL.has(view.status)
      ? {}
      : { refresh: { action: { type: 'Action.Execute', verb: 'refresh', data }, ...(opts.refreshUserIds?.length ? { userIds: opts.refreshUserIds.slice(0, 60) } : {}) } }),
  };
}

/** The card's size as Teams counts it: UTF-8 bytes of its JSON. */
export const cardBytes = (card: AdaptiveCard): number => new TextEncoder().encode(JSON.stringify(card)).length;

/**
 * The card for a request in any status: buttons while pending, the outcome
 * after; built again with less when it would pass CARD_MAX_BYTES, and at
 * worst the action, its risks and a link.
 *
 * @example
 * const card = requestCard(view, { publicUrl: 'https://countersign.example.com' });
 * await connector.postCard(cfg.conversation, card);
 */
export function requestCard(view: HeldRequestView, opts: CardOptions): AdaptiveCard {
  for (const budget of BUDGETS) {
    const card = buildCard(view, opts, budget);
    if (cardBytes(card) <= CARD_MAX_BYTES) return card;
  }
  return minimalCard(view, opts);
}

/**
 * The least a card can say — the action, its risks, the status and a link —
 * and never buttons: for a card too large, or one the Bot Connector refused.
 *
 * @example
 * await connector.updateCard(conversation, activityId, minimalCard(view, opts));
 */
export function minimalCard(view: HeldRequestView, opts: CardOptions): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [
      { type: 'TextBlock', text: TITLES[view.status], size: 'Large', weight: 'Bolder', wrap: true },
      para([run(plain(view.action, 300), { weight: 'Bolder', fontType: 'Monospace' })]),
      para([run('Risk: ', { weight: 'Bolder' }), run(view.riskLine)]),
      para([run(view.status === 'pending' ? 'This request cannot be shown in full here: open it in Countersign to decide.' : 'Open the request in Countersign for the details.')]),
      { type: 'Container', selectAction: { type: 'Action.OpenUrl', url: requestUrl(view, opts) }, items: [para([run(`Open request ${plain(view.id, 100)} in Countersign`, { color: 'Accent' })])] },
    ],
  };
}

/**
 * A card with one message and no request, for an invoke that names none we can show.
 *
 * @example
 * messageCard('This request no longer exists.');
 */
export function messageCard(message: string): AdaptiveCard {
  return { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5', body: [para([run(message)])] };
}
