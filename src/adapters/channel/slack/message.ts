/**
 * The Block Kit message of one request: the exact action first (the header
 * and a risk line: writes · prod · PII · irreversible), the exact input, who
 * asked and for whom, the connection and its tags, the facts, the agent's
 * reason as its unverified claim (capped, the rest in the console), the
 * matched rules, the approvals still needed and the expiry — and Approve /
 * Deny buttons whose value is only the request id (a click names what it
 * approves by id; the gateway holds the action). Approve says what it does
 * ("Approve and run POST /refunds on billing-api" when one more approval can
 * complete the quorum) and, on a production or PII connection, asks for a
 * confirmation first. Once decided, the same message shows the outcome and
 * has no buttons. Every agent-supplied string is cut to fit Block Kit's
 * limits before it is escaped (fit.ts), so no input can make Slack refuse
 * the message.
 */
import { PREVIEW_LINES, previewText } from '../../../core/bounded-text.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { approvalStep, approveLabel, confirmText, headedAction, reviewBrief } from '../../../core/review-brief.ts';
import { oneLine } from '../../../core/line-comments.ts';
import { guttered, visibleText } from '../../../core/visible-text.ts';
import { approvalsNeeded, boundInput, factsOf, INPUT_TEXT_MAX, inputText, safetyNetLines } from '../request-text.ts';
import { codeBlock, fitEscaped, fitText, LIMITS, plainCut, plainFit } from './fit.ts';
import { escapeMrkdwn } from './mrkdwn.ts';

export const APPROVE_ACTION = 'countersign_approve';
export const DENY_ACTION = 'countersign_deny';
export const DENY_MODAL = 'countersign_deny_reason';
/** The agent's reason shown before "see the console". */
export const CLAIM_PREVIEW = 300;

type Block = Record<string, unknown>;

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const plain = (text: string) => ({ type: 'plain_text', text, emoji: false });
const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });
/** Agent-shaped text Slack shows as it is: never formatted, linked or a mention. */
const plainSection = (text: string): Block => ({ type: 'section', text: plain(visibleText(text)) });

