/**
 * The Adaptive Card for one held request: who asked and for whom, the
 * connection and its tags, the exact input, the facts, the agent's reason,
 * the matched rules, what approvals are still needed and the expiry, with
 * Approve / Deny as `Action.Execute` (Universal Actions, schema 1.5). Once
 * decided, the same card shows the outcome and no buttons. Every string that
 * an agent (or anything outside our config) supplied goes into a `TextRun`,
 * which the Adaptive Cards schema renders as plain text (no markdown), so a
 * reason of `**APPROVED** by [security](https://evil)` renders inert.
 */

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
  /** The exact input as text: the SQL, `METHOD path` and body, or the argv. */
  readonly input: string;
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

/** Untrusted text as it may appear: no control characters but newlines and tabs, bounded. */
export function plain(text: string, max = 2000): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** A TextRun: plain text by the schema, whatever it contains. */
const run = (text: string, style: Record<string, unknown> = {}): CardElement => ({ type: 'TextRun', text: plain(text), ...style });
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

function outcomeLines(view: HeldRequestView): CardElement[] {
  const lines: CardElement[] = [];
  for (const r of view.reviews) {
    const verb = r.verdict === 'approve' ? 'Approved by ' : 'Denied by ';
    lines.push(para([run(verb, { weight: 'Bolder' }), run(r.reviewer), run(` at ${when(r.at)}`), ...(r.reason ? [run(': '), run(r.reason, { italic: true })] : [])]));
  }
  if (view.result) lines.push(labelled('Result', view.result));
  if (view.error) lines.push(labelled('Error', view.error));
  return lines;
}

/**
 * The card for a request in any status: buttons while pending, the outcome after.
 *
 * @example
 * const card = requestCard(view, { publicUrl: 'https://countersign.example.com' });
 * await connector.postCard(cfg.conversation, card);
 */
export function requestCard(view: HeldRequestView, opts: CardOptions): AdaptiveCard {
  const max = opts.maxInputChars ?? 1200;
  const url = requestUrl(view, opts);
  const pending = view.status === 'pending';
  const truncated = view.input.length > max;
  const tags = Object.entries(view.connection.tags).map(([k, v]) => `${k}: ${tagText(v)}`);

  const body: CardElement[] = [];
  if (opts.notice) body.push({ type: 'Container', style: 'warning', items: [para([run(opts.notice)])] });
  body.push({ type: 'TextBlock', text: TITLES[view.status], size: 'Large', weight: 'Bolder', wrap: true, color: pending ? 'Warning' : view.status === 'denied' || view.status === 'failed' ? 'Attention' : view.status === 'succeeded' ? 'Good' : 'Default' });
  body.push(
    para([
      run(view.requester.id, { weight: 'Bolder' }),
      run(` (${view.requester.kind})`),
      ...(view.actsFor ? [run(' for '), run(view.actsFor, { weight: 'Bolder' })] : []),
      run(' wants to '),
      run(view.operation, { weight: 'Bolder' }),
      run(' on '),
      run(view.connection.name, { weight: 'Bolder' }),
      run(` (${view.connection.kind})`),
    ]),
  );
  if (tags.length) body.push(labelled('Tags', tags.join(' · ')));
  body.push({
    type: 'Container',
    style: 'emphasis',
    items: [
      para([run(truncated ? view.input.slice(0, max) : view.input, { fontType: 'Monospace' })]),
      ...(truncated ? [para([run(`… ${view.input.length - max} more characters; open the request for the full input.`, { isSubtle: true, italic: true })])] : []),
    ],
  });
  for (const f of view.facts) body.push(labelled(f.label, f.value));
  body.push(labelled('Reason', view.reason || '(none given)'));
  if (view.rules.length) body.push(labelled('Rules', view.rules.join(', ')));
  if (pending) {
    if (view.approvalsNeeded.length) body.push(labelled('Still needed', view.approvalsNeeded.join('; ')));
    if (view.expiresAt) body.push(labelled('Expires', when(view.expiresAt)));
    for (const r of view.reviews) body.push(para([run(`${r.verdict === 'approve' ? 'Approved' : 'Denied'} by `), run(r.reviewer), run(` at ${when(r.at)}`)], { isSubtle: true }));
  } else {
    body.push({ type: 'Container', separator: true, items: outcomeLines(view) });
  }
  // A link, not a button: decided cards carry no actions.
  body.push({ type: 'Container', selectAction: { type: 'Action.OpenUrl', url }, items: [para([run(`Open request ${view.id} in Countersign`, { color: 'Accent' })])] });

  const data = { requestId: view.id };
  const card: AdaptiveCard = {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    msteams: { width: 'Full' },
    body,
    ...(pending
      ? {
          actions: [
            { type: 'Action.Execute', title: 'Approve', verb: 'approve', data, style: 'positive', associatedInputs: 'none' },
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
  return card;
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
