/**
 * The Block Kit message of one request: everything a reviewer needs to
 * decide without leaving Slack — who asked and for whom, the connection and
 * its tags, the exact input, the derived facts, the agent's reason, the
 * matched rules, the approvals still needed and the expiry — and Approve /
 * Deny buttons whose value is only the request id (a click names what it
 * approves by id; the gateway holds the action). Once decided, the same
 * message shows the outcome and has no buttons. Every agent-supplied string
 * goes through escapeMrkdwn.
 */
import type { RequestRecord } from '../../../core/request.ts';
import { approvalsNeeded, factsOf, inputText } from '../request-text.ts';
import { escapeCode, escapeMrkdwn, truncate } from './mrkdwn.ts';

export const APPROVE_ACTION = 'countersign_approve';
export const DENY_ACTION = 'countersign_deny';
export const DENY_MODAL = 'countersign_deny_reason';
/** Longest input shown inline; Slack's section text limit is 3000 characters. */
export const INPUT_LIMIT = 2500;

type Block = Record<string, unknown>;

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });

function tagsText(r: RequestRecord): string {
  const tags = Object.entries(r.connection.tags);
  if (tags.length === 0) return 'no tags';
  return tags.map(([k, v]) => `\`${escapeMrkdwn(k)}: ${escapeMrkdwn(Array.isArray(v) ? v.join(', ') : String(v))}\``).join(' ');
}

function factsText(r: RequestRecord): string {
  return factsOf(r).map((f) => escapeMrkdwn(f.value)).join(' · ');
}

function whoText(r: RequestRecord): string {
  const p = r.principal;
  return `*${escapeMrkdwn(p.id)}* (${p.kind})${p.actsFor ? ` for *${escapeMrkdwn(p.actsFor)}*` : ''}`;
}

function neededText(r: RequestRecord): string {
  return approvalsNeeded(r).map(escapeMrkdwn).join('; ') || 'none';
}

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

/** The reviews so far, one line each: who, what, when, and the comment (escaped). */
function reviewsText(r: RequestRecord): string {
  return r.reviews
    .map((v) => `${v.verdict === 'approve' ? 'Approved' : 'Denied'} by *${escapeMrkdwn(v.reviewer.id)}* ${slackDate(v.createdAt)}${v.comment ? `: ${escapeMrkdwn(v.comment)}` : ''}`)
    .join('\n');
}

/**
 * The message for a request in its current state: buttons while pending, the outcome after.
 *
 * @example
 * const { text, blocks } = requestMessage(record, 'https://cs.example.com/requests/req_1');
 */
export function requestMessage(r: RequestRecord, consoleUrl: string): { text: string; blocks: Block[] } {
  const input = truncate(inputText(r), INPUT_LIMIT);
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: `Approval ${r.status === 'pending' ? 'needed' : r.status}: ${r.action.operation} on ${r.action.connection}`.slice(0, 150), emoji: false } },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Requested by*\n${whoText(r)}`),
        mrkdwn(`*Connection*\n\`${escapeMrkdwn(r.connection.name)}\` (${r.connection.kind})\n${tagsText(r)}`),
        mrkdwn(`*Matched rules*\n${r.decision.rules.map((x) => `\`${escapeMrkdwn(x)}\``).join(', ') || 'none (default)'}`),
        mrkdwn(`*Approvals still needed*\n${r.status === 'pending' ? neededText(r) : '—'}`),
        mrkdwn(`*Expires*\n${r.expiresAt ? slackDate(r.expiresAt) : 'never'}`),
        mrkdwn(`*Request*\n<${consoleUrl}|${escapeMrkdwn(r.id)}>`),
      ],
    },
    section(`*Input*\n\`\`\`${escapeCode(input.text)}\`\`\`${input.cut ? `\n_Truncated: <${consoleUrl}|see the full input in the console>_` : ''}`),
    section(`*Facts*  ${factsText(r)}`),
    section(`*Reason*\n>${escapeMrkdwn(r.action.reason || '(none given)').replace(/\n/g, '\n>')}`),
  ];
  const history = reviewsText(r);
  if (r.status === 'pending') {
    if (history) blocks.push(section(history));
    blocks.push({
      type: 'actions',
      block_id: 'countersign_review',
      elements: [
        { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: r.id },
        { type: 'button', action_id: DENY_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: r.id },
      ],
    });
  } else {
    const error = r.status === 'denied' || r.status === 'failed' || r.status === 'expired' || r.status === 'cancelled' ? r.error?.message : undefined;
    blocks.push(section(`*${OUTCOME[r.status]}* ${slackDate(r.updatedAt)}${history ? `\n${history}` : ''}${error && !history ? `\n${escapeMrkdwn(error)}` : ''}`));
  }
  // The notification text (push, screen readers): no mrkdwn, so no mention can hide in it.
  const text = `${OUTCOME[r.status]}: ${r.principal.id} on ${r.action.connection}`;
  return { text: escapeMrkdwn(text), blocks };
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

/** The direct message to a requester when their request reaches its outcome. */
export function outcomeDm(r: RequestRecord, consoleUrl: string): { text: string; blocks: Block[] } {
  const reason = r.error?.message ? `\n${escapeMrkdwn(r.error.message)}` : '';
  const text = `${OUTCOME[r.status]}: your request ${r.id} on ${r.action.connection}`;
  return { text: escapeMrkdwn(text), blocks: [section(`*${OUTCOME[r.status]}*: your request <${consoleUrl}|${escapeMrkdwn(r.id)}> on \`${escapeMrkdwn(r.action.connection)}\`${reason}`)] };
}