function tagsText(r: RequestRecord): string {
  const tags = Object.entries(r.connection.tags);
  if (tags.length === 0) return 'no tags';
  return tags.map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`).join(' · ');
}

/** The header: the action line made for the room it leaves (core/review-brief.ts headedAction), not cut from a longer one. */
const headerText = (r: RequestRecord) => headedAction(r, `${r.status === 'pending' ? 'Approval needed' : `Approval ${r.status}`}: `, LIMITS.headerText);

/** One field: a bold label (ours) and an escaped value that fits. */
const field = (label: string, value: string, url: string, extra = '') => mrkdwn(fitText(`*${label}*\n${extra}`, value, LIMITS.fieldText, url));

const slackDate = (iso: string) => `<!date^${Math.floor(Date.parse(iso) / 1000)}^{date_short_pretty} {time}|${iso}>`;

const OUTCOME: Record<RequestRecord['status'], string> = {
  pending: ':hourglass_flowing_sand: Waiting for approval',
  approved: ':white_check_mark: Approved — running',
  executing: ':white_check_mark: Approved — running',
  succeeded: ':white_check_mark: Approved and executed — succeeded',
  failed: ':warning: Approved and executed — the target reported an error',
  denied: ':no_entry: Denied',
  expired: ':alarm_clock: Expired without a decision',
  cancelled: ':leftwards_arrow_with_hook: Cancelled by the requester',
};

/** Reviews a message shows, newest last; the rest are in the console. */
const REVIEWS_SHOWN = 10;
/** Characters of a reviewer's comment shown. */
const COMMENT_SHOWN = 500;

/**
 * The reviews so far, one context block each, newest last: who and when in mrkdwn (ours), the comment beside it as
 * plain text on one line. A comment is a person's words read by the next reviewer: in mrkdwn its `*` and `~` would
 * format, and a line break in it would start a line that reads as the gateway's (`Approved by *bob*`).
 */
function reviewBlocks(r: RequestRecord, url: string): Block[] {
  const shown = r.reviews.slice(-REVIEWS_SHOWN);
  const earlier = r.reviews.length - shown.length;
  return [
    ...(earlier ? [{ type: 'context', elements: [mrkdwn(`_${earlier} earlier review${earlier === 1 ? '' : 's'}: <${url}|see the console>_`)] }] : []),
    ...shown.map((v): Block => {
      const comment = v.comment ? oneLine(visibleText(v.comment)) : '';
      const who = `${v.verdict === 'approve' ? 'Approved' : 'Denied'} by *${fitEscaped(v.reviewer.id, 200).text}* ${slackDate(v.createdAt)}${comment ? ':' : ''}`;
      return { type: 'context', elements: [mrkdwn(who), ...(comment ? [plain(plainFit(comment, COMMENT_SHOWN))] : [])] };
    }),
  ];
}

function approveButton(r: RequestRecord): Block {
  const brief = reviewBrief(r);
  const button: Block = { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: plain(approveLabel(r, approvalStep(r), LIMITS.buttonText)), value: r.id };
  if (!brief.confirm) return button;
  // Slack shows this dialog before it sends the click; the gateway cannot see it, so it is the client's check only.
  return {
    ...button,
    confirm: {
      title: plain(plainFit(brief.risks.includes('prod') ? 'Approve on production?' : 'Approve on personal data?', LIMITS.confirmTitle)),
      text: plain(plainFit(confirmText(brief, LIMITS.confirmText), LIMITS.confirmText)),
      confirm: plain(plainFit(approvalStep(r).completes ? 'Approve and run' : 'Approve', LIMITS.confirmButton)),
      deny: plain('Cancel'),
      style: 'danger',
    },
  };
}

/**
 * The message for a request in its current state: buttons while pending, the outcome after.
 *
 * @example
 * const { text, blocks } = requestMessage(record, 'https://cs.example.com/requests/req_1');
 */
export function requestMessage(r: RequestRecord, consoleUrl: string): { text: string; blocks: Block[] } {
  const brief = reviewBrief(r);
  const url = consoleUrl;
  const p = r.principal;
  // A token's id is any printable text up to 200 characters (`bot* (human) ✅`): plain text, where `*` formats nothing.
  const who = `${p.id} (${p.kind})${p.actsFor ? ` for ${p.actsFor}` : ''}`;
  const reason = r.action.reason || '(none given)';
  // Already cut at INPUT_TEXT_MAX (a surrogate pair may end it one short): past that the count left out is a floor.
  const input = inputText(r);
  // Plain text, not mrkdwn: no *bold*, link, mention or code of the agent's renders, and each of its lines
  // sits behind a gutter, so none passes for the gateway's own. 300 characters and 300 gutters fit a section.
  const claim = previewText(reason, CLAIM_PREVIEW, PREVIEW_LINES);
  const claimHead = `*Agent's claim (unverified)*${claim.cut ? ` — ${reason.length.toLocaleString('en')} characters, <${url}|show all in the console>` : ''}`;
  const blocks: Block[] = [
    { type: 'header', text: plain(headerText(r)) },
    section(`*Risk: ${escapeMrkdwn(brief.riskLine)}*`),
    // The action line is the agent's SQL or path: plain text, so `~DELETE FROM orders~` is not struck through.
    plainSection(brief.action),
    section(codeBlock('*Exact input*\n', input, LIMITS.sectionText, url, input.length >= INPUT_TEXT_MAX - 1)),
    // Under a heading of ours, never after the SQL, where a `-- params:` comment of the agent's could stand in for them.
    ...boundInput(r).map((b) => section(codeBlock(`*${b.label}*\n`, b.value, LIMITS.sectionText, url, b.value.length >= INPUT_TEXT_MAX - 1))),
    {
      type: 'section',
      fields: [
        plain(plainFit(`Requested by\n${visibleText(who)}`, LIMITS.fieldText)),
        field('Connection', `${r.connection.name} (${r.connection.kind})\n${tagsText(r)}`, url),
        field('Matched rules', r.decision.rules.join(', ') || 'none (default)', url),
        field('Approvals still needed', r.status === 'pending' ? approvalsNeeded(r).join('; ') || 'none' : '—', url),
        field('Expires', '', url, r.expiresAt ? slackDate(r.expiresAt) : 'never'),
        field('Request', '', url, `<${url}|${fitEscaped(r.id, 200).text}>`),
      ],
    },
    // Table and function names come from the agent's SQL: plain text, where `*` and `<` are only characters.
    plainSection(plainCut(`Facts: ${factsOf(r).map((f) => f.value).join(' · ')}`, LIMITS.sectionText)),
    section(claimHead),
    plainSection(`│ ${guttered(`${claim.text}${claim.cut ? '…' : ''}`, '')}`),
  ];
  // The justification is a person's words: plain text, like the agent's claim.
  const nets = safetyNetLines(r);
  if (nets.length) blocks.push(plainSection(plainCut(nets.join('\n'), LIMITS.sectionText)));
  if (r.status === 'pending') {
    blocks.push(...reviewBlocks(r, url));
    blocks.push({
      type: 'actions',
      block_id: 'countersign_review',
      elements: [approveButton(r), { type: 'button', action_id: DENY_ACTION, style: 'danger', text: plain('Deny'), value: r.id }],
    });
  } else {
    const error = r.status === 'denied' || r.status === 'failed' || r.status === 'expired' || r.status === 'cancelled' ? r.error?.message : undefined;
    const head = `*${OUTCOME[r.status]}* ${slackDate(r.updatedAt)}`;
    blocks.push(section(head), ...reviewBlocks(r, url));
    // The target's error text can quote the agent's input: plain text, after the gateway's own line.
    if (error) blocks.push(plainSection(plainCut(`Error: ${errorText(r, error)}`, LIMITS.sectionText)));
  }
  // The notification text (push, screen readers): no mrkdwn, so no mention can hide in it.
  return { text: fitEscaped(`${OUTCOME[r.status]}: ${brief.action}`, LIMITS.messageText).text, blocks };
}

