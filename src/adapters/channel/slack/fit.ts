/**
 * Block Kit's limits, and text that fits them after escaping. Slack refuses
 * a whole message (`invalid_blocks`) when one block is over its limit, so
 * every agent-shaped string is cut before it is escaped — an escape sequence
 * such as `&amp;` or a surrogate pair is never split — and the cut is said
 * in the text with a link to the console. Limits: https://api.slack.com/reference/block-kit/blocks
 */
import { escapeCode, escapeMrkdwn } from './mrkdwn.ts';

export const LIMITS = {
  /** A section's text. */
  sectionText: 3000,
  /** Each of a section's fields, and how many. */
  fieldText: 2000,
  fields: 10,
  /** A header's plain text. */
  headerText: 150,
  /** A button's text, and its value. */
  buttonText: 75,
  buttonValue: 2000,
  /** A confirm dialog: title, text, and its two buttons. */
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** Blocks in one message. */
  blocks: 50,
  /** A context block's elements, and each one's text. */
  contextElements: 10,
  contextText: 3000,
  /** The message's top-level text (notifications); Slack cuts at 40,000 and advises far less. */
  messageText: 3000,
} as const;

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;

/** The longest prefix of `raw` of at most `n` units that does not end inside a surrogate pair. */
function prefix(raw: string, n: number): string {
  let end = Math.min(raw.length, Math.max(0, n));
  if (end > 0 && end < raw.length && isHigh(raw.charCodeAt(end - 1))) end--;
  return raw.slice(0, end);
}

/**
 * The longest prefix of `raw` whose escaped form fits `budget` characters.
 * Escaping only lengthens, and a longer prefix never escapes shorter, so a
 * binary search over the raw length finds it.
 *
 * @example
 * fitEscaped('a & b', 7, escapeMrkdwn); // { text: 'a &amp;', cut: true }
 */
export function fitEscaped(raw: string, budget: number, escape: (s: string) => string = escapeMrkdwn): { text: string; cut: boolean; kept: number } {
  const whole = escape(raw);
  if (whole.length <= budget) return { text: whole, cut: false, kept: raw.length };
  let lo = 0;
  let hi = raw.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (escape(prefix(raw, mid)).length <= budget) lo = mid;
    else hi = mid - 1;
  }
  const kept = prefix(raw, lo);
  return { text: escape(kept), cut: true, kept: kept.length };
}

/**
 * The marker a cut text ends with: how many characters it left out (`at
 * least` when the text given was itself already cut), linking to where the
 * whole is. A reviewer knows there is a tail, and how long, before approving.
 */
export const cutMarker = (url: string, left: number, atLeast = false) =>
  `… _(truncated: ${atLeast ? 'at least ' : ''}${left.toLocaleString('en')} more characters, <${url}|see the console>)_`;

/**
 * Escaped `raw` after a fixed (already safe) `head`, fitting `limit` with
 * the marker when cut.
 *
 * @example
 * fitText('*Reason*\n', reason, LIMITS.sectionText, url);
 */
export function fitText(head: string, raw: string, limit: number, url: string, escape: (s: string) => string = escapeMrkdwn): string {
  // The marker at its longest (nothing kept), so the one written after the cut never outgrows the budget.
  const longest = cutMarker(url, raw.length);
  const whole = escape(raw);
  if (head.length + whole.length <= limit) return head + whole;
  const fitted = fitEscaped(raw, Math.max(0, limit - head.length - longest.length), escape);
  return head + fitted.text + cutMarker(url, raw.length - fitted.kept);
}

/**
 * A ``` code block of `raw`, escaped, fitting `limit` with its heading; a
 * backtick next to a fence is kept apart from it so the block stays closed.
 * `atLeast`: `raw` is already a cut of a longer text, so the count left out is a floor.
 *
 * @example
 * codeBlock('*Input*\n', sql, LIMITS.sectionText, url);
 */
export function codeBlock(head: string, raw: string, limit: number, url: string, atLeast = false): string {
  const marker = cutMarker(url, raw.length, atLeast);
  const safe = (s: string) => {
    const e = escapeCode(s);
    return `${e.startsWith('`') ? '\u200b' : ''}${e}${e.endsWith('`') ? '\u200b' : ''}`;
  };
  const whole = safe(raw);
  const frame = head.length + 6;
  if (frame + whole.length <= limit) return `${head}\`\`\`${whole}\`\`\``;
  const fitted = fitEscaped(raw, Math.max(0, limit - frame - marker.length - 2), safe);
  return `${head}\`\`\`${fitted.text}\`\`\`${cutMarker(url, raw.length - fitted.kept, atLeast)}`;
}

/**
 * Plain text (no escaping; header, button and dialog text) cut to `limit` with an ellipsis.
 *
 * @example
 * plainFit('Approval needed: POST /refunds on billing-api', LIMITS.headerText);
 */
export function plainFit(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${prefix(text, limit - 1)}…`;
}

/**
 * Plain text for a section, cut to `limit` saying how many characters it
 * left out: a table list or an error is never shortened without a word.
 *
 * @example
 * plainCut(`Facts: ${facts}`, LIMITS.sectionText); // 'Facts: … (1,204 more characters: see the console)'
 */
export function plainCut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const tail = (left: number) => `… (${left.toLocaleString('en')} more characters: see the console)`;
  const kept = prefix(text, limit - tail(text.length).length);
  return `${kept}${tail(text.length - kept.length)}`;
}