/**
 * The least a card can say, for when Slack refused the full one: the action,
 * the status and the console link — and never buttons, so a card Slack would
 * not update never stays with live ones.
 *
 * @example
 * await api.call('chat.update', { channel, ts, ...minimalMessage(record, url) });
 */
export function minimalMessage(r: RequestRecord, consoleUrl: string): { text: string; blocks: Block[] } {
  const brief = reviewBrief(r);
  const status = r.status === 'pending' ? 'Waiting for approval: decide in the console' : OUTCOME[r.status];
  return {
    text: fitEscaped(`${OUTCOME[r.status]}: ${brief.action}`, LIMITS.messageText).text,
    blocks: [
      { type: 'header', text: plain(headerText(r)) },
      section(`*${status}* — <${consoleUrl}|open the request>\n*Risk: ${escapeMrkdwn(brief.riskLine)}*`),
      plainSection(brief.action),
    ],
  };
}

/** The modal that asks a denying reviewer why. */
export function denyModal(requestId: string): Block {
  return {
    type: 'modal',
    callback_id: DENY_MODAL,
    private_metadata: requestId,
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'reason',
        label: { type: 'plain_text', text: 'Why? The requester sees this.' },
        element: { type: 'plain_text_input', action_id: 'reason', multiline: true, max_length: 1000 },
      },
    ],
  };
}

/**
 * The error line's text. A deny's message quotes the reviewer's comment (`denied by bob: …`): on one line, as on its
 * review line, so a break in it cannot start a line that reads as the gateway's. A target's error keeps its lines.
 */
const errorText = (r: RequestRecord, message: string) => (r.status === 'denied' ? oneLine(visibleText(message)) : visibleText(message));

/** The direct message to a requester when their request reaches its outcome. */
export function outcomeDm(r: RequestRecord, consoleUrl: string): { text: string; blocks: Block[] } {
  const head = `*${OUTCOME[r.status]}*: your request <${consoleUrl}|${fitEscaped(r.id, 200).text}> on \`${fitEscaped(r.action.connection, 200).text}\``;
  const text = fitEscaped(`${OUTCOME[r.status]}: your request ${r.id} on ${r.action.connection}`, LIMITS.messageText).text;
  return { text, blocks: [section(head), ...(r.error?.message ? [plainSection(plainCut(`Error: ${errorText(r, r.error.message)}`, LIMITS.sectionText))] : [])] };
}

/**
 * A line beside the card that an escalation or a break-glass must be noticed: who is now asked, or who ran it and why.
 *
 * @example
 * announcement(record, 'request.escalated', url); // { text: 'Escalated: …', blocks: […] }
 */
export function announcement(r: RequestRecord, event: string, consoleUrl: string): { text: string; blocks: Block[] } {
  const brief = reviewBrief(r);
  const bg = r.breakGlass;
  const rung = r.escalations?.at(-1);
  const line =
    event === 'request.break_glass' && bg
      ? `:rotating_light: Break-glass: ${bg.by} ran this request without its approvals. It needs an after-the-fact review.`
      : `:arrow_double_up: Escalated: still waiting for approval; now asking ${rung ? [...rung.groups.map((g) => `group ${g}`), ...rung.principals].join(', ') : 'the next rung'}.`;
  const blocks: Block[] = [section(`*${escapeMrkdwn(line)}* <${consoleUrl}|open the request>`), plainSection(brief.action)];
  if (event === 'request.break_glass' && bg) blocks.push(plainSection(plainCut(`Justification: ${oneLine(visibleText(bg.justification))}`, LIMITS.sectionText)));
  return { text: fitEscaped(`${line} ${brief.action}`, LIMITS.messageText).text, blocks };
}
